//! Sound devices behind a trait: the [`SoundBackend`] the application's
//! mixers open their devices with, a process-wide registry of it
//! ([`install_backend`], [`backend`]), and the [`NullBackend`] used when
//! nothing else is installed or the machine has no sound card.
//!
//! The core never talks to a sound system itself. A backend crate (the
//! `sipsimple-cpal` crate for real devices) implements [`SoundBackend`] and
//! installs it before the application starts. A [`SoundIo`] exchanges 20 ms
//! frames at the mixer rate with the device; the device port of a
//! [`DeviceMixer`](super::objects::DeviceMixer) calls it once per mixer tick
//! from the mixer's thread, so an implementation buffers between the sound
//! system's callbacks and the ticks (and drops or pads when their clocks
//! drift).

use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use super::AudioError;
use super::mixer::AudioPort;

/// The device name meaning "whatever the system uses by default", as the
/// `audio.input_device`, `audio.output_device` and `audio.alert_device`
/// settings spell it.
pub const SYSTEM_DEFAULT: &str = "system_default";

/// What a mixer asks a backend to open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SoundDeviceRequest {
    /// The capture device's real name; `None` for no capture.
    pub input_device: Option<String>,
    /// The playback device's real name; `None` for no playback.
    pub output_device: Option<String>,
    /// The mixer rate: frames exchanged with [`SoundIo`] are at this rate.
    pub sample_rate: u32,
}

/// Audio in and out of an opened sound device, one mono 16-bit frame per
/// mixer tick at the mixer rate. Called from the mixer's thread only.
pub trait SoundIo: Send {
    /// Fills `frame` with the next captured 20 ms and returns `true`, or
    /// returns `false` when nothing was captured (no capture device, or the
    /// device has not delivered yet): the frame then counts as silence.
    fn capture(&mut self, frame: &mut [i16]) -> bool;
    /// Plays `frame` (the mix of everything connected to the device).
    fn playback(&mut self, frame: &[i16]);
}

/// A sound system: lists devices and opens them.
pub trait SoundBackend: Send + Sync {
    /// The backend's name, for logs (`"null"`, `"cpal"`).
    fn name(&self) -> &str;
    /// The capture devices, by name.
    fn input_devices(&self) -> Vec<String>;
    /// The playback devices, by name.
    fn output_devices(&self) -> Vec<String>;
    /// The real name of the system's default capture device, if any.
    fn default_input_device(&self) -> Option<String>;
    /// The real name of the system's default playback device, if any.
    fn default_output_device(&self) -> Option<String>;
    /// Opens the devices of `request` (real names, not [`SYSTEM_DEFAULT`]).
    fn open(&self, request: &SoundDeviceRequest) -> Result<Box<dyn SoundIo>, AudioError>;
}

/// The backend of a machine without a sound card: no devices; what it
/// opens is silent and discards what it plays.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullBackend;

/// The [`SoundIo`] of [`NullBackend`]: silence in, nothing out.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullSoundIo;

impl SoundIo for NullSoundIo {
    fn capture(&mut self, _frame: &mut [i16]) -> bool {
        false
    }

    fn playback(&mut self, _frame: &[i16]) {}
}

impl SoundBackend for NullBackend {
    fn name(&self) -> &str {
        "null"
    }

    fn input_devices(&self) -> Vec<String> {
        Vec::new()
    }

    fn output_devices(&self) -> Vec<String> {
        Vec::new()
    }

    fn default_input_device(&self) -> Option<String> {
        None
    }

    fn default_output_device(&self) -> Option<String> {
        None
    }

    fn open(&self, request: &SoundDeviceRequest) -> Result<Box<dyn SoundIo>, AudioError> {
        match request.input_device.as_ref().or(request.output_device.as_ref()) {
            Some(name) => Err(AudioError::InvalidArgument(format!("no sound device named {name:?}"))),
            None => Ok(Box::new(NullSoundIo)),
        }
    }
}

static BACKEND: LazyLock<RwLock<Arc<dyn SoundBackend>>> = LazyLock::new(|| RwLock::new(Arc::new(NullBackend)));

/// Makes `backend` the one mixers open their devices with from now on
/// (mixers already running keep theirs). Call it before the application
/// starts.
pub fn install_backend(backend: Arc<dyn SoundBackend>) {
    tracing::debug!("sound backend: {}", backend.name());
    *BACKEND.write().unwrap_or_else(PoisonError::into_inner) = backend;
}

/// The installed backend ([`NullBackend`] unless another was installed).
pub fn backend() -> Arc<dyn SoundBackend> {
    BACKEND.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// The mixer port of a sound device: slot 0 of every
/// [`DeviceMixer`](super::objects::DeviceMixer). It scales what it plays by
/// the output volume and counts frames.
pub struct DevicePort {
    io: Box<dyn SoundIo>,
    output_volume: u32,
    frames_captured: u64,
    frames_played: u64,
    fed_this_tick: bool,
}

impl std::fmt::Debug for DevicePort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevicePort")
            .field("output_volume", &self.output_volume)
            .field("frames_captured", &self.frames_captured)
            .field("frames_played", &self.frames_played)
            .finish()
    }
}

impl DevicePort {
    /// A port over an opened device.
    pub fn new(io: Box<dyn SoundIo>) -> Self {
        // `fed_this_tick` starts true: before the first tick there is no
        // previous tick to make up for.
        DevicePort { io, output_volume: 100, frames_captured: 0, frames_played: 0, fed_this_tick: true }
    }

    /// Replaces the device (when the application changes devices).
    pub fn set_io(&mut self, io: Box<dyn SoundIo>) {
        self.io = io;
    }

    /// Playback volume, 0-100 (0: the device plays silence).
    pub fn set_output_volume(&mut self, volume: u32) {
        self.output_volume = volume.min(100);
    }

    /// Playback volume, 0-100.
    pub fn output_volume(&self) -> u32 {
        self.output_volume
    }

    /// Frames the device captured.
    pub fn frames_captured(&self) -> u64 {
        self.frames_captured
    }

    /// Frames given to the device that were not silence-padded.
    pub fn frames_played(&self) -> u64 {
        self.frames_played
    }
}

impl AudioPort for DevicePort {
    fn get_frame(&mut self, frame: &mut [i16]) -> bool {
        // Nothing connected to the device in the previous tick: it still
        // plays silence, so its clock keeps running.
        if !self.fed_this_tick {
            let silence = vec![0; frame.len()];
            self.io.playback(&silence);
        }
        self.fed_this_tick = false;
        let captured = self.io.capture(frame);
        if captured {
            self.frames_captured += 1;
        }
        captured
    }

    fn put_frame(&mut self, frame: &[i16]) {
        self.fed_this_tick = true;
        self.frames_played += 1;
        if self.output_volume >= 100 {
            self.io.playback(frame);
        } else {
            let scaled: Vec<i16> = frame.iter().map(|&s| (s as i32 * self.output_volume as i32 / 100) as i16).collect();
            self.io.playback(&scaled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_null_backend_has_no_devices_and_opens_only_nothing() {
        let b = NullBackend;
        assert!(b.input_devices().is_empty() && b.output_devices().is_empty());
        assert!(b.default_output_device().is_none());
        let mut io = b.open(&SoundDeviceRequest { sample_rate: 8000, ..Default::default() }).unwrap();
        let mut frame = [5i16; 160];
        assert!(!io.capture(&mut frame));
        let named = SoundDeviceRequest { output_device: Some("hw:9".into()), sample_rate: 8000, ..Default::default() };
        assert!(b.open(&named).is_err());
    }
}
