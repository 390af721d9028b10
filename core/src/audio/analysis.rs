//! Signal analysis without an FFT: tone synthesis, Goertzel amplitude at any
//! frequency, a dominant-frequency estimator (Goertzel scan refined by a
//! golden-section search, cross-checked by zero crossings), DTMF detection,
//! alignment and SNR, and small WAV helpers.
//!
//! Meant for tests, including the end-to-end call tests that record a
//! played tone on the far side and check what arrived.

use std::f64::consts::PI;
use std::path::Path;

use super::AudioError;

/// `samples` of a sine at `freq` Hz with peak `amplitude` (in sample units,
/// clamped to i16), starting at phase 0.
pub fn sine(freq: f64, amplitude: f64, sample_rate: u32, samples: usize) -> Vec<i16> {
    dual_tone(freq, 0.0, amplitude, sample_rate, samples)
}

/// `samples` of the sum of two sines at `f1` and `f2` Hz, each with peak
/// `amplitude_each`; `f2 = 0` gives a single tone.
pub fn dual_tone(f1: f64, f2: f64, amplitude_each: f64, sample_rate: u32, samples: usize) -> Vec<i16> {
    let rate = sample_rate as f64;
    (0..samples)
        .map(|n| {
            let t = n as f64 / rate;
            let mut v = (2.0 * PI * f1 * t).sin();
            if f2 > 0.0 {
                v += (2.0 * PI * f2 * t).sin();
            }
            (v * amplitude_each).round().clamp(i16::MIN as f64, i16::MAX as f64) as i16
        })
        .collect()
}

/// Root mean square of the samples (0 for an empty slice).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| (s as f64) * (s as f64)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Largest absolute sample value.
pub fn peak(samples: &[i16]) -> u16 {
    samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0)
}

/// Estimated peak amplitude of the sinusoid at `freq` Hz in `samples`
/// (Hann-windowed Goertzel, normalised so that a pure sine of amplitude A at
/// exactly `freq` gives A). 0 for fewer than two samples.
pub fn tone_amplitude(samples: &[i16], sample_rate: u32, freq: f64) -> f64 {
    let n = samples.len();
    if n < 2 {
        return 0.0;
    }
    let w = 2.0 * PI * freq / sample_rate as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut window_sum = 0.0;
    let denom = (n - 1) as f64;
    for (i, &x) in samples.iter().enumerate() {
        let win = 0.5 - 0.5 * (2.0 * PI * i as f64 / denom).cos();
        window_sum += win;
        let s0 = x as f64 * win + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    // |X(w)|^2 from the last two states.
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / window_sum
}

/// The frequency of the strongest sinusoid between 20 Hz and just under
/// half the sample rate, or `None` for silence or too few samples (fewer
/// than 64). A coarse Goertzel scan (one bin spacing over at most 4096
/// samples from the middle of the signal) finds the peak; a golden-section
/// search over the whole signal (up to 2 s from the middle) refines it to a
/// small fraction of a hertz for a clean tone.
pub fn dominant_frequency(samples: &[i16], sample_rate: u32) -> Option<f64> {
    if samples.len() < 64 || peak(samples) == 0 {
        return None;
    }
    let rate = sample_rate as f64;
    let coarse_len = samples.len().min(4096);
    let start = (samples.len() - coarse_len) / 2;
    let coarse = &samples[start..start + coarse_len];
    let step = rate / coarse_len as f64;
    let (mut best_f, mut best_a) = (0.0, -1.0);
    let mut f = 20.0;
    while f < rate / 2.0 - step {
        let a = tone_amplitude(coarse, sample_rate, f);
        if a > best_a {
            best_a = a;
            best_f = f;
        }
        f += step;
    }
    if best_a <= 0.0 {
        return None;
    }
    let fine_len = samples.len().min(2 * sample_rate as usize);
    let start = (samples.len() - fine_len) / 2;
    let fine = &samples[start..start + fine_len];
    // Golden-section search for the maximum of the amplitude on
    // [best_f - step, best_f + step]; the Hann main lobe is four coarse bins
    // wide, so the true peak lies inside and the function is unimodal there.
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut lo, mut hi) = ((best_f - step).max(1.0), best_f + step);
    let mut x1 = hi - g * (hi - lo);
    let mut x2 = lo + g * (hi - lo);
    let mut a1 = tone_amplitude(fine, sample_rate, x1);
    let mut a2 = tone_amplitude(fine, sample_rate, x2);
    while hi - lo > 0.01 {
        if a1 < a2 {
            lo = x1;
            x1 = x2;
            a1 = a2;
            x2 = lo + g * (hi - lo);
            a2 = tone_amplitude(fine, sample_rate, x2);
        } else {
            hi = x2;
            x2 = x1;
            a2 = a1;
            x1 = hi - g * (hi - lo);
            a1 = tone_amplitude(fine, sample_rate, x1);
        }
    }
    Some((lo + hi) / 2.0)
}

/// Frequency of a single clean tone from its zero crossings (upward
/// crossings with a hysteresis of 1/8 of the peak, timed by linear
/// interpolation between samples). `None` for fewer than three crossings.
pub fn zero_crossing_frequency(samples: &[i16], sample_rate: u32) -> Option<f64> {
    let hysteresis = peak(samples) as f64 / 8.0;
    if hysteresis == 0.0 {
        return None;
    }
    let mut armed = false;
    let mut crossings: Vec<f64> = Vec::new();
    for i in 1..samples.len() {
        let (a, b) = (samples[i - 1] as f64, samples[i] as f64);
        if b < -hysteresis {
            armed = true;
        }
        if armed && a < 0.0 && b >= 0.0 {
            crossings.push((i - 1) as f64 + (-a) / (b - a));
            armed = false;
        }
    }
    if crossings.len() < 3 {
        return None;
    }
    let periods = (crossings.len() - 1) as f64;
    let span = crossings[crossings.len() - 1] - crossings[0];
    Some(periods * sample_rate as f64 / span)
}

/// The DTMF row frequencies (Hz), for `1 2 3 A`, `4 5 6 B`, `7 8 9 C`, `* 0 # D`.
pub const DTMF_ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// The DTMF column frequencies (Hz), for `1 4 7 *`, `2 5 8 0`, `3 6 9 #`, `A B C D`.
pub const DTMF_COLUMNS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The DTMF keypad by row and column.
pub const DTMF_KEYPAD: [[char; 4]; 4] =
    [['1', '2', '3', 'A'], ['4', '5', '6', 'B'], ['7', '8', '9', 'C'], ['*', '0', '#', 'D']];

/// The DTMF digit in `samples` (one tone burst), detected with Goertzel at
/// the eight DTMF frequencies: the strongest row and column tone must each be
/// at least a quarter of the signal's RMS, at least four times any other
/// tone of their group, and within 8 dB of each other (twist).
pub fn detect_dtmf(samples: &[i16], sample_rate: u32) -> Option<char> {
    let level = rms(samples);
    if level == 0.0 {
        return None;
    }
    let strongest = |freqs: &[f64; 4]| {
        let amps: Vec<f64> = freqs.iter().map(|&f| tone_amplitude(samples, sample_rate, f)).collect();
        let (idx, &best) = amps.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        let second = amps.iter().enumerate().filter(|(i, _)| *i != idx).map(|(_, a)| *a).fold(0.0, f64::max);
        (best >= level / 4.0 && best >= 4.0 * second).then_some((idx, best))
    };
    let (row, row_amp) = strongest(&DTMF_ROWS)?;
    let (col, col_amp) = strongest(&DTMF_COLUMNS)?;
    let twist_db = 20.0 * (row_amp / col_amp).log10();
    (twist_db.abs() <= 8.0).then_some(DTMF_KEYPAD[row][col])
}

/// Signal-to-noise ratio in dB of `test` against `reference` (same
/// alignment; the shorter length is used): signal power over the power of
/// the difference. Infinite when they are identical.
pub fn snr_db(reference: &[i16], test: &[i16]) -> f64 {
    let n = reference.len().min(test.len());
    let (mut sig, mut noise) = (0.0f64, 0.0f64);
    for i in 0..n {
        let r = reference[i] as f64;
        let d = test[i] as f64 - r;
        sig += r * r;
        noise += d * d;
    }
    if noise == 0.0 { f64::INFINITY } else { 10.0 * (sig / noise).log10() }
}

/// The delay (in samples, `0..=max_lag`) of `test` relative to `reference`
/// that maximises their normalised cross-correlation: `test[lag + n]`
/// lines up with `reference[n]`.
pub fn best_lag(reference: &[i16], test: &[i16], max_lag: usize) -> usize {
    let mut best = (0, f64::MIN);
    for lag in 0..=max_lag.min(test.len()) {
        let n = reference.len().min(test.len() - lag);
        if n == 0 {
            break;
        }
        let (mut xy, mut yy) = (0.0f64, 0.0f64);
        for i in 0..n {
            let x = reference[i] as f64;
            let y = test[lag + i] as f64;
            xy += x * y;
            yy += y * y;
        }
        let score = if yy > 0.0 { xy / yy.sqrt() } else { f64::MIN };
        if score > best.1 {
            best = (lag, score);
        }
    }
    best.0
}

/// [`snr_db`] after aligning `test` with [`best_lag`]; returns the SNR and
/// the lag. `skip` leading samples of the reference (codec start-up) are
/// left out of the measurement.
pub fn aligned_snr_db(reference: &[i16], test: &[i16], max_lag: usize, skip: usize) -> (f64, usize) {
    let lag = best_lag(reference, test, max_lag);
    let test = &test[lag.min(test.len())..];
    let n = reference.len().min(test.len());
    let skip = skip.min(n);
    (snr_db(&reference[skip..n], &test[skip..n]), lag)
}

/// Writes 16-bit mono PCM samples to a WAV file.
pub fn write_wav(path: &Path, sample_rate: u32, samples: &[i16]) -> Result<(), AudioError> {
    let spec =
        hound::WavSpec { channels: 1, sample_rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let err = |e: hound::Error| AudioError::Wave { path: path.to_path_buf(), reason: e.to_string() };
    let mut writer = hound::WavWriter::create(path, spec).map_err(err)?;
    for &s in samples {
        writer.write_sample(s).map_err(err)?;
    }
    writer.finalize().map_err(err)
}

/// Reads a 16-bit PCM WAV file: its sample rate, channel count and the
/// samples of the first channel.
pub fn read_wav(path: &Path) -> Result<(u32, u16, Vec<i16>), AudioError> {
    let err = |e: hound::Error| AudioError::Wave { path: path.to_path_buf(), reason: e.to_string() };
    let mut reader = hound::WavReader::open(path).map_err(err)?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(AudioError::Wave { path: path.to_path_buf(), reason: "not 16-bit PCM".into() });
    }
    let channels = spec.channels.max(1) as usize;
    let mut samples = Vec::with_capacity(reader.len() as usize / channels);
    for (i, s) in reader.samples::<i16>().enumerate() {
        let s = s.map_err(err)?;
        if i % channels == 0 {
            samples.push(s);
        }
    }
    Ok((spec.sample_rate, spec.channels, samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_amplitude_measures_a_sine() {
        let s = sine(1000.0, 10000.0, 8000, 8000);
        let a = tone_amplitude(&s, 8000, 1000.0);
        assert!((a - 10000.0).abs() < 10.0, "{a}");
        // Far from the tone: the Hann sidelobes are tiny.
        assert!(tone_amplitude(&s, 8000, 1500.0) < 5.0);
    }

    #[test]
    fn dominant_frequency_finds_tones_at_several_rates() {
        for (rate, f) in [(8000, 440.0), (16000, 1000.0), (48000, 440.0), (48000, 3777.7), (44100, 12345.0)] {
            let s = sine(f, 8000.0, rate, rate as usize);
            let est = dominant_frequency(&s, rate).unwrap();
            assert!((est - f).abs() < 0.05, "rate {rate}: {f} vs {est}");
            let zc = zero_crossing_frequency(&s, rate).unwrap();
            assert!((zc - f).abs() / f < 0.001, "zero crossings {rate}: {f} vs {zc}");
        }
        // The stronger of two tones wins.
        let mut s = sine(600.0, 3000.0, 16000, 16000);
        for (x, y) in s.iter_mut().zip(sine(2200.0, 9000.0, 16000, 16000)) {
            *x += y;
        }
        assert!((dominant_frequency(&s, 16000).unwrap() - 2200.0).abs() < 0.05);
        assert_eq!(dominant_frequency(&[0; 1000], 8000), None);
        assert_eq!(dominant_frequency(&[5; 10], 8000), None);
        assert_eq!(zero_crossing_frequency(&[0; 1000], 8000), None);
    }

    #[test]
    fn dtmf_detection() {
        for (r, row) in DTMF_KEYPAD.iter().enumerate() {
            for (c, &digit) in row.iter().enumerate() {
                let s = dual_tone(DTMF_ROWS[r], DTMF_COLUMNS[c], 6000.0, 8000, 800);
                assert_eq!(detect_dtmf(&s, 8000), Some(digit));
            }
        }
        assert_eq!(detect_dtmf(&sine(697.0, 6000.0, 8000, 800), 8000), None);
        assert_eq!(detect_dtmf(&sine(440.0, 6000.0, 8000, 800), 8000), None);
        assert_eq!(detect_dtmf(&[0; 800], 8000), None);
    }

    #[test]
    fn snr_and_alignment() {
        let r = sine(440.0, 10000.0, 8000, 4000);
        assert_eq!(snr_db(&r, &r), f64::INFINITY);
        let mut delayed = vec![0i16; 17];
        delayed.extend(r.iter().map(|&x| x + if x % 2 == 0 { 10 } else { -10 }));
        let (snr, lag) = aligned_snr_db(&r, &delayed, 100, 0);
        assert_eq!(lag, 17);
        // Noise of amplitude 10 against a 10000-peak sine: 10*log10(5e7/100) ≈ 57 dB.
        assert!((snr - 57.0).abs() < 0.5, "{snr}");
    }

    #[test]
    fn wav_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wav");
        let s = sine(440.0, 1000.0, 16000, 1600);
        write_wav(&path, 16000, &s).unwrap();
        let (rate, channels, back) = read_wav(&path).unwrap();
        assert_eq!((rate, channels), (16000, 1));
        assert_eq!(back, s);
        assert!(read_wav(&dir.path().join("missing.wav")).is_err());
    }
}
