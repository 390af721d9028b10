//! [`AudioEngine`]: the application's voice mixer (the original's
//! `SIPApplication.voice_audio_mixer`), ticked every 20 ms.
//!
//! One [`AudioMixer`] at the `audio.sample_rate` setting, driven by one
//! thread (`sipsimple-audio`) that calls [`AudioMixer::tick`] on an absolute
//! 20 ms schedule; this clock paces every audio stream (a stream sends one
//! packet per tick and plays one decoded frame per tick). The
//! SessionManager starts it with the application and stops it after the
//! sessions ended. Audio streams put their port in it; applications put
//! their players, recorders and devices in it and connect slots with
//! [`AudioEngine::with_mixer`].
//!
//! There is no sound card here yet: nothing is connected to a device, and a
//! stream hears only what the application connects to it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::audio::{AudioMixer, FRAME_DURATION};
use crate::error::{Error, Result};

/// When the ticking thread falls this far behind (a suspended process), it
/// starts a new schedule instead of catching up in a burst.
const MAX_LAG: Duration = Duration::from_millis(200);

/// The voice mixer singleton (see the module documentation).
pub struct AudioEngine {
    state: Mutex<EngineState>,
}

#[derive(Default)]
struct EngineState {
    mixer: Option<Arc<Mutex<AudioMixer>>>,
    stop: Option<Arc<AtomicBool>>,
    thread: Option<JoinHandle<()>>,
}

static ENGINE: LazyLock<AudioEngine> = LazyLock::new(|| AudioEngine { state: Mutex::new(EngineState::default()) });

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AudioEngine {
    /// The singleton.
    pub fn instance() -> &'static AudioEngine {
        &ENGINE
    }

    /// Creates the mixer at the `audio.sample_rate` setting and starts
    /// ticking it. Does nothing when it runs already.
    pub fn start(&self) -> Result<()> {
        let mut s = lock(&self.state);
        if s.mixer.is_some() {
            return Ok(());
        }
        let rate = crate::settings::SIPSimpleSettings::instance()
            .settings()
            .get("audio.sample_rate")
            .ok()
            .and_then(|v| v.as_int())
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(32000);
        let mixer = Arc::new(Mutex::new(AudioMixer::new(rate)?));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, flag) = (mixer.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("sipsimple-audio".into())
            .spawn(move || tick_loop(&m, &flag))
            .map_err(|e| Error::Internal(format!("cannot start the audio thread: {e}")))?;
        s.mixer = Some(mixer);
        s.stop = Some(stop);
        s.thread = Some(thread);
        tracing::debug!("voice mixer started at {rate} Hz");
        Ok(())
    }

    /// Stops ticking and drops the mixer (with every port in it).
    pub fn stop(&self) {
        let (stop, thread) = {
            let mut s = lock(&self.state);
            s.mixer = None;
            (s.stop.take(), s.thread.take())
        };
        if let Some(stop) = stop {
            stop.store(true, Ordering::Release);
        }
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    /// Whether the mixer runs.
    pub fn is_running(&self) -> bool {
        lock(&self.state).mixer.is_some()
    }

    /// The mixer, while it runs. Lock it only briefly: its thread needs it
    /// every 20 ms. Never lock it while holding a port's lock.
    pub fn mixer(&self) -> Option<Arc<Mutex<AudioMixer>>> {
        lock(&self.state).mixer.clone()
    }

    /// The mixer's sample rate, while it runs.
    pub fn sample_rate(&self) -> Option<u32> {
        self.mixer().map(|m| lock(&m).sample_rate())
    }

    /// Runs `f` on the mixer (add ports, connect slots...). Error when the
    /// mixer does not run.
    pub fn with_mixer<T>(&self, f: impl FnOnce(&mut AudioMixer) -> T) -> Result<T> {
        let mixer = self
            .mixer()
            .ok_or_else(|| Error::InvalidState("the audio engine is not running (start the SIPApplication)".into()))?;
        let mut guard = lock(&mixer);
        Ok(f(&mut guard))
    }
}

fn tick_loop(mixer: &Mutex<AudioMixer>, stop: &AtomicBool) {
    let mut next = Instant::now() + FRAME_DURATION;
    while !stop.load(Ordering::Acquire) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else if now - next > MAX_LAG {
            next = now;
        }
        lock(mixer).tick();
        next += FRAME_DURATION;
    }
}
