//! Audio ports on the voice mixer: WAV players and recorders and the
//! bridges that connect ports, for `sipsimple.audio`.
//!
//! Each object puts its port in the application's voice mixer
//! ([`AudioEngine`]) when it is created (so the application must be
//! running) and takes it out when dropped; its slot numbers never change.
//! A player reports `WavePlayerDidStart`, `WavePlayerDidEnd` and
//! `WavePlayerDidFail` (`error`) with the Python object given to `start`
//! as the sender; a small watcher thread turns the player's events into
//! notifications while it is active.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sipsimple_core::audio::bridge::{AudioBridge, PortSlots};
use sipsimple_core::audio::mixer::{AudioMixer, SlotId};
use sipsimple_core::audio::{WavePlayer, WavePlayerEvent, WavePlayerOptions, WaveRecorder, shared};
use sipsimple_core::notification::{NotificationCenter, NotificationData};
use sipsimple_core::streams::AudioEngine;
use sipsimple_core::{Error, Value};

use crate::errors::CoreResultExt;
use crate::values::foreign;

/// How often a player's watcher looks for events (one mixer frame).
const WATCH_INTERVAL: Duration = Duration::from_millis(20);

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running voice mixer; `RuntimeError` while the application is stopped.
fn voice_mixer() -> sipsimple_core::Result<Arc<Mutex<AudioMixer>>> {
    AudioEngine::instance()
        .mixer()
        .ok_or_else(|| Error::InvalidState("the voice mixer is not running (start the SIPApplication)".into()))
}

/// Takes `slot` out of `mixer`, ignoring a slot already gone.
fn remove_slot(mixer: &Mutex<AudioMixer>, slot: SlotId) {
    let _ = lock(mixer).remove_slot(slot);
}

/// The application's voice mixer (`SIPApplication.voice_audio_mixer`).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreAudioMixer;

#[pymethods]
impl CoreAudioMixer {
    /// True while the voice mixer runs (between application start and stop).
    #[staticmethod]
    fn running() -> bool {
        AudioEngine::instance().is_running()
    }
    /// The mixer's sample rate, `None` while it does not run.
    #[staticmethod]
    fn sample_rate() -> Option<u32> {
        AudioEngine::instance().sample_rate()
    }
    /// An identifier of the running mixer instance (a new one after each
    /// application start), `None` while it does not run.
    #[staticmethod]
    fn instance_id() -> Option<u64> {
        AudioEngine::instance().mixer().map(|m| lock(&m).id())
    }
}

/// A WAV file player on the voice mixer (a producer port).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreWavePlayer {
    mixer: Arc<Mutex<AudioMixer>>,
    player: Arc<Mutex<WavePlayer>>,
    slot: SlotId,
}

#[pymethods]
impl CoreWavePlayer {
    /// A stopped player of `filename` in the voice mixer. `volume` is 0-200
    /// (100 plays the file as recorded), `loop_count` 0 plays forever,
    /// `pause_time` is the silence between plays in seconds. `ValueError`
    /// for bad options, `RuntimeError` while the application is stopped.
    #[new]
    #[pyo3(signature = (filename, volume=100, loop_count=1, pause_time=0.0, initial_play=true))]
    fn new(
        py: Python<'_>,
        filename: PathBuf,
        volume: u32,
        loop_count: u32,
        pause_time: f64,
        initial_play: bool,
    ) -> PyResult<Self> {
        if !(pause_time.is_finite() && pause_time >= 0.0) {
            return Err(PyValueError::new_err("pause_time must be a non-negative number of seconds"));
        }
        let mixer = voice_mixer().py_err(py)?;
        let rate = lock(&mixer).sample_rate();
        let options =
            WavePlayerOptions { volume, loop_count, pause_time: Duration::from_secs_f64(pause_time), initial_play };
        let player = shared(WavePlayer::new(filename, rate, options).map_err(Error::from).py_err(py)?);
        let slot = lock(&mixer).add_port(player.clone());
        Ok(CoreWavePlayer { mixer, player, slot })
    }
    /// The slot the player produces on.
    #[getter]
    fn producer_slot(&self) -> SlotId {
        self.slot
    }
    /// Playing, or waiting between plays.
    #[getter]
    fn is_active(&self) -> bool {
        lock(&self.player).is_active()
    }
    /// Starts playing; `sender` is the sender of the player's notifications.
    /// `RuntimeError` if it is active already.
    fn start(&self, py: Python<'_>, sender: &Bound<'_, PyAny>) -> PyResult<()> {
        let sender = foreign(sender);
        let player = self.player.clone();
        py.detach(move || -> sipsimple_core::Result<()> {
            let mut guard = lock(&player);
            guard.start()?;
            // Events queued by start (Started or Failed) are posted by the watcher.
            drop(guard);
            watch(player, sender)
        })
        .py_err(py)
    }
    /// Stops at once (`WavePlayerDidEnd` follows if it was active).
    fn stop(&self, py: Python<'_>) {
        let player = self.player.clone();
        py.detach(move || lock(&player).stop());
    }
}

impl Drop for CoreWavePlayer {
    fn drop(&mut self) {
        lock(&self.player).stop();
        remove_slot(&self.mixer, self.slot);
    }
}

/// Posts the player's events until it has ended or failed.
fn watch(player: Arc<Mutex<WavePlayer>>, sender: Value) -> sipsimple_core::Result<()> {
    std::thread::Builder::new()
        .name("sipsimple-waveplayer".into())
        .spawn(move || {
            let center = NotificationCenter::default_center();
            loop {
                let (events, active) = {
                    let mut p = lock(&player);
                    let events: Vec<WavePlayerEvent> = std::iter::from_fn(|| p.poll_event()).collect();
                    (events, p.is_active())
                };
                let mut finished = false;
                for event in events {
                    let (name, data) = match event {
                        WavePlayerEvent::Started => ("WavePlayerDidStart", NotificationData::new()),
                        WavePlayerEvent::Ended => {
                            finished = true;
                            ("WavePlayerDidEnd", NotificationData::new())
                        }
                        WavePlayerEvent::Failed { error } => {
                            finished = true;
                            ("WavePlayerDidFail", NotificationData::new().with("error", Value::String(error)))
                        }
                    };
                    center.post_notification(name, sender.clone(), data);
                }
                if finished || (!active && Arc::strong_count(&player) == 1) {
                    return;
                }
                std::thread::sleep(WATCH_INTERVAL);
            }
        })
        .map(|_| ())
        .map_err(|e| Error::Internal(format!("cannot watch the WAV player: {e}")))
}

/// A WAV file recorder on the voice mixer (a consumer port).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreWaveRecorder {
    mixer: Arc<Mutex<AudioMixer>>,
    recorder: Arc<Mutex<WaveRecorder>>,
    slot: SlotId,
}

#[pymethods]
impl CoreWaveRecorder {
    /// A stopped recorder into `filename` (16-bit mono at the mixer rate).
    /// `RuntimeError` while the application is stopped.
    #[new]
    fn new(py: Python<'_>, filename: PathBuf) -> PyResult<Self> {
        let mixer = voice_mixer().py_err(py)?;
        let rate = lock(&mixer).sample_rate();
        let recorder = shared(WaveRecorder::new(filename, rate).map_err(Error::from).py_err(py)?);
        let slot = lock(&mixer).add_port(recorder.clone());
        Ok(CoreWaveRecorder { mixer, recorder, slot })
    }
    /// The slot the recorder consumes from.
    #[getter]
    fn consumer_slot(&self) -> SlotId {
        self.slot
    }
    /// The file written.
    #[getter]
    fn filename(&self) -> String {
        lock(&self.recorder).filename().display().to_string()
    }
    /// Changes the file (while stopped; `RuntimeError` while recording).
    #[setter]
    fn set_filename(&self, py: Python<'_>, filename: PathBuf) -> PyResult<()> {
        lock(&self.recorder).set_filename(filename).map_err(Error::from).py_err(py)
    }
    /// Writing.
    #[getter]
    fn is_active(&self) -> bool {
        lock(&self.recorder).is_active()
    }
    /// Seconds of audio written since `start`.
    #[getter]
    fn duration(&self) -> f64 {
        lock(&self.recorder).duration().as_secs_f64()
    }
    /// Creates the file (and missing directories) and starts writing (GIL released).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        let recorder = self.recorder.clone();
        py.detach(move || lock(&recorder).start()).map_err(Error::from).py_err(py)
    }
    /// Stops and completes the file (GIL released).
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let recorder = self.recorder.clone();
        py.detach(move || lock(&recorder).stop()).map_err(Error::from).py_err(py)
    }
}

impl Drop for CoreWaveRecorder {
    fn drop(&mut self) {
        let _ = lock(&self.recorder).stop();
        remove_slot(&self.mixer, self.slot);
    }
}

/// A full mesh of ports on the voice mixer; members are keyed by the caller.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreAudioBridge {
    mixer: Arc<Mutex<AudioMixer>>,
    bridge: Mutex<AudioBridge>,
}

fn port_slots(consumer_slot: Option<SlotId>, producer_slot: Option<SlotId>) -> PortSlots {
    PortSlots { consumer_slot, producer_slot }
}

#[pymethods]
impl CoreAudioBridge {
    /// An empty bridge on the voice mixer. `RuntimeError` while the
    /// application is stopped.
    #[new]
    fn new(py: Python<'_>) -> PyResult<Self> {
        let mixer = voice_mixer().py_err(py)?;
        let bridge = AudioBridge::new(&mut lock(&mixer));
        Ok(CoreAudioBridge { mixer, bridge: Mutex::new(bridge) })
    }
    /// The bridge's own `(consumer_slot, producer_slot)`, to nest it.
    #[getter]
    fn slots(&self) -> (Option<SlotId>, Option<SlotId>) {
        let s = lock(&self.bridge).slots();
        (s.consumer_slot, s.producer_slot)
    }
    /// Adds member `key` with its slots (adding a member twice does nothing).
    #[pyo3(signature = (key, consumer_slot, producer_slot))]
    fn add(
        &self,
        py: Python<'_>,
        key: u64,
        consumer_slot: Option<SlotId>,
        producer_slot: Option<SlotId>,
    ) -> PyResult<()> {
        let mut mixer = lock(&self.mixer);
        lock(&self.bridge)
            .add(&mut mixer, key, port_slots(consumer_slot, producer_slot))
            .map_err(Error::from)
            .py_err(py)
    }
    /// Reconnects member `key` whose slots changed.
    #[pyo3(signature = (key, consumer_slot, producer_slot))]
    fn update(
        &self,
        py: Python<'_>,
        key: u64,
        consumer_slot: Option<SlotId>,
        producer_slot: Option<SlotId>,
    ) -> PyResult<()> {
        let mut mixer = lock(&self.mixer);
        lock(&self.bridge)
            .update(&mut mixer, key, port_slots(consumer_slot, producer_slot))
            .map_err(Error::from)
            .py_err(py)
    }
    /// Removes member `key`; `KeyError` if it is none.
    fn remove(&self, py: Python<'_>, key: u64) -> PyResult<()> {
        let mut mixer = lock(&self.mixer);
        lock(&self.bridge).remove(&mut mixer, key).map_err(Error::from).py_err(py)
    }
    /// Whether `key` is a member.
    fn contains(&self, key: u64) -> bool {
        lock(&self.bridge).contains(key)
    }
}

impl Drop for CoreAudioBridge {
    fn drop(&mut self) {
        let mut mixer = lock(&self.mixer);
        let _ = lock(&self.bridge).close(&mut mixer);
    }
}
