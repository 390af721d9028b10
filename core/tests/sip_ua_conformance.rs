//! A user agent fed each RFC 4475 torture request over UDP and over TCP
//! answers as `fixtures/rfc4475/MANIFEST.tsv` says, whether the parser
//! accepts the message (then the request checks answer) or refuses it (then
//! a stateless response is built from the raw header lines).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use sipsimple_core::sip::engine::{Engine, EngineConfig};
use sipsimple_core::sip::transport::{TransportConfig, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(3);

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rfc4475")
}

/// (file, expected status) for every request whose manifest row names one.
fn expectations() -> Vec<(String, u16)> {
    let manifest = std::fs::read_to_string(fixtures().join("MANIFEST.tsv")).unwrap();
    let mut out = Vec::new();
    for line in manifest.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, parser, behaviour) = (cols[0], cols[2], cols[3]);
        if parser == "either" {
            continue;
        }
        // "400 (...)", "505 Version...", "unknown method: answer 501 with Allow", "416 unless...".
        let code = behaviour
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse::<u16>().ok())
            .find(|c| (400..700).contains(c));
        let bytes = std::fs::read(fixtures().join(file)).unwrap();
        let is_request = !bytes.starts_with(b"SIP/");
        match code {
            // "registrars answer 401": a user agent treats the scheme as absent.
            Some(401) => continue,
            // "400 over a stream, discard over UDP": covered separately.
            Some(_) if file == "clerr.dat" => continue,
            Some(code) if is_request => out.push((file.to_owned(), code)),
            _ => {}
        }
    }
    out
}

fn status_of(bytes: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torture_requests_get_the_manifest_answers_over_udp_and_tcp() {
    let config = EngineConfig {
        transports: TransportConfig {
            kinds: vec![TransportKind::Udp, TransportKind::Tcp],
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ..TransportConfig::default()
        },
        ..EngineConfig::default()
    };
    let cases = expectations();
    assert!(cases.len() >= 15, "the manifest names codes for most torture requests: {cases:?}");
    let mut failures = Vec::new();
    for (file, expected) in &cases {
        let bytes = std::fs::read(fixtures().join(file)).unwrap();
        // A fresh engine per message: several torture requests share a branch,
        // so a live server transaction would absorb the next one as its
        // retransmission (RFC 3261 §17.2.3), and the same holds across transports.
        let (udp_engine, _) = Engine::start(config.clone()).await.unwrap();
        let (tcp_engine, _) = Engine::start(config.clone()).await.unwrap();
        let udp_to = udp_engine.local_address(TransportKind::Udp).unwrap();
        let tcp_to = tcp_engine.local_address(TransportKind::Tcp).unwrap();
        // A header section that never ends is a datagram-only torture: on a
        // stream the receiver rightly waits for the rest.
        let complete_on_stream = bytes.windows(4).any(|w| w == b"\r\n\r\n");

        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.send_to(&bytes, udp_to).await.unwrap();
        let mut buf = vec![0u8; 65536];
        let udp = match tokio::time::timeout(WAIT, socket.recv_from(&mut buf)).await {
            Ok(Ok((n, from))) if from == udp_to => status_of(&buf[..n]),
            _ => None,
        };

        let mut stream = tokio::net::TcpStream::connect(tcp_to).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        let mut received = Vec::new();
        let tcp = loop {
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout(WAIT, stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => {
                    received.extend_from_slice(&chunk[..n]);
                    if received.windows(4).any(|w| w == b"\r\n\r\n") {
                        break status_of(&received);
                    }
                }
                _ => break status_of(&received),
            }
        };
        let tcp_ok = tcp == Some(*expected) || (!complete_on_stream && tcp.is_none());
        if udp != Some(*expected) || !tcp_ok {
            failures.push(format!("{file}: expected {expected}, got udp {udp:?} tcp {tcp:?}"));
        }
        udp_engine.stop();
        tcp_engine.stop();
    }
    assert!(failures.is_empty(), "{} of {} differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
