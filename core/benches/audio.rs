//! Audio processing cost per 20 ms frame.
//!
//! - `mixer_full_mesh/<N>` and `mixer_star/<N>`: one [`AudioMixer::tick`] at
//!   the voice mixer's default rate (32 kHz, 640 samples a frame) with `N`
//!   ports that each produce a tone frame and consume their mix. Full mesh:
//!   every port hears every other (a conference, `N·(N−1)` connections).
//!   Star: port 0 hears the `N−1` others and each of them hears port 0 only
//!   (calls bridged to one local device, `2·(N−1)` connections). The
//!   throughput is set to `N` elements a tick, so criterion's `thrpt` is
//!   ports·frames per second and `1e9 / thrpt` is the nanoseconds one port
//!   costs per frame; `time` is the cost of the whole tick.
//! - `codec/<name>`: encoding one 20 ms frame of a two-tone signal plus
//!   decoding the payload, with PCMU and PCMA (8 kHz), G.722 (16 kHz) and
//!   Opus (48 kHz, libopus defaults of [`Opus`](sipsimple_core::audio::codec::Opus)).
//!
//! Run: `cargo bench -p sipsimple-core --bench audio`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sipsimple_core::audio::analysis::dual_tone;
use sipsimple_core::audio::codec::codec_by_name;
use sipsimple_core::audio::{AudioMixer, AudioPort, shared};

/// The voice mixer's default rate (the `audio.sample_rate` setting).
const MIXER_RATE: u32 = 32000;

/// A port playing a looped tone and keeping a checksum of what it hears
/// (so the mix cannot be optimised away).
struct TonePort {
    tone: Vec<i16>,
    position: usize,
    heard: i64,
}

impl TonePort {
    fn new(rate: u32, index: usize) -> Self {
        let seconds = 1;
        let low = 300.0 + 10.0 * index as f64;
        TonePort { tone: dual_tone(low, low * 2.5, 3000.0, rate, rate as usize * seconds), position: 0, heard: 0 }
    }
}

impl AudioPort for TonePort {
    fn get_frame(&mut self, frame: &mut [i16]) -> bool {
        for sample in frame.iter_mut() {
            *sample = self.tone[self.position];
            self.position = (self.position + 1) % self.tone.len();
        }
        true
    }

    fn put_frame(&mut self, frame: &[i16]) {
        self.heard = self.heard.wrapping_add(i64::from(frame[0])).wrapping_add(i64::from(frame[frame.len() - 1]));
    }
}

#[derive(Clone, Copy)]
enum Topology {
    FullMesh,
    Star,
}

fn mixer_with(ports: usize, topology: Topology) -> AudioMixer {
    let mut mixer = AudioMixer::new(MIXER_RATE).expect("a 32 kHz mixer");
    let slots: Vec<_> = (0..ports).map(|i| mixer.add_port(shared(TonePort::new(MIXER_RATE, i)))).collect();
    match topology {
        Topology::FullMesh => {
            for &a in &slots {
                for &b in &slots {
                    if a != b {
                        mixer.connect_slots(a, b).expect("connect");
                    }
                }
            }
        }
        Topology::Star => {
            for &leaf in &slots[1..] {
                mixer.connect_slots(leaf, slots[0]).expect("connect");
                mixer.connect_slots(slots[0], leaf).expect("connect");
            }
        }
    }
    // The first tick builds the evaluation plan.
    mixer.tick();
    mixer
}

fn bench_mixer(c: &mut Criterion) {
    for (name, topology, sizes) in [
        ("mixer_full_mesh", Topology::FullMesh, &[2usize, 4, 8, 16, 32][..]),
        ("mixer_star", Topology::Star, &[2usize, 4, 16, 64, 256][..]),
    ] {
        let mut group = c.benchmark_group(name);
        for &ports in sizes {
            let mut mixer = mixer_with(ports, topology);
            group.throughput(Throughput::Elements(ports as u64));
            group.bench_function(BenchmarkId::from_parameter(ports), |b| b.iter(|| black_box(&mut mixer).tick()));
        }
        group.finish();
    }
}

fn bench_codecs(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));
    for name in ["PCMU", "PCMA", "G722", "opus"] {
        let mut codec = codec_by_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rate = codec.clock_rate();
        let frame = codec.frame_samples();
        // One second of signal, encoded frame after frame (the encoders
        // keep state, so the frames must follow each other).
        let signal = dual_tone(440.0, 1250.0, 6000.0, rate, rate as usize);
        let frames: Vec<&[i16]> = signal.chunks_exact(frame).collect();
        let mut next = 0;
        group.bench_function(BenchmarkId::new("encode_decode", name), |b| {
            b.iter(|| {
                let payload = codec.encode(black_box(frames[next]));
                next = (next + 1) % frames.len();
                black_box(codec.decode(black_box(&payload)))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_mixer, bench_codecs);
criterion_main!(benches);
