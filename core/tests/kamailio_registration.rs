//! Account registration against a real registrar: Kamailio (run by the
//! harness in tests/support/kamailio.rs, digest authentication on) on
//! 127.0.0.1.
//!
//! - An account registers over UDP, TCP and TLS (the server certificate
//!   verified against the harness's CA), refreshes before its 10 s expire,
//!   and unregisters when it is disabled; Kamailio's location table shows
//!   the binding come and go.
//! - Stopping the application unregisters every account before
//!   `SIPApplicationDidEnd`.
//! - The registrar goes away and comes back (a restart loses every
//!   binding): the refresh fails, is retried with back-off, and the account
//!   registers again.
//! - A wrong password fails with `SIPAccountRegistrationDidFail`
//!   ("Authentication failed", retry in 60–120 s) after exactly two
//!   REGISTER requests, and none follows; saving the right password
//!   registers at once.
//! - Two registered accounts exchange a MESSAGE through the proxy, which
//!   finds each by its registration.
//!
//! The SIPApplication is a singleton: the tests run one at a time.

#[path = "support/app.rs"]
mod app;

#[path = "support/kamailio.rs"]
mod kamailio;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kamailio::Kamailio;
use sipsimple_core::notification::{Notification, NotificationCenter, NotificationRecorder};
use sipsimple_core::paging::PagingMessage;
use sipsimple_core::{Account, SIPApplication, Value};

const T: Duration = Duration::from_secs(20);

static APPLICATION: Mutex<()> = Mutex::new(());

fn application_lock() -> MutexGuard<'static, ()> {
    APPLICATION.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The application started with UDP, TCP and TLS, trusting Kamailio's CA,
/// with SIP tracing on; and a recorder of every notification. The engine
/// reads the settings when the application starts, and `start` loads them
/// from storage: so they are saved in a first run and used by a second.
fn start_application(kamailio: &Kamailio) -> Arc<NotificationRecorder> {
    let recorder = NotificationRecorder::new();
    NotificationCenter::default_center().add_observer(recorder.clone(), None, None);
    app::start_with_settings(
        &recorder,
        &[
            ("sip.transport_list", Value::from("udp, tcp, tls")),
            ("tls.ca_list", Value::from(kamailio.ca_file().display().to_string())),
            ("tls.verify_server", Value::Bool(true)),
            ("logs.trace_sip", Value::Bool(true)),
        ],
    );
    assert!(recorder.wait_for("SIPApplicationFailedToStartTLS", Duration::ZERO).is_none(), "TLS did not start");
    recorder
}

fn stop_application(recorder: &NotificationRecorder) {
    SIPApplication::instance().stop().unwrap();
    recorder.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
}

/// An enabled account of Kamailio's user `user`, registering through `transport`.
fn account(kamailio: &Kamailio, user: &str, password: &str, transport: &str, interval: i64) -> Arc<Account> {
    let account = Account::get_or_create(&format!("{user}@127.0.0.1")).unwrap();
    let s = account.settings();
    s.set("auth.password", Value::from(password)).unwrap();
    s.set("sip.outbound_proxy", Value::from(kamailio.proxy(transport))).unwrap();
    s.set("sip.register_interval", Value::Int(interval)).unwrap();
    s.set("enabled", Value::Bool(true)).unwrap();
    account
}

/// Waits for the `n`-th (1-based) notification `name` sent by `account`.
fn nth_from(
    recorder: &NotificationRecorder,
    name: &str,
    account: &Account,
    n: usize,
    timeout: Duration,
) -> Notification {
    let sender = Value::Object(account.handle());
    recorder
        .wait_until(timeout, |seen| seen.iter().filter(|x| x.name == name && x.sender == sender).nth(n - 1).cloned())
        .unwrap_or_else(|| {
            panic!("no {name} #{n} from {} within {timeout:?}; got {:?}", account.id(), recorder.names())
        })
}

fn text(n: &Notification, field: &str) -> String {
    n.data.get(field).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn int(n: &Notification, field: &str) -> i64 {
    n.data.get(field).and_then(Value::as_int).unwrap_or(-1)
}

fn registrar_transport(n: &Notification) -> String {
    match n.data.get("registrar") {
        Some(Value::Map(m)) => m.get("transport").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        _ => String::new(),
    }
}

/// REGISTER requests the engine sent for `user`, as SIP traces.
fn registers_sent(seen: &[Notification], user: &str) -> Vec<String> {
    seen.iter()
        .filter(|n| n.name == "SIPEngineSIPTrace" && n.data.get("received") == Some(&Value::Bool(false)))
        .map(|n| text(n, "data"))
        .filter(|d| d.starts_with("REGISTER ") && d.contains(&format!("<sip:{user}@127.0.0.1>")))
        .collect()
}

/// The contact user part as it appears in Kamailio's location table.
fn contact_user(account: &Account) -> String {
    format!("sip:{}@", account.contact().username)
}

#[test]
fn registers_over_udp_tcp_and_tls_refreshes_and_unregisters() {
    let _app = application_lock();
    let kamailio = Kamailio::start();
    let recorder = start_application(&kamailio);
    let alice = account(&kamailio, "alice", "alicepw", "udp", 10);

    for (round, transport) in ["udp", "tcp", "tls"].into_iter().enumerate() {
        alice.settings().set("sip.outbound_proxy", Value::from(kamailio.proxy(transport))).unwrap();
        alice.settings().set("enabled", Value::Bool(true)).unwrap();
        alice.save().unwrap();
        let n = round + 1;
        nth_from(&recorder, "SIPAccountDidActivate", &alice, n, T);
        let ok = nth_from(&recorder, "SIPAccountRegistrationDidSucceed", &alice, 2 * round + 1, T);
        assert_eq!(registrar_transport(&ok), transport, "{ok:?}");
        assert_eq!(int(&ok, "expires"), 10, "{ok:?}");
        assert!(text(&ok, "contact_header").contains(&contact_user(&alice)), "{ok:?}");
        assert!(alice.registered());
        let contact = alice.contact().uri(transport).unwrap();
        let registered = text(&ok, "contact_header");
        let port = contact.rsplit(':').next().unwrap().split(';').next().unwrap();
        assert!(port != "0" && registered.contains(&format!(":{port}")), "{contact} in {ok:?}");
        let dump = kamailio.ul_dump();
        assert!(dump.contains(&contact_user(&alice)), "{transport}: location table lacks {contact}:\n{dump}");

        // Refreshed half-way through the 10 s.
        nth_from(&recorder, "SIPAccountRegistrationWillRefresh", &alice, n, T);
        let again = nth_from(&recorder, "SIPAccountRegistrationDidSucceed", &alice, 2 * round + 2, T);
        assert_eq!(registrar_transport(&again), transport);

        alice.settings().set("enabled", Value::Bool(false)).unwrap();
        alice.save().unwrap();
        nth_from(&recorder, "SIPAccountDidDeactivate", &alice, n, T);
        nth_from(&recorder, "SIPAccountRegistrationDidEnd", &alice, n, T);
        assert!(!alice.registered());
        let dump = kamailio.ul_dump();
        assert!(!dump.contains(&contact_user(&alice)), "{transport}: still in the location table:\n{dump}");
    }
    let sent = registers_sent(&recorder.all(), "alice");
    assert!(sent.iter().all(|r| !r.contains("alicepw")), "the password never goes on the wire");
    assert!(sent.iter().any(|r| r.contains("Authorization: Digest")));
    stop_application(&recorder);
}

#[test]
fn stopping_the_application_unregisters_every_account() {
    let _app = application_lock();
    let kamailio = Kamailio::start();
    let recorder = start_application(&kamailio);
    let alice = account(&kamailio, "alice", "alicepw", "tcp", 600);
    let bob = account(&kamailio, "bob", "bobpw", "udp", 600);
    alice.save().unwrap();
    bob.save().unwrap();
    nth_from(&recorder, "SIPAccountRegistrationDidSucceed", &alice, 1, T);
    nth_from(&recorder, "SIPAccountRegistrationDidSucceed", &bob, 1, T);
    let dump = kamailio.ul_dump();
    assert!(dump.contains(&contact_user(&alice)) && dump.contains(&contact_user(&bob)), "{dump}");

    stop_application(&recorder);
    let names = recorder.names();
    let end = names.iter().position(|n| n == "SIPApplicationDidEnd").unwrap();
    let ended: Vec<usize> =
        names.iter().enumerate().filter(|(_, n)| *n == "SIPAccountRegistrationDidEnd").map(|(i, _)| i).collect();
    assert_eq!(ended.len(), 2, "{names:?}");
    assert!(ended.iter().all(|i| *i < end), "{names:?}");
    let dump = kamailio.ul_dump();
    assert!(!dump.contains(&contact_user(&alice)) && !dump.contains(&contact_user(&bob)), "{dump}");
}

#[test]
fn registers_again_after_the_registrar_restarts() {
    let _app = application_lock();
    let mut kamailio = Kamailio::start();
    let recorder = start_application(&kamailio);
    let carol = account(&kamailio, "carol", "carolpw", "tcp", 10);
    carol.save().unwrap();
    nth_from(&recorder, "SIPAccountRegistrationDidSucceed", &carol, 1, T);

    kamailio.stop();
    // The refresh (5 s in) finds nobody: it fails and is retried with back-off.
    let failed = nth_from(&recorder, "SIPAccountRegistrationDidFail", &carol, 1, T);
    let retry = failed.data.get("retry_after").and_then(Value::as_float).unwrap();
    assert!((1.0..=2.0).contains(&retry), "{failed:?}");
    assert!(!carol.registered());

    kamailio.restart();
    let back = nth_from(&recorder, "SIPAccountRegistrationDidSucceed", &carol, 2, Duration::from_secs(40));
    assert_eq!(registrar_transport(&back), "tcp");
    assert!(carol.registered());
    let dump = kamailio.ul_dump();
    assert!(dump.contains(&contact_user(&carol)), "{dump}");
    stop_application(&recorder);
}

#[test]
fn a_wrong_password_fails_once_without_a_retry_storm() {
    let _app = application_lock();
    let kamailio = Kamailio::start();
    let recorder = start_application(&kamailio);
    let bob = account(&kamailio, "bob", "wrong-password", "udp", 600);
    bob.save().unwrap();
    let failed = nth_from(&recorder, "SIPAccountRegistrationDidFail", &bob, 1, T);
    assert_eq!(text(&failed, "error"), "Authentication failed");
    let retry = failed.data.get("retry_after").and_then(Value::as_float).unwrap();
    assert!((60.0..=120.0).contains(&retry), "{failed:?}");
    let answer = nth_from(&recorder, "SIPAccountRegistrationGotAnswer", &bob, 1, T);
    assert_eq!(int(&answer, "code"), 401);
    assert!(!bob.registered());

    // Nothing more goes out: a third REGISTER must not come.
    let third =
        recorder.wait_until(Duration::from_secs(3), |seen| (registers_sent(seen, "bob").len() > 2).then_some(()));
    assert!(third.is_none(), "a REGISTER after the failure");
    let sent = registers_sent(&recorder.all(), "bob");
    assert_eq!(sent.len(), 2, "one REGISTER and one answer to the challenge: {sent:#?}");
    assert!(sent.iter().all(|r| !r.contains("wrong-password")));

    // The right password takes effect on save, without waiting for the retry.
    bob.settings().set("auth.password", Value::from("bobpw")).unwrap();
    bob.save().unwrap();
    let ok = nth_from(&recorder, "SIPAccountRegistrationDidSucceed", &bob, 1, Duration::from_secs(10));
    assert_eq!(int(&ok, "expires"), 600);
    assert!(bob.registered());
    let names: Vec<String> = recorder
        .all()
        .into_iter()
        .filter(|n| n.sender == Value::Object(bob.handle()) && n.name.starts_with("SIPAccount"))
        .map(|n| n.name)
        .collect();
    assert_eq!(
        names,
        [
            "SIPAccountWillActivate",
            "SIPAccountDidActivate",
            "SIPAccountWillRegister",
            "SIPAccountRegistrationGotAnswer",
            "SIPAccountRegistrationDidFail",
            "SIPAccountWillRegister",
            "SIPAccountRegistrationGotAnswer",
            "SIPAccountRegistrationDidSucceed",
        ]
    );
    stop_application(&recorder);
}

#[test]
fn two_registered_accounts_exchange_a_message_through_the_proxy() {
    let _app = application_lock();
    let kamailio = Kamailio::start();
    let recorder = start_application(&kamailio);
    let alice = account(&kamailio, "alice", "alicepw", "udp", 600);
    let bob = account(&kamailio, "bob", "bobpw", "tcp", 600);
    alice.save().unwrap();
    bob.save().unwrap();
    nth_from(&recorder, "SIPAccountRegistrationDidSucceed", &alice, 1, T);
    nth_from(&recorder, "SIPAccountRegistrationDidSucceed", &bob, 1, T);

    for (from, to, body) in [(&alice, &bob, "hello bob"), (&bob, &alice, "hello alice")] {
        let message =
            PagingMessage::send(from, &format!("sip:{}", to.id()), "text/plain", body.as_bytes().to_vec()).unwrap();
        let sender = Value::Object(message.handle());
        let outcome = recorder
            .wait_until(T, |seen| {
                seen.iter()
                    .find(|n| n.sender == sender && (n.name == "SIPMessageDidSucceed" || n.name == "SIPMessageDidFail"))
                    .cloned()
            })
            .unwrap_or_else(|| panic!("no outcome for the MESSAGE to {}", to.id()));
        assert_eq!(outcome.name, "SIPMessageDidSucceed", "{outcome:?}\n{}", kamailio.log());
        let got = recorder
            .wait_until(T, |seen| {
                seen.iter().find(|n| n.name == "SIPEngineGotMessage" && text(n, "body") == body).cloned()
            })
            .expect("the MESSAGE arrived");
        assert!(text(&got, "request_uri").starts_with(&contact_user(to)), "{got:?}");
        assert!(text(&got, "from_header").contains(&from.id().to_string()), "{got:?}");
    }
    stop_application(&recorder);
}
