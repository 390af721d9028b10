//! G.722 at 64 kbit/s (ITU-T G.722 mode 1, RFC 3551 §4.5.2): 16 kHz audio,
//! 8000 Hz RTP clock, static payload type 9, 160 bytes per 20 ms. The codec
//! is the `ezk-g722` crate (a port of the public-domain spandsp coder), used
//! unpacked (one byte per pair of samples).

use ezk_g722::libg722::Bitrate;
use ezk_g722::libg722::decoder::Decoder;
use ezk_g722::libg722::encoder::Encoder;

use super::{Codec, FadeConcealer, exact_frame};

/// G.722 at 64 kbit/s.
pub struct G722 {
    encoder: Encoder,
    decoder: Decoder,
    plc: FadeConcealer,
}

impl std::fmt::Debug for G722 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("G722").finish_non_exhaustive()
    }
}

impl Default for G722 {
    fn default() -> Self {
        Self::new()
    }
}

impl G722 {
    /// A new codec at 64 kbit/s.
    pub fn new() -> Self {
        G722 {
            encoder: Encoder::new(Bitrate::Mode1_64000, false, false),
            decoder: Decoder::new(Bitrate::Mode1_64000, false, false),
            plc: FadeConcealer::default(),
        }
    }
}

impl Codec for G722 {
    fn name(&self) -> &'static str {
        "G722"
    }
    fn clock_rate(&self) -> u32 {
        16000
    }
    fn rtp_clock_rate(&self) -> u32 {
        8000
    }
    fn static_payload_type(&self) -> Option<u8> {
        Some(9)
    }
    fn encode(&mut self, pcm: &[i16]) -> Vec<u8> {
        self.encoder.encode(&exact_frame(pcm, self.frame_samples()))
    }
    fn decode(&mut self, payload: &[u8]) -> Vec<i16> {
        let out = self.decoder.decode(payload);
        self.plc.good(&out);
        out
    }
    fn conceal(&mut self) -> Vec<i16> {
        self.plc.conceal(self.frame_samples())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::codec::tests::tone_round_trip;

    #[test]
    fn tone_round_trip_frequency_and_snr() {
        // Measured: 439.999 Hz, SNR 57.24 dB after aligning the 22-sample QMF delay.
        let mut c = G722::new();
        let (f, snr, lag, bytes) = tone_round_trip(&mut c, 10362.0);
        eprintln!("G722: f {f:.3} Hz, SNR {snr:.2} dB, lag {lag}, {bytes} bytes/s");
        assert_eq!(bytes, 8000, "64 kbit/s");
        assert!((f - 440.0).abs() <= 440.0 * 0.02, "{f}");
        assert_eq!(lag, 22);
        assert!(snr > 55.0, "{snr}");
    }

    #[test]
    fn frames_and_arbitrary_payloads() {
        let mut c = G722::new();
        assert_eq!(c.encode(&[0; 320]).len(), 160);
        assert_eq!(c.encode(&[0; 7]).len(), 160);
        // Any bytes are a valid G.722 stream; odd or empty lengths do not panic.
        assert_eq!(c.decode(&[0xAB; 160]).len(), 320);
        assert_eq!(c.decode(&[0x12; 3]).len(), 6);
        assert!(c.decode(&[]).is_empty());
        assert_eq!(c.conceal().len(), 320);
    }
}
