//! The core against a real SIP proxy: Kamailio (tests/peers/kamailio.cfg,
//! run by the harness in tests/support/kamailio.rs) on 127.0.0.1 over UDP,
//! TCP and TLS.
//!
//! - The harness itself: Kamailio answers, restarts on the same ports and
//!   stops.
//! - A paging MESSAGE from alice@127.0.0.1 through Kamailio as outbound
//!   proxy, over UDP, TCP and TLS (the server certificate verified against
//!   the harness's CA): Kamailio challenges it with 407, the account answers
//!   with its credentials, and the authenticated request reaches the
//!   location service, which has no `nobody` registered: 404. The SIP trace
//!   shows the challenge and the `Proxy-Authorization` retry on the chosen
//!   transport. With a wrong password Kamailio challenges the retry again
//!   and the message fails with that 407.
//!
//! Tests that use the SIPApplication singleton run one at a time.

#[path = "support/kamailio.rs"]
mod kamailio;

use std::net::{Ipv4Addr, UdpSocket};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kamailio::Kamailio;
use sipsimple_core::notification::{Notification, NotificationCenter, NotificationRecorder};
use sipsimple_core::paging::PagingMessage;
use sipsimple_core::{Account, MemoryStorage, SIPApplication, SIPSimpleSettings, Value};

const T: Duration = Duration::from_secs(15);

static APPLICATION: Mutex<()> = Mutex::new(());

/// Serializes the tests that use the SIPApplication singleton.
fn application_lock() -> MutexGuard<'static, ()> {
    APPLICATION.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The first line of the answer to an OPTIONS sent to Kamailio over UDP.
fn options_status(port: u16) -> Option<String> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
    let local = socket.local_addr().ok()?.port();
    socket.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let request = format!(
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-test-{local};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:test@127.0.0.1>;tag=t{local}\r\n\
         To: <sip:127.0.0.1:{port}>\r\n\
         Call-ID: test-{local}@127.0.0.1\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    // Connected: a closed port fails at once (ICMP port unreachable).
    socket.connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    socket.send(request.as_bytes()).ok()?;
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).ok()?;
    String::from_utf8_lossy(&buf[..n]).lines().next().map(str::to_owned)
}

#[test]
fn the_harness_starts_restarts_on_the_same_ports_and_stops() {
    let mut kamailio = Kamailio::start();
    let (port, tls_port) = (kamailio.udp_tcp_port(), kamailio.tls_port());
    assert_ne!(port, tls_port);
    eprintln!("Kamailio answered {:?} after start", kamailio.startup_time());
    assert_eq!(options_status(port).as_deref(), Some("SIP/2.0 200 Keepalive"), "{}", kamailio.log());
    assert_eq!(kamailio.proxy("udp"), format!("127.0.0.1:{port};transport=udp"));
    assert_eq!(kamailio.proxy("tcp"), format!("127.0.0.1:{port};transport=tcp"));
    assert_eq!(kamailio.proxy("TLS"), format!("127.0.0.1:{tls_port};transport=tls"));
    let ca = std::fs::read_to_string(kamailio.ca_file()).expect("the CA file");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));

    kamailio.restart();
    eprintln!("Kamailio answered {:?} after restart", kamailio.startup_time());
    assert_eq!((kamailio.udp_tcp_port(), kamailio.tls_port()), (port, tls_port));
    assert_eq!(options_status(port).as_deref(), Some("SIP/2.0 200 Keepalive"), "{}", kamailio.log());
    let log = kamailio.log();
    assert_eq!(log.matches("--- starting kamailio").count(), 2, "{log}");

    kamailio.stop();
    assert_eq!(options_status(port), None, "Kamailio still answers after stop");
}

/// The application, started with UDP, TCP and TLS, trusting `ca_file`,
/// tracing SIP. Settings set before `start` are not kept (start reloads
/// them from the storage), so they are saved in a first run.
fn start_application(recorder: &Arc<NotificationRecorder>, ca_file: &std::path::Path) -> Arc<SIPApplication> {
    let app = SIPApplication::instance();
    let storage = Arc::new(MemoryStorage::new());
    app.start(storage.clone()).expect("the application starts");
    recorder.wait_for("SIPApplicationDidStart", T).expect("SIPApplicationDidStart");
    let global = SIPSimpleSettings::instance();
    let settings = global.settings();
    settings.set("sip.transport_list", Value::from("udp, tcp, tls")).unwrap();
    settings.set("tls.ca_list", Value::from(ca_file.display().to_string())).unwrap();
    settings.set("tls.verify_server", Value::Bool(true)).unwrap();
    settings.set("logs.trace_sip", Value::Bool(true)).unwrap();
    settings.save().expect("the settings are saved");
    recorder.clear();
    app.stop().unwrap();
    recorder.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
    recorder.clear();
    app.start(storage).expect("the application starts again");
    recorder.wait_for("SIPApplicationDidStart", T).expect("SIPApplicationDidStart");
    assert!(
        recorder.wait_for("SIPApplicationFailedToStartTLS", Duration::ZERO).is_none(),
        "TLS did not start: {:?}",
        recorder.all()
    );
    app
}

/// The SIP traces recorded so far as (received, transport, text).
fn traces(recorder: &NotificationRecorder) -> Vec<(bool, String, String)> {
    let text = |n: &Notification, key: &str| n.data.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    recorder
        .all()
        .iter()
        .filter(|n| n.name == "SIPEngineSIPTrace")
        .map(|n| (n.data.get("received") == Some(&Value::Bool(true)), text(n, "transport"), text(n, "data")))
        .collect()
}

fn trace_dump(traces: &[(bool, String, String)]) -> String {
    traces
        .iter()
        .map(|(received, transport, text)| format!("{} {transport}\n{text}", if *received { "<<<" } else { ">>>" }))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sends a MESSAGE from `account` and returns (code, reason) of the
/// `SIPMessageDidFail` it ends with.
fn send_and_fail(
    recorder: &NotificationRecorder,
    account: &Arc<Account>,
    to: &str,
    kamailio: &Kamailio,
) -> (i64, String) {
    recorder.clear();
    let message = PagingMessage::send(account, to, "text/plain", b"hello Kamailio".to_vec()).expect("send");
    let Some(done) = recorder.wait_for("SIPMessageDidFail", T) else {
        panic!(
            "no SIPMessageDidFail; got {:?}\n--- SIP ---\n{}\n--- kamailio ---\n{}",
            recorder.names(),
            trace_dump(&traces(recorder)),
            kamailio.log()
        );
    };
    assert_eq!(done.sender, Value::Object(message.handle()));
    let code = done.data.get("code").and_then(Value::as_int).unwrap_or_default();
    let reason = done.data.get("reason").and_then(Value::as_str).unwrap_or_default().to_owned();
    (code, reason)
}

#[test]
fn a_paging_message_is_authenticated_by_kamailio_over_udp_tcp_and_tls() {
    let _serial = application_lock();
    let kamailio = Kamailio::start();
    let recorder = NotificationRecorder::new();
    let center = NotificationCenter::default_center();
    center.add_observer(recorder.clone(), None, None);
    let app = start_application(&recorder, &kamailio.ca_file());

    let alice = Account::get_or_create("alice@127.0.0.1").unwrap();
    for transport in ["udp", "tcp", "tls"] {
        alice.settings().set("auth.password", Value::from("alicepw")).unwrap();
        alice.settings().set("sip.outbound_proxy", Value::from(kamailio.proxy(transport))).unwrap();
        alice.save().unwrap();

        let (code, reason) = send_and_fail(&recorder, &alice, "sip:nobody@127.0.0.1", &kamailio);
        let sip = traces(&recorder);
        let context = format!("over {transport}: {code} {reason}\n--- SIP ---\n{}", trace_dump(&sip));
        assert_eq!(code, 404, "{context}\n--- kamailio ---\n{}", kamailio.log());
        // Kamailio challenged the first request; the retry carried the
        // credentials; both went over the chosen transport.
        let on_transport = |received: bool, start: &str| {
            sip.iter().any(|(r, t, text)| *r == received && t == transport && text.starts_with(start))
        };
        assert!(on_transport(true, "SIP/2.0 407"), "no 407 {context}");
        assert!(
            sip.iter().any(|(r, t, text)| !*r
                && t == transport
                && text.starts_with("MESSAGE sip:nobody@127.0.0.1")
                && text.contains("Proxy-Authorization: Digest")
                && text.contains("username=\"alice\"")),
            "no authenticated retry {context}"
        );
        assert!(on_transport(true, "SIP/2.0 404"), "{context}");
        assert!(!sip.iter().any(|(_, text_transport, _)| text_transport != transport), "{context}");

        alice.settings().set("auth.password", Value::from("not-alicepw")).unwrap();
        alice.save().unwrap();
        let (code, reason) = send_and_fail(&recorder, &alice, "sip:nobody@127.0.0.1", &kamailio);
        let context = format!("{code} {reason}\n--- SIP ---\n{}", trace_dump(&traces(&recorder)));
        // A wrong password is challenged again; the account answers a
        // challenge only once.
        assert_eq!(code, 407, "wrong password over {transport}: {context}\n--- kamailio ---\n{}", kamailio.log());
    }
    let log = kamailio.log();
    assert!(log.contains("challenging MESSAGE from sip:alice@127.0.0.1"), "{log}");

    recorder.clear();
    app.stop().unwrap();
    recorder.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
    center.discard_observer(recorder.as_ref(), None, None);
}
