//! Notification center benchmarks.
//!
//! * `post_to_observer_latency`: one notification at a time, the time from
//!   `post_notification` until the observer runs on the delivery thread,
//!   reported as p50/p99 (a Rust observer, and a C callback registered
//!   through the C ABI).
//! * `throughput`: notifications per second through the center (post many,
//!   wait until all were delivered).
//!
//! Run: `cargo bench --bench notifications`.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sipsimple_core::notification::{Notification, NotificationCenter, NotificationData};
use sipsimple_core::{Observer, Value};

static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_ns() -> u64 {
    BASE.elapsed().as_nanos() as u64
}

struct LatencyProbe {
    posted_at: AtomicU64,
    done: mpsc::SyncSender<u64>,
}

impl LatencyProbe {
    fn record(&self) {
        let latency = now_ns().saturating_sub(self.posted_at.load(Ordering::Acquire));
        let _ = self.done.send(latency);
    }
}

struct RustObserver(Arc<LatencyProbe>);

impl Observer for RustObserver {
    fn handle_notification(&self, _: &Notification) {
        self.0.record();
    }
}

unsafe extern "C" fn c_callback(
    user_data: *mut c_void,
    _n: *const sipsimple_ffi::notification::sipsimple_notification,
) {
    // SAFETY: user_data is the LatencyProbe kept alive by the benchmark below.
    let probe = unsafe { &*(user_data as *const LatencyProbe) };
    probe.record();
}

/// Prints a latency figure; debug builds (`cargo test` runs benches once in
/// test mode) are not measurements, so they say so instead.
fn report(what: &str, samples: Vec<u64>) {
    if cfg!(debug_assertions) {
        println!("{what}: debug build, not measured (run `cargo bench`)");
        return;
    }
    let (p50, p99) = percentiles(samples);
    println!("{what}: p50 {p50:.1} us, p99 {p99:.1} us ({} samples)", ROUNDS);
}

const ROUNDS: usize = 20_000;

fn percentiles(mut samples: Vec<u64>) -> (f64, f64) {
    samples.sort_unstable();
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize] as f64 / 1000.0;
    (at(0.50), at(0.99))
}

fn measure_latency(post: impl Fn(), probe: &LatencyProbe, rx: &mpsc::Receiver<u64>, rounds: usize) -> Vec<u64> {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        probe.posted_at.store(now_ns(), Ordering::Release);
        post();
        samples.push(rx.recv_timeout(Duration::from_secs(5)).expect("observer did not run"));
    }
    samples
}

fn latency(c: &mut Criterion) {
    let nc = NotificationCenter::default_center();

    // Rust observer.
    let (tx, rx) = mpsc::sync_channel(1);
    let probe = Arc::new(LatencyProbe { posted_at: AtomicU64::new(0), done: tx });
    nc.add_observer(Arc::new(RustObserver(probe.clone())), Some("BenchRust"), None);
    let post = || nc.post_notification("BenchRust", Value::Null, NotificationData::new());
    measure_latency(post, &probe, &rx, 1_000);
    report("post -> Rust observer latency", measure_latency(post, &probe, &rx, ROUNDS));

    // C callback through the C ABI.
    let (tx, crx) = mpsc::sync_channel(1);
    let cprobe = Arc::new(LatencyProbe { posted_at: AtomicU64::new(0), done: tx });
    let mut observer = 0;
    let name = c"BenchC";
    // SAFETY: valid C string, callback and user_data that outlive the registration.
    let rc = unsafe {
        sipsimple_ffi::center::sipsimple_notification_center_add_observer(
            Some(c_callback),
            Arc::as_ptr(&cprobe) as *mut c_void,
            name.as_ptr(),
            0,
            &mut observer,
        )
    };
    assert_eq!(rc as i32, 0, "registering the C observer failed");
    let cpost = || unsafe {
        sipsimple_ffi::center::sipsimple_notification_center_post(name.as_ptr(), 0, std::ptr::null());
    };
    measure_latency(cpost, &cprobe, &crx, 1_000);
    report("post -> C callback latency", measure_latency(cpost, &cprobe, &crx, ROUNDS));

    let mut group = c.benchmark_group("post_to_observer_latency");
    group.bench_function("rust_observer", |b| {
        b.iter(|| {
            probe.posted_at.store(now_ns(), Ordering::Release);
            post();
            rx.recv().expect("observer ran")
        })
    });
    group.bench_function("c_callback", |b| {
        b.iter(|| {
            cprobe.posted_at.store(now_ns(), Ordering::Release);
            cpost();
            crx.recv().expect("callback ran")
        })
    });
    group.finish();
}

fn throughput(c: &mut Criterion) {
    const BATCH: u64 = 10_000;
    let nc = NotificationCenter::new();
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    nc.add_observer(
        Arc::new(move |_: &Notification| {
            counter.fetch_add(1, Ordering::Relaxed);
        }),
        None,
        None,
    );
    let mut group = c.benchmark_group("throughput");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("post_and_deliver_10k", |b| {
        b.iter(|| {
            for i in 0..BATCH as i64 {
                nc.post_notification("BenchThroughput", Value::Null, NotificationData::new().with("seq", i));
            }
            assert!(nc.flush(Duration::from_secs(30)));
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = latency, throughput
}
criterion_main!(benches);
