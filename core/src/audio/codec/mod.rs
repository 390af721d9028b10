//! Audio codecs: the [`Codec`] trait, G.711 µ-law and A-law ([`Pcmu`],
//! [`Pcma`], written here), G.722 ([`G722`], over `ezk-g722`) and Opus
//! ([`Opus`], over libopus), and [`codec_by_name`].
//!
//! A codec instance holds the state of one direction pair (one encoder and
//! one decoder) of one RTP stream. Frames are 20 ms of mono 16-bit PCM at the
//! codec's [`Codec::clock_rate`]; the stream resamples to and from the mixer
//! rate.

use std::time::Duration;

use super::{AudioError, FRAME_DURATION};

mod g711;
mod g722;
mod opus;

pub use g711::{Pcma, Pcmu, alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};
pub use g722::G722;
pub use opus::Opus;

/// One audio codec: an encoder and a decoder with their state.
pub trait Codec: Send {
    /// The encoding name as in SDP `a=rtpmap` (`PCMU`, `PCMA`, `G722`, `opus`).
    fn name(&self) -> &'static str;
    /// The rate of the PCM audio this codec encodes and decodes, in Hz.
    fn clock_rate(&self) -> u32;
    /// The RTP timestamp rate advertised in `a=rtpmap` (8000 for G.722,
    /// RFC 3551 §4.5.2, although its audio is 16 kHz).
    fn rtp_clock_rate(&self) -> u32;
    /// Audio channels encoded and decoded (always 1 here).
    fn channels(&self) -> u8 {
        1
    }
    /// The channel count written in `a=rtpmap`, when the format requires one
    /// (`opus/48000/2`, RFC 7587 §7, even for mono).
    fn rtpmap_channels(&self) -> Option<u8> {
        None
    }
    /// The static RTP payload type (RFC 3551), `None` for dynamic ones.
    fn static_payload_type(&self) -> Option<u8>;
    /// Format parameters to offer in `a=fmtp`, if any.
    fn fmtp(&self) -> Option<&'static str> {
        None
    }
    /// Duration of one frame (20 ms).
    fn frame_duration(&self) -> Duration {
        FRAME_DURATION
    }
    /// Samples in one frame at [`Codec::clock_rate`].
    fn frame_samples(&self) -> usize {
        super::frame_samples(self.clock_rate())
    }
    /// RTP timestamp increment of one frame.
    fn rtp_timestamp_increment(&self) -> u32 {
        self.rtp_clock_rate() / super::FRAMES_PER_SECOND
    }
    /// Encodes one frame ([`Codec::frame_samples`] samples; a shorter input
    /// is padded with silence, a longer one truncated) into an RTP payload.
    fn encode(&mut self, pcm: &[i16]) -> Vec<u8>;
    /// Decodes one RTP payload. Malformed input never panics: it decodes to
    /// whatever the format makes of it, or to a concealed frame.
    fn decode(&mut self, payload: &[u8]) -> Vec<i16>;
    /// Produces one frame in place of a lost packet (packet-loss
    /// concealment).
    fn conceal(&mut self) -> Vec<i16>;
    /// Produces one frame in place of a lost packet when the packet after it,
    /// `next_payload`, has arrived: codecs with in-band forward error
    /// correction (Opus) rebuild the lost frame from it; the others conceal.
    /// Call [`Codec::decode`] with `next_payload` afterwards as usual.
    fn recover(&mut self, next_payload: &[u8]) -> Vec<i16> {
        let _ = next_payload;
        self.conceal()
    }
}

/// The codec names [`codec_by_name`] knows, in the default preference
/// order of `rtp.audio_codec_list`.
pub const SUPPORTED_CODECS: &[&str] = &["opus", "G722", "PCMU", "PCMA"];

/// A fresh codec by its SDP encoding name (matched case-insensitively, as
/// RFC 4566 §6 requires for rtpmap names): `PCMU`, `PCMA`, `G722`, `opus`.
pub fn codec_by_name(name: &str) -> Result<Box<dyn Codec>, AudioError> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "pcmu" => Box::new(Pcmu::new()),
        "pcma" => Box::new(Pcma::new()),
        "g722" => Box::new(G722::new()),
        "opus" => Box::new(Opus::new()?),
        _ => return Err(AudioError::UnknownCodec(name.to_string())),
    })
}

/// Packet-loss concealment for codecs without their own: repeats the last
/// good frame, halving its level at each consecutive loss, and gives
/// silence from the fourth loss on.
#[derive(Debug, Default)]
pub(crate) struct FadeConcealer {
    last: Vec<i16>,
    losses: u32,
}

impl FadeConcealer {
    /// Remembers a frame that was decoded.
    pub(crate) fn good(&mut self, frame: &[i16]) {
        self.last.clear();
        self.last.extend_from_slice(frame);
        self.losses = 0;
    }

    /// A frame of `len` samples standing in for a lost one.
    pub(crate) fn conceal(&mut self, len: usize) -> Vec<i16> {
        self.losses += 1;
        if self.losses > 3 || self.last.len() != len {
            return vec![0; len];
        }
        let shift = self.losses;
        self.last.iter().map(|&s| s >> shift).collect()
    }
}

/// Copies `pcm` into a frame of exactly `len` samples (padding with
/// silence or truncating).
pub(crate) fn exact_frame(pcm: &[i16], len: usize) -> std::borrow::Cow<'_, [i16]> {
    if pcm.len() == len {
        std::borrow::Cow::Borrowed(pcm)
    } else {
        let mut v = pcm[..pcm.len().min(len)].to_vec();
        v.resize(len, 0);
        std::borrow::Cow::Owned(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::analysis::{aligned_snr_db, dominant_frequency, sine};

    #[test]
    fn factory_knows_the_names() {
        for (name, rate, rtp_rate, pt) in [
            ("PCMU", 8000, 8000, Some(0)),
            ("PCMA", 8000, 8000, Some(8)),
            ("G722", 16000, 8000, Some(9)),
            ("opus", 48000, 48000, None),
        ] {
            let c = codec_by_name(name).unwrap();
            assert_eq!(c.name(), name);
            assert_eq!(c.clock_rate(), rate);
            assert_eq!(c.rtp_clock_rate(), rtp_rate);
            assert_eq!(c.static_payload_type(), pt);
            assert_eq!(c.channels(), 1);
            assert_eq!(c.frame_duration(), Duration::from_millis(20));
            assert_eq!(c.frame_samples(), rate as usize / 50);
            assert_eq!(c.rtp_timestamp_increment(), rtp_rate / 50);
        }
        assert!(codec_by_name("pcmu").is_ok());
        assert!(codec_by_name("OPUS").is_ok());
        assert!(matches!(codec_by_name("G729"), Err(AudioError::UnknownCodec(_))));
        assert_eq!(codec_by_name("opus").unwrap().rtpmap_channels(), Some(2));
        assert_eq!(codec_by_name("PCMU").unwrap().rtpmap_channels(), None);
    }

    /// Encodes `pcm` frame by frame and decodes the payloads.
    pub(crate) fn round_trip(codec: &mut dyn Codec, pcm: &[i16]) -> (Vec<i16>, usize) {
        let n = codec.frame_samples();
        let mut out = Vec::new();
        let mut bytes = 0;
        for frame in pcm.chunks(n) {
            let payload = codec.encode(frame);
            bytes += payload.len();
            out.extend(codec.decode(&payload));
        }
        (out, bytes)
    }

    /// Round trip of a 1 s 440 Hz tone: the decoded frequency and SNR.
    pub(crate) fn tone_round_trip(codec: &mut dyn Codec, amplitude: f64) -> (f64, f64, usize, usize) {
        let rate = codec.clock_rate();
        let pcm = sine(440.0, amplitude, rate, rate as usize);
        let (out, bytes) = round_trip(codec, &pcm);
        assert_eq!(out.len(), pcm.len());
        let f = dominant_frequency(&out, rate).unwrap();
        // Skip the first 100 ms (codec start-up) in the SNR.
        let (snr, lag) = aligned_snr_db(&pcm, &out, rate as usize / 100, rate as usize / 10);
        (f, snr, lag, bytes)
    }

    #[test]
    fn fade_concealer() {
        let mut c = FadeConcealer::default();
        assert_eq!(c.conceal(4), vec![0; 4]);
        c.good(&[800, -800, 400, 0]);
        assert_eq!(c.conceal(4), vec![400, -400, 200, 0]);
        assert_eq!(c.conceal(4), vec![200, -200, 100, 0]);
        assert_eq!(c.conceal(4), vec![100, -100, 50, 0]);
        assert_eq!(c.conceal(4), vec![0; 4]);
        c.good(&[8, 8, 8, 8]);
        assert_eq!(c.conceal(2), vec![0; 2]);
    }
}
