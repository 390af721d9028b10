//! Sample-rate conversion by a rational factor with a polyphase
//! windowed-sinc filter (no extra dependency).
//!
//! Converting `from` → `to` Hz upsamples by `L = to / g` and downsamples by
//! `M = from / g` (`g = gcd(from, to)`). The prototype low-pass filter is a
//! Kaiser-windowed sinc (β = 7.86, about 80 dB stop-band attenuation) at the
//! upsampled rate, with 64 taps per output sample at the lower of the two
//! rates (more when decimating). Its transition band ends at the lower rate's
//! Nyquist frequency, so nothing aliases: for 8 kHz the pass band reaches
//! about 3.4 kHz, for 16 kHz about 6.7 kHz. Each polyphase branch is scaled to
//! unit DC gain. The filter delays the signal by half its length, about 32
//! samples at the lower rate (4 ms at 8 kHz, 2 ms at 16 kHz).
//!
//! The resampler streams: it keeps the tail of the previous input, so feeding
//! a signal in any chunks gives the same output as feeding it at once, and
//! 20 ms frames at rates that are multiples of 50 Hz come out as exactly one
//! 20 ms frame at the other rate.

use super::{AudioError, MAX_SAMPLE_RATE};

/// Sinc zero crossings on each side of the centre at the lower rate.
const ZERO_CROSSINGS: f64 = 32.0;
/// Kaiser window β for about 80 dB stop-band attenuation.
const KAISER_BETA: f64 = 7.857;
/// Attenuation the β is designed for (dB), which sets the transition width.
const ATTENUATION_DB: f64 = 80.0;
/// Largest upsampling factor (polyphase branches) after reduction.
const MAX_PHASES: usize = 1024;
/// Lowest rate accepted.
const MIN_RATE: u32 = 1000;

/// A streaming sample-rate converter for mono 16-bit audio.
#[derive(Clone)]
pub struct Resampler {
    from: u32,
    to: u32,
    up: usize,
    down: usize,
    taps: usize,
    /// `coeffs[phase * taps + j]`.
    coeffs: Vec<f32>,
    /// The last `taps - 1` input samples, oldest first.
    history: Vec<f32>,
    /// Position of the next output sample relative to the first sample of
    /// the next input block, in units of 1/`up` input samples.
    pos: usize,
    buf: Vec<f32>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("up", &self.up)
            .field("down", &self.down)
            .field("taps", &self.taps)
            .finish_non_exhaustive()
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..64 {
        term *= half / k as f64;
        let t2 = term * term;
        sum += t2;
        if t2 < sum * 1e-17 {
            break;
        }
    }
    sum
}

impl Resampler {
    /// A converter from `from` Hz to `to` Hz. Rates must be within
    /// 1000..=192000 Hz and their ratio, reduced, must have a numerator of at
    /// most 1024 (true of every common rate pair, e.g. 11025 → 48000 is
    /// 640/147).
    pub fn new(from: u32, to: u32) -> Result<Self, AudioError> {
        for rate in [from, to] {
            if !(MIN_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
                return Err(AudioError::UnsupportedSampleRate(rate));
            }
        }
        let g = gcd(from, to);
        let (up, down) = ((to / g) as usize, (from / g) as usize);
        if up > MAX_PHASES {
            return Err(AudioError::InvalidArgument(format!(
                "cannot resample {from} Hz to {to} Hz: ratio {up}/{down}"
            )));
        }
        let mut r =
            Resampler { from, to, up, down, taps: 1, coeffs: vec![1.0], history: Vec::new(), pos: 0, buf: Vec::new() };
        if from != to {
            r.design();
        }
        Ok(r)
    }

    fn design(&mut self) {
        let low = self.from.min(self.to) as f64;
        // Taps per output sample: 2 * ZERO_CROSSINGS at the lower rate,
        // stretched when decimating (the filter runs at the input rate).
        let stretch = (self.from as f64 / low).max(1.0);
        let taps = ((2.0 * ZERO_CROSSINGS * stretch).ceil() as usize + 1) & !1;
        let n = self.up * taps;
        let filter_rate = self.up as f64 * self.from as f64;
        // Kaiser transition width for this length, placed to end at the low Nyquist.
        let transition = (ATTENUATION_DB - 7.95) / 14.36 * filter_rate / n as f64;
        let cutoff = (low / 2.0 - transition / 2.0) / filter_rate; // cycles per sample
        let centre = (n - 1) as f64 / 2.0;
        let i0_beta = bessel_i0(KAISER_BETA);
        let proto: Vec<f64> = (0..n)
            .map(|k| {
                let t = k as f64 - centre;
                let x = 2.0 * cutoff * t;
                let sinc = if x == 0.0 { 1.0 } else { (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x) };
                let r = 2.0 * k as f64 / (n - 1) as f64 - 1.0;
                let window = bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / i0_beta;
                2.0 * cutoff * sinc * window
            })
            .collect();
        let mut coeffs = vec![0f32; n];
        for phase in 0..self.up {
            let sum: f64 = (0..taps).map(|j| proto[phase + j * self.up]).sum();
            for j in 0..taps {
                coeffs[phase * taps + j] = (proto[phase + j * self.up] / sum) as f32;
            }
        }
        self.taps = taps;
        self.coeffs = coeffs;
        self.history = vec![0.0; taps - 1];
    }

    /// The input rate in Hz.
    pub fn input_rate(&self) -> u32 {
        self.from
    }

    /// The output rate in Hz.
    pub fn output_rate(&self) -> u32 {
        self.to
    }

    /// The delay the filter adds, in output samples.
    pub fn delay(&self) -> f64 {
        if self.from == self.to { 0.0 } else { (self.up * self.taps - 1) as f64 / 2.0 / self.down as f64 }
    }

    /// Forgets the stream so far (the next input starts a new signal).
    pub fn reset(&mut self) {
        self.history.iter_mut().for_each(|s| *s = 0.0);
        self.pos = 0;
    }

    /// Converts `input` and appends the result to `output`.
    pub fn process(&mut self, input: &[i16], output: &mut Vec<i16>) {
        if self.from == self.to {
            output.extend_from_slice(input);
            return;
        }
        let taps = self.taps;
        self.buf.clear();
        self.buf.extend_from_slice(&self.history);
        self.buf.extend(input.iter().map(|&s| s as f32));
        let limit = input.len() * self.up;
        output.reserve(limit / self.down + 1);
        while self.pos < limit {
            let i = self.pos / self.up;
            let phase = self.pos % self.up;
            let c = &self.coeffs[phase * taps..(phase + 1) * taps];
            // buf[i + taps - 1] is input[i]; walk back through taps samples.
            let window = &self.buf[i..i + taps];
            let acc: f32 = c.iter().zip(window.iter().rev()).map(|(a, b)| a * b).sum();
            output.push(acc.round().clamp(i16::MIN as f32, i16::MAX as f32) as i16);
            self.pos += self.down;
        }
        self.pos -= limit;
        let keep = self.buf.len() - (taps - 1);
        self.history.copy_from_slice(&self.buf[keep..]);
    }

    /// Converts `input` into a new vector.
    pub fn process_vec(&mut self, input: &[i16]) -> Vec<i16> {
        let mut out = Vec::new();
        self.process(input, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::analysis::{dominant_frequency, sine, tone_amplitude};
    use crate::audio::frame_samples;

    fn through(r: &mut Resampler, input: &[i16], chunk: usize) -> Vec<i16> {
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            r.process(c, &mut out);
        }
        out
    }

    #[test]
    fn one_khz_survives_8k_48k_8k() {
        let input = sine(1000.0, 10000.0, 8000, 8000);
        let mut up = Resampler::new(8000, 48000).unwrap();
        let mut down = Resampler::new(48000, 8000).unwrap();
        let mid = through(&mut up, &input, 160);
        assert_eq!(mid.len(), 48000);
        let out = through(&mut down, &mid, 960);
        assert_eq!(out.len(), 8000);
        // Leave out the filters' start-up (a few ms) when measuring.
        let mid_steady = &mid[4800..];
        let steady = &out[800..];
        let f_mid = dominant_frequency(mid_steady, 48000).unwrap();
        let f = dominant_frequency(steady, 8000).unwrap();
        let a_mid = tone_amplitude(mid_steady, 48000, 1000.0);
        let a = tone_amplitude(steady, 8000, 1000.0);
        eprintln!("8k->48k: {f_mid:.3} Hz amplitude {a_mid:.1}; ->8k: {f:.3} Hz amplitude {a:.1}");
        assert!((f_mid - 1000.0).abs() < 0.1 && (f - 1000.0).abs() < 0.1, "{f_mid} {f}");
        assert!((a_mid - 10000.0).abs() < 10.0, "{a_mid}");
        assert!((a - 10000.0).abs() < 20.0, "{a}");
        // Images of the upsampling (7 kHz, 9 kHz) are at least 70 dB down.
        for image in [7000.0, 9000.0, 15000.0] {
            let level = tone_amplitude(mid_steady, 48000, image);
            assert!(level < 10000.0 * 10f64.powf(-70.0 / 20.0), "image at {image}: {level}");
        }
        let delay = up.delay() / 6.0 + down.delay();
        assert!((60.0..=70.0).contains(&delay), "total delay {delay} samples at 8 kHz");
    }

    #[test]
    fn decimation_filters_out_what_would_alias() {
        // 6 kHz at 48 kHz would fold to 2 kHz at 8 kHz, 4.5 kHz (just past
        // the band edge) to 3.5 kHz; 3 kHz passes.
        for (tone, alias_at) in [(6000.0, 2000.0), (4500.0, 3500.0)] {
            let mut input = sine(tone, 10000.0, 48000, 48000);
            for (x, y) in input.iter_mut().zip(sine(3000.0, 10000.0, 48000, 48000)) {
                *x = x.saturating_add(y);
            }
            let mut down = Resampler::new(48000, 8000).unwrap();
            let out = down.process_vec(&input);
            let steady = &out[800..];
            let alias = tone_amplitude(steady, 8000, alias_at);
            let passed = tone_amplitude(steady, 8000, 3000.0);
            eprintln!("48k->8k: 3 kHz amplitude {passed:.1}, {tone} Hz alias at {alias_at} Hz {alias:.3}");
            assert!((passed - 10000.0).abs() < 50.0, "{passed}");
            assert!(alias < 10000.0 * 10f64.powf(-70.0 / 20.0), "{alias}");
        }
    }

    #[test]
    fn frames_stay_frames_between_mixer_and_codec_rates() {
        for from in [8000, 16000, 32000, 44100, 48000] {
            for to in [8000, 16000, 32000, 44100, 48000] {
                let mut r = Resampler::new(from, to).unwrap();
                let frame = sine(440.0, 8000.0, from, frame_samples(from));
                for _ in 0..7 {
                    assert_eq!(r.process_vec(&frame).len(), frame_samples(to), "{from} -> {to}");
                }
            }
        }
    }

    #[test]
    fn chunking_does_not_change_the_output() {
        let input = sine(1234.5, 9000.0, 44100, 4410);
        let whole = Resampler::new(44100, 16000).unwrap().process_vec(&input);
        let mut r = Resampler::new(44100, 16000).unwrap();
        let chunked = through(&mut r, &input, 37);
        assert_eq!(whole, chunked);
        // After a reset the same input gives the same output again.
        r.reset();
        assert_eq!(r.process_vec(&input), whole);
    }

    #[test]
    fn other_rate_pairs_keep_tone_and_level() {
        for (from, to) in [(11025, 48000), (22050, 16000), (44100, 32000), (16000, 48000), (48000, 16000)] {
            let input = sine(440.0, 12000.0, from, from as usize);
            let out = Resampler::new(from, to).unwrap().process_vec(&input);
            let steady = &out[to as usize / 10..];
            let f = dominant_frequency(steady, to).unwrap();
            let a = tone_amplitude(steady, to, 440.0);
            assert!((f - 440.0).abs() < 0.1, "{from}->{to}: {f}");
            assert!((a - 12000.0).abs() < 24.0, "{from}->{to}: {a}");
        }
    }

    #[test]
    fn same_rate_and_bad_rates() {
        let mut r = Resampler::new(16000, 16000).unwrap();
        assert_eq!(r.process_vec(&[1, 2, 3]), vec![1, 2, 3]);
        assert_eq!(r.delay(), 0.0);
        assert!(Resampler::new(0, 8000).is_err());
        assert!(Resampler::new(8000, 400_000).is_err());
        assert!(Resampler::new(7999, 8000).is_err());
        // Full-scale input (whose filter ringing overshoots) saturates rather than wrapping.
        let loud = vec![i16::MAX; 4800];
        let out = Resampler::new(48000, 8000).unwrap().process_vec(&loud);
        assert!(out[100..].iter().all(|&s| s > 32000), "{:?}", &out[100..110]);
    }
}
