//! INVITE sessions through a real proxy: two accounts registered with
//! Kamailio (harness in tests/support/kamailio.rs) call each other by
//! address of record. Kamailio authenticates the INVITE (407), finds the
//! callee by its registration and record-routes the dialog, so the ACK and
//! the BYE travel through it too. SDP bodies are carried as they are.

#[path = "support/app.rs"]
mod app;

#[path = "support/kamailio.rs"]
mod kamailio;

use std::time::Duration;

use kamailio::Kamailio;
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::notification::{Notification, NotificationCenter, NotificationRecorder};
use sipsimple_core::session::{Session, SessionState};
use sipsimple_core::{Account, SIPApplication, Value};

const T: Duration = Duration::from_secs(15);
const OFFER: &[u8] =
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const ANSWER: &[u8] =
    b"v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

fn from(recorder: &NotificationRecorder, name: &str, h: sipsimple_core::Handle) -> Notification {
    let sender = Value::Object(h);
    recorder
        .wait_until(T, |seen| seen.iter().find(|x| x.name == name && x.sender == sender).cloned())
        .unwrap_or_else(|| panic!("no {name}; got {:?}", recorder.names()))
}

#[test]
fn two_registered_accounts_call_each_other_by_address_of_record() {
    let kamailio = Kamailio::start();
    let recorder = NotificationRecorder::new();
    NotificationCenter::default_center().add_observer(recorder.clone(), None, None);
    let app = SIPApplication::instance();
    app::start_with_settings(
        &recorder,
        &[("sip.transport_list", Value::from("udp, tcp")), ("logs.trace_sip", Value::Bool(true))],
    );

    let account = |user: &str, transport: &str| {
        let a = Account::get_or_create(&format!("{user}@127.0.0.1")).unwrap();
        a.settings().set("auth.password", Value::from(format!("{user}pw"))).unwrap();
        a.settings().set("sip.outbound_proxy", Value::from(kamailio.proxy(transport))).unwrap();
        a.settings().set("enabled", Value::Bool(true)).unwrap();
        a.save().unwrap();
        a
    };
    let alice = account("alice", "udp");
    let bob = account("bob", "tcp");
    from(&recorder, "SIPAccountRegistrationDidSucceed", alice.handle());
    from(&recorder, "SIPAccountRegistrationDidSucceed", bob.handle());

    let call = Session::new(&alice);
    call.connect("sip:bob@127.0.0.1", OFFER.to_vec(), None).unwrap();
    let incoming = recorder
        .wait_until(T, |seen| seen.iter().find(|n| n.name == "SIPSessionNewIncoming").cloned())
        .unwrap_or_else(|| panic!("bob got no call; {:?}\n{}", recorder.names(), kamailio.log()));
    let incoming = handle::resolve::<Session>(incoming.sender.as_object().unwrap(), ObjectKind::Session).unwrap();
    assert_eq!(incoming.account().id(), bob.id());
    assert_eq!(incoming.remote_sdp(), OFFER);
    incoming.send_ring_indication().unwrap();
    from(&recorder, "SIPSessionGotRingIndication", call.handle());
    incoming.accept(ANSWER.to_vec()).unwrap();
    from(&recorder, "SIPSessionDidStart", call.handle());
    from(&recorder, "SIPSessionDidStart", incoming.handle());
    assert_eq!(call.remote_sdp(), ANSWER);

    // The dialog is record-routed: the BYE goes through Kamailio.
    let route_set = incoming.dialog_route_set();
    assert!(!route_set.is_empty(), "Kamailio record-routes the dialog");
    call.end().unwrap();
    let ended = from(&recorder, "SIPSessionDidEnd", incoming.handle());
    assert_eq!(ended.data.get("originator"), Some(&Value::from("remote")));
    from(&recorder, "SIPSessionDidEnd", call.handle());
    assert_eq!((call.state(), incoming.state()), (SessionState::Terminated, SessionState::Terminated));
    let byes: Vec<String> = recorder
        .all()
        .into_iter()
        .filter(|n| n.name == "SIPEngineSIPTrace" && n.data.get("received") == Some(&Value::Bool(false)))
        .filter_map(|n| n.data.get("data").and_then(|d| d.as_str().map(str::to_owned)))
        .filter(|d| d.starts_with("BYE "))
        .collect();
    assert_eq!(byes.len(), 1, "{byes:#?}");
    assert!(byes[0].contains("\r\nRoute: "), "the BYE carries the route set: {}", byes[0]);

    app.stop().unwrap();
    recorder.wait_for("SIPApplicationDidEnd", T).expect("DidEnd");
}
