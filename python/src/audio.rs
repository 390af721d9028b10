//! The audio objects of `sipsimple.audio`: mixers, devices, bridges, WAV
//! players and recorders and conferences, over the core's handle-registered
//! objects ([`sipsimple_core::audio::objects`]).
//!
//! Ports travel as handles: a bridge adds the port object behind a handle
//! (a device, bridge, player, recorder or started audio stream). An object
//! created from Python owns its handle and releases it when the Python
//! object goes away (so a player nobody holds leaves its bridges, as the
//! original's weak references have it); objects the core made (the
//! application's mixers, bridges and devices, a stream's bridge) are only
//! looked at.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use sipsimple_core::audio::objects::{
    AudioBridge, AudioConference, AudioDevice, AudioPortObject, DeviceMixer, WavePlayer, WaveRecorder, port_from_handle,
};
use sipsimple_core::audio::{SlotId, WavePlayerOptions};
use sipsimple_core::handle::{self, Handle, ObjectKind};
use sipsimple_core::streams::{AudioEngine, AudioStream};
use sipsimple_core::{Error, Result};

use crate::errors::CoreResultExt;
use crate::streams::detached;
use crate::values::PyHandle;

fn resolve<T: std::any::Any + Send + Sync>(h: &PyHandle, kind: ObjectKind) -> Option<Arc<T>> {
    handle::resolve::<T>(h.handle(), kind).ok()
}

fn release_if_owned(owned: bool, h: Handle) {
    if owned {
        let _ = handle::release(h);
    }
}

fn mixer_of(mixer: &PyHandle) -> PyResult<Arc<DeviceMixer>> {
    resolve::<DeviceMixer>(mixer, ObjectKind::AudioMixer)
        .ok_or_else(|| PyValueError::new_err("the mixer is gone (the application stopped)"))
}

fn not_running() -> Error {
    Error::InvalidState("the audio engine is not running (start the SIPApplication)".into())
}

/// The `#[pymethods]` of an audio port class (a struct of `inner`, the core
/// port, and `owned`): `$methods` plus the members every port has
/// (`resolve`, `handle`, `mixer`, `slots`, documented by the caller), and a
/// `Drop` that releases the handle of an owned port.
macro_rules! audio_port_class {
    (
        impl $class:ident for ObjectKind::$kind:ident {
            $(#[doc = $resolve_doc:literal])* fn resolve;
            $(#[doc = $handle_doc:literal])* fn handle;
            $(#[doc = $slots_doc:literal])* fn slots;
            $($methods:tt)*
        }
    ) => {
        #[pymethods]
        impl $class {
            $($methods)*
            $(#[doc = $resolve_doc])*
            #[staticmethod]
            fn resolve(handle: &PyHandle) -> Option<$class> {
                resolve(handle, ObjectKind::$kind).map(|inner| $class { inner, owned: false })
            }
            $(#[doc = $handle_doc])*
            #[getter]
            fn handle(&self) -> PyHandle {
                PyHandle::new(self.inner.handle())
            }
            /// The handle of its mixer.
            #[getter]
            fn mixer(&self) -> PyHandle {
                PyHandle::new(self.inner.mixer().handle())
            }
            $(#[doc = $slots_doc])*
            #[getter]
            fn slots(&self) -> (Option<SlotId>, Option<SlotId>) {
                (self.inner.consumer_slot(), self.inner.producer_slot())
            }
        }

        impl Drop for $class {
            fn drop(&mut self) {
                release_if_owned(self.owned, self.inner.handle());
            }
        }
    };
}

/// A mixer on a sound device (the original's core `AudioMixer`).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreAudioMixer {
    inner: Arc<DeviceMixer>,
}

#[pymethods]
impl CoreAudioMixer {
    /// The application's voice mixer, `None` while it does not run.
    #[staticmethod]
    fn voice() -> Option<CoreAudioMixer> {
        AudioEngine::instance().voice_mixer().map(|inner| CoreAudioMixer { inner })
    }
    /// The application's alert mixer, `None` while it does not run.
    #[staticmethod]
    fn alert() -> Option<CoreAudioMixer> {
        AudioEngine::instance().alert_mixer().map(|inner| CoreAudioMixer { inner })
    }
    /// The mixer behind a handle, `None` if it is gone.
    #[staticmethod]
    fn resolve(handle: &PyHandle) -> Option<CoreAudioMixer> {
        resolve(handle, ObjectKind::AudioMixer).map(|inner| CoreAudioMixer { inner })
    }
    /// The mixer's handle.
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(self.inner.handle())
    }
    /// The sample rate.
    #[getter]
    fn sample_rate(&self) -> u32 {
        self.inner.sample_rate()
    }
    /// The input device setting (`None`: no input).
    #[getter]
    fn input_device(&self) -> Option<String> {
        self.inner.input_device()
    }
    /// The output device setting (`None`: no output).
    #[getter]
    fn output_device(&self) -> Option<String> {
        self.inner.output_device()
    }
    /// The input device in use (`system_default` resolved).
    #[getter]
    fn real_input_device(&self) -> Option<String> {
        self.inner.real_input_device()
    }
    /// The output device in use (`system_default` resolved).
    #[getter]
    fn real_output_device(&self) -> Option<String> {
        self.inner.real_output_device()
    }
    /// Whether the input is muted.
    #[getter]
    fn muted(&self) -> bool {
        self.inner.muted()
    }
    /// Mutes or unmutes the input.
    #[setter]
    fn set_muted(&self, muted: bool) {
        self.inner.set_muted(muted)
    }
    /// Whether the mixer's thread runs.
    #[getter]
    fn is_running(&self) -> bool {
        self.inner.is_running()
    }
}

/// A mixer's sound device as a port.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreAudioDevice {
    inner: Arc<AudioDevice>,
    owned: bool,
}

audio_port_class! {
    impl CoreAudioDevice for ObjectKind::AudioDevice {
        /// The device behind a handle, `None` if it is gone.
        fn resolve;
        /// The device's handle.
        fn handle;
        /// `(consumer_slot, producer_slot)`.
        fn slots;
        /// A new view of `mixer`'s device.
        #[new]
        #[pyo3(signature = (mixer, input_muted=false, output_muted=false))]
        fn new(mixer: &PyHandle, input_muted: bool, output_muted: bool) -> PyResult<Self> {
            Ok(CoreAudioDevice { inner: AudioDevice::new(&mixer_of(mixer)?, input_muted, output_muted), owned: true })
        }
        /// The application's voice device, `None` while it does not run.
        #[staticmethod]
        fn voice() -> Option<CoreAudioDevice> {
            AudioEngine::instance().voice_device().map(|inner| CoreAudioDevice { inner, owned: false })
        }
        /// The application's alert device, `None` while it does not run.
        #[staticmethod]
        fn alert() -> Option<CoreAudioDevice> {
            AudioEngine::instance().alert_device().map(|inner| CoreAudioDevice { inner, owned: false })
        }
        /// Whether it does not produce (the microphone is off).
        #[getter]
        fn input_muted(&self) -> bool {
            self.inner.input_muted()
        }
        /// Changes `input_muted` (posts `AudioPortDidChangeSlots`).
        #[setter]
        fn set_input_muted(&self, muted: bool) {
            self.inner.set_input_muted(muted)
        }
        /// Whether it does not consume (the speaker is off).
        #[getter]
        fn output_muted(&self) -> bool {
            self.inner.output_muted()
        }
        /// Changes `output_muted` (posts `AudioPortDidChangeSlots`).
        #[setter]
        fn set_output_muted(&self, muted: bool) {
            self.inner.set_output_muted(muted)
        }
    }
}

/// A full mesh of ports on one mixer.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreAudioBridge {
    inner: Arc<AudioBridge>,
    owned: bool,
}

audio_port_class! {
    impl CoreAudioBridge for ObjectKind::AudioBridge {
        /// The bridge behind a handle, `None` if it is gone.
        fn resolve;
        /// The bridge's handle.
        fn handle;
        /// `(consumer_slot, producer_slot)`.
        fn slots;
        /// A new, empty bridge on `mixer` (a handle).
        #[new]
        fn new(mixer: &PyHandle) -> PyResult<Self> {
            Ok(CoreAudioBridge { inner: AudioBridge::new(&mixer_of(mixer)?), owned: true })
        }
        /// The application's voice bridge, `None` while it does not run.
        #[staticmethod]
        fn voice() -> Option<CoreAudioBridge> {
            AudioEngine::instance().voice_bridge().map(|inner| CoreAudioBridge { inner, owned: false })
        }
        /// The application's alert bridge, `None` while it does not run.
        #[staticmethod]
        fn alert() -> Option<CoreAudioBridge> {
            AudioEngine::instance().alert_bridge().map(|inner| CoreAudioBridge { inner, owned: false })
        }
        /// The bridge of an audio stream (a handle), `None` before it is
        /// initialized and after it ended.
        #[staticmethod]
        fn of_stream(stream: &PyHandle) -> Option<CoreAudioBridge> {
            let stream = resolve::<AudioStream>(stream, ObjectKind::AudioStream)?;
            stream.bridge().map(|inner| CoreAudioBridge { inner, owned: false })
        }
        /// Adds the port behind `port` (a handle). `ValueError` for a port of
        /// another mixer or the bridge itself, `TypeError` for no port,
        /// `RuntimeError` for a stopped bridge or an audio stream not initialized.
        fn add(&self, py: Python<'_>, port: &PyHandle) -> PyResult<()> {
            let port = port_of(py, port)?;
            detached(py, &self.inner, |a| a.add(port))
        }
        /// Removes the member `port` (a handle); `KeyError` if it is none.
        fn remove(&self, py: Python<'_>, port: &PyHandle) -> PyResult<()> {
            let h = port.handle();
            detached(py, &self.inner, |a| a.remove_handle(h))
        }
        /// Whether `port` (a handle) is a live member.
        fn contains(&self, port: &PyHandle) -> bool {
            self.inner.contains(port.handle())
        }
        /// The handles of the live members.
        fn ports(&self) -> Vec<PyHandle> {
            self.inner.ports().iter().map(|p| PyHandle::new(p.handle())).collect()
        }
        /// Disconnects every member; the bridge is unusable afterwards.
        fn stop(&self, py: Python<'_>) {
            let inner = self.inner.clone();
            py.detach(move || inner.stop())
        }
    }
}

fn port_of(py: Python<'_>, port: &PyHandle) -> PyResult<Arc<dyn AudioPortObject>> {
    let h = port.handle();
    match h.try_kind() {
        Some(
            ObjectKind::AudioDevice
            | ObjectKind::AudioBridge
            | ObjectKind::WavePlayer
            | ObjectKind::WaveRecorder
            | ObjectKind::AudioStream,
        ) => port_from_handle(h).py_err(py),
        _ => Err(PyTypeError::new_err("not an audio port")),
    }
}

/// A WAV file player.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreWavePlayer {
    inner: Arc<WavePlayer>,
    owned: bool,
}

fn seconds(value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| PyValueError::new_err("pause_time must be a non-negative number"))
}

audio_port_class! {
    impl CoreWavePlayer for ObjectKind::WavePlayer {
        /// The player behind a handle, `None` if it is gone.
        fn resolve;
        /// The player's handle (the sender of its notifications).
        fn handle;
        /// `(consumer_slot, producer_slot)`: a producer slot while active.
        fn slots;
        /// A stopped player of `filename` on `mixer` (a handle). `ValueError`
        /// for a volume above 200 or a negative pause.
        #[new]
        #[pyo3(signature = (mixer, filename, volume=100, loop_count=1, pause_time=0.0, initial_play=true))]
        fn new(
            py: Python<'_>,
            mixer: &PyHandle,
            filename: PathBuf,
            volume: u32,
            loop_count: u32,
            pause_time: f64,
            initial_play: bool,
        ) -> PyResult<Self> {
            let options = WavePlayerOptions { volume, loop_count, pause_time: seconds(pause_time)?, initial_play };
            let inner = WavePlayer::new(&mixer_of(mixer)?, filename, options).py_err(py)?;
            Ok(CoreWavePlayer { inner, owned: true })
        }
        /// The file played.
        #[getter]
        fn filename(&self) -> String {
            self.inner.filename().display().to_string()
        }
        /// Changes the file (while stopped).
        #[setter]
        fn set_filename(&self, py: Python<'_>, filename: PathBuf) -> PyResult<()> {
            self.inner.set_filename(filename).py_err(py)
        }
        /// Volume, 0-200.
        #[getter]
        fn volume(&self) -> u32 {
            self.inner.volume()
        }
        /// Changes the volume (while stopped).
        #[setter]
        fn set_volume(&self, py: Python<'_>, volume: u32) -> PyResult<()> {
            self.inner.set_volume(volume).py_err(py)
        }
        /// Plays per start; 0 is forever.
        #[getter]
        fn loop_count(&self) -> u32 {
            self.inner.loop_count()
        }
        /// Changes `loop_count` (while stopped).
        #[setter]
        fn set_loop_count(&self, py: Python<'_>, loop_count: u32) -> PyResult<()> {
            self.inner.set_loop_count(loop_count).py_err(py)
        }
        /// Seconds of silence between plays.
        #[getter]
        fn pause_time(&self) -> f64 {
            self.inner.pause_time().as_secs_f64()
        }
        /// Changes `pause_time` (while stopped).
        #[setter]
        fn set_pause_time(&self, py: Python<'_>, pause_time: f64) -> PyResult<()> {
            self.inner.set_pause_time(seconds(pause_time)?).py_err(py)
        }
        /// Whether the first play starts at once.
        #[getter]
        fn initial_play(&self) -> bool {
            self.inner.initial_play()
        }
        /// Changes `initial_play` (while stopped).
        #[setter]
        fn set_initial_play(&self, py: Python<'_>, initial_play: bool) -> PyResult<()> {
            self.inner.set_initial_play(initial_play).py_err(py)
        }
        /// Playing, or waiting between plays.
        #[getter]
        fn is_active(&self) -> bool {
            self.inner.is_active()
        }
        /// Starts playing; `RuntimeError` if it is active already.
        fn start(&self, py: Python<'_>) -> PyResult<()> {
            detached(py, &self.inner, |a| a.start())
        }
        /// Stops at once.
        fn stop(&self, py: Python<'_>) {
            let inner = self.inner.clone();
            py.detach(move || inner.stop())
        }
        /// Plays and waits (GIL released) until the end; `ValueError` when the
        /// file cannot be played, `TimeoutError`-like `RuntimeError` after `timeout`.
        #[pyo3(signature = (timeout=None))]
        fn play(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
            let timeout = timeout.map(seconds).transpose()?;
            detached(py, &self.inner, |a| a.play(timeout))
        }
    }
}

/// A WAV file recorder.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreWaveRecorder {
    inner: Arc<WaveRecorder>,
    owned: bool,
}

audio_port_class! {
    impl CoreWaveRecorder for ObjectKind::WaveRecorder {
        /// The recorder behind a handle, `None` if it is gone.
        fn resolve;
        /// The recorder's handle.
        fn handle;
        /// `(consumer_slot, producer_slot)`: a consumer slot while active.
        fn slots;
        /// A stopped recorder into `filename` on `mixer` (a handle).
        #[new]
        fn new(mixer: &PyHandle, filename: PathBuf) -> PyResult<Self> {
            Ok(CoreWaveRecorder { inner: WaveRecorder::new(&mixer_of(mixer)?, filename), owned: true })
        }
        /// The file written.
        #[getter]
        fn filename(&self) -> String {
            self.inner.filename().display().to_string()
        }
        /// Changes the file (while stopped; `RuntimeError` while recording).
        #[setter]
        fn set_filename(&self, py: Python<'_>, filename: PathBuf) -> PyResult<()> {
            self.inner.set_filename(filename).py_err(py)
        }
        /// Recording.
        #[getter]
        fn is_active(&self) -> bool {
            self.inner.is_active()
        }
        /// Seconds of audio written since `start`.
        #[getter]
        fn duration(&self) -> f64 {
            self.inner.duration().as_secs_f64()
        }
        /// Creates the file (and missing directories) and starts writing (GIL released).
        fn start(&self, py: Python<'_>) -> PyResult<()> {
            detached(py, &self.inner, |a| a.start())
        }
        /// Stops and completes the file (GIL released).
        fn stop(&self, py: Python<'_>) -> PyResult<()> {
            detached(py, &self.inner, |a| a.stop())
        }
    }
}

/// Local mixing of audio streams.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreAudioConference {
    inner: Arc<AudioConference>,
    owned: bool,
}

fn audio_stream(stream: &PyHandle) -> PyResult<Arc<AudioStream>> {
    handle::resolve::<AudioStream>(stream.handle(), ObjectKind::AudioStream)
        .map_err(|_| PyTypeError::new_err("not a (live) AudioStream"))
}

#[pymethods]
impl CoreAudioConference {
    /// An empty conference on the voice mixer; `RuntimeError` while the
    /// application is stopped.
    #[new]
    fn new(py: Python<'_>) -> PyResult<Self> {
        let inner = py.detach(|| -> Result<_> {
            AudioEngine::instance().voice_mixer().ok_or_else(not_running)?;
            AudioConference::new()
        });
        Ok(CoreAudioConference { inner: inner.py_err(py)?, owned: true })
    }
    /// The conference's handle.
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(self.inner.handle())
    }
    /// The handle of its bridge.
    #[getter]
    fn bridge(&self) -> PyHandle {
        PyHandle::new(self.inner.bridge().handle())
    }
    /// Whether the local device is out of the conference.
    #[getter]
    fn on_hold(&self) -> bool {
        self.inner.on_hold()
    }
    /// The handles of the member streams.
    #[getter]
    fn streams(&self) -> Vec<PyHandle> {
        self.inner.streams().iter().map(|s| PyHandle::new(s.participant_handle())).collect()
    }
    /// Adds an audio stream (a handle).
    fn add(&self, py: Python<'_>, stream: &PyHandle) -> PyResult<()> {
        let stream = audio_stream(stream)?;
        detached(py, &self.inner, |a| a.add(stream))
    }
    /// Removes an audio stream (a handle); `KeyError` if it is no member.
    fn remove(&self, py: Python<'_>, stream: &PyHandle) -> PyResult<()> {
        let h = stream.handle();
        detached(py, &self.inner, |a| a.remove(h))
    }
    /// Takes the local device out of the conference.
    fn hold(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.inner, |a| a.hold())
    }
    /// Brings the local device back.
    fn unhold(&self, py: Python<'_>) -> PyResult<()> {
        detached(py, &self.inner, |a| a.unhold())
    }
}

impl Drop for CoreAudioConference {
    fn drop(&mut self) {
        release_if_owned(self.owned, self.inner.handle());
    }
}
