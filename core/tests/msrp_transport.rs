//! MSRP sessions over real loopback TCP and TLS connections: the tokio
//! driver, the listener's session matching and connection loss.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sipsimple_core::msrp::message::{Head, Header, Method, MsrpUri, Scheme};
use sipsimple_core::msrp::sdp::ConnectionRole;
use sipsimple_core::msrp::session::{BodyDelivery, MsrpEvent, MsrpSessionConfig};
use sipsimple_core::msrp::transport::{MsrpConnectOptions, MsrpConnection, MsrpEventReceiver, MsrpListener, MsrpTls};
use sipsimple_core::sip::transport::TlsConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Handle;

const MESSAGES: usize = 1000;
const WAIT: Duration = Duration::from_secs(20);

fn uri(scheme: Scheme, port: u16, session_id: &str) -> MsrpUri {
    MsrpUri::new(scheme, "127.0.0.1", port, session_id)
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

async fn next_event(events: &mut MsrpEventReceiver) -> MsrpEvent {
    tokio::time::timeout(WAIT, events.recv()).await.expect("an MSRP event in time").expect("the event channel is open")
}

struct Endpoint {
    connection: MsrpConnection,
    events: MsrpEventReceiver,
}

/// Bob listens (passive), Alice connects (active).
fn pair(
    scheme: Scheme,
    server_tls: Option<MsrpTls>,
    client_tls: Option<MsrpTls>,
) -> (Endpoint, Endpoint, MsrpListener) {
    let runtime = Handle::current();
    let listener = MsrpListener::bind(&runtime, loopback(), server_tls).expect("listen");
    let (alice, bob) = pair_on(&listener, scheme, client_tls, MsrpSessionConfig::default());
    (alice, bob, listener)
}

/// Bob waits on `listener`, Alice connects; both with `config`.
fn pair_on(
    listener: &MsrpListener,
    scheme: Scheme,
    client_tls: Option<MsrpTls>,
    config: MsrpSessionConfig,
) -> (Endpoint, Endpoint) {
    let runtime = Handle::current();
    static PAIRS: AtomicUsize = AtomicUsize::new(0);
    let n = PAIRS.fetch_add(1, Ordering::Relaxed);
    let bob_uri = uri(scheme, listener.local_addr().port(), &format!("bobsession{n}"));
    let alice_uri = uri(scheme, 2855, &format!("alicesession{n}"));
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
    (Endpoint { connection: alice, events: alice_events }, Endpoint { connection: bob, events: bob_events })
}

/// Waits until every message of the peer arrived exactly once and in
/// order and every message sent was delivered exactly once.
async fn collect(mut endpoint: Endpoint, sent: Vec<String>, peer_prefix: &str) -> Endpoint {
    let sent_set: HashSet<String> = sent.iter().cloned().collect();
    let mut delivered = HashSet::new();
    let mut received = 0usize;
    while received < MESSAGES || delivered.len() < MESSAGES {
        match next_event(&mut endpoint.events).await {
            MsrpEvent::MessageReceived { body, content_type, .. } => {
                assert_eq!(content_type.as_deref(), Some("text/plain"));
                let text = String::from_utf8(body).expect("UTF-8 body");
                assert_eq!(text, format!("{peer_prefix} chat message {received}"), "order and content");
                received += 1;
            }
            MsrpEvent::MessageDelivered { message_id } => {
                assert!(sent_set.contains(&message_id), "delivered a message never sent: {message_id}");
                assert!(delivered.insert(message_id.clone()), "delivered twice: {message_id}");
            }
            MsrpEvent::ChunkReceived { .. } => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
    endpoint
}

/// Closes one side and checks that nothing more than the close arrives.
async fn close_and_check(mut endpoint: Endpoint) {
    endpoint.connection.close();
    let event = next_event(&mut endpoint.events).await;
    assert!(matches!(event, MsrpEvent::Closed { .. }), "unexpected event after the exchange: {event:?}");
    assert!(endpoint.connection.send_message("text/plain", b"late".to_vec(), true).is_err());
}

async fn exchange(label: &str, alice: Endpoint, bob: Endpoint) {
    let started = Instant::now();
    let mut alice_sent = Vec::with_capacity(MESSAGES);
    let mut bob_sent = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let body = format!("alice chat message {i}").into_bytes();
        alice_sent.push(alice.connection.send_message("text/plain", body, true).expect("alice sends"));
        let body = format!("bob chat message {i}").into_bytes();
        bob_sent.push(bob.connection.send_message("text/plain", body, true).expect("bob sends"));
    }
    let (alice, bob) = tokio::join!(collect(alice, alice_sent, "bob"), collect(bob, bob_sent, "alice"));
    let elapsed = started.elapsed();
    println!(
        "MSRP over {label}: {} chat messages (both directions, success reports) in {:.3} s = {:.0} messages/s",
        2 * MESSAGES,
        elapsed.as_secs_f64(),
        (2 * MESSAGES) as f64 / elapsed.as_secs_f64()
    );
    close_and_check(alice).await;
    // Bob sees the connection end (or closes it himself first).
    close_and_check(bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_messages_each_way_over_tcp() {
    let (alice, bob, _listener) = pair(Scheme::Msrp, None, None);
    exchange("TCP", alice, bob).await;
}

fn write_certificates(dir: &Path) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let make_ca = |name: &str| {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, name);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA certificate")
    };
    let ca = make_ca("sipsimple MSRP test CA");
    let other_ca = make_ca("sipsimple other CA");
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("server certificate parameters");
    server.distinguished_name.push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    let server_key = KeyPair::generate().expect("server key");
    let server = server.signed_by(&server_key, &ca).expect("server certificate");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write ca.pem");
    std::fs::write(dir.join("other-ca.pem"), other_ca.pem()).expect("write other-ca.pem");
    std::fs::write(dir.join("server.pem"), server.pem() + &ca.pem() + &server_key.serialize_pem())
        .expect("write server.pem");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_messages_each_way_over_tls_with_a_verified_certificate() {
    let dir = tempfile::tempdir().expect("temporary directory");
    write_certificates(dir.path());
    let server_tls = MsrpTls::new(&TlsConfig {
        ca_list: Some(dir.path().join("ca.pem")),
        certificate: Some(dir.path().join("server.pem")),
        verify_server: true,
    })
    .expect("server TLS");
    let client_tls =
        MsrpTls::new(&TlsConfig { ca_list: Some(dir.path().join("ca.pem")), certificate: None, verify_server: true })
            .expect("client TLS");
    let (alice, bob, _listener) = pair(Scheme::Msrps, Some(server_tls.clone()), Some(client_tls));
    exchange("TLS", alice, bob).await;

    // A client that trusts another CA refuses the server: its message fails.
    let untrusting = MsrpTls::new(&TlsConfig {
        ca_list: Some(dir.path().join("other-ca.pem")),
        certificate: None,
        verify_server: true,
    })
    .expect("client TLS");
    let (mut alice, bob, _listener) = pair(Scheme::Msrps, Some(server_tls), Some(untrusting));
    let id = alice.connection.send_message("text/plain", b"hello".to_vec(), true).expect("queued");
    assert_eq!(
        next_event(&mut alice.events).await,
        MsrpEvent::MessageNotDelivered { message_id: id, code: 408, reason: "Connection closed".to_owned() }
    );
    assert!(matches!(next_event(&mut alice.events).await, MsrpEvent::Closed { .. }));
    bob.connection.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_for_an_unknown_session_gets_481_and_is_closed() {
    let runtime = Handle::current();
    let listener = MsrpListener::bind(&runtime, loopback(), None).expect("listen");
    let port = listener.local_addr().port();
    // A session waits on the listener, but for another path.
    let (_bob, _bob_events) = MsrpConnection::connect(
        &runtime,
        vec![uri(Scheme::Msrp, port, "bobsession42")],
        vec![uri(Scheme::Msrp, 2855, "alicesession7")],
        ConnectionRole::Passive,
        MsrpConnectOptions { listener: Some(listener.clone()), ..MsrpConnectOptions::default() },
    )
    .expect("bob waits");

    let mut tcp = tokio::net::TcpStream::connect(listener.local_addr()).await.expect("connect");
    let request = format!(
        "MSRP a786hjs2 SEND\r\nTo-Path: msrp://127.0.0.1:{port}/nosuchsession;tcp\r\n\
         From-Path: msrp://127.0.0.1:2855/alicesession7;tcp\r\nMessage-ID: 87652491\r\n\
         Byte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------a786hjs2$\r\n"
    );
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut response))
        .await
        .expect("the listener closes the connection in time")
        .expect("read");
    let response = String::from_utf8(response).expect("UTF-8 response");
    assert!(response.starts_with("MSRP a786hjs2 481"), "{response}");
    assert!(response.contains("To-Path: msrp://127.0.0.1:2855/alicesession7;tcp\r\n"), "{response}");
    assert!(response.ends_with("-------a786hjs2$\r\n"), "{response}");

    // The same through the driver: the message fails and the connection closes.
    let (alice, mut alice_events) = MsrpConnection::connect(
        &runtime,
        vec![uri(Scheme::Msrp, 2855, "alicesession7")],
        vec![uri(Scheme::Msrp, port, "nosuchsession")],
        ConnectionRole::Active,
        MsrpConnectOptions::default(),
    )
    .expect("alice connects");
    let id = alice.send_message("text/plain", b"hello".to_vec(), true).expect("queued");
    let mut failed = false;
    loop {
        match next_event(&mut alice_events).await {
            MsrpEvent::MessageNotDelivered { message_id, code, .. } => {
                assert_eq!(message_id, id);
                assert!(code == 481 || code == 408, "code {code}");
                failed = true;
            }
            MsrpEvent::Closed { .. } => break,
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(failed, "the message was reported as not delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peer_disappearing_fails_the_pending_messages() {
    let runtime = Handle::current();
    let peer = tokio::net::TcpListener::bind(loopback()).await.expect("listen");
    let port = peer.local_addr().expect("address").port();
    let (alice, mut alice_events) = MsrpConnection::connect(
        &runtime,
        vec![uri(Scheme::Msrp, 2855, "alicesession7")],
        vec![uri(Scheme::Msrp, port, "bobsession42")],
        ConnectionRole::Active,
        MsrpConnectOptions::default(),
    )
    .expect("alice connects");
    let ids: Vec<String> = (0..3)
        .map(|i| alice.send_message("text/plain", format!("message {i}").into_bytes(), true).expect("queued"))
        .collect();

    // The peer reads the binding SEND and the three messages, answers
    // nothing and goes away.
    let (mut socket, _) = tokio::time::timeout(WAIT, peer.accept()).await.expect("accepted in time").expect("accept");
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let first_line_is_binding = loop {
        let n = tokio::time::timeout(WAIT, socket.read(&mut buffer)).await.expect("data in time").expect("read");
        assert!(n > 0, "alice closed early");
        seen.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        if ids.iter().all(|id| text.contains(&format!("Message-ID: {id}\r\n"))) && text.ends_with("$\r\n") {
            let first = text.split("-------").next().unwrap_or_default().to_owned();
            break first.contains("Byte-Range: 1-0/0\r\n") && !first.contains("Content-Type");
        }
    };
    assert!(first_line_is_binding, "the first request is an empty SEND");
    drop(socket);

    let mut failed = HashSet::new();
    loop {
        match next_event(&mut alice_events).await {
            MsrpEvent::MessageNotDelivered { message_id, code, .. } => {
                assert_eq!(code, 408);
                assert!(failed.insert(message_id), "failed twice");
            }
            MsrpEvent::Closed { .. } => break,
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(failed, ids.into_iter().collect::<HashSet<_>>());
}

// ---- Files

const FILE_SIZE: u64 = 200 * 1024 * 1024;
const FILE_WAIT: Duration = Duration::from_secs(300);

/// Writes `size` pseudo-random bytes to a new file in `dir`; returns its
/// path and SHA-1.
fn make_file(dir: &Path, size: u64) -> (std::path::PathBuf, [u8; 20]) {
    use sha1::Digest;
    use std::io::Write;
    let path = dir.join("source.bin");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create the source file"));
    let mut hasher = sha1::Sha1::new();
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
        hasher.update(&block[..n]);
        file.write_all(&block[..n]).expect("write the source file");
        left -= n as u64;
    }
    file.flush().expect("flush the source file");
    (path, hasher.finalize().into())
}

fn sha1_of(path: &Path) -> [u8; 20] {
    use sha1::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path).expect("open");
    let mut hasher = sha1::Sha1::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let n = file.read(&mut buffer).expect("read");
        if n == 0 {
            return hasher.finalize().into();
        }
        hasher.update(&buffer[..n]);
    }
}

fn file_config() -> MsrpSessionConfig {
    MsrpSessionConfig {
        body_delivery: BodyDelivery::StreamContentTypes(vec!["application/octet-stream".into()]),
        ..MsrpSessionConfig::default()
    }
}

/// What the receiver of a file saw.
struct Received {
    /// Bytes written without a gap from the first offset.
    contiguous: u64,
    /// Whether the message was complete (MessageReceived).
    complete: bool,
    /// The size announced, when complete.
    size: u64,
}

/// Bob writes the streamed message's bytes at their offsets into `path`
/// until it is complete, or until `stop_after` bytes arrived (then he
/// closes the connection and reads what was still queued).
async fn receive_file(bob: &mut Endpoint, path: &Path, stop_after: Option<u64>) -> Received {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(path).expect("open the copy");
    let mut next: Option<u64> = None;
    let mut closing = false;
    loop {
        match tokio::time::timeout(FILE_WAIT, bob.events.recv()).await.expect("bob's events in time") {
            Some(MsrpEvent::ChunkData { offset, data, .. }) => {
                file.write_all_at(&data, offset).expect("write the copy");
                let expected = next.unwrap_or(offset);
                assert_eq!(offset, expected, "the bytes come in order on one connection");
                next = Some(offset + data.len() as u64);
                if !closing && stop_after.is_some_and(|stop| next.unwrap_or(0) >= stop) {
                    bob.connection.close();
                    closing = true;
                }
            }
            Some(MsrpEvent::MessageReceived { size, streamed, .. }) if size > 0 => {
                assert!(streamed);
                return Received { contiguous: next.unwrap_or(0), complete: true, size };
            }
            Some(MsrpEvent::Closed { .. }) | None => {
                return Received { contiguous: next.unwrap_or(0), complete: false, size: 0 };
            }
            Some(MsrpEvent::ChunkReceived { .. }) => {}
            Some(other) => panic!("unexpected event at the receiver: {other:?}"),
        }
    }
}

/// Alice's view of a file she sends: progress steps (checked to grow) and
/// the outcome.
async fn watch_sending(alice: &mut Endpoint, id: &str, start: u64, total: u64) -> (usize, Option<u16>) {
    let mut last = start;
    let mut steps = 0;
    loop {
        match tokio::time::timeout(FILE_WAIT, alice.events.recv()).await.expect("alice's events in time") {
            Some(MsrpEvent::ChunkDelivered { message_id, delivered, byte_range }) => {
                assert_eq!(message_id, id);
                assert!(delivered > last, "progress grows: {delivered} after {last}");
                assert!(delivered <= total);
                assert_eq!(byte_range.total, Some(total));
                last = delivered;
                steps += 1;
            }
            Some(MsrpEvent::MessageDelivered { message_id }) => {
                assert_eq!(message_id, id);
                assert_eq!(last, total, "the progress reached the total");
                return (steps, None);
            }
            Some(MsrpEvent::MessageNotDelivered { message_id, code, .. }) => {
                assert_eq!(message_id, id);
                return (steps, Some(code));
            }
            other => panic!("unexpected event at the sender: {other:?}"),
        }
    }
}

async fn send_a_file(label: &str, alice: Endpoint, bob: Endpoint) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (source, hash) = make_file(dir.path(), FILE_SIZE);
    let copy = dir.path().join("copy.bin");
    let (mut alice, mut bob) = (alice, bob);
    let started = Instant::now();
    let file = std::fs::File::open(&source).expect("open the source");
    let disposition =
        Header { name: "Content-Disposition".into(), value: "attachment; filename=\"source.bin\"".into() };
    let id = alice
        .connection
        .send_file("application/octet-stream", file, 0..FILE_SIZE, FILE_SIZE, vec![disposition])
        .expect("send the file");
    let (sent, received) =
        tokio::join!(watch_sending(&mut alice, &id, 0, FILE_SIZE), receive_file(&mut bob, &copy, None));
    let elapsed = started.elapsed();
    assert_eq!(sent.1, None, "delivered");
    assert!(sent.0 > 100, "progress came per chunk: {} steps", sent.0);
    assert!(received.complete);
    assert_eq!(received.size, FILE_SIZE);
    assert_eq!(received.contiguous, FILE_SIZE);
    assert_eq!(sha1_of(&copy), hash, "the copy has the source's SHA-1");
    println!(
        "MSRP file over {label}: {} MB in {:.2} s = {:.0} MB/s (debug build, with writing the copy)",
        FILE_SIZE >> 20,
        elapsed.as_secs_f64(),
        (FILE_SIZE >> 20) as f64 / elapsed.as_secs_f64()
    );
    close_and_check(alice).await;
    close_and_check(bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_file_over_tcp_arrives_whole() {
    let runtime = Handle::current();
    let listener = MsrpListener::bind(&runtime, loopback(), None).expect("listen");
    let (alice, bob) = pair_on(&listener, Scheme::Msrp, None, file_config());
    send_a_file("TCP", alice, bob).await;
}

fn tls_pair(dir: &Path) -> (MsrpTls, MsrpTls) {
    write_certificates(dir);
    let server = MsrpTls::new(&TlsConfig {
        ca_list: Some(dir.join("ca.pem")),
        certificate: Some(dir.join("server.pem")),
        verify_server: true,
    })
    .expect("server TLS");
    let client = MsrpTls::new(&TlsConfig { ca_list: Some(dir.join("ca.pem")), certificate: None, verify_server: true })
        .expect("client TLS");
    (server, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_file_over_tls_arrives_whole() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (server, client) = tls_pair(dir.path());
    let listener = MsrpListener::bind(&Handle::current(), loopback(), Some(server)).expect("listen");
    let (alice, bob) = pair_on(&listener, Scheme::Msrps, Some(client), file_config());
    send_a_file("TLS", alice, bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_cut_halfway_is_resumed_from_what_arrived() {
    const SIZE: u64 = 64 * 1024 * 1024;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (source, hash) = make_file(dir.path(), SIZE);
    let copy = dir.path().join("copy.bin");
    let listener = MsrpListener::bind(&Handle::current(), loopback(), None).expect("listen");

    // Bob closes the connection once half of the file arrived.
    let (mut alice, mut bob) = pair_on(&listener, Scheme::Msrp, None, file_config());
    let file = std::fs::File::open(&source).expect("open the source");
    let id = alice.connection.send_file("application/octet-stream", file, 0..SIZE, SIZE, Vec::new()).expect("send");
    let (sent, received) =
        tokio::join!(watch_sending(&mut alice, &id, 0, SIZE), receive_file(&mut bob, &copy, Some(SIZE / 2)));
    assert_eq!(sent.1, Some(408), "the cut fails the message");
    assert!(!received.complete);
    assert!(received.contiguous >= SIZE / 2 && received.contiguous < SIZE, "{}", received.contiguous);
    assert!(matches!(next_event(&mut alice.events).await, MsrpEvent::Closed { .. }));

    // A new connection sends the rest.
    let (mut alice, mut bob) = pair_on(&listener, Scheme::Msrp, None, file_config());
    let file = std::fs::File::open(&source).expect("open the source");
    let start = received.contiguous;
    let id = alice.connection.send_file("application/octet-stream", file, start..SIZE, SIZE, Vec::new()).expect("send");
    let (sent, received) =
        tokio::join!(watch_sending(&mut alice, &id, start, SIZE), receive_file(&mut bob, &copy, None));
    assert_eq!(sent.1, None);
    assert!(received.complete);
    assert_eq!(received.contiguous, SIZE);
    assert_eq!(sha1_of(&copy), hash, "the resumed copy has the source's SHA-1");

    // A range outside the file is refused at once.
    let file = std::fs::File::open(&source).expect("open the source");
    assert!(alice.connection.send_file("application/octet-stream", file, 10..SIZE + 1, SIZE, Vec::new()).is_err());
    // A file shorter than its range fails the message.
    let file = std::fs::File::open(&source).expect("open the source");
    let id = alice
        .connection
        .send_file("application/octet-stream", file, SIZE - 10..SIZE + 10, SIZE + 10, Vec::new())
        .expect("send");
    let sent = watch_sending(&mut alice, &id, SIZE - 10, SIZE + 10).await;
    assert_eq!(sent.1, Some(500));
    close_and_check(alice).await;
    close_and_check(bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_holds_the_sender_back() {
    const SIZE: u64 = 64 * 1024 * 1024;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (source, _) = make_file(dir.path(), SIZE);
    let listener = MsrpListener::bind(&Handle::current(), loopback(), None).expect("listen");
    let (mut alice, mut bob) = pair_on(&listener, Scheme::Msrp, None, file_config());
    let file = std::fs::File::open(&source).expect("open the source");
    let id = alice.connection.send_file("application/octet-stream", file, 0..SIZE, SIZE, Vec::new()).expect("send");
    // Bob takes no event: Alice's progress stops far from the end (the
    // socket buffers and a few queued events hold a few megabytes).
    let mut delivered = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(1), alice.events.recv()).await {
            Ok(Some(MsrpEvent::ChunkDelivered { delivered: d, .. })) => delivered = d,
            Ok(other) => panic!("unexpected event {other:?}"),
            Err(_) => break,
        }
    }
    println!("while the receiver takes no event, {} KiB of {} MiB are delivered", delivered >> 10, SIZE >> 20);
    assert!(delivered < SIZE / 2, "the sender went on: {delivered} bytes delivered");
    // Bob reads: everything arrives.
    let copy = dir.path().join("copy.bin");
    let (sent, received) =
        tokio::join!(watch_sending(&mut alice, &id, delivered, SIZE), receive_file(&mut bob, &copy, None));
    assert_eq!(sent.1, None);
    assert!(received.complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_file_stops_and_the_connection_goes_on() {
    const SIZE: u64 = 64 * 1024 * 1024;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (source, _) = make_file(dir.path(), SIZE);
    let listener = MsrpListener::bind(&Handle::current(), loopback(), None).expect("listen");
    let (mut alice, mut bob) = pair_on(&listener, Scheme::Msrp, None, file_config());
    let file = std::fs::File::open(&source).expect("open the source");
    let id = alice.connection.send_file("application/octet-stream", file, 0..SIZE, SIZE, Vec::new()).expect("send");
    // Bob reads; Alice aborts after the first progress.
    let bob_task = tokio::spawn(async move {
        let mut bytes = 0u64;
        loop {
            match next_event(&mut bob.events).await {
                MsrpEvent::ChunkData { data, .. } => bytes += data.len() as u64,
                MsrpEvent::ChunkReceived { .. } => {}
                MsrpEvent::MessageAborted { .. } => break,
                other => panic!("unexpected event {other:?}"),
            }
        }
        loop {
            match next_event(&mut bob.events).await {
                MsrpEvent::MessageReceived { body, .. } => {
                    assert_eq!(body, b"after the abort");
                    break;
                }
                MsrpEvent::ChunkReceived { .. } => {}
                other => panic!("unexpected event {other:?}"),
            }
        }
        (bob, bytes)
    });
    match next_event(&mut alice.events).await {
        MsrpEvent::ChunkDelivered { message_id, .. } => assert_eq!(message_id, id),
        other => panic!("unexpected event {other:?}"),
    }
    alice.connection.abort(&id);
    let chat = alice.connection.send_message("text/plain", b"after the abort".to_vec(), true).expect("send");
    loop {
        match next_event(&mut alice.events).await {
            MsrpEvent::ChunkDelivered { message_id, .. } => assert_eq!(message_id, id),
            MsrpEvent::MessageDelivered { message_id } => {
                assert_eq!(message_id, chat, "only the chat message is delivered");
                break;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    let (bob, bytes) = bob_task.await.expect("bob");
    assert!(bytes < SIZE, "the file stopped: {bytes} bytes");
    close_and_check(alice).await;
    close_and_check(bob).await;
}

// ---- Requests, early connections

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nickname_request_gets_the_peers_501() {
    let (alice, bob, _listener) = pair(Scheme::Msrp, None, None);
    let mut alice = alice;
    let mut request = Head::request(Method::Nickname, Vec::new(), Vec::new());
    request.headers.use_nickname = Some("Alice".into());
    let tid = alice.connection.send_request(request, None).expect("send");
    match next_event(&mut alice.events).await {
        MsrpEvent::ResponseReceived { transaction_id, code, head, .. } => {
            assert_eq!(transaction_id, tid);
            assert_eq!(code, 501, "the peer's session implements no NICKNAME");
            assert_eq!(head.transaction_id, tid);
        }
        other => panic!("unexpected event {other:?}"),
    }
    close_and_check(alice).await;
    close_and_check(bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expected_session_gets_a_connection_that_came_before_it() {
    let runtime = Handle::current();
    let listener = MsrpListener::bind(&runtime, loopback(), None).expect("listen");
    let bob_uri = uri(Scheme::Msrp, listener.local_addr().port(), "earlybob1");
    let alice_uri = uri(Scheme::Msrp, 2855, "earlyalice1");
    listener.expect(bob_uri.clone());
    let (alice, mut alice_events) = MsrpConnection::connect(
        &runtime,
        vec![alice_uri.clone()],
        vec![bob_uri.clone()],
        ConnectionRole::Active,
        MsrpConnectOptions::default(),
    )
    .expect("alice connects");
    let id = alice.send_message("text/plain", b"early".to_vec(), true).expect("send");
    // Longer than an unannounced session is waited for.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_bob, mut bob_events) = MsrpConnection::connect(
        &runtime,
        vec![bob_uri],
        vec![alice_uri],
        ConnectionRole::Passive,
        MsrpConnectOptions { listener: Some(listener.clone()), ..MsrpConnectOptions::default() },
    )
    .expect("bob waits");
    loop {
        match next_event(&mut bob_events).await {
            MsrpEvent::MessageReceived { body, .. } => {
                assert_eq!(body, b"early");
                break;
            }
            MsrpEvent::ChunkReceived { .. } => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(next_event(&mut alice_events).await, MsrpEvent::MessageDelivered { message_id: id });

    // A URI announced and then forgotten is not held for.
    let forgotten = uri(Scheme::Msrp, listener.local_addr().port(), "forgotten1");
    listener.expect(forgotten.clone());
    listener.forget(&forgotten);
    let (late, mut late_events) = MsrpConnection::connect(
        &runtime,
        vec![uri(Scheme::Msrp, 2855, "latealice1")],
        vec![forgotten],
        ConnectionRole::Active,
        MsrpConnectOptions::default(),
    )
    .expect("connects");
    let id = late.send_message("text/plain", b"nobody".to_vec(), true).expect("send");
    match next_event(&mut late_events).await {
        MsrpEvent::MessageNotDelivered { message_id, code, .. } => {
            assert_eq!(message_id, id);
            assert!(code == 481 || code == 408, "code {code}");
        }
        other => panic!("unexpected event {other:?}"),
    }
}

// ---- Traces

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_trace_msrp_on_every_frame_is_posted_with_binary_bodies_elided() {
    use sipsimple_core::notification::{NotificationCenter, NotificationRecorder};
    use sipsimple_core::settings::SIPSimpleSettings;
    use sipsimple_core::value::Value;
    let recorder = NotificationRecorder::new();
    NotificationCenter::default_center().add_observer(recorder.clone(), Some("MSRPTransportTrace"), None);
    let settings = SIPSimpleSettings::instance();
    // The setting is read when a connection starts.
    settings.settings().set("logs.trace_msrp", Value::Bool(true)).expect("trace on");
    let (mut alice, mut bob, _listener) = pair(Scheme::Msrp, None, None);
    settings.settings().set("logs.trace_msrp", Value::Bool(false)).expect("trace off");

    let text = alice.connection.send_message("text/plain", b"hello trace".to_vec(), true).expect("send");
    let binary = alice.connection.send_message("application/octet-stream", vec![0xff; 10], true).expect("send");
    for id in [&text, &binary] {
        assert_eq!(next_event(&mut alice.events).await, MsrpEvent::MessageDelivered { message_id: id.clone() });
    }
    let trace = |direction: &'static str, needle: String| {
        recorder.wait_until(WAIT, |seen| {
            seen.iter().find_map(|n| {
                let data = n.data.get("data").and_then(Value::as_str)?;
                (n.data.get("direction").and_then(Value::as_str) == Some(direction) && data.contains(&needle))
                    .then(|| data.to_owned())
            })
        })
    };
    let sent = trace("outgoing", format!("Message-ID: {text}\r\n"))
        .unwrap_or_else(|| panic!("the text message {text} is traced as sent: {:#?}", recorder.all()));
    assert!(sent.starts_with("MSRP ") && sent.contains("\r\n\r\nhello trace\r\n-------"), "{sent}");
    let got = trace("incoming", format!("Message-ID: {text}\r\n")).expect("the text message is traced as read");
    assert!(got.contains("Content-Type: text/plain\r\n\r\nhello trace\r\n-------"), "{got}");
    let sent = trace("outgoing", format!("Message-ID: {binary}\r\n")).expect("the binary message is traced");
    assert!(sent.contains("\r\n\r\n[10 bytes]\r\n-------"), "{sent}");
    let got = trace("incoming", format!("Message-ID: {binary}\r\n")).expect("the binary message is traced as read");
    assert!(got.contains("\r\n\r\n[10 bytes]\r\n-------"), "{got}");
    // The responses and success REPORTs too.
    assert!(trace("incoming", " 200 OK\r\n".to_owned()).is_some());
    assert!(trace("outgoing", "REPORT\r\n".to_owned()).is_some());

    // Off: a new connection posts nothing.
    let (quiet, _quiet_bob, _listener) = pair(Scheme::Msrp, None, None);
    let mut quiet = quiet;
    let id = quiet.connection.send_message("text/plain", b"not traced".to_vec(), true).expect("send");
    assert_eq!(next_event(&mut quiet.events).await, MsrpEvent::MessageDelivered { message_id: id.clone() });
    assert!(NotificationCenter::default_center().flush(WAIT));
    assert!(
        !recorder.all().iter().any(|n| n.data.get("data").and_then(Value::as_str).is_some_and(|d| d.contains(&id))),
        "a connection started with the setting off is not traced"
    );
    NotificationCenter::default_center().remove_observer(&*recorder, Some("MSRPTransportTrace"), None).ok();
    close_and_check(alice).await;
    // Bob got both messages, then the close.
    let mut received = Vec::new();
    loop {
        match next_event(&mut bob.events).await {
            MsrpEvent::MessageReceived { body, .. } => received.push(body),
            MsrpEvent::ChunkReceived { .. } => {}
            MsrpEvent::Closed { .. } => break,
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(received, [b"hello trace".to_vec(), vec![0xff; 10]]);
}
