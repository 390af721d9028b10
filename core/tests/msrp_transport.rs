//! MSRP sessions over real loopback TCP and TLS connections: the tokio
//! driver, the listener's session matching and connection loss.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use sipsimple_core::msrp::message::{MsrpUri, Scheme};
use sipsimple_core::msrp::sdp::ConnectionRole;
use sipsimple_core::msrp::session::MsrpEvent;
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
    let bob_uri = uri(scheme, listener.local_addr().port(), "bobsession42");
    let alice_uri = uri(scheme, 2855, "alicesession7");
    let (bob, bob_events) = MsrpConnection::connect(
        &runtime,
        vec![bob_uri.clone()],
        vec![alice_uri.clone()],
        ConnectionRole::Passive,
        MsrpConnectOptions { listener: Some(listener.clone()), ..MsrpConnectOptions::default() },
    )
    .expect("bob waits");
    let (alice, alice_events) = MsrpConnection::connect(
        &runtime,
        vec![alice_uri],
        vec![bob_uri],
        ConnectionRole::Active,
        MsrpConnectOptions { tls: client_tls, ..MsrpConnectOptions::default() },
    )
    .expect("alice connects");
    (Endpoint { connection: alice, events: alice_events }, Endpoint { connection: bob, events: bob_events }, listener)
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
