//! INVITE sessions through the running application: alice calls bob, both
//! accounts of the same application on loopback, so every request and
//! response crosses the real transports and transaction layer. SDP bodies
//! are carried as they are (the streams come on top).
//!
//! - ring, accept, ACK, BYE from the caller: the notifications on both sides;
//! - reject with 486; cancel before the answer;
//! - a re-INVITE accepted; the callee hangs up;
//! - the application stop ends a running session.

#[path = "support/app.rs"]
mod app;

use std::sync::Mutex;
use std::time::Duration;

use sipsimple_core::notification::{Notification, NotificationCenter};
use sipsimple_core::session::{Session, SessionManager, SessionState};
use sipsimple_core::{SIPApplication, Value};

const T: Duration = Duration::from_secs(10);
const OFFER: &[u8] =
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const ANSWER: &[u8] =
    b"v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

static APP: Mutex<()> = Mutex::new(());

type Running = app::TwoAccounts;

fn start() -> Running {
    app::two_accounts(&APP)
}

impl Running {
    fn names_of(&self, session: &Session) -> Vec<String> {
        let sender = Value::Object(session.handle());
        self.recorder.all().into_iter().filter(|n| n.sender == sender).map(|n| n.name).collect()
    }
}

fn text(n: &Notification, field: &str) -> String {
    n.data.get(field).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

#[test]
fn alice_calls_bob_who_rings_answers_and_alice_hangs_up() {
    let run = start();
    let call = Session::new(&run.alice);
    call.connect(&run.bob_uri(), OFFER.to_vec(), Some("lunch?".into())).unwrap();
    run.from("SIPSessionNewOutgoing", call.handle(), 1);
    let incoming = run.incoming(1);
    assert_eq!(incoming.state(), SessionState::Incoming);
    assert_eq!(incoming.account().id(), run.bob.id());
    assert_eq!(incoming.direction(), Some("incoming"));
    assert_eq!(incoming.remote_sdp(), OFFER);
    assert!(SessionManager::instance().sessions().len() >= 2);

    incoming.send_ring_indication().unwrap();
    run.from("SIPSessionGotRingIndication", call.handle(), 1);
    incoming.accept(ANSWER.to_vec()).unwrap();
    run.from("SIPSessionDidStart", call.handle(), 1);
    run.from("SIPSessionDidStart", incoming.handle(), 1);
    assert_eq!(call.remote_sdp(), ANSWER);
    assert_eq!((call.state(), incoming.state()), (SessionState::Connected, SessionState::Connected));
    assert!(call.remote_user_agent().is_some());

    call.end().unwrap();
    let ended = run.from("SIPSessionDidEnd", call.handle(), 1);
    assert_eq!(text(&ended, "originator"), "local");
    let ended = run.from("SIPSessionDidEnd", incoming.handle(), 1);
    assert_eq!(text(&ended, "originator"), "remote");
    assert_eq!(
        run.names_of(&call),
        [
            "SIPSessionNewOutgoing",
            "SIPSessionGotRingIndication",
            "SIPSessionGotProvisionalResponse",
            "SIPSessionWillStart",
            "SIPSessionDidProcessTransaction",
            "SIPSessionDidStart",
            "SIPSessionWillEnd",
            "SIPSessionDidProcessTransaction",
            "SIPSessionDidEnd"
        ]
    );
    run.stop();
}

#[test]
fn a_busy_callee_rejects_and_a_caller_cancels() {
    let run = start();
    let call = Session::new(&run.alice);
    call.connect(&run.bob_uri(), OFFER.to_vec(), None).unwrap();
    let incoming = run.incoming(1);
    incoming.reject(486, None).unwrap();
    let failed = run.from("SIPSessionDidFail", call.handle(), 1);
    assert_eq!(failed.data.get("code"), Some(&Value::Int(486)));
    assert_eq!(text(&failed, "originator"), "remote");
    let failed = run.from("SIPSessionDidFail", incoming.handle(), 1);
    assert_eq!(text(&failed, "failure_reason"), "user_request");

    let call = Session::new(&run.alice);
    call.connect(&run.bob_uri(), OFFER.to_vec(), None).unwrap();
    let incoming = run.incoming(2);
    incoming.send_ring_indication().unwrap();
    run.from("SIPSessionGotRingIndication", call.handle(), 1);
    call.end().unwrap();
    let failed = run.from("SIPSessionDidFail", call.handle(), 1);
    assert_eq!(failed.data.get("code"), Some(&Value::Int(487)));
    assert_eq!(text(&failed, "reason"), "Session Cancelled");
    let failed = run.from("SIPSessionDidFail", incoming.handle(), 1);
    assert_eq!(text(&failed, "originator"), "remote");
    assert_eq!(failed.data.get("code"), Some(&Value::Int(487)));
    run.stop();
}

#[test]
fn a_reinvite_is_accepted_then_the_callee_hangs_up_and_stop_ends_a_live_call() {
    let run = start();
    let call = Session::new(&run.alice);
    call.connect(&run.bob_uri(), OFFER.to_vec(), None).unwrap();
    let incoming = run.incoming(1);
    incoming.accept(ANSWER.to_vec()).unwrap();
    run.from("SIPSessionDidStart", call.handle(), 1);
    run.from("SIPSessionDidStart", incoming.handle(), 1);

    call.propose(OFFER.to_vec()).unwrap();
    run.from("SIPSessionGotProposal", incoming.handle(), 1);
    incoming.accept_proposal(ANSWER.to_vec()).unwrap();
    run.from("SIPSessionGotAcceptProposal", call.handle(), 1);
    assert_eq!(call.state(), SessionState::Connected);

    incoming.end().unwrap();
    let ended = run.from("SIPSessionDidEnd", call.handle(), 1);
    assert_eq!(text(&ended, "originator"), "remote");

    // A live call when the application stops: ended before DidEnd.
    let call = Session::new(&run.alice);
    call.connect(&run.bob_uri(), OFFER.to_vec(), None).unwrap();
    let incoming = run.incoming(2);
    incoming.accept(ANSWER.to_vec()).unwrap();
    run.from("SIPSessionDidStart", call.handle(), 1);
    SIPApplication::instance().stop().unwrap();
    run.recorder.wait_for("SIPApplicationDidEnd", T).expect("DidEnd");
    let names = run.recorder.names();
    let app_end = names.iter().position(|n| n == "SIPApplicationDidEnd").unwrap();
    let session_ends: Vec<usize> =
        names.iter().enumerate().filter(|(_, n)| *n == "SIPSessionDidEnd").map(|(i, _)| i).collect();
    assert_eq!(session_ends.len(), 4, "both calls, both sides: {names:?}");
    assert!(session_ends.iter().all(|i| *i < app_end), "{names:?}");
    assert_eq!((call.state(), incoming.state()), (SessionState::Terminated, SessionState::Terminated));
    let _ = NotificationCenter::default_center().remove_observer(&*run.recorder, None, None);
}
