//! [`ToneGenerator`]: a port playing single and dual tones, DTMF digits and
//! ringback, like the original core's `ToneGenerator`.
//!
//! DTMF uses the standard keypad frequencies (ITU-T Q.23; the digits of RFC
//! 4733 §3.2: `0`-`9`, `*`, `#`, `A`-`D`), 160 ms of tone followed by 40 ms of
//! silence per digit (Q.24 asks for at least 40 ms of each). Ringback is the
//! North American one (ANSI T1.401, ITU-T E.180 for the US): 440 Hz + 480 Hz,
//! 2 s on, 4 s off, repeated until stopped. It was chosen over the European
//! 425 Hz because its two components make it unmistakable in tests and it
//! is what most SIP phones play by default.
//!
//! Each component has a peak of 30 % of full scale at volume 100 (about
//! -10 dBFS, so a dual tone never clips), and every tone fades in and out
//! over 1 ms to avoid clicks.

use std::collections::VecDeque;
use std::f64::consts::PI;

use crate::rtp::dtmf::DtmfDigit;

use super::AudioError;
use super::analysis::{DTMF_COLUMNS, DTMF_KEYPAD, DTMF_ROWS};
use super::mixer::AudioPort;

/// One tone: up to two frequencies (0 = none; both 0 is silence) for a
/// duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tone {
    /// First frequency in Hz (0 for none).
    pub freq1: u32,
    /// Second frequency in Hz (0 for none).
    pub freq2: u32,
    /// Duration in milliseconds.
    pub duration_ms: u32,
}

impl Tone {
    /// A tone of one or two frequencies.
    pub const fn new(freq1: u32, freq2: u32, duration_ms: u32) -> Self {
        Tone { freq1, freq2, duration_ms }
    }

    /// A pause.
    pub const fn silence(duration_ms: u32) -> Self {
        Tone { freq1: 0, freq2: 0, duration_ms }
    }
}

/// Duration of a DTMF digit's tone (ms).
pub const DTMF_ON_MS: u32 = 160;
/// Silence after a DTMF digit (ms).
pub const DTMF_OFF_MS: u32 = 40;
/// One ringback cadence: 440 + 480 Hz for 2 s, then 4 s of silence.
pub const RINGBACK: [Tone; 2] = [Tone::new(440, 480, 2000), Tone::silence(4000)];
/// Peak of one tone component at volume 100, as a fraction of full scale.
const COMPONENT_LEVEL: f64 = 0.3;

/// The frequency pair of a DTMF digit (`0`-`9`, `*`, `#`, `A`-`D`, letters
/// in either case).
pub fn dtmf_frequencies(digit: char) -> Option<(u32, u32)> {
    let digit = digit.to_ascii_uppercase();
    DTMF_KEYPAD.iter().enumerate().find_map(|(r, row)| {
        row.iter().position(|&d| d == digit).map(|c| (DTMF_ROWS[r] as u32, DTMF_COLUMNS[c] as u32))
    })
}

/// The RFC 4733 event code of a DTMF digit (`0`-`9` → 0-9, `*` → 10,
/// `#` → 11, `A`-`D` → 12-15).
pub fn dtmf_event_code(digit: char) -> Option<u8> {
    DtmfDigit::from_char(digit).map(DtmfDigit::event).filter(|e| *e < FLASH)
}

/// The DTMF digit of an RFC 4733 event code 0-15.
pub fn dtmf_digit(event: u8) -> Option<char> {
    DtmfDigit::from_event(event).filter(|d| d.event() < FLASH).map(DtmfDigit::to_char)
}

/// Flash (RFC 4733 event 16) has no tone.
const FLASH: u8 = 16;

struct Playing {
    tone: Tone,
    /// Samples played so far and in total.
    pos: usize,
    len: usize,
}

/// A port producing tones (see the module documentation). It consumes
/// nothing.
pub struct ToneGenerator {
    sample_rate: u32,
    queue: VecDeque<Tone>,
    current: Option<Playing>,
    /// Repeated when the queue runs dry (ringback), until [`stop`](Self::stop).
    repeat: Vec<Tone>,
    volume: u32,
}

impl std::fmt::Debug for ToneGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToneGenerator")
            .field("sample_rate", &self.sample_rate)
            .field("queued", &self.queue.len())
            .field("busy", &self.is_busy())
            .finish_non_exhaustive()
    }
}

impl ToneGenerator {
    /// A silent generator at the mixer's rate.
    pub fn new(sample_rate: u32) -> Result<Self, AudioError> {
        super::check_sample_rate(sample_rate)?;
        Ok(ToneGenerator { sample_rate, queue: VecDeque::new(), current: None, repeat: Vec::new(), volume: 100 })
    }

    /// Volume 0-100 (100: each component peaks at 30 % of full scale).
    pub fn volume(&self) -> u32 {
        self.volume
    }

    /// Sets the volume, 0-100.
    pub fn set_volume(&mut self, volume: u32) -> Result<(), AudioError> {
        if volume > 100 {
            return Err(AudioError::InvalidArgument(format!("tone volume {volume} is above 100")));
        }
        self.volume = volume;
        Ok(())
    }

    fn check(&self, tone: &Tone) -> Result<(), AudioError> {
        let nyquist = self.sample_rate / 2;
        for f in [tone.freq1, tone.freq2] {
            if f >= nyquist {
                return Err(AudioError::InvalidArgument(format!("{f} Hz cannot be played at {} Hz", self.sample_rate)));
            }
        }
        Ok(())
    }

    /// Queues tones `(freq1, freq2, duration_ms)` after those already
    /// queued. Nothing is queued if any frequency is at or above half the
    /// sample rate.
    pub fn play_tones(&mut self, tones: &[(u32, u32, u32)]) -> Result<(), AudioError> {
        let tones: Vec<Tone> = tones.iter().map(|&(a, b, d)| Tone::new(a, b, d)).collect();
        for t in &tones {
            self.check(t)?;
        }
        self.queue.extend(tones.into_iter().filter(|t| t.duration_ms > 0));
        Ok(())
    }

    /// Queues one DTMF digit ([`DTMF_ON_MS`] of tone, [`DTMF_OFF_MS`] of silence).
    pub fn play_dtmf(&mut self, digit: char) -> Result<(), AudioError> {
        let (low, high) = dtmf_frequencies(digit)
            .ok_or_else(|| AudioError::InvalidArgument(format!("not a DTMF digit: {digit:?}")))?;
        self.queue.push_back(Tone::new(low, high, DTMF_ON_MS));
        self.queue.push_back(Tone::silence(DTMF_OFF_MS));
        Ok(())
    }

    /// Plays the ringback cadence ([`RINGBACK`]) over and over, after what is
    /// queued, until [`stop`](Self::stop).
    pub fn play_ringback(&mut self) {
        self.repeat = RINGBACK.to_vec();
    }

    /// Stops at once and forgets everything queued.
    pub fn stop(&mut self) {
        self.queue.clear();
        self.repeat.clear();
        self.current = None;
    }

    /// Whether a tone (or a pause between tones) is playing or queued.
    pub fn is_busy(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty() || !self.repeat.is_empty()
    }

    fn next_tone(&mut self) -> Option<Playing> {
        if self.queue.is_empty() {
            self.queue.extend(self.repeat.iter().copied());
        }
        let tone = self.queue.pop_front()?;
        let len = (tone.duration_ms as u64 * self.sample_rate as u64 / 1000) as usize;
        Some(Playing { tone, pos: 0, len })
    }
}

impl AudioPort for ToneGenerator {
    fn get_frame(&mut self, frame: &mut [i16]) -> bool {
        if !self.is_busy() {
            return false;
        }
        let rate = self.sample_rate as f64;
        let amplitude = COMPONENT_LEVEL * i16::MAX as f64 * self.volume as f64 / 100.0;
        let ramp = (self.sample_rate / 1000).max(1) as usize;
        let mut i = 0;
        while i < frame.len() {
            if self.current.is_none() {
                self.current = self.next_tone();
            }
            let Some(p) = self.current.as_mut() else { break };
            let n = (p.len - p.pos).min(frame.len() - i);
            let (f1, f2) = (p.tone.freq1 as f64, p.tone.freq2 as f64);
            if f1 > 0.0 || f2 > 0.0 {
                for (k, out) in frame[i..i + n].iter_mut().enumerate() {
                    let pos = p.pos + k;
                    let t = pos as f64 / rate;
                    let mut v = 0.0;
                    if f1 > 0.0 {
                        v += (2.0 * PI * f1 * t).sin();
                    }
                    if f2 > 0.0 {
                        v += (2.0 * PI * f2 * t).sin();
                    }
                    let fade = (pos.min(p.len - 1 - pos) as f64 / ramp as f64).min(1.0);
                    *out = (v * amplitude * fade).round() as i16;
                }
            }
            p.pos += n;
            i += n;
            if p.pos >= p.len {
                self.current = None;
            }
        }
        true
    }

    fn put_frame(&mut self, _frame: &[i16]) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::analysis::{detect_dtmf, dominant_frequency, tone_amplitude};
    use crate::audio::device::BufferPort;
    use crate::audio::mixer::{AudioMixer, lock, shared};

    fn render(tg: &mut ToneGenerator, frames: usize, frame_len: usize) -> Vec<i16> {
        let mut out = Vec::new();
        for _ in 0..frames {
            let mut f = vec![0; frame_len];
            tg.get_frame(&mut f);
            out.extend(f);
        }
        out
    }

    #[test]
    fn dtmf_digits_through_the_mixer_are_detected() {
        let digits = "0123456789*#ABCD";
        let mut m = AudioMixer::new(8000).unwrap();
        let tg = shared(ToneGenerator::new(8000).unwrap());
        let sink = shared(BufferPort::new(usize::MAX));
        let g = m.add_port(tg.clone());
        let s = m.add_port(sink.clone());
        m.connect_slots(g, s).unwrap();
        for d in digits.chars() {
            lock(&tg).play_dtmf(d).unwrap();
        }
        let mut ticks = 0;
        while lock(&tg).is_busy() {
            m.tick();
            ticks += 1;
            assert!(ticks < 1000);
        }
        // 200 ms per digit.
        assert_eq!(ticks, digits.len() * 10);
        let audio = lock(&sink).take_received();
        for (i, d) in digits.chars().enumerate() {
            let start = i * 1600;
            // The tone part (160 ms), and the silence after it.
            assert_eq!(detect_dtmf(&audio[start..start + 1280], 8000), Some(d), "digit {d}");
            assert!(audio[start + 1280..start + 1600].iter().all(|&x| x == 0));
            let (low, high) = dtmf_frequencies(d).unwrap();
            let a_low = tone_amplitude(&audio[start..start + 1280], 8000, low as f64);
            let a_high = tone_amplitude(&audio[start..start + 1280], 8000, high as f64);
            assert!((a_low - 9830.0).abs() < 100.0 && (a_high - 9830.0).abs() < 100.0, "{a_low} {a_high}");
        }
    }

    #[test]
    fn tone_sequences_play_in_order_with_exact_durations() {
        let mut tg = ToneGenerator::new(16000).unwrap();
        tg.play_tones(&[(440, 0, 100), (0, 0, 50), (1000, 0, 130), (0, 0, 0)]).unwrap();
        let out = render(&mut tg, 15, 320);
        assert!(!tg.is_busy());
        let f = dominant_frequency(&out[..1600], 16000).unwrap();
        assert!((f - 440.0).abs() < 0.5, "{f}");
        assert!(out[1600..2400].iter().all(|&x| x == 0));
        let f = dominant_frequency(&out[2400..2400 + 2080], 16000).unwrap();
        assert!((f - 1000.0).abs() < 0.5, "{f}");
        // 130 ms ended mid-frame: the rest is silence.
        assert!(out[2400 + 2080..].iter().all(|&x| x == 0));
        // Fades: the first sample is 0, and no jump larger than one ramp step.
        assert_eq!(out[0], 0);
        assert!(out[..1600].windows(2).all(|w| (w[1] as i32 - w[0] as i32).abs() < 2000));
        let mut idle = vec![1; 320];
        assert!(!tg.get_frame(&mut idle));
    }

    #[test]
    fn ringback_repeats_until_stopped() {
        let mut tg = ToneGenerator::new(8000).unwrap();
        tg.play_ringback();
        // 2 cadences of 6 s = 600 frames.
        let out = render(&mut tg, 600, 160);
        for cycle in 0..2 {
            let on = &out[cycle * 48000..cycle * 48000 + 16000];
            let off = &out[cycle * 48000 + 16000..(cycle + 1) * 48000];
            assert!(tone_amplitude(on, 8000, 440.0) > 9000.0 && tone_amplitude(on, 8000, 480.0) > 9000.0);
            assert!(off.iter().all(|&x| x == 0));
        }
        assert!(tg.is_busy());
        tg.stop();
        assert!(!tg.is_busy());
        assert!(!tg.get_frame(&mut [0; 160]));
    }

    #[test]
    fn bad_input_is_refused() {
        let mut tg = ToneGenerator::new(8000).unwrap();
        assert!(tg.play_dtmf('x').is_err());
        assert!(tg.play_tones(&[(440, 0, 100), (4000, 0, 100)]).is_err());
        assert!(!tg.is_busy(), "nothing queued when one tone is bad");
        assert!(tg.set_volume(101).is_err());
        tg.set_volume(50).unwrap();
        tg.play_tones(&[(1000, 0, 100)]).unwrap();
        let out = render(&mut tg, 5, 160);
        assert!((tone_amplitude(&out, 8000, 1000.0) - 4915.0).abs() < 50.0);
        assert!(ToneGenerator::new(1234).is_err());
    }

    #[test]
    fn dtmf_codes() {
        for (d, code) in "0123456789*#ABCD".chars().zip(0u8..) {
            assert_eq!(dtmf_event_code(d), Some(code));
            assert_eq!(dtmf_digit(code), Some(d));
        }
        assert_eq!(dtmf_event_code('a'), Some(12));
        assert_eq!(dtmf_event_code('E'), None);
        assert_eq!(dtmf_digit(16), None);
        assert_eq!(dtmf_frequencies('5'), Some((770, 1336)));
        assert_eq!(dtmf_frequencies('d'), Some((941, 1633)));
        assert_eq!(dtmf_frequencies('#'), Some((941, 1477)));
        assert_eq!(dtmf_frequencies('?'), None);
    }
}
