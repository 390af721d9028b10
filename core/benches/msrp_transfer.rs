//! MSRP throughput on loopback: a file sent with `send_file` over TCP and
//! over TLS (MB/s from the call to the sender's `MessageDelivered`, the
//! receiver counting the streamed bytes without writing them), chat-sized
//! messages per second (100-byte `send_message` with success reports,
//! until all are delivered), and the memory the process holds meanwhile
//! (sender and receiver are in this one process: the peak resident size
//! sampled during each run, above the size before it, covers both).
//!
//! Run: `cargo bench -p sipsimple-core --bench msrp_transfer`. Sizes in
//! MB: `MSRP_BENCH_TCP_MB` (default 1024), `MSRP_BENCH_TLS_MB` (512);
//! `MSRP_BENCH_CHUNK_KB` sets the SEND chunk size (default: the session's
//! default, 64 KiB), `MSRP_BENCH_MESSAGES` the chat messages (20000).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sipsimple_core::msrp::message::{MsrpUri, Scheme};
use sipsimple_core::msrp::sdp::ConnectionRole;
use sipsimple_core::msrp::session::{BodyDelivery, MsrpEvent, MsrpSessionConfig};
use sipsimple_core::msrp::transport::{MsrpConnectOptions, MsrpConnection, MsrpEventReceiver, MsrpListener, MsrpTls};
use sipsimple_core::sip::transport::TlsConfig;
use tokio::runtime::Handle;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A resident-size field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Samples VmRSS every 20 ms until stopped; returns the peak.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl RssSampler {
    fn start() -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(status_kib("VmRSS:")));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(status_kib("VmRSS:"), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        RssSampler { stop, peak, thread }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed)
    }
}

fn make_file(dir: &Path, size: u64) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join(format!("source-{size}.bin"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create the source file"));
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut block = vec![0u8; 1024 * 1024];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n]).expect("write the source file");
        left -= n as u64;
    }
    file.flush().expect("flush the source file");
    path
}

fn write_certificates(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "sipsimple MSRP bench CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA certificate");
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("server parameters");
    server.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    let key = KeyPair::generate().expect("server key");
    let server = server.signed_by(&key, &ca).expect("server certificate");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write ca.pem");
    std::fs::write(dir.join("server.pem"), server.pem() + &ca.pem() + &key.serialize_pem()).expect("write server.pem");
}

struct Pair {
    alice: MsrpConnection,
    alice_events: MsrpEventReceiver,
    bob: MsrpConnection,
    bob_events: MsrpEventReceiver,
    _listener: MsrpListener,
}

fn pair(scheme: Scheme, tls: Option<(MsrpTls, MsrpTls)>, config: MsrpSessionConfig, n: usize) -> Pair {
    let runtime = Handle::current();
    let (server_tls, client_tls) = match tls {
        Some((server, client)) => (Some(server), Some(client)),
        None => (None, None),
    };
    let address: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let listener = MsrpListener::bind(&runtime, address, server_tls).expect("listen");
    let bob_uri = MsrpUri::new(scheme, "127.0.0.1", listener.local_addr().port(), &format!("benchbob{n}"));
    let alice_uri = MsrpUri::new(scheme, "127.0.0.1", 2855, &format!("benchalice{n}"));
    let (bob, bob_events) = MsrpConnection::connect(
        &runtime,
        vec![bob_uri.clone()],
        vec![alice_uri.clone()],
        ConnectionRole::Passive,
        MsrpConnectOptions {
            listener: Some(listener.clone()),
            session: config.clone(),
            ..MsrpConnectOptions::default()
        },
    )
    .expect("bob waits");
    let (alice, alice_events) = MsrpConnection::connect(
        &runtime,
        vec![alice_uri],
        vec![bob_uri],
        ConnectionRole::Active,
        MsrpConnectOptions { tls: client_tls, session: config, ..MsrpConnectOptions::default() },
    )
    .expect("alice connects");
    Pair { alice, alice_events, bob, bob_events, _listener: listener }
}

async fn file_run(label: &str, pair: Pair, path: &Path, size: u64) {
    let Pair { alice, mut alice_events, bob, mut bob_events, _listener } = pair;
    let sampler = RssSampler::start();
    let before = status_kib("VmRSS:");
    let started = Instant::now();
    let file = std::fs::File::open(path).expect("open the source");
    let id = alice.send_file("application/octet-stream", file, 0..size, size, Vec::new()).expect("send_file");
    let receiver = tokio::spawn(async move {
        let mut bytes = 0u64;
        while let Some(event) = bob_events.recv().await {
            match event {
                MsrpEvent::ChunkData { data, .. } => bytes += data.len() as u64,
                MsrpEvent::MessageReceived { size, .. } if size > 0 => break,
                MsrpEvent::Closed { reason } => panic!("the receiver's connection closed: {reason}"),
                _ => {}
            }
        }
        bytes
    });
    let mut progress_events = 0u64;
    loop {
        match alice_events.recv().await.expect("alice's events") {
            MsrpEvent::ChunkDelivered { .. } => progress_events += 1,
            MsrpEvent::MessageDelivered { message_id } if message_id == id => break,
            other => panic!("unexpected event at the sender: {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    let received = receiver.await.expect("the receiver");
    let peak = sampler.finish();
    assert_eq!(received, size, "every byte arrived");
    let mb = size as f64 / 1e6;
    println!(
        "msrp_transfer/file/{label}: {:.0} MB in {:.3} s = {:.0} MB/s ({:.2} GiB/s), {progress_events} progress events; \
         resident peak {} MiB above the {} MiB before (sender and receiver together), VmHWM {} MiB",
        mb,
        elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64(),
        size as f64 / elapsed.as_secs_f64() / (1u64 << 30) as f64,
        peak.saturating_sub(before) >> 10,
        before >> 10,
        status_kib("VmHWM:") >> 10,
    );
    alice.close();
    bob.close();
}

async fn chat_run(label: &str, pair: Pair, count: usize) {
    let Pair { alice, mut alice_events, bob, mut bob_events, _listener } = pair;
    let receiver = tokio::spawn(async move {
        let mut received = 0usize;
        while received < count {
            match bob_events.recv().await {
                Some(MsrpEvent::MessageReceived { .. }) => received += 1,
                Some(MsrpEvent::Closed { reason }) | Some(MsrpEvent::MessageRefused { message_id: reason, .. }) => {
                    panic!("the receiver failed: {reason}")
                }
                Some(_) => {}
                None => panic!("the receiver's events ended"),
            }
        }
        received
    });
    let body = vec![b'x'; 100];
    let started = Instant::now();
    for _ in 0..count {
        alice.send_message("text/plain", body.clone(), true).expect("send_message");
    }
    let mut delivered = 0usize;
    while delivered < count {
        match alice_events.recv().await.expect("alice's events") {
            MsrpEvent::MessageDelivered { .. } => delivered += 1,
            other => panic!("unexpected event at the sender: {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(receiver.await.expect("the receiver"), count);
    println!(
        "msrp_transfer/chat/{label}: {count} messages of 100 bytes with success reports in {:.3} s = {:.0} messages/s",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    alice.close();
    bob.close();
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let tcp_size = env_number("MSRP_BENCH_TCP_MB", 1024) << 20;
    let tls_size = env_number("MSRP_BENCH_TLS_MB", 512) << 20;
    let messages = env_number("MSRP_BENCH_MESSAGES", 20_000) as usize;
    let mut config = MsrpSessionConfig {
        body_delivery: BodyDelivery::StreamContentTypes(vec!["application/octet-stream".into()]),
        ..MsrpSessionConfig::default()
    };
    if let Some(kb) = std::env::var("MSRP_BENCH_CHUNK_KB").ok().and_then(|v| v.parse::<usize>().ok()) {
        config.max_chunk_size = kb * 1024;
    }
    println!("msrp_transfer: SEND chunks of {} KiB", config.max_chunk_size / 1024);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    write_certificates(dir.path());
    let tls = || {
        let server = MsrpTls::new(&TlsConfig {
            ca_list: Some(dir.path().join("ca.pem")),
            certificate: Some(dir.path().join("server.pem")),
            verify_server: true,
        })
        .expect("server TLS");
        let client = MsrpTls::new(&TlsConfig {
            ca_list: Some(dir.path().join("ca.pem")),
            certificate: None,
            verify_server: true,
        })
        .expect("client TLS");
        (server, client)
    };
    runtime.block_on(async {
        chat_run("tcp", pair(Scheme::Msrp, None, config.clone(), 0), messages).await;
        chat_run("tls", pair(Scheme::Msrps, Some(tls()), config.clone(), 1), messages).await;
        let path = make_file(dir.path(), tcp_size);
        file_run("tcp", pair(Scheme::Msrp, None, config.clone(), 2), &path, tcp_size).await;
        std::fs::remove_file(&path).ok();
        let path = make_file(dir.path(), tls_size);
        file_run("tls", pair(Scheme::Msrps, Some(tls()), config.clone(), 3), &path, tls_size).await;
        std::fs::remove_file(&path).ok();
    });
}
