//! UDP, TCP and TLS transports on loopback: bytes arrive whole and framed,
//! replies reuse the connection, limits close hostile connections, TLS
//! verifies the server certificate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use sipsimple_core::sip::transport::{Incoming, TlsConfig, TransportConfig, TransportKind, Transports};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

const T: Duration = Duration::from_secs(10);

fn message(tag: &str, body: &str) -> Vec<u8> {
    format!(
        "MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK{tag}\r\nFrom: <sip:alice@127.0.0.1>;tag={tag}\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: {tag}\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn start(kinds: &[TransportKind], ip: IpAddr, tls: TlsConfig) -> (Transports, mpsc::Receiver<Incoming>) {
    let (tx, rx) = mpsc::channel(64);
    let config = TransportConfig { kinds: kinds.to_vec(), bind_ip: ip, tls, ..TransportConfig::default() };
    let (transports, tls_error) = Transports::start(config, tx).await.expect("transports start");
    assert!(tls_error.is_none(), "{tls_error:?}");
    (transports, rx)
}

async fn next(rx: &mut mpsc::Receiver<Incoming>) -> Incoming {
    tokio::time::timeout(T, rx.recv()).await.expect("nothing arrived").expect("channel open")
}

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::test]
async fn udp_datagrams_arrive_whole_over_ipv4_and_ipv6() {
    for ip in [LOCALHOST, IpAddr::V6(Ipv6Addr::LOCALHOST)] {
        let (a, _arx) = start(&[TransportKind::Udp], ip, TlsConfig::default()).await;
        let (b, mut brx) = start(&[TransportKind::Udp], ip, TlsConfig::default()).await;
        let to = b.local_address(TransportKind::Udp).unwrap();
        let bytes = message("udp1", "hello");
        a.send(TransportKind::Udp, to, None, bytes.clone()).await.unwrap();
        let got = next(&mut brx).await;
        assert_eq!(got.bytes, bytes);
        assert_eq!(got.transport, TransportKind::Udp);
        assert_eq!(got.source, a.local_address(TransportKind::Udp).unwrap());
        a.close();
        b.close();
    }
}

#[tokio::test]
async fn tcp_frames_messages_and_replies_reuse_the_connection() {
    let (a, mut arx) = start(&[TransportKind::Tcp], LOCALHOST, TlsConfig::default()).await;
    let (b, mut brx) = start(&[TransportKind::Tcp], LOCALHOST, TlsConfig::default()).await;
    let to = b.local_address(TransportKind::Tcp).unwrap();
    let first = message("tcp1", "one");
    let second = message("tcp2", "two, a bit longer");
    let local = a.send(TransportKind::Tcp, to, None, first.clone()).await.unwrap();
    a.send(TransportKind::Tcp, to, None, second.clone()).await.unwrap();
    let got1 = next(&mut brx).await;
    let got2 = next(&mut brx).await;
    assert_eq!((got1.bytes, got2.bytes), (first, second.clone()));
    assert_eq!(got1.source, local, "both messages came over one connection");
    assert_eq!(got2.source, local);
    // The reply goes back over the accepted connection.
    b.send(TransportKind::Tcp, got2.source, None, second.clone()).await.unwrap();
    let reply = next(&mut arx).await;
    assert_eq!(reply.bytes, second);
    assert_eq!(reply.source, to);
    a.close();
    b.close();
}

#[tokio::test]
async fn tcp_keepalive_is_answered_and_oversized_input_closes() {
    let (b, mut brx) = start(&[TransportKind::Tcp], LOCALHOST, TlsConfig::default()).await;
    let to = b.local_address(TransportKind::Tcp).unwrap();
    let mut raw = tokio::net::TcpStream::connect(to).await.unwrap();
    raw.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    tokio::time::timeout(T, raw.read_exact(&mut pong)).await.unwrap().unwrap();
    assert_eq!(&pong, b"\r\n");
    // Split one message across writes: it arrives once, whole.
    let bytes = message("split", "body");
    raw.write_all(&bytes[..10]).await.unwrap();
    raw.flush().await.unwrap();
    raw.write_all(&bytes[10..]).await.unwrap();
    assert_eq!(next(&mut brx).await.bytes, bytes);
    // Headers that never end: the connection is closed.
    let junk = vec![b'a'; 200_000];
    let _ = raw.write_all(&junk).await;
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(T, raw.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the connection was not closed");
    // The junk may be handed on for the engine to refuse; it is never a message.
    while let Ok(m) = brx.try_recv() {
        assert!(sipsimple_core::sip::message::parse(&m.bytes).is_err());
    }
    b.close();
}

fn certificate(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let cert = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, format!("{}{}", cert.cert.pem(), cert.signing_key.serialize_pem())).unwrap();
    path
}

#[tokio::test]
async fn tls_verifies_the_server_and_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let server_pem = certificate(dir.path(), "localhost");
    let other_pem = certificate(dir.path(), "other.test");
    let server_tls = TlsConfig { certificate: Some(server_pem.clone()), ..TlsConfig::default() };
    let (b, mut brx) = start(&[TransportKind::Tls], LOCALHOST, server_tls).await;
    let to = b.local_address(TransportKind::Tls).unwrap();

    let trusting = TlsConfig { ca_list: Some(server_pem), ..TlsConfig::default() };
    let (a, _arx) = start(&[TransportKind::Tls], LOCALHOST, trusting).await;
    let bytes = message("tls1", "secret hello");
    a.send(TransportKind::Tls, to, Some("localhost"), bytes.clone()).await.unwrap();
    assert_eq!(next(&mut brx).await.bytes, bytes);

    // A client that trusts another CA refuses the server.
    let distrusting = TlsConfig { ca_list: Some(other_pem), ..TlsConfig::default() };
    let (c, _crx) = start(&[TransportKind::Tls], LOCALHOST, distrusting).await;
    assert!(c.send(TransportKind::Tls, to, Some("localhost"), bytes.clone()).await.is_err());
    // The right CA but the wrong name is refused too.
    assert!(a.send(TransportKind::Tls, to, Some("wrong.test"), bytes).await.is_err());
    a.close();
    b.close();
    c.close();
}

#[tokio::test]
async fn a_bad_ca_list_is_reported_separately() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let (tx, _rx) = mpsc::channel(4);
    let config = TransportConfig {
        kinds: vec![TransportKind::Udp, TransportKind::Tls],
        bind_ip: LOCALHOST,
        tls: TlsConfig { ca_list: Some(bad), ..TlsConfig::default() },
        ..TransportConfig::default()
    };
    let (transports, tls_error) = Transports::start(config, tx).await.unwrap();
    assert!(tls_error.is_some(), "a broken CA list must be reported");
    assert!(transports.local_address(TransportKind::Udp).is_some(), "UDP still runs");
    let _: SocketAddr = transports.local_address(TransportKind::Udp).unwrap();
    transports.close();
}
