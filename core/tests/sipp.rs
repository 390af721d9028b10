//! The running application against SIPp scenarios (`tests/peers/sipp/`), an
//! independent SIP implementation on loopback:
//!
//! - sipp as a client sends MESSAGE requests to the application's engine:
//!   a text/plain one is answered 200 and reaches the application as
//!   `SIPEngineGotMessage`; one with a body type nobody serves is answered
//!   415 with an Accept header (`uac_message.xml`, `uac_message_415.xml`),
//!   over UDP and TCP;
//! - sipp as a registrar that answers in unusual ways (compact headers, a
//!   shorter expiry in a Contact parameter, other bindings listed,
//!   `uas_register_unusual.xml`) or first refuses with 423 Interval Too
//!   Brief (`uas_register_423.xml`), for the account's registration.
//!
//! sipp comes from Debian's `sip-tester` package, installed by the harness
//! (`support/sipp.rs`) when missing. The application is a process-wide
//! singleton, so the tests that start it run one at a time.

#[path = "support/sipp.rs"]
mod sipp;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sipp::{Options, Sipp, Transport, scenario};
use sipsimple_core::notification::{NotificationCenter, NotificationRecorder};
use sipsimple_core::sip::engine::Engine;
use sipsimple_core::sip::transport::TransportKind;
use sipsimple_core::{Account, MemoryStorage, Notification, SIPApplication, SIPSimpleSettings, Value};

/// How long to wait for a notification or for sipp to finish.
const T: Duration = Duration::from_secs(15);

/// Serializes the tests that start the application (poisoning tolerated: a
/// failed test must not fail the others).
static APP: Mutex<()> = Mutex::new(());

/// The started application, with a recorder of every notification; stopped
/// on drop (when the test has not stopped it).
struct RunningApp {
    recorder: Arc<NotificationRecorder>,
    stopped: bool,
    _lock: MutexGuard<'static, ()>,
}

impl RunningApp {
    /// Starts the application with the transports of `transport_list` on
    /// ports chosen by the system.
    fn start(transport_list: &str) -> RunningApp {
        let lock = APP.lock().unwrap_or_else(|e| e.into_inner());
        let recorder = NotificationRecorder::new();
        NotificationCenter::default_center().add_observer(recorder.clone(), None, None);
        let settings = SIPSimpleSettings::instance();
        let s = settings.settings();
        s.set("sip.transport_list", Value::from(transport_list)).unwrap();
        for port in ["sip.udp_port", "sip.tcp_port", "sip.tls_port"] {
            s.set(port, Value::Int(0)).unwrap();
        }
        SIPApplication::instance().start(Arc::new(MemoryStorage::new())).expect("the application starts");
        recorder.wait_for("SIPApplicationDidStart", T).expect("SIPApplicationDidStart");
        RunningApp { recorder, stopped: false, _lock: lock }
    }

    /// The engine's address for `kind`, as a client on loopback reaches it.
    fn engine_address(&self, kind: TransportKind) -> SocketAddr {
        let engine = Engine::current().expect("the application runs an engine");
        let mut address = engine.local_address(kind).unwrap_or_else(|| panic!("the engine has no {kind} transport"));
        if address.ip().is_unspecified() {
            address.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        address
    }

    /// Stops the application and waits for `SIPApplicationDidEnd`.
    fn stop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            SIPApplication::instance().stop().expect("the application stops");
            self.recorder.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
        }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            let _ = SIPApplication::instance().stop();
            let _ = self.recorder.wait_for("SIPApplicationDidEnd", T);
        }
        let _ = NotificationCenter::default_center().remove_observer(&*self.recorder, None, None);
    }
}

/// Runs `scenario_name` as a client towards `target` for one call and
/// requires it to succeed.
fn run_uac(scenario_name: &str, target: SocketAddr, transport: Transport) {
    let options = Options { service: Some("bob".into()), transport, ..Options::default() };
    let mut uac = Sipp::uac_with(&scenario(scenario_name), target, options);
    uac.wait(T).unwrap_or_else(|e| panic!("{scenario_name} against the engine at {target}: {e}"));
}

fn message_scenarios(transport_list: &str, kind: TransportKind, transport: Transport) {
    let mut app = RunningApp::start(transport_list);
    let target = app.engine_address(kind);

    run_uac("uac_message.xml", target, transport);
    let got = app.recorder.wait_for("SIPEngineGotMessage", T).expect("SIPEngineGotMessage");
    assert_eq!(got.data.get("body"), Some(&Value::from("hello from sipp")));
    assert_eq!(got.data.get("content_type"), Some(&Value::from("text/plain")));
    let from = got.data.get("from_header").and_then(Value::as_str).expect("from_header");
    assert!(from.contains("sip:sipp@127.0.0.1"), "From of the MESSAGE: {from}");
    let uri = got.data.get("request_uri").and_then(Value::as_str).expect("request_uri");
    assert!(uri.starts_with("sip:bob@127.0.0.1"), "Request-URI of the MESSAGE: {uri}");

    app.recorder.clear();
    // The 415 scenario checks the status and the Accept header itself.
    run_uac("uac_message_415.xml", target, transport);
    // The engine posts SIPEngineGotMessage before it answers, so by now it
    // would have been recorded.
    let leaked: Vec<_> = app.recorder.all().into_iter().filter(|n| n.name == "SIPEngineGotMessage").collect();
    assert!(leaked.is_empty(), "a refused MESSAGE reached the application: {leaked:?}");
    app.stop();
}

#[test]
fn sipp_sends_message_over_udp() {
    message_scenarios("udp", TransportKind::Udp, Transport::Udp);
}

#[test]
fn sipp_sends_message_over_tcp() {
    message_scenarios("udp, tcp", TransportKind::Tcp, Transport::Tcp);
}

// ---------------------------------------------------------------------------
// REGISTER against sipp registrars.
//
// Both registrar scenarios handle all their REGISTERs in one sipp call, so
// the client must keep one Call-ID for the register/refresh/unregister
// sequence (RFC 3261 §10.2).

/// An enabled account registering through `registrar` (sipp's address),
/// every `interval` seconds.
fn registering_account(id: &str, registrar: SocketAddr, interval: i64) -> Arc<Account> {
    let account = Account::get_or_create(id).expect("an account");
    let s = account.settings();
    s.set("sip.outbound_proxy", Value::from(format!("{registrar};transport=udp"))).unwrap();
    s.set("sip.register", Value::Bool(true)).unwrap();
    s.set("sip.register_interval", Value::Int(interval)).unwrap();
    s.set("enabled", Value::Bool(true)).unwrap();
    account.save().expect("the account is saved");
    account
}

/// Stops the application: the account unregisters first
/// (`SIPAccountRegistrationDidEnd`), then sipp must have seen everything it
/// expected.
fn stop_and_check_unregistered(app: &mut RunningApp, account: &Arc<Account>, mut registrar: Sipp) {
    let sender = Value::Object(account.handle());
    app.recorder.clear();
    SIPApplication::instance().stop().expect("the application stops");
    let ended = app.recorder.wait_for("SIPAccountRegistrationDidEnd", T).unwrap_or_else(|| {
        panic!("no SIPAccountRegistrationDidEnd; seen: {:?}\n{}", app.recorder.names(), registrar.logs())
    });
    assert_eq!(ended.sender, sender);
    app.recorder.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
    app.stopped = true;
    registrar.wait(T).unwrap_or_else(|e| panic!("the registrar scenario: {e}"));
    assert!(!account.registered());
}

/// Waits for the account's SIPAccountRegistrationDidSucceed, with the
/// registrar's logs in the failure message.
fn registration_success(app: &RunningApp, account: &Arc<Account>, registrar: &Sipp) -> Notification {
    let ok = app.recorder.wait_for("SIPAccountRegistrationDidSucceed", T).unwrap_or_else(|| {
        let fail = app.recorder.all().into_iter().find(|n| n.name == "SIPAccountRegistrationDidFail");
        panic!(
            "no SIPAccountRegistrationDidSucceed (DidFail: {fail:?}); seen: {:?}\n{}",
            app.recorder.names(),
            registrar.logs()
        )
    });
    assert_eq!(ok.sender, Value::Object(account.handle()));
    ok
}

#[test]
fn registration_with_a_registrar_answering_in_compact_form_with_two_contacts() {
    let mut app = RunningApp::start("udp");
    let registrar = Sipp::uas(&scenario("uas_register_unusual.xml"), &[]);
    let account = registering_account("alice-unusual@127.0.0.1", registrar.address(), 600);

    let ok = registration_success(&app, &account, &registrar);
    assert_eq!(ok.data.get("expires"), Some(&Value::Int(37)), "the Contact's expires parameter wins: {ok:?}");
    let Some(Value::List(contacts)) = ok.data.get("contact_header_list") else {
        panic!("no contact_header_list in {ok:?}");
    };
    assert_eq!(contacts.len(), 2, "both bindings of the AoR: {contacts:?}");
    assert!(
        contacts.iter().filter_map(Value::as_str).any(|c| c.contains("sip:other@192.0.2.9:5060")),
        "the other binding is listed: {contacts:?}"
    );
    let own = ok.data.get("contact_header").and_then(Value::as_str).expect("contact_header");
    assert!(!own.contains("192.0.2.9"), "the account's own contact, not the other binding: {own}");
    assert!(account.registered());

    stop_and_check_unregistered(&mut app, &account, registrar);
}

#[test]
fn registration_retries_with_min_expires_after_423() {
    let mut app = RunningApp::start("udp");
    let registrar = Sipp::uas(&scenario("uas_register_423.xml"), &[]);
    let account = registering_account("alice-423@127.0.0.1", registrar.address(), 600);

    let ok = registration_success(&app, &account, &registrar);
    assert_eq!(ok.data.get("expires"), Some(&Value::Int(1800)), "{ok:?}");
    let answers: Vec<_> = app
        .recorder
        .all()
        .into_iter()
        .filter(|n| n.name == "SIPAccountRegistrationGotAnswer")
        .filter_map(|n| n.data.get("code").and_then(Value::as_int))
        .collect();
    assert_eq!(answers, [423, 200], "the answers the account got");
    assert!(account.registered());

    stop_and_check_unregistered(&mut app, &account, registrar);
}
