//! Audio: the application's voice [`AudioMixer`] and the [`WavePlayer`]
//! that plays a WAV file into it.
//!
//! Ports exchange audio through the slots of the voice mixer: connect a
//! player's `producerSlot` to an `AudioStream`'s `consumerSlot` and the
//! peer hears the file. The mixer exists while the application runs (it is
//! created with it, at the `audio.sample_rate` setting).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use sipsimple_core::audio::{self as core, AudioPort, SlotId, WavePlayerEvent, WavePlayerOptions};
use sipsimple_core::streams::AudioEngine;

use crate::{Result, SipSimpleError};

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The voice mixer of the running application
/// (`SIPApplication.voice_audio_mixer`): numbered slots and the
/// connections between them, mixed every 20 ms.
///
/// The object refers to the mixer of the run it was taken in: after the
/// application stopped, its calls are `InvalidState`.
#[derive(uniffi::Object)]
pub struct AudioMixer {
    mixer: Weak<Mutex<core::AudioMixer>>,
    sample_rate: u32,
}

impl AudioMixer {
    fn with<T>(&self, f: impl FnOnce(&mut core::AudioMixer) -> T) -> Result<T> {
        let current = AudioEngine::instance().mixer();
        let mixer = self.mixer.upgrade().filter(|m| current.is_some_and(|c| Arc::ptr_eq(&c, m))).ok_or_else(|| {
            SipSimpleError::InvalidState {
                detail: "the voice mixer no longer runs (the application stopped)".to_owned(),
            }
        })?;
        let mut guard = lock(&mixer);
        Ok(f(&mut guard))
    }
}

#[uniffi::export]
impl AudioMixer {
    /// The voice mixer of the running application. `InvalidState` while
    /// the application is not running.
    #[uniffi::constructor]
    pub fn voice() -> Result<Arc<Self>> {
        let engine = AudioEngine::instance();
        let mixer = engine.mixer().ok_or_else(|| SipSimpleError::InvalidState {
            detail: "the voice mixer does not run (start the SIPApplication)".to_owned(),
        })?;
        let sample_rate = lock(&mixer).sample_rate();
        Ok(Arc::new(AudioMixer { mixer: Arc::downgrade(&mixer), sample_rate }))
    }

    /// The mixer's sample rate, in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// `connect_slots(src, dst)`: sends what slot `src` produces to slot
    /// `dst`. Connections are counted: connecting a pair twice needs two
    /// disconnects. `NotFound` for a slot the mixer does not have.
    pub fn connect_slots(&self, src: u32, dst: u32) -> Result<()> {
        self.with(|m| m.connect_slots(src, dst))?.map_err(|e| sipsimple_core::Error::from(e).into())
    }

    /// `disconnect_slots(src, dst)`: undoes one `connect_slots(src, dst)`.
    /// `NotFound` when the slots are not connected.
    pub fn disconnect_slots(&self, src: u32, dst: u32) -> Result<()> {
        self.with(|m| m.disconnect_slots(src, dst))?.map_err(|e| sipsimple_core::Error::from(e).into())
    }

    /// Whether audio flows from slot `src` to slot `dst`.
    pub fn is_connected(&self, src: u32, dst: u32) -> Result<bool> {
        self.with(|m| m.is_connected(src, dst))
    }
}

/// What waiters of a [`WavePlayer`] see.
#[derive(Default)]
struct PlayerStatus {
    active: bool,
    error: Option<String>,
}

/// The state a player's port shares with its object.
#[derive(Default)]
struct PlayerShared {
    status: Mutex<PlayerStatus>,
    changed: Condvar,
}

/// The mixer port of a [`WavePlayer`]: the core player, with its events
/// turned into the status its object waits on.
struct PlayerPort {
    player: core::WavePlayer,
    shared: Arc<PlayerShared>,
}

impl PlayerPort {
    /// Takes the player's events into the shared status.
    fn drain_events(&mut self) {
        let mut failed = None;
        let mut any = false;
        while let Some(event) = self.player.poll_event() {
            any = true;
            if let WavePlayerEvent::Failed { error } = event {
                failed = Some(error);
            }
        }
        if any {
            let mut status = lock(&self.shared.status);
            status.active = self.player.is_active();
            if failed.is_some() {
                status.error = failed;
            }
            drop(status);
            self.shared.changed.notify_all();
        }
    }
}

impl AudioPort for PlayerPort {
    fn get_frame(&mut self, frame: &mut [i16]) -> bool {
        let produced = self.player.get_frame(frame);
        self.drain_events();
        produced
    }

    fn put_frame(&mut self, frame: &[i16]) {
        self.player.put_frame(frame);
    }
}

/// Plays a WAV file into the voice mixer (`WavePlayer`): any PCM or float
/// WAV, converted to mono and resampled to the mixer rate. It produces on
/// `producerSlot` from creation until the object is destroyed; connect
/// that slot to a stream's `consumerSlot` to send the file to the peer.
/// Reusable: `start` after it ended plays it again.
#[derive(uniffi::Object)]
pub struct WavePlayer {
    mixer: Arc<AudioMixer>,
    slot: SlotId,
    port: Arc<Mutex<PlayerPort>>,
    shared: Arc<PlayerShared>,
    filename: String,
    options: WavePlayerOptions,
}

impl Drop for WavePlayer {
    fn drop(&mut self) {
        let _ = self.mixer.with(|m| m.remove_slot(self.slot));
    }
}

#[uniffi::export]
impl WavePlayer {
    /// `WavePlayer(mixer, filename, volume=100, loop_count=1, pause_time=0,
    /// initial_play=True)`: a stopped player of `filename` in a new slot of
    /// `mixer`. `volume` is 0-200 (100 plays the file as recorded),
    /// `loop_count` the number of plays (0: forever), `pause_time` the
    /// silence between plays in seconds, `initial_play` false waits
    /// `pause_time` before the first play. The file is opened when it
    /// plays. `InvalidArgument` for a volume above 200 or a negative pause.
    #[uniffi::constructor(default(volume = 100, loop_count = 1, pause_time = 0.0, initial_play = true))]
    pub fn new(
        mixer: Arc<AudioMixer>,
        filename: String,
        volume: u32,
        loop_count: u32,
        pause_time: f64,
        initial_play: bool,
    ) -> Result<Arc<Self>> {
        let pause = Duration::try_from_secs_f64(pause_time).map_err(|_| SipSimpleError::InvalidArgument {
            detail: format!("pause_time {pause_time} is not a non-negative number of seconds"),
        })?;
        let options = WavePlayerOptions { volume, loop_count, pause_time: pause, initial_play };
        let player = core::WavePlayer::new(&filename, mixer.sample_rate, options.clone())
            .map_err(sipsimple_core::Error::from)?;
        let shared = Arc::new(PlayerShared::default());
        let port = Arc::new(Mutex::new(PlayerPort { player, shared: shared.clone() }));
        let port_ref: core::SharedPort = port.clone();
        let slot = mixer.with(|m| m.add_port(port_ref))?;
        Ok(Arc::new(WavePlayer { mixer, slot, port, shared, filename, options }))
    }

    /// Starts playing (at once, or after `pause_time` without
    /// `initial_play`). A file that cannot be played ends the play at once
    /// with `error()` set. `InvalidState` while it plays.
    pub fn start(&self) -> Result<()> {
        let mut port = lock(&self.port);
        lock(&self.shared.status).error = None;
        port.player.start().map_err(sipsimple_core::Error::from)?;
        lock(&self.shared.status).active = port.player.is_active();
        port.drain_events();
        Ok(())
    }

    /// Stops at once. Does nothing when it is not playing.
    pub fn stop(&self) {
        let mut port = lock(&self.port);
        port.player.stop();
        port.drain_events();
    }

    /// Blocks until the play ends (all loops played, `stop`, or a failure)
    /// or `timeout_ms` milliseconds pass; returns whether it ended (true at
    /// once when it is not playing). The original's `play().wait()`.
    pub fn wait(&self, timeout_ms: u32) -> bool {
        let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
        let mut status = lock(&self.shared.status);
        while status.active {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            status = self.shared.changed.wait_timeout(status, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }

    /// `is_active`: playing, or waiting between plays.
    pub fn is_active(&self) -> bool {
        lock(&self.port).player.is_active()
    }

    /// Why the last play failed (the file is missing or no WAV...), if it
    /// did.
    pub fn error(&self) -> Option<String> {
        lock(&self.shared.status).error.clone()
    }

    /// The mixer slot the player produces on.
    pub fn producer_slot(&self) -> u32 {
        self.slot
    }

    /// `filename`.
    pub fn filename(&self) -> String {
        self.filename.clone()
    }

    /// `volume`, 0-200.
    pub fn volume(&self) -> u32 {
        self.options.volume
    }

    /// `loop_count`; 0 is forever.
    pub fn loop_count(&self) -> u32 {
        self.options.loop_count
    }

    /// `pause_time`, in seconds.
    pub fn pause_time(&self) -> f64 {
        self.options.pause_time.as_secs_f64()
    }

    /// `initial_play`.
    pub fn initial_play(&self) -> bool {
        self.options.initial_play
    }
}
