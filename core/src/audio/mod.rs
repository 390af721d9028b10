//! The audio engine: codecs, the mixer and its ports (devices, WAV players
//! and recorders, tone generators), bridges and conferences.
//!
//! The primitives here are sans-IO and single-threaded: a mixer is a plain struct
//! that somebody (a device callback, a timer, a test) drives with
//! [`AudioMixer::tick`] once every [`FRAME_DURATION`] (20 ms). Each tick pulls
//! one frame from every port, mixes the frames along the slot connections
//! (with saturation) and pushes one frame to every connected consumer. Only
//! [`objects`] starts threads (one per [`DeviceMixer`](objects::DeviceMixer))
//! and opens sound devices, through [`backend`].
//!
//! - [`codec`]: the [`Codec`] trait, G.711 (PCMU, PCMA), G.722
//!   and Opus, and [`codec_by_name`].
//! - [`resample`]: a polyphase windowed-sinc [`Resampler`]
//!   between any two rates, so a mixer at one rate hosts codecs of others.
//! - [`mixer`]: [`AudioMixer`] with numbered slots, [`AudioPort`] and
//!   pass-through slots (the original's `MixerPort`).
//! - [`bridge`]: [`AudioBridge`], a full mesh of ports on one mixer.
//! - [`tone`]: [`ToneGenerator`] (dual tones, DTMF, ringback).
//! - [`wave`]: [`WavePlayer`] and [`WaveRecorder`] over `hound`.
//! - [`device`]: [`NullDevice`] and [`BufferPort`].
//! - [`backend`]: the [`SoundBackend`](backend::SoundBackend) trait sound
//!   devices are opened through, its registry and the null backend.
//! - [`objects`]: the application's handle-registered objects: the
//!   device mixers, `AudioDevice`, `AudioBridge`, `WavePlayer`,
//!   `WaveRecorder` and `AudioConference`, as the original's
//!   `sipsimple.audio` has them.
//! - [`analysis`]: tone generation, Goertzel, frequency estimation and SNR for
//!   tests (also used by the end-to-end tests).

use std::path::PathBuf;
use std::time::Duration;

pub mod analysis;
pub mod backend;
pub mod bridge;
pub mod codec;
pub mod device;
pub mod mixer;
pub mod objects;
pub mod resample;
pub mod tone;
pub mod wave;

pub use bridge::{AudioBridge, PortSlots};
pub use codec::{Codec, codec_by_name};
pub use device::{BufferPort, NullDevice};
pub use mixer::{AudioMixer, AudioPort, SharedPort, shared};
pub use resample::Resampler;
pub use tone::{Tone, ToneGenerator};
pub use wave::{WavePlayer, WavePlayerEvent, WavePlayerOptions, WaveRecorder};

/// The number of a mixer slot. Numbers are never reused by a mixer, so a
/// stale number cannot reach another port.
pub type SlotId = u32;

/// The duration of one audio frame: the mixer ticks and every codec packs
/// at this interval.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// Frames per second at [`FRAME_DURATION`].
pub const FRAMES_PER_SECOND: u32 = 50;

/// Number of samples in one 20 ms frame at `sample_rate` (per channel).
pub fn frame_samples(sample_rate: u32) -> usize {
    (sample_rate / FRAMES_PER_SECOND) as usize
}

/// Lowest and highest rates the mixer, resampler and WAV player accept.
pub const MIN_SAMPLE_RATE: u32 = 8000;
/// See [`MIN_SAMPLE_RATE`].
pub const MAX_SAMPLE_RATE: u32 = 192_000;

/// Checks that `rate` is a usable mixer rate: within
/// [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`] and a multiple of 50, so that a
/// 20 ms frame is a whole number of samples.
pub fn check_sample_rate(rate: u32) -> Result<(), AudioError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) && rate.is_multiple_of(FRAMES_PER_SECOND) {
        Ok(())
    } else {
        Err(AudioError::UnsupportedSampleRate(rate))
    }
}

/// Errors of the audio engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// No codec has this name.
    #[error("unknown codec: {0}")]
    UnknownCodec(String),
    /// A codec library refused to initialise.
    #[error("codec {codec}: {reason}")]
    Codec {
        /// The codec's name.
        codec: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The sample rate is out of range or not a multiple of 50 Hz.
    #[error("unsupported sample rate: {0} Hz")]
    UnsupportedSampleRate(u32),
    /// The mixer has no slot with this number.
    #[error("no such slot: {0}")]
    NoSuchSlot(SlotId),
    /// The two slots are not connected.
    #[error("slots {0} and {1} are not connected")]
    NotConnected(SlotId, SlotId),
    /// The bridge has no member with this key (`ValueError` in the original).
    #[error("port {0} is not part of this bridge")]
    NotMember(u64),
    /// A bridge was used with a mixer other than its own.
    #[error("the bridge belongs to another mixer")]
    WrongMixer,
    /// An argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The call is not allowed in the current state.
    #[error("{0}")]
    InvalidState(String),
    /// A WAV file could not be read or written.
    #[error("{}: {reason}", path.display())]
    Wave {
        /// The file.
        path: PathBuf,
        /// What went wrong (hound's or the file system's message).
        reason: String,
    },
}

impl From<AudioError> for crate::error::Error {
    fn from(e: AudioError) -> Self {
        use crate::error::Error;
        match e {
            AudioError::UnknownCodec(_)
            | AudioError::UnsupportedSampleRate(_)
            | AudioError::InvalidArgument(_)
            | AudioError::WrongMixer
            | AudioError::Wave { .. } => Error::InvalidArgument(e.to_string()),
            AudioError::NoSuchSlot(_) | AudioError::NotMember(_) | AudioError::NotConnected(..) => {
                Error::NotFound(e.to_string())
            }
            AudioError::InvalidState(_) => Error::InvalidState(e.to_string()),
            AudioError::Codec { .. } => Error::Internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_rates_and_frames() {
        assert_eq!(frame_samples(8000), 160);
        assert_eq!(frame_samples(44100), 882);
        assert_eq!(frame_samples(48000), 960);
        assert!(check_sample_rate(32000).is_ok());
        assert!(check_sample_rate(44100).is_ok());
        assert!(check_sample_rate(44101).is_err());
        assert!(check_sample_rate(4000).is_err());
        assert!(check_sample_rate(0).is_err());
        let e: crate::error::Error = AudioError::NotMember(3).into();
        assert_eq!(e.code(), 5);
    }
}
