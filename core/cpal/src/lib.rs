//! Sound devices through [cpal](https://docs.rs/cpal) (ALSA on Linux,
//! CoreAudio, WASAPI) for the core's mixers: [`CpalBackend`] implements the
//! core's [`SoundBackend`], and [`install`] makes it the backend the
//! application opens its devices with.
//!
//! cpal's streams run on threads of their own and are not `Send` on every
//! platform, so each opened device lives on a `sipsimple-sound` thread that
//! builds the streams, keeps them until the device is closed, and exchanges
//! samples with the mixer through two bounded queues. Devices are opened at
//! the mixer rate, mono, 16-bit when they support it; otherwise in their
//! default format, converted (channels averaged or duplicated, samples
//! scaled, rate resampled by the core's resampler).

#![deny(missing_docs)]

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use sipsimple_core::audio::backend::{SoundBackend, SoundDeviceRequest, SoundIo, install_backend};
use sipsimple_core::audio::{AudioError, Resampler, frame_samples};

/// The most audio either queue holds, in 20 ms frames: beyond it the oldest
/// samples are dropped (the device and the mixer clocks drifted apart).
const MAX_QUEUED_FRAMES: usize = 10;

/// Installs the cpal backend as the core's sound backend. Call it once,
/// before the application starts; calling it again does no harm.
pub fn install() {
    install_backend(Arc::new(CpalBackend::default()));
}

/// The core's [`SoundBackend`] over cpal's default host.
#[derive(Debug, Default)]
pub struct CpalBackend {
    _private: (),
}

fn error(reason: impl std::fmt::Display) -> AudioError {
    AudioError::InvalidState(format!("sound device: {reason}"))
}

fn names(devices: Result<impl Iterator<Item = cpal::Device>, cpal::DevicesError>) -> Vec<String> {
    match devices {
        Ok(devices) => devices.filter_map(|d| d.name().ok()).collect(),
        Err(e) => {
            tracing::debug!("cpal: cannot list devices: {e}");
            Vec::new()
        }
    }
}

fn find(host: &cpal::Host, name: &str, input: bool) -> Result<cpal::Device, AudioError> {
    let devices = if input { host.input_devices() } else { host.output_devices() };
    devices
        .map_err(error)?
        .find(|d| d.name().is_ok_and(|n| n == name))
        .ok_or_else(|| AudioError::InvalidArgument(format!("no sound device named {name:?}")))
}

impl SoundBackend for CpalBackend {
    fn name(&self) -> &str {
        "cpal"
    }

    fn input_devices(&self) -> Vec<String> {
        names(cpal::default_host().input_devices())
    }

    fn output_devices(&self) -> Vec<String> {
        names(cpal::default_host().output_devices())
    }

    fn default_input_device(&self) -> Option<String> {
        cpal::default_host().default_input_device().and_then(|d| d.name().ok())
    }

    fn default_output_device(&self) -> Option<String> {
        cpal::default_host().default_output_device().and_then(|d| d.name().ok())
    }

    fn open(&self, request: &SoundDeviceRequest) -> Result<Box<dyn SoundIo>, AudioError> {
        Ok(Box::new(CpalSoundIo::open(request)?))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Samples at the mixer rate, shared between the mixer and a cpal callback.
#[derive(Debug, Default)]
struct Queue {
    samples: VecDeque<i16>,
    limit: usize,
    dropped: u64,
}

impl Queue {
    fn new(limit: usize) -> Arc<Mutex<Queue>> {
        Arc::new(Mutex::new(Queue { samples: VecDeque::with_capacity(limit), limit, dropped: 0 }))
    }

    fn push(&mut self, samples: &[i16]) {
        self.samples.extend(samples);
        if self.samples.len() > self.limit {
            let excess = self.samples.len() - self.limit;
            self.samples.drain(..excess);
            self.dropped += excess as u64;
        }
    }
}

/// An opened capture and/or playback device (see the crate documentation).
pub struct CpalSoundIo {
    captured: Arc<Mutex<Queue>>,
    to_play: Arc<Mutex<Queue>>,
    to_device: Option<Resampler>,
    frame_len: usize,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for CpalSoundIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpalSoundIo").field("frame_len", &self.frame_len).finish()
    }
}

/// How a device's stream is set up.
struct StreamSetup {
    config: cpal::StreamConfig,
    format: cpal::SampleFormat,
}

/// The mixer rate, mono, i16 if the device supports it; else the closest
/// the device offers (its default format).
fn choose(device: &cpal::Device, rate: u32, input: bool) -> Result<StreamSetup, AudioError> {
    let ranges: Vec<cpal::SupportedStreamConfigRange> = if input {
        device.supported_input_configs().map_err(error)?.collect()
    } else {
        device.supported_output_configs().map_err(error)?.collect()
    };
    let usable = |f: cpal::SampleFormat| matches!(f, cpal::SampleFormat::I16 | cpal::SampleFormat::F32);
    let mut best: Option<(u32, cpal::SupportedStreamConfig)> = None;
    for range in ranges {
        if !usable(range.sample_format()) {
            continue;
        }
        let Some(config) = range.try_with_sample_rate(cpal::SampleRate(rate)) else { continue };
        let score =
            u32::from(config.channels() != 1) * 2 + u32::from(config.sample_format() != cpal::SampleFormat::I16);
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, config));
        }
    }
    let config = match best {
        Some((_, config)) => config,
        None => {
            let config = if input { device.default_input_config() } else { device.default_output_config() };
            let config = config.map_err(error)?;
            if !usable(config.sample_format()) {
                return Err(error(format!("unsupported sample format {:?}", config.sample_format())));
            }
            config
        }
    };
    Ok(StreamSetup { format: config.sample_format(), config: config.config() })
}

fn to_i16(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

fn to_f32(s: i16) -> f32 {
    s as f32 / 32768.0
}

/// Builds the capture stream: device samples, averaged to mono, resampled
/// to the mixer rate, into `queue`.
fn capture_stream(
    device: &cpal::Device,
    setup: &StreamSetup,
    rate: u32,
    queue: Arc<Mutex<Queue>>,
) -> Result<cpal::Stream, AudioError> {
    let channels = usize::from(setup.config.channels.max(1));
    let device_rate = setup.config.sample_rate.0;
    let mut resampler = if device_rate == rate { None } else { Some(Resampler::new(device_rate, rate)?) };
    let mut mono: Vec<i16> = Vec::new();
    let mut converted: Vec<i16> = Vec::new();
    let mut deliver = move |samples: &mut dyn Iterator<Item = i16>| {
        mono.clear();
        let all: Vec<i16> = samples.collect();
        mono.extend(all.chunks(channels).map(|c| (c.iter().map(|&s| s as i32).sum::<i32>() / c.len() as i32) as i16));
        match resampler.as_mut() {
            Some(r) => {
                converted.clear();
                r.process(&mono, &mut converted);
                lock(&queue).push(&converted);
            }
            None => lock(&queue).push(&mono),
        }
    };
    let on_error = |e: cpal::StreamError| tracing::warn!("sound capture: {e}");
    let stream = match setup.format {
        cpal::SampleFormat::I16 => device.build_input_stream(
            &setup.config,
            move |data: &[i16], _: &cpal::InputCallbackInfo| deliver(&mut data.iter().copied()),
            on_error,
            None,
        ),
        _ => device.build_input_stream(
            &setup.config,
            move |data: &[f32], _: &cpal::InputCallbackInfo| deliver(&mut data.iter().map(|&s| to_i16(s))),
            on_error,
            None,
        ),
    };
    stream.map_err(error)
}

/// Builds the playback stream: mono samples at the device rate from
/// `queue` (silence when it runs dry), copied to every channel.
fn playback_stream(
    device: &cpal::Device,
    setup: &StreamSetup,
    queue: Arc<Mutex<Queue>>,
) -> Result<cpal::Stream, AudioError> {
    let channels = usize::from(setup.config.channels.max(1));
    let on_error = |e: cpal::StreamError| tracing::warn!("sound playback: {e}");
    fn fill<T: Copy>(out: &mut [T], channels: usize, queue: &Mutex<Queue>, convert: impl Fn(i16) -> T) {
        let mut q = lock(queue);
        for frame in out.chunks_mut(channels) {
            let s = convert(q.samples.pop_front().unwrap_or(0));
            frame.iter_mut().for_each(|x| *x = s);
        }
    }
    let stream = match setup.format {
        cpal::SampleFormat::I16 => device.build_output_stream(
            &setup.config,
            move |data: &mut [i16], _: &cpal::OutputCallbackInfo| fill(data, channels, &queue, |s| s),
            on_error,
            None,
        ),
        _ => device.build_output_stream(
            &setup.config,
            move |data: &mut [f32], _: &cpal::OutputCallbackInfo| fill(data, channels, &queue, to_f32),
            on_error,
            None,
        ),
    };
    stream.map_err(error)
}

impl CpalSoundIo {
    /// Opens the devices of `request` on cpal's default host.
    pub fn open(request: &SoundDeviceRequest) -> Result<CpalSoundIo, AudioError> {
        let rate = request.sample_rate;
        sipsimple_core::audio::check_sample_rate(rate)?;
        let frame_len = frame_samples(rate);
        let captured = Queue::new(frame_len * MAX_QUEUED_FRAMES);
        let to_play = Queue::new(frame_len * MAX_QUEUED_FRAMES * 6);
        let (ready_tx, ready_rx) = mpsc::channel::<Result<Option<u32>, AudioError>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (input, output) = (request.input_device.clone(), request.output_device.clone());
        let (cap, play) = (captured.clone(), to_play.clone());
        // The streams are built, played and dropped on one thread.
        let thread = std::thread::Builder::new()
            .name("sipsimple-sound".into())
            .spawn(move || {
                let opened = (|| -> Result<(Vec<cpal::Stream>, Option<u32>), AudioError> {
                    let host = cpal::default_host();
                    let mut streams = Vec::new();
                    let mut playback_rate = None;
                    if let Some(name) = &input {
                        let device = find(&host, name, true)?;
                        let setup = choose(&device, rate, true)?;
                        streams.push(capture_stream(&device, &setup, rate, cap)?);
                    }
                    if let Some(name) = &output {
                        let device = find(&host, name, false)?;
                        let setup = choose(&device, rate, false)?;
                        playback_rate = Some(setup.config.sample_rate.0);
                        streams.push(playback_stream(&device, &setup, play)?);
                    }
                    for s in &streams {
                        s.play().map_err(error)?;
                    }
                    Ok((streams, playback_rate))
                })();
                match opened {
                    Ok((streams, playback_rate)) => {
                        let _ = ready_tx.send(Ok(playback_rate));
                        let _ = stop_rx.recv();
                        drop(streams);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(error)?;
        let playback_rate = match ready_rx.recv() {
            Ok(result) => result,
            Err(_) => Err(error("the sound thread died")),
        };
        let playback_rate = match playback_rate {
            Ok(r) => r,
            Err(e) => {
                let _ = thread.join();
                return Err(e);
            }
        };
        let to_device = match playback_rate {
            Some(r) if r != rate => Some(Resampler::new(rate, r)?),
            _ => None,
        };
        tracing::debug!(
            "cpal: opened input {:?}, output {:?} (playback at {playback_rate:?} Hz)",
            request.input_device,
            request.output_device
        );
        Ok(CpalSoundIo { captured, to_play, to_device, frame_len, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// Samples dropped so far because a queue overflowed: (captured, played).
    pub fn dropped(&self) -> (u64, u64) {
        (lock(&self.captured).dropped, lock(&self.to_play).dropped)
    }
}

impl SoundIo for CpalSoundIo {
    fn capture(&mut self, frame: &mut [i16]) -> bool {
        let mut q = lock(&self.captured);
        if q.samples.len() < frame.len() {
            return false;
        }
        let n = frame.len();
        for (out, s) in frame.iter_mut().zip(q.samples.drain(..n)) {
            *out = s;
        }
        true
    }

    fn playback(&mut self, frame: &[i16]) {
        match self.to_device.as_mut() {
            Some(r) => {
                let converted = r.process_vec(frame);
                lock(&self.to_play).push(&converted);
            }
            None => lock(&self.to_play).push(frame),
        }
    }
}

impl Drop for CpalSoundIo {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_drop_the_oldest_samples_beyond_their_limit() {
        let q = Queue::new(4);
        let mut q = lock(&q);
        q.push(&[1, 2, 3]);
        q.push(&[4, 5, 6]);
        assert_eq!(q.samples.iter().copied().collect::<Vec<_>>(), [3, 4, 5, 6]);
        assert_eq!(q.dropped, 2);
        assert_eq!((to_i16(1.5), to_i16(-1.0), to_i16(0.0)), (32767, -32767, 0));
        assert!((to_f32(16384) - 0.5).abs() < 1e-6);
    }
}
