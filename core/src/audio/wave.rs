//! [`WavePlayer`] and [`WaveRecorder`]: ports playing a WAV file into the
//! mixer and recording the mixer into a WAV file, over `hound`.
//!
//! The player reads the file as it plays (re-opening it for every loop, as
//! the original does), converts any PCM or float format to 16-bit mono
//! (channels are averaged) and resamples it to the mixer rate. It reports
//! what happens as [`WavePlayerEvent`]s, which the caller drains with
//! [`WavePlayer::poll_event`] and posts as `WavePlayerDidStart`,
//! `WavePlayerDidEnd` and `WavePlayerDidFail`.
//!
//! The recorder writes 16-bit mono PCM at the mixer rate; [`WaveRecorder::stop`]
//! (or dropping it) writes the final header.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::mixer::{AudioPort, saturate};
use super::resample::Resampler;
use super::{AudioError, check_sample_rate};

/// What a [`WavePlayer`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WavePlayerEvent {
    /// The first play after `start()` began (`WavePlayerDidStart`).
    Started,
    /// All loops finished, or `stop()` was called (`WavePlayerDidEnd`).
    Ended,
    /// The file could not be played (`WavePlayerDidFail`, with `error`). The
    /// player is stopped; no `Ended` follows.
    Failed {
        /// Why, as text.
        error: String,
    },
}

/// How a [`WavePlayer`] plays; the defaults are the original's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WavePlayerOptions {
    /// Volume 0-200: 100 plays the file as recorded, 0 is silent, 200
    /// doubles the level (with saturation). Default 100.
    pub volume: u32,
    /// How many times to play the file; 0 means forever. Default 1.
    pub loop_count: u32,
    /// Silence between two plays. Default none.
    pub pause_time: Duration,
    /// Play at once on `start()` (true, the default) or after `pause_time`.
    pub initial_play: bool,
}

impl Default for WavePlayerOptions {
    fn default() -> Self {
        WavePlayerOptions { volume: 100, loop_count: 1, pause_time: Duration::ZERO, initial_play: true }
    }
}

/// Largest volume accepted.
pub const MAX_VOLUME: u32 = 200;

/// The file being played.
struct Source {
    reader: hound::WavReader<BufReader<File>>,
    spec: hound::WavSpec,
    resampler: Resampler,
    pending: VecDeque<i16>,
    /// The reader is exhausted (and the resampler flushed).
    exhausted: bool,
    /// Samples handed to the mixer in this play.
    played: u64,
    path: PathBuf,
    mono: Vec<i16>,
    converted: Vec<i16>,
}

impl Source {
    fn open(path: &Path, rate: u32) -> Result<Source, AudioError> {
        let err = |reason: String| AudioError::Wave { path: path.to_path_buf(), reason };
        let reader = hound::WavReader::open(path).map_err(|e| err(e.to_string()))?;
        let spec = reader.spec();
        let supported = match spec.sample_format {
            hound::SampleFormat::Int => (8..=32).contains(&spec.bits_per_sample),
            hound::SampleFormat::Float => spec.bits_per_sample == 32,
        };
        if !supported || spec.channels == 0 {
            return Err(err(format!(
                "unsupported format: {} channels, {} bits {:?}",
                spec.channels, spec.bits_per_sample, spec.sample_format
            )));
        }
        let resampler = Resampler::new(spec.sample_rate, rate).map_err(|e| err(e.to_string()))?;
        Ok(Source {
            reader,
            spec,
            resampler,
            pending: VecDeque::new(),
            exhausted: false,
            played: 0,
            path: path.to_path_buf(),
            mono: Vec::new(),
            converted: Vec::new(),
        })
    }

    /// Reads about 20 ms of the file into `pending`.
    fn refill(&mut self) -> Result<(), AudioError> {
        let channels = self.spec.channels as usize;
        let wanted = (self.spec.sample_rate as usize / 50).max(1) * channels;
        let mut interleaved: Vec<i32> = Vec::with_capacity(wanted);
        let bits = self.spec.bits_per_sample;
        let mut failure = None;
        match self.spec.sample_format {
            hound::SampleFormat::Float => {
                for s in self.reader.samples::<f32>().take(wanted) {
                    match s {
                        Ok(v) => interleaved.push((v.clamp(-1.0, 1.0) * 32767.0).round() as i32),
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    }
                }
            }
            hound::SampleFormat::Int => {
                for s in self.reader.samples::<i32>().take(wanted) {
                    match s {
                        // Scale every width to 16 bits.
                        Ok(v) => interleaved.push(if bits >= 16 { v >> (bits - 16) } else { v << (16 - bits) }),
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    }
                }
            }
        }
        if let Some(e) = failure {
            if self.played == 0 && self.pending.is_empty() && interleaved.is_empty() {
                return Err(AudioError::Wave { path: self.path.clone(), reason: e.to_string() });
            }
            // A truncated file (a recorder that died): play what is there.
            tracing::warn!("{}: stopped reading: {e}", self.path.display());
            interleaved.truncate(interleaved.len() - interleaved.len() % channels);
            self.exhausted = true;
        } else if interleaved.len() < wanted {
            self.exhausted = true;
        }
        self.mono.clear();
        self.mono.extend(interleaved.chunks(channels).map(|c| saturate(c.iter().sum::<i32>() / channels as i32)));
        if self.exhausted {
            // Push the last samples out of the resampler's filter.
            let tail = (self.resampler.delay() * self.spec.sample_rate as f64 / self.resampler.output_rate() as f64)
                .ceil() as usize;
            self.mono.extend(std::iter::repeat_n(0, tail));
        }
        self.converted.clear();
        self.resampler.process(&self.mono, &mut self.converted);
        self.pending.extend(&self.converted);
        Ok(())
    }

    /// Fills `out` from the file; returns how many samples were written
    /// (fewer than `out.len()` only at the end of the file).
    fn read(&mut self, out: &mut [i16]) -> Result<usize, AudioError> {
        while self.pending.len() < out.len() && !self.exhausted {
            self.refill()?;
        }
        let n = out.len().min(self.pending.len());
        for (o, s) in out.iter_mut().zip(self.pending.drain(..n)) {
            *o = s;
        }
        self.played += n as u64;
        Ok(n)
    }
}

enum State {
    Stopped,
    /// Silence before the next play, in samples.
    Waiting(u64),
    Playing(Box<Source>),
}

/// A port playing a WAV file (see the module documentation). It consumes
/// nothing; it is reusable: `start()` after it ended plays it again.
pub struct WavePlayer {
    filename: PathBuf,
    sample_rate: u32,
    options: WavePlayerOptions,
    state: State,
    current_loop: u32,
    events: VecDeque<WavePlayerEvent>,
}

impl std::fmt::Debug for WavePlayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavePlayer")
            .field("filename", &self.filename)
            .field("sample_rate", &self.sample_rate)
            .field("options", &self.options)
            .field("is_active", &self.is_active())
            .field("current_loop", &self.current_loop)
            .finish()
    }
}

impl WavePlayer {
    /// A stopped player of `filename` for a mixer at `sample_rate`. The file
    /// is not opened until it plays.
    pub fn new(filename: impl Into<PathBuf>, sample_rate: u32, options: WavePlayerOptions) -> Result<Self, AudioError> {
        check_sample_rate(sample_rate)?;
        if options.volume > MAX_VOLUME {
            return Err(AudioError::InvalidArgument(format!("volume {} is above {MAX_VOLUME}", options.volume)));
        }
        Ok(WavePlayer {
            filename: filename.into(),
            sample_rate,
            options,
            state: State::Stopped,
            current_loop: 0,
            events: VecDeque::new(),
        })
    }

    /// The file played.
    pub fn filename(&self) -> &Path {
        &self.filename
    }

    /// Volume, 0-200.
    pub fn volume(&self) -> u32 {
        self.options.volume
    }

    /// Plays per `start()`; 0 is forever.
    pub fn loop_count(&self) -> u32 {
        self.options.loop_count
    }

    /// Silence between plays.
    pub fn pause_time(&self) -> Duration {
        self.options.pause_time
    }

    /// Whether the first play starts at once.
    pub fn initial_play(&self) -> bool {
        self.options.initial_play
    }

    /// Whether it is playing, or waiting between plays.
    pub fn is_active(&self) -> bool {
        !matches!(self.state, State::Stopped)
    }

    /// Plays completed since `start()`.
    pub fn current_loop(&self) -> u32 {
        self.current_loop
    }

    fn pause_samples(&self) -> u64 {
        (self.options.pause_time.as_secs_f64() * self.sample_rate as f64).round() as u64
    }

    /// Starts playing: at once (the file is opened now, so `Started` or
    /// `Failed` is already queued when this returns) or, without
    /// `initial_play`, after `pause_time`. File errors are reported as
    /// [`WavePlayerEvent::Failed`], now or at a later loop; the only error
    /// returned is [`AudioError::InvalidState`] when it is already active.
    pub fn start(&mut self) -> Result<(), AudioError> {
        if self.is_active() {
            return Err(AudioError::InvalidState("already playing".into()));
        }
        self.current_loop = 0;
        if self.options.initial_play {
            self.begin_play();
        } else {
            self.state = State::Waiting(self.pause_samples());
        }
        Ok(())
    }

    /// Stops at once; queues [`WavePlayerEvent::Ended`] if it was active.
    pub fn stop(&mut self) {
        if self.is_active() {
            self.state = State::Stopped;
            self.events.push_back(WavePlayerEvent::Ended);
        }
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<WavePlayerEvent> {
        self.events.pop_front()
    }

    fn begin_play(&mut self) {
        match Source::open(&self.filename, self.sample_rate) {
            Ok(source) => {
                if self.current_loop == 0 {
                    self.events.push_back(WavePlayerEvent::Started);
                }
                self.state = State::Playing(Box::new(source));
            }
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, e: AudioError) {
        tracing::warn!("wave player: {e}");
        self.state = State::Stopped;
        self.events.push_back(WavePlayerEvent::Failed { error: e.to_string() });
    }

    fn end_of_play(&mut self) {
        self.current_loop += 1;
        let loops = self.options.loop_count;
        if loops == 0 || self.current_loop < loops {
            self.state = State::Waiting(self.pause_samples());
        } else {
            self.state = State::Stopped;
            self.events.push_back(WavePlayerEvent::Ended);
        }
    }
}

impl AudioPort for WavePlayer {
    fn get_frame(&mut self, frame: &mut [i16]) -> bool {
        let mut filled = 0;
        let mut produced = false;
        while filled < frame.len() {
            match &mut self.state {
                State::Stopped => break,
                State::Waiting(left) => {
                    let n = (*left).min((frame.len() - filled) as u64);
                    *left -= n;
                    filled += n as usize;
                    if *left == 0 {
                        self.begin_play();
                    }
                }
                State::Playing(source) => match source.read(&mut frame[filled..]) {
                    Ok(n) => {
                        filled += n;
                        produced |= n > 0;
                        if filled < frame.len() {
                            let empty = source.played == 0;
                            self.end_of_play();
                            if empty {
                                // An empty file: do not spin through loops within one frame.
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        self.fail(e);
                        break;
                    }
                },
            }
        }
        if produced && self.options.volume != 100 {
            let volume = self.options.volume as i32;
            for s in frame.iter_mut() {
                *s = saturate(*s as i32 * volume / 100);
            }
        }
        produced
    }

    fn put_frame(&mut self, _frame: &[i16]) {}
}

/// Largest data size written (the RIFF size field is 32 bits).
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 4096;

/// A port recording what it hears into a 16-bit mono WAV file at the mixer
/// rate. Reusable: starting it again with the same filename overwrites the
/// file.
pub struct WaveRecorder {
    filename: PathBuf,
    sample_rate: u32,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    samples_written: u64,
    error: Option<String>,
}

impl std::fmt::Debug for WaveRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaveRecorder")
            .field("filename", &self.filename)
            .field("sample_rate", &self.sample_rate)
            .field("is_active", &self.is_active())
            .field("samples_written", &self.samples_written)
            .field("error", &self.error)
            .finish()
    }
}

impl WaveRecorder {
    /// A stopped recorder into `filename` for a mixer at `sample_rate`.
    pub fn new(filename: impl Into<PathBuf>, sample_rate: u32) -> Result<Self, AudioError> {
        check_sample_rate(sample_rate)?;
        Ok(WaveRecorder { filename: filename.into(), sample_rate, writer: None, samples_written: 0, error: None })
    }

    /// The file recorded into.
    pub fn filename(&self) -> &Path {
        &self.filename
    }

    /// Changes the file for the next `start()`; refused while recording.
    pub fn set_filename(&mut self, filename: impl Into<PathBuf>) -> Result<(), AudioError> {
        if self.is_active() {
            return Err(AudioError::InvalidState("cannot change the filename while recording".into()));
        }
        self.filename = filename.into();
        Ok(())
    }

    /// Whether it is recording.
    pub fn is_active(&self) -> bool {
        self.writer.is_some()
    }

    /// Samples written since the last `start()`.
    pub fn samples_written(&self) -> u64 {
        self.samples_written
    }

    /// Duration recorded since the last `start()`.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.samples_written as f64 / self.sample_rate as f64)
    }

    /// Why recording stopped by itself (a write error), if it did.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Creates the file (and missing parent directories) and starts
    /// recording what the port hears.
    pub fn start(&mut self) -> Result<(), AudioError> {
        if self.is_active() {
            return Err(AudioError::InvalidState("already recording".into()));
        }
        let err = |reason: String| AudioError::Wave { path: self.filename.clone(), reason };
        if let Some(parent) = self.filename.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| err(e.to_string()))?;
        }
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: self.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        self.writer = Some(hound::WavWriter::create(&self.filename, spec).map_err(|e| err(e.to_string()))?);
        self.samples_written = 0;
        self.error = None;
        Ok(())
    }

    /// Stops recording and writes the final header. Does nothing when not
    /// recording.
    pub fn stop(&mut self) -> Result<(), AudioError> {
        match self.writer.take() {
            Some(w) => {
                w.finalize().map_err(|e| AudioError::Wave { path: self.filename.clone(), reason: e.to_string() })
            }
            None => Ok(()),
        }
    }

    fn write(&mut self, frame: &[i16]) -> Result<(), String> {
        let Some(writer) = self.writer.as_mut() else { return Ok(()) };
        if (self.samples_written + frame.len() as u64) * 2 > MAX_DATA_BYTES {
            return Err("the WAV file is full (4 GB)".into());
        }
        let mut w = writer.get_i16_writer(frame.len() as u32);
        for &s in frame {
            w.write_sample(s);
        }
        w.flush().map_err(|e| e.to_string())?;
        self.samples_written += frame.len() as u64;
        Ok(())
    }
}

impl AudioPort for WaveRecorder {
    fn get_frame(&mut self, _frame: &mut [i16]) -> bool {
        false
    }

    fn put_frame(&mut self, frame: &[i16]) {
        if let Err(e) = self.write(frame) {
            tracing::warn!("wave recorder {}: {e}; recording stopped", self.filename.display());
            self.error = Some(e);
            if let Some(w) = self.writer.take() {
                let _ = w.finalize();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::audio::analysis::{dominant_frequency, read_wav, sine, tone_amplitude, write_wav};
    use crate::audio::device::BufferPort;
    use crate::audio::mixer::{AudioMixer, lock, shared};
    use crate::audio::{AudioBridge, PortSlots};

    fn drain(p: &Arc<Mutex<WavePlayer>>) -> Vec<WavePlayerEvent> {
        std::iter::from_fn(|| lock(p).poll_event()).collect()
    }

    fn opts(loop_count: u32, pause_ms: u64, initial_play: bool) -> WavePlayerOptions {
        WavePlayerOptions {
            loop_count,
            pause_time: Duration::from_millis(pause_ms),
            initial_play,
            ..Default::default()
        }
    }

    #[test]
    fn player_to_recorder_through_the_mixer_keeps_tone_and_duration() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("tone440.wav");
        let played_secs = 2.0;
        // A 44.1 kHz file into a 32 kHz mixer (the default audio.sample_rate).
        write_wav(&source, 44100, &sine(440.0, 12000.0, 44100, (44100.0 * played_secs) as usize)).unwrap();
        let rate = 32000;
        let mut m = AudioMixer::new(rate).unwrap();
        let player = shared(WavePlayer::new(&source, rate, WavePlayerOptions::default()).unwrap());
        let out = dir.path().join("sub/dir/recording.wav");
        let recorder = shared(WaveRecorder::new(&out, rate).unwrap());
        let mut bridge = AudioBridge::new(&mut m);
        let p = m.add_port(player.clone());
        let r = m.add_port(recorder.clone());
        bridge.add(&mut m, 1, PortSlots::producer(p)).unwrap();
        bridge.add(&mut m, 2, PortSlots::consumer(r)).unwrap();
        lock(&recorder).start().unwrap();
        lock(&player).start().unwrap();
        assert_eq!(drain(&player), vec![WavePlayerEvent::Started]);
        let mut ticks = 0;
        while lock(&player).is_active() {
            m.tick();
            ticks += 1;
            assert!(ticks < 500, "the player never ended");
        }
        assert_eq!(drain(&player), vec![WavePlayerEvent::Ended]);
        lock(&recorder).stop().unwrap();
        assert!(!lock(&recorder).is_active());
        let (file_rate, channels, recorded) = read_wav(&out).unwrap();
        assert_eq!((file_rate, channels), (rate, 1));
        let seconds = recorded.len() as f64 / rate as f64;
        let f = dominant_frequency(&recorded, rate).unwrap();
        let level = tone_amplitude(&recorded[rate as usize / 10..rate as usize], rate, 440.0);
        eprintln!("recorded {seconds:.3} s of {played_secs} s, {f:.3} Hz, amplitude {level:.1} (played 12000)");
        assert!((f - 440.0).abs() <= 440.0 * 0.02, "{f}");
        assert!(seconds >= 0.9 * played_secs, "{seconds}");
        assert!(seconds <= played_secs + 0.05, "{seconds}");
        assert!((level - 12000.0).abs() < 60.0, "{level}");
        assert_eq!(lock(&recorder).samples_written(), recorded.len() as u64);
    }

    /// Writes a 100 ms file of a constant value at 8 kHz.
    fn constant_file(dir: &Path, value: i16) -> PathBuf {
        let path = dir.join(format!("c{value}.wav"));
        write_wav(&path, 8000, &[value; 800]).unwrap();
        path
    }

    /// Runs a player alone (no mixer needed: ports are plain structs) for `frames` frames.
    fn play(player: &mut WavePlayer, frames: usize) -> Vec<i16> {
        let mut out = Vec::new();
        for _ in 0..frames {
            let mut f = [0i16; 160];
            player.get_frame(&mut f);
            out.extend(f);
        }
        out
    }

    /// Lengths of the runs of non-zero and zero samples.
    fn runs(samples: &[i16]) -> Vec<(bool, usize)> {
        let mut runs: Vec<(bool, usize)> = Vec::new();
        for &s in samples {
            let on = s != 0;
            match runs.last_mut() {
                Some((v, n)) if *v == on => *n += 1,
                _ => runs.push((on, 1)),
            }
        }
        runs
    }

    #[test]
    fn loop_count_and_pause_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = constant_file(dir.path(), 1000);
        // Three plays of 100 ms with 50 ms between them, then silence.
        let mut p = WavePlayer::new(&path, 8000, opts(3, 50, true)).unwrap();
        p.start().unwrap();
        let out = play(&mut p, 30);
        assert_eq!(runs(&out), vec![(true, 800), (false, 400), (true, 800), (false, 400), (true, 800), (false, 1600)]);
        assert!(out.iter().all(|&s| s == 0 || s == 1000));
        assert!(!p.is_active());
        assert_eq!(p.current_loop(), 3);
        let events: Vec<_> = std::iter::from_fn(|| p.poll_event()).collect();
        assert_eq!(events, vec![WavePlayerEvent::Started, WavePlayerEvent::Ended]);

        // Without initial_play the pause comes first; without a pause the loops are gapless.
        let mut p = WavePlayer::new(&path, 8000, opts(2, 30, false)).unwrap();
        p.start().unwrap();
        assert_eq!(p.poll_event(), None, "not started yet");
        let out = play(&mut p, 20);
        assert_eq!(runs(&out), vec![(false, 240), (true, 800), (false, 240), (true, 800), (false, 1120)]);
        let mut p = WavePlayer::new(&path, 8000, opts(2, 0, true)).unwrap();
        p.start().unwrap();
        assert_eq!(runs(&play(&mut p, 12)), vec![(true, 1600), (false, 320)]);

        // loop_count 0 plays until stopped; the player can start again.
        let mut p = WavePlayer::new(&path, 8000, opts(0, 20, true)).unwrap();
        p.start().unwrap();
        let out = play(&mut p, 600);
        assert_eq!(runs(&out).len(), 2 * 100, "100 plays of 120 ms in 12 s");
        assert!(p.is_active());
        assert!(matches!(p.start(), Err(AudioError::InvalidState(_))));
        p.stop();
        assert!(!p.is_active());
        p.stop();
        let events: Vec<_> = std::iter::from_fn(|| p.poll_event()).collect();
        assert_eq!(events, vec![WavePlayerEvent::Started, WavePlayerEvent::Ended]);
        assert!(play(&mut p, 2).iter().all(|&s| s == 0));
        p.start().unwrap();
        assert_eq!(p.poll_event(), Some(WavePlayerEvent::Started));
        assert_eq!(play(&mut p, 1), vec![1000; 160]);
    }

    #[test]
    fn volume_and_formats() {
        let dir = tempfile::tempdir().unwrap();
        let path = constant_file(dir.path(), 20000);
        for (volume, expect) in [(0, 0), (50, 10000), (100, 20000), (200, i16::MAX)] {
            let mut p = WavePlayer::new(&path, 8000, WavePlayerOptions { volume, ..Default::default() }).unwrap();
            p.start().unwrap();
            assert_eq!(play(&mut p, 1), vec![expect; 160], "volume {volume}");
        }
        assert!(WavePlayer::new(&path, 8000, WavePlayerOptions { volume: 201, ..Default::default() }).is_err());
        assert!(WavePlayer::new(&path, 8001, WavePlayerOptions::default()).is_err());

        // Stereo 24-bit and float files come out as 16-bit mono.
        let stereo = dir.path().join("stereo24.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 24,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&stereo, spec).unwrap();
        for _ in 0..800 {
            w.write_sample(1000 << 8).unwrap();
            w.write_sample(3000 << 8).unwrap();
        }
        w.finalize().unwrap();
        let mut p = WavePlayer::new(&stereo, 8000, WavePlayerOptions::default()).unwrap();
        p.start().unwrap();
        assert_eq!(play(&mut p, 1), vec![2000; 160]);
        let float = dir.path().join("float.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&float, spec).unwrap();
        for _ in 0..800 {
            w.write_sample(-0.5f32).unwrap();
        }
        w.finalize().unwrap();
        let mut p = WavePlayer::new(&float, 8000, WavePlayerOptions::default()).unwrap();
        p.start().unwrap();
        assert_eq!(play(&mut p, 1), vec![-16384; 160]);
    }

    #[test]
    fn corrupt_missing_and_truncated_files() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.wav");
        std::fs::write(&garbage, b"RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\xff not a wave file").unwrap();
        let empty = dir.path().join("empty.wav");
        std::fs::write(&empty, b"").unwrap();
        for path in [garbage, empty, dir.path().join("missing.wav")] {
            let mut p = WavePlayer::new(&path, 8000, WavePlayerOptions::default()).unwrap();
            p.start().unwrap();
            match p.poll_event() {
                Some(WavePlayerEvent::Failed { error }) => assert!(error.contains(path.to_str().unwrap()), "{error}"),
                other => panic!("{}: {other:?}", path.display()),
            }
            assert_eq!(p.poll_event(), None, "no Ended after Failed");
            assert!(!p.is_active());
            assert!(play(&mut p, 2).iter().all(|&s| s == 0));
        }

        // Failing at a later loop (the file went away): Failed, not Ended.
        let path = constant_file(dir.path(), 500);
        let mut p = WavePlayer::new(&path, 8000, opts(2, 100, true)).unwrap();
        p.start().unwrap();
        play(&mut p, 5);
        std::fs::remove_file(&path).unwrap();
        play(&mut p, 10);
        let events: Vec<_> = std::iter::from_fn(|| p.poll_event()).collect();
        assert!(matches!(events.as_slice(), [WavePlayerEvent::Started, WavePlayerEvent::Failed { .. }]), "{events:?}");

        // A file cut short (its header promises more data): what is there plays.
        let full = dir.path().join("full.wav");
        write_wav(&full, 8000, &[700; 1600]).unwrap();
        let bytes = std::fs::read(&full).unwrap();
        let cut = dir.path().join("cut.wav");
        std::fs::write(&cut, &bytes[..bytes.len() - 1601]).unwrap();
        let mut p = WavePlayer::new(&cut, 8000, WavePlayerOptions::default()).unwrap();
        p.start().unwrap();
        let out = play(&mut p, 12);
        assert_eq!(p.poll_event(), Some(WavePlayerEvent::Started));
        assert_eq!(p.poll_event(), Some(WavePlayerEvent::Ended));
        assert_eq!(runs(&out)[0], (true, 799));

        // An empty but valid file with loop_count 0 does not spin.
        let silent = dir.path().join("silent.wav");
        write_wav(&silent, 8000, &[]).unwrap();
        let mut p = WavePlayer::new(&silent, 8000, opts(0, 0, true)).unwrap();
        p.start().unwrap();
        assert!(play(&mut p, 3).iter().all(|&s| s == 0));
        assert!(p.is_active());
    }

    #[test]
    fn recorder_lifecycle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.wav");
        let mut r = WaveRecorder::new(&path, 16000).unwrap();
        r.put_frame(&[5; 320]);
        assert_eq!(r.samples_written(), 0, "not started: nothing written");
        r.start().unwrap();
        assert!(matches!(r.start(), Err(AudioError::InvalidState(_))));
        assert!(r.set_filename(dir.path().join("other.wav")).is_err());
        r.put_frame(&[5; 320]);
        r.put_frame(&[-7; 320]);
        assert_eq!(r.duration(), Duration::from_millis(40));
        r.stop().unwrap();
        r.stop().unwrap();
        let (rate, channels, samples) = read_wav(&path).unwrap();
        assert_eq!((rate, channels), (16000, 1));
        assert_eq!(samples, [vec![5; 320], vec![-7; 320]].concat());
        // Restarting overwrites.
        r.start().unwrap();
        r.put_frame(&[1; 320]);
        drop(r);
        assert_eq!(read_wav(&path).unwrap().2, vec![1; 320], "dropping finalizes");
        // An impossible path fails at start.
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let mut r = WaveRecorder::new(blocker.join("rec.wav"), 16000).unwrap();
        assert!(matches!(r.start(), Err(AudioError::Wave { .. })));
        assert!(!r.is_active());
    }

    #[test]
    fn recorder_outside_a_bridge_records_nothing_and_inside_records_silence_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = AudioMixer::new(8000).unwrap();
        let rec = shared(WaveRecorder::new(dir.path().join("r.wav"), 8000).unwrap());
        let src = shared(BufferPort::new(0));
        let r = m.add_port(rec.clone());
        let s = m.add_port(src.clone());
        lock(&rec).start().unwrap();
        m.tick();
        assert_eq!(lock(&rec).samples_written(), 0);
        m.connect_slots(s, r).unwrap();
        m.tick();
        lock(&src).push(&[9; 160]);
        m.tick();
        lock(&rec).stop().unwrap();
        let (_, _, samples) = read_wav(&dir.path().join("r.wav")).unwrap();
        assert_eq!(samples, [vec![0; 160], vec![9; 160]].concat());
    }
}
