//! G.711 (ITU-T G.711, RFC 3551 §4.5.14): µ-law (PCMU, payload type 0) and
//! A-law (PCMA, payload type 8), one byte per 8 kHz sample.
//!
//! Both laws are segmented (8 chords of 16 steps, each chord doubling the
//! step). µ-law works on 14-bit magnitudes with a bias of 33 (132 on the
//! 16-bit scale) and stores the inverted code; A-law works on 13-bit
//! magnitudes, has two linear chords at the bottom and stores the code with
//! the even bits inverted (XOR 0x55). Decoding returns the middle of the
//! quantisation interval.

use super::{Codec, FadeConcealer, exact_frame};

/// The µ-law bias on the 16-bit scale (33 << 2).
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude µ-law represents before the bias is added.
const ULAW_CLIP: i32 = 32635;

/// Encodes one 16-bit linear sample as a µ-law byte.
pub fn ulaw_encode(sample: i16) -> u8 {
    let x = sample as i32;
    let (magnitude, mask) = if x < 0 { (-x, 0x7F) } else { (x, 0xFF) };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    // biased is in [132, 32767]: its top set bit is bit 7..=14, giving the chord.
    let chord = (31 - biased.leading_zeros() as i32) - 7;
    let step = (biased >> (chord + 3)) & 0x0F;
    (((chord << 4) | step) ^ mask) as u8
}

/// Decodes one µ-law byte to a 16-bit linear sample.
pub const fn ulaw_decode(code: u8) -> i16 {
    let u = !code;
    let chord = ((u >> 4) & 0x07) as i32;
    let step = (u & 0x0F) as i32;
    let magnitude = (((step << 3) + ULAW_BIAS) << chord) - ULAW_BIAS;
    if u & 0x80 != 0 { -magnitude as i16 } else { magnitude as i16 }
}

/// Encodes one 16-bit linear sample as an A-law byte.
pub fn alaw_encode(sample: i16) -> u8 {
    let x = (sample as i32) >> 3; // 13-bit
    let (magnitude, mask) = if x >= 0 { (x, 0xD5) } else { (-x - 1, 0x55) };
    // Chord 0 covers 0..=31, chord c >= 1 covers 2^(c+4)..2^(c+5).
    let chord = if magnitude < 32 { 0 } else { (31 - magnitude.leading_zeros() as i32) - 4 };
    let code = if chord >= 8 {
        0x7F
    } else {
        let step = if chord < 2 { (magnitude >> 1) & 0x0F } else { (magnitude >> chord) & 0x0F };
        (chord << 4) | step
    };
    (code ^ mask) as u8
}

/// Decodes one A-law byte to a 16-bit linear sample.
pub const fn alaw_decode(code: u8) -> i16 {
    let a = code ^ 0x55;
    let step = ((a & 0x0F) as i32) << 4;
    let chord = ((a & 0x70) >> 4) as i32;
    let magnitude = match chord {
        0 => step + 8,
        1 => step + 0x108,
        _ => (step + 0x108) << (chord - 1),
    };
    if a & 0x80 != 0 { magnitude as i16 } else { -magnitude as i16 }
}

macro_rules! decode_table {
    ($decode:ident) => {{
        let mut t = [0i16; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $decode(i as u8);
            i += 1;
        }
        t
    }};
}

static ULAW_TABLE: [i16; 256] = decode_table!(ulaw_decode);
static ALAW_TABLE: [i16; 256] = decode_table!(alaw_decode);

macro_rules! g711_codec {
    ($ty:ident, $name:literal, $pt:literal, $encode:ident, $table:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Default)]
        pub struct $ty {
            plc: FadeConcealer,
        }

        impl $ty {
            /// A new codec.
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl Codec for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn clock_rate(&self) -> u32 {
                8000
            }
            fn rtp_clock_rate(&self) -> u32 {
                8000
            }
            fn static_payload_type(&self) -> Option<u8> {
                Some($pt)
            }
            fn encode(&mut self, pcm: &[i16]) -> Vec<u8> {
                exact_frame(pcm, self.frame_samples()).iter().map(|&s| $encode(s)).collect()
            }
            fn decode(&mut self, payload: &[u8]) -> Vec<i16> {
                let out: Vec<i16> = payload.iter().map(|&b| $table[b as usize]).collect();
                self.plc.good(&out);
                out
            }
            fn conceal(&mut self) -> Vec<i16> {
                self.plc.conceal(self.frame_samples())
            }
        }
    };
}

g711_codec!(Pcmu, "PCMU", 0, ulaw_encode, ULAW_TABLE, "G.711 µ-law (PCMU, static payload type 0).");
g711_codec!(Pcma, "PCMA", 8, alaw_encode, ALAW_TABLE, "G.711 A-law (PCMA, static payload type 8).");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::codec::tests::tone_round_trip;

    #[test]
    fn known_vectors() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-1), 0x7F);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-8), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
        // Mid-range codes: µ-law 0xEF is chord 1 step 0 (+), the middle of
        // 132..=263 on the 16-bit scale; A-law 0xE5 is chord 3 step 0 (+).
        assert_eq!(ulaw_decode(0xEF), 132);
        assert_eq!(ulaw_encode(132), 0xEF);
        assert_eq!(ulaw_encode(-132), 0x6F);
        assert_eq!(alaw_decode(0xE5), 0x108 << 2);
    }

    /// Half the step of the chord that `x` falls in, on the 16-bit scale.
    fn ulaw_half_step(x: i32) -> i32 {
        let biased = x.unsigned_abs().min(ULAW_CLIP as u32) as i32 + ULAW_BIAS;
        let chord = (31 - biased.leading_zeros() as i32) - 7;
        1 << (chord + 2)
    }

    fn alaw_half_step(x: i32) -> i32 {
        let m = (x >> 3).unsigned_abs() as i32;
        let chord = if m < 32 { 0 } else { (31 - m.leading_zeros() as i32) - 4 };
        // Chords 0 and 1 step 2 (13-bit), chord c >= 2 steps 2^c; 16-bit scale is << 3.
        (if chord < 2 { 2 } else { 1 << chord }) << 2
    }

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        for x in i16::MIN..=i16::MAX {
            let xi = x as i32;
            let u = ulaw_decode(ulaw_encode(x)) as i32;
            if xi.abs() <= ULAW_CLIP {
                assert!((u - xi).abs() <= ulaw_half_step(xi), "µ-law {x} -> {u}");
            } else {
                assert_eq!(u.abs(), 32124, "µ-law clips {x}");
            }
            let a = alaw_decode(alaw_encode(x)) as i32;
            // The A-law decoder adds half a step to the truncated 13-bit value, so
            // the error is at most half a step plus the 3 bits dropped by >> 3.
            assert!((a - xi).abs() <= alaw_half_step(xi) + 8, "A-law {x} -> {a}");
            // Relative error of both laws stays under 1/16 above the bottom chords.
            if xi.abs() > 1024 {
                assert!(((u - xi).abs() as f64) / (xi.abs() as f64) < 1.0 / 16.0, "µ-law {x}");
                assert!(((a - xi).abs() as f64) / (xi.abs() as f64) < 1.0 / 16.0, "A-law {x}");
            }
        }
    }

    #[test]
    fn codes_are_monotonic_and_idempotent() {
        let mut prev_u = ulaw_decode(ulaw_encode(i16::MIN));
        let mut prev_a = alaw_decode(alaw_encode(i16::MIN));
        for x in i16::MIN..=i16::MAX {
            let u = ulaw_decode(ulaw_encode(x));
            let a = alaw_decode(alaw_encode(x));
            assert!(u >= prev_u && a >= prev_a, "not monotonic at {x}");
            prev_u = u;
            prev_a = a;
        }
        for code in 0..=255u8 {
            // Decoding a code and encoding the result gives the code back
            // (except µ-law's negative zero 0x7F, which decodes to 0 = 0xFF).
            let u = ulaw_encode(ulaw_decode(code));
            assert!(u == code || (code == 0x7F && u == 0xFF), "µ-law code {code:#x} -> {u:#x}");
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law code {code:#x}");
        }
    }

    #[test]
    fn frames_and_concealment() {
        let mut c = Pcmu::new();
        assert_eq!(c.encode(&[0; 160]), vec![0xFF; 160]);
        // Short input is padded, long input truncated, to one 20 ms frame.
        assert_eq!(c.encode(&[0; 10]).len(), 160);
        assert_eq!(c.encode(&[0; 500]).len(), 160);
        assert_eq!(c.decode(&[]), Vec::<i16>::new());
        let frame = c.decode(&[0x80; 160]);
        assert_eq!(frame, vec![32124; 160]);
        assert_eq!(c.conceal(), vec![32124 >> 1; 160]);
        let mut a = Pcma::new();
        assert_eq!(a.encode(&[0; 160]), vec![0xD5; 160]);
        assert_eq!(a.conceal(), vec![0; 160]);
    }

    #[test]
    fn tone_round_trip_snr() {
        // Measured on a -10 dBFS 440 Hz tone: µ-law 36.96 dB, A-law 36.66 dB
        // (G.711's ~37-38 dB SQNR at this level); frequency 440.000 Hz.
        for (codec, min_snr) in [(&mut Pcmu::new() as &mut dyn Codec, 36.5), (&mut Pcma::new(), 36.2)] {
            let (f, snr, lag, bytes) = tone_round_trip(codec, 10362.0);
            eprintln!("{}: f {f:.3} Hz, SNR {snr:.2} dB, lag {lag}, {bytes} bytes/s", codec.name());
            assert_eq!(lag, 0);
            assert_eq!(bytes, 8000);
            assert!((f - 440.0).abs() < 0.1, "{f}");
            assert!(snr > min_snr, "{snr}");
        }
    }
}
