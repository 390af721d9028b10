//! Two INVITE sessions talking to each other through a simulated engine:
//! every message goes through encode → parse, transactions are mapped by
//! hand, and time is simulated.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::*;
use crate::sip::engine::Destination;
use crate::sip::message::{Message, Method, NameAddr};
use crate::sip::transaction::TransactionId;
use crate::sip::transport::TransportKind;

fn addr(text: &str) -> NameAddr<'static> {
    NameAddr::parse(text).unwrap().into_owned()
}

fn destination(port: u16) -> Destination {
    Destination { transport: TransportKind::Udp, address: format!("127.0.0.1:{port}").parse().unwrap(), tls_name: None }
}

fn wire(m: &Message) -> Message {
    Message::parse(&m.to_bytes()).expect("what a session sends parses")
}

const OFFER: &[u8] =
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const ANSWER: &[u8] =
    b"v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Side {
    Alice,
    Bob,
}

/// Alice (the caller) and Bob, the messages between them, and what each reported.
struct Call {
    alice: InviteSession,
    bob: InviteSession,
    now: Instant,
    next_tx: u64,
    /// Server transaction at the receiver → (sender side, sender's tag, method).
    transactions: HashMap<(Side, u64), (u64, String)>,
    /// The INVITE transaction at each side, for CANCEL.
    invite_tx: HashMap<Side, TransactionId>,
    events: HashMap<Side, Vec<SessionEvent>>,
    /// Drop messages from this side (a lost ACK, a silent peer).
    drop_from: Option<(Side, Method)>,
    sent: Vec<(Side, Message)>,
}

impl Call {
    fn new() -> Call {
        let t = SessionTimers::default();
        Call {
            alice: InviteSession::new(addr("\"Alice\" <sip:alice@example.com>"), t.clone()),
            bob: InviteSession::new(addr("<sip:bob@example.com>"), t),
            now: Instant::now(),
            next_tx: 0,
            transactions: HashMap::new(),
            invite_tx: HashMap::new(),
            events: HashMap::new(),
            drop_from: None,
            sent: Vec::new(),
        }
    }

    fn session(&mut self, side: Side) -> &mut InviteSession {
        match side {
            Side::Alice => &mut self.alice,
            Side::Bob => &mut self.bob,
        }
    }

    fn connect(&mut self) {
        let route = SessionRoute {
            destination: destination(5062),
            route: None,
            contact: addr("<sip:alice-contact@127.0.0.1:5060>"),
            via: "SIP/2.0/UDP 127.0.0.1:5060".into(),
        };
        let now = self.now;
        self.alice.connect(now, addr("<sip:bob@example.com>"), vec![route], OFFER.to_vec(), Some("hi")).unwrap();
        self.pump();
    }

    /// Delivers every output until both sides are quiet.
    fn pump(&mut self) {
        loop {
            let mut progressed = false;
            for side in [Side::Alice, Side::Bob] {
                while let Some(output) = self.session(side).poll_output() {
                    progressed = true;
                    self.deliver(side, output);
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn other(side: Side) -> Side {
        if side == Side::Alice { Side::Bob } else { Side::Alice }
    }

    fn deliver(&mut self, from: Side, output: Output) {
        let to = Call::other(from);
        let now = self.now;
        match output {
            Output::Event(e) => self.events.entry(from).or_default().push(e),
            Output::Send { tag, request, .. } => {
                let request = wire(&request);
                self.sent.push((from, request.clone()));
                let method = request.method().cloned().unwrap();
                if self.drop_from.as_ref().is_some_and(|(s, m)| *s == from && *m == method) {
                    return;
                }
                self.next_tx += 1;
                let tx = TransactionId::from_raw(self.next_tx);
                self.transactions.insert((to, self.next_tx), (tag, method.to_string()));
                match method {
                    Method::Invite if self.session(to).state() == SessionState::Null => {
                        self.invite_tx.insert(to, tx);
                        let contact = addr("<sip:bob-contact@127.0.0.1:5062>");
                        let via = "SIP/2.0/UDP 127.0.0.1:5062".to_owned();
                        self.session(to).handle_invite(tx, &request, destination(5060), contact, via).unwrap();
                    }
                    Method::Cancel => {
                        // The engine answers the CANCEL and tells the session.
                        let ok = Message::response_to(&request, 200, "OK");
                        self.session(from).handle_response(now, tag, &ok);
                        if let Some(invite) = self.invite_tx.get(&to).copied() {
                            self.session(to).handle_cancel(invite);
                        }
                    }
                    Method::Invite => {
                        self.invite_tx.insert(to, tx);
                        self.session(to).handle_request_at(now, tx, &request);
                    }
                    _ => self.session(to).handle_request_at(now, tx, &request),
                }
            }
            Output::SendStateless { message, .. } => {
                let message = wire(&message);
                self.sent.push((from, message.clone()));
                if self.drop_from.as_ref().is_some_and(|(s, m)| *s == from && message.method() == Some(m)) {
                    return;
                }
                self.session(to).handle_ack(now, &message);
            }
            Output::Respond { transaction, response } => {
                let response = wire(&response);
                self.sent.push((from, response.clone()));
                if let Some((tag, _)) = self.transactions.get(&(from, transaction.raw())).cloned() {
                    self.session(to).handle_response(now, tag, &response);
                }
            }
        }
    }

    fn take(&mut self, side: Side) -> Vec<SessionEvent> {
        self.events.remove(&side).unwrap_or_default()
    }

    fn names(&mut self, side: Side) -> Vec<&'static str> {
        self.take(side).iter().map(event_name).collect()
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        let now = self.now;
        self.alice.handle_timeout(now);
        self.bob.handle_timeout(now);
        self.pump();
    }

    fn responses_from(&self, side: Side, code: u16) -> usize {
        self.sent.iter().filter(|(s, m)| *s == side && m.status() == Some(code)).count()
    }
}

fn event_name(e: &SessionEvent) -> &'static str {
    match e {
        SessionEvent::NewOutgoing => "NewOutgoing",
        SessionEvent::NewIncoming { .. } => "NewIncoming",
        SessionEvent::GotRingIndication => "GotRingIndication",
        SessionEvent::GotProvisionalResponse { .. } => "GotProvisionalResponse",
        SessionEvent::WillStart => "WillStart",
        SessionEvent::DidStart { .. } => "DidStart",
        SessionEvent::DidFail { .. } => "DidFail",
        SessionEvent::WillEnd { .. } => "WillEnd",
        SessionEvent::DidEnd { .. } => "DidEnd",
        SessionEvent::GotProposal { .. } => "GotProposal",
        SessionEvent::ProposalAccepted { .. } => "ProposalAccepted",
        SessionEvent::ProposalRejected { .. } => "ProposalRejected",
        SessionEvent::DidProcessTransaction { .. } => "DidProcessTransaction",
    }
}

fn established() -> Call {
    let mut call = Call::new();
    call.connect();
    call.bob.send_ring_indication().unwrap();
    call.pump();
    let now = call.now;
    call.bob.accept(now, ANSWER.to_vec()).unwrap();
    call.pump();
    call.take(Side::Alice);
    call.take(Side::Bob);
    call
}

#[test]
fn an_outgoing_call_rings_is_accepted_and_ended_by_the_caller() {
    let mut call = Call::new();
    call.connect();
    assert_eq!(call.alice.state(), SessionState::Connecting);
    assert_eq!(call.bob.state(), SessionState::Incoming);
    assert_eq!(call.names(Side::Alice), ["NewOutgoing"]);
    match &call.take(Side::Bob)[..] {
        [SessionEvent::NewIncoming { offer }] => assert_eq!(offer, OFFER),
        other => panic!("{other:?}"),
    }
    let invite = &call.sent.iter().find(|(s, m)| *s == Side::Alice && m.method() == Some(&Method::Invite)).unwrap().1;
    assert_eq!(invite.header_value("Subject"), Some("hi"));
    assert!(invite.header_value("Contact").unwrap().contains("alice-contact"));
    assert_eq!(call.responses_from(Side::Bob, 100), 1);

    call.bob.send_ring_indication().unwrap();
    call.pump();
    assert_eq!(call.names(Side::Alice), ["GotRingIndication", "GotProvisionalResponse"]);

    let now = call.now;
    call.bob.accept(now, ANSWER.to_vec()).unwrap();
    call.pump();
    assert_eq!(call.bob.state(), SessionState::Connected, "the ACK arrived");
    assert_eq!(call.alice.state(), SessionState::Connected);
    let alice = call.take(Side::Alice);
    assert!(
        matches!(&alice[..], [SessionEvent::WillStart, SessionEvent::DidProcessTransaction { .. }, SessionEvent::DidStart { remote_sdp }] if remote_sdp == ANSWER),
        "{alice:?}"
    );
    let bob = call.take(Side::Bob);
    assert_eq!(bob.iter().map(event_name).collect::<Vec<_>>(), ["WillStart", "DidProcessTransaction", "DidStart"]);
    assert!(matches!(&bob[2], SessionEvent::DidStart { remote_sdp } if remote_sdp == OFFER));
    let ack = call.sent.iter().find(|(_, m)| m.method() == Some(&Method::Ack)).unwrap().1.clone();
    assert_eq!(ack.cseq_parts(), Some((1, "ACK")));
    assert!(ack.uri().unwrap().to_string().contains("bob-contact"), "the ACK goes to Bob's Contact");

    let now = call.now;
    call.alice.end(now);
    call.pump();
    assert_eq!(call.names(Side::Alice), ["WillEnd", "DidProcessTransaction", "DidEnd"]);
    assert_eq!(call.names(Side::Bob), ["DidProcessTransaction", "WillEnd", "DidEnd"]);
    assert_eq!((call.alice.state(), call.bob.state()), (SessionState::Terminated, SessionState::Terminated));
}

#[test]
fn a_rejected_call_fails_on_both_sides() {
    let mut call = Call::new();
    call.connect();
    call.take(Side::Alice);
    call.take(Side::Bob);
    call.bob.reject(486, None).unwrap();
    call.pump();
    let alice = call.take(Side::Alice);
    assert!(
        alice.iter().any(|e| matches!(e, SessionEvent::DidFail { originator: Originator::Remote, code: 486, reason, .. } if reason == "Busy Here")),
        "{alice:?}"
    );
    let bob = call.take(Side::Bob);
    assert!(bob.iter().any(|e| matches!(e, SessionEvent::DidFail { originator: Originator::Local, code: 486, failure_reason, .. } if failure_reason == "user_request")));
    assert_eq!((call.alice.state(), call.bob.state()), (SessionState::Terminated, SessionState::Terminated));
    assert!(call.bob.accept(call.now, vec![]).is_err(), "accept after reject is an illegal state");
}

#[test]
fn cancel_before_answer() {
    let mut call = Call::new();
    call.connect();
    call.bob.send_ring_indication().unwrap();
    call.pump();
    call.take(Side::Alice);
    call.take(Side::Bob);
    let now = call.now;
    call.alice.end(now);
    call.pump();
    assert!(call.sent.iter().any(|(s, m)| *s == Side::Alice && m.method() == Some(&Method::Cancel)));
    assert_eq!(call.responses_from(Side::Bob, 487), 1);
    let alice = call.take(Side::Alice);
    assert!(alice.iter().any(|e| matches!(e, SessionEvent::DidFail { originator: Originator::Local, code: 487, reason, .. } if reason == "Session Cancelled")), "{alice:?}");
    let bob = call.take(Side::Bob);
    assert!(
        bob.iter().any(|e| matches!(e, SessionEvent::DidFail { originator: Originator::Remote, code: 487, .. })),
        "{bob:?}"
    );
}

#[test]
fn ending_before_any_provisional_cancels_when_one_arrives() {
    let mut call = Call::new();
    call.connect();
    let now = call.now;
    call.alice.end(now);
    call.pump();
    assert!(!call.sent.iter().any(|(_, m)| m.method() == Some(&Method::Cancel)), "no CANCEL before a 1xx");
    call.bob.send_ring_indication().unwrap();
    call.pump();
    assert!(call.sent.iter().any(|(_, m)| m.method() == Some(&Method::Cancel)));
    assert_eq!(call.bob.state(), SessionState::Terminated);
    assert_eq!(call.alice.state(), SessionState::Terminated);
}

#[test]
fn the_callee_hangs_up() {
    let mut call = established();
    let now = call.now;
    call.bob.end(now);
    call.pump();
    let alice = call.take(Side::Alice);
    assert!(alice.iter().any(|e| matches!(e, SessionEvent::DidEnd { originator: Originator::Remote, .. })));
    assert!(call.bob.dialog().is_some());
    assert_eq!(call.alice.state(), SessionState::Terminated);
}

#[test]
fn a_lost_ack_is_answered_by_retransmitted_200s_then_the_call_fails() {
    let mut call = Call::new();
    call.drop_from = Some((Side::Alice, Method::Ack));
    call.connect();
    let now = call.now;
    call.bob.accept(now, ANSWER.to_vec()).unwrap();
    call.pump();
    assert_eq!(call.bob.state(), SessionState::Accepting);
    // 200 retransmitted at T1, 2·T1, 4·T1, then every T2, for 64·T1.
    for _ in 0..80 {
        call.advance(Duration::from_millis(500));
    }
    let retransmitted = call.responses_from(Side::Bob, 200);
    assert!((8..=12).contains(&retransmitted), "{retransmitted} 200s");
    let bob = call.take(Side::Bob);
    assert!(
        bob.iter()
            .any(|e| matches!(e, SessionEvent::DidFail { failure_reason, .. } if failure_reason == "missing ACK")),
        "{bob:?}"
    );
    assert!(call.sent.iter().any(|(s, m)| *s == Side::Bob && m.method() == Some(&Method::Bye)));
}

#[test]
fn a_retransmitted_200_is_acked_again() {
    let mut call = established();
    let ok = call.sent.iter().find(|(s, m)| *s == Side::Bob && m.status() == Some(200)).unwrap().1.clone();
    let now = call.now;
    // The 200 arrives again after the INVITE transaction is gone (a stray 2xx).
    call.alice.handle_response(now, 999, &ok);
    match call.alice.poll_output() {
        Some(Output::SendStateless { message, .. }) => {
            assert_eq!(message.method(), Some(&Method::Ack));
            assert_eq!(message.cseq_parts(), Some((1, "ACK")));
        }
        other => panic!("expected an ACK, got {other:?}"),
    }
    assert!(call.take(Side::Alice).is_empty(), "nothing is reported again");
}

#[test]
fn the_next_route_is_tried_on_503_before_any_provisional() {
    let mut session = InviteSession::new(addr("<sip:alice@example.com>"), SessionTimers::default());
    let routes = [5062, 5064]
        .map(|port| SessionRoute {
            destination: destination(port),
            route: Some(format!("<sip:127.0.0.1:{port};transport=udp;lr>")),
            contact: addr("<sip:alice-contact@127.0.0.1:5060>"),
            via: "SIP/2.0/UDP 127.0.0.1:5060".into(),
        })
        .to_vec();
    let now = Instant::now();
    session.connect(now, addr("<sip:bob@example.com>"), routes, OFFER.to_vec(), None).unwrap();
    let mut sends = vec![];
    while let Some(o) = session.poll_output() {
        if let Output::Send { tag, request, destination } = o {
            sends.push((tag, wire(&request), destination));
        }
    }
    assert_eq!(sends.len(), 1);
    let (tag, first, to) = sends.pop().unwrap();
    assert_eq!(to.address.port(), 5062);
    assert!(first.header_value("Route").unwrap().contains(":5062"));
    session.handle_response(now, tag, &Message::response_to(&first, 503, "Service Unavailable"));
    let mut next = None;
    while let Some(o) = session.poll_output() {
        match o {
            Output::Send { request, destination, .. } => next = Some((wire(&request), destination)),
            Output::Event(e) => panic!("nothing is reported yet: {e:?}"),
            _ => {}
        }
    }
    let (second, to) = next.expect("the INVITE goes to the second route");
    assert_eq!(to.address.port(), 5064);
    assert!(second.header_value("Route").unwrap().contains(":5064"));
    assert_eq!(second.cseq_parts(), Some((2, "INVITE")));
    assert_eq!(second.call_id(), first.call_id());
    assert_eq!(session.state(), SessionState::Connecting);
}

#[test]
fn a_reinvite_is_proposed_accepted_and_acked() {
    let mut call = established();
    call.alice.propose(OFFER.to_vec()).unwrap();
    call.pump();
    assert_eq!(call.alice.state(), SessionState::SendingProposal);
    assert_eq!(call.bob.state(), SessionState::ReceivedProposal);
    assert!(matches!(&call.take(Side::Bob)[..], [SessionEvent::GotProposal { offer }] if offer == OFFER));
    let now = call.now;
    call.bob.accept_proposal(now, ANSWER.to_vec()).unwrap();
    call.pump();
    let alice = call.take(Side::Alice);
    assert!(alice.iter().any(|e| matches!(e, SessionEvent::ProposalAccepted { answer } if answer == ANSWER)));
    assert_eq!(call.alice.state(), SessionState::Connected);
    assert_eq!(call.bob.state(), SessionState::Connected);
    let reinvite = call
        .sent
        .iter()
        .filter(|(s, m)| *s == Side::Alice && m.method() == Some(&Method::Invite))
        .nth(1)
        .unwrap()
        .1
        .clone();
    assert_eq!(reinvite.cseq_parts(), Some((2, "INVITE")));
    assert!(reinvite.to_tag().is_some());
    let acks: Vec<_> = call.sent.iter().filter(|(_, m)| m.method() == Some(&Method::Ack)).collect();
    assert_eq!(acks.len(), 2);
    assert_eq!(acks[1].1.cseq_parts(), Some((2, "ACK")));

    // Bob proposes too, and Alice refuses.
    call.bob.propose(OFFER.to_vec()).unwrap();
    call.pump();
    call.alice.reject_proposal(488, None).unwrap();
    call.pump();
    let bob = call.take(Side::Bob);
    assert!(
        bob.iter()
            .any(|e| matches!(e, SessionEvent::ProposalRejected { originator: Originator::Local, code: 488, .. })),
        "{bob:?}"
    );
    assert_eq!((call.alice.state(), call.bob.state()), (SessionState::Connected, SessionState::Connected));
}

#[test]
fn crossing_reinvites_get_491() {
    let mut call = established();
    call.alice.propose(OFFER.to_vec()).unwrap();
    // Bob proposes before Alice's re-INVITE arrives: hold Alice's outputs.
    let alice_outputs: Vec<Output> = std::iter::from_fn(|| call.alice.poll_output()).collect();
    call.bob.propose(OFFER.to_vec()).unwrap();
    call.pump();
    assert_eq!(call.responses_from(Side::Alice, 491), 1, "Alice refuses Bob's re-INVITE while hers is pending");
    let bob = call.take(Side::Bob);
    assert!(bob.iter().any(|e| matches!(e, SessionEvent::ProposalRejected { code: 491, .. })));
    for o in alice_outputs {
        call.deliver(Side::Alice, o);
    }
    call.pump();
    assert_eq!(call.bob.state(), SessionState::ReceivedProposal);
}

#[test]
fn illegal_calls_are_refused_and_an_in_dialog_request_for_no_dialog_gets_481() {
    let mut call = Call::new();
    assert!(call.alice.accept(call.now, vec![]).is_err());
    assert!(call.alice.propose(vec![]).is_err());
    let err = call.alice.reject(486, None).unwrap_err();
    assert_eq!(err.to_string(), "reject is not allowed in state None");
    let bye = Message::request(Method::Bye, crate::sip::message::Uri::sip("example.com"))
        .header("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx")
        .header("From", "<sip:x@example.com>;tag=a")
        .header("To", "<sip:y@example.com>;tag=b")
        .header("Call-ID", "nope")
        .header("CSeq", "1 BYE");
    call.alice.handle_request(TransactionId::from_raw(99), &bye);
    match call.alice.poll_output() {
        Some(Output::Respond { response, .. }) => assert_eq!(response.status(), Some(481)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_answer_in_time_fails_with_408() {
    let mut call = Call::new();
    call.drop_from = Some((Side::Alice, Method::Invite));
    call.connect();
    call.advance(Duration::from_secs(91));
    let alice = call.take(Side::Alice);
    assert!(alice.iter().any(|e| matches!(e, SessionEvent::DidFail { code: 408, .. })), "{alice:?}");
    assert_eq!(call.alice.state(), SessionState::Terminated);
}

#[test]
fn the_session_timer_is_negotiated_and_refreshed_with_update() {
    let mut call = established();
    let invite =
        call.sent.iter().find(|(s, m)| *s == Side::Alice && m.method() == Some(&Method::Invite)).unwrap().1.clone();
    assert_eq!(invite.header_value("Session-Expires"), Some("1800"));
    assert_eq!(invite.header_value("Supported"), Some("timer"));
    let ok = call.sent.iter().find(|(s, m)| *s == Side::Bob && m.status() == Some(200)).unwrap().1.clone();
    assert_eq!(ok.header_value("Session-Expires"), Some("1800;refresher=uac"));
    assert_eq!(ok.header_value("Require"), Some("timer"));

    // Alice (the UAC) refreshes half-way, with UPDATE (Bob allows it).
    for round in 1..=3 {
        let before = call.sent.len();
        call.advance(Duration::from_secs(899));
        assert!(!call.sent[before..].iter().any(|(_, m)| m.method() == Some(&Method::Update)), "too early");
        call.advance(Duration::from_secs(1));
        let updates: Vec<_> = call.sent[before..].iter().filter(|(_, m)| m.method() == Some(&Method::Update)).collect();
        assert_eq!(updates.len(), 1, "round {round}");
        assert_eq!(updates[0].0, Side::Alice);
        assert_eq!(updates[0].1.header_value("Session-Expires"), Some("1800;refresher=uac"));
        assert_eq!((call.alice.state(), call.bob.state()), (SessionState::Connected, SessionState::Connected));
    }
    let alice = call.take(Side::Alice);
    assert!(
        alice
            .iter()
            .any(|e| matches!(e, SessionEvent::DidProcessTransaction { method, code: 200, .. } if method == "UPDATE"))
    );
}

#[test]
fn a_session_nobody_refreshes_ends_when_the_timer_runs_out() {
    let mut call = established();
    call.drop_from = Some((Side::Alice, Method::Update));
    // Bob never hears a refresh: he ends the call 1800 - 32 s after the start.
    call.advance(Duration::from_secs(1767));
    assert_eq!(call.bob.state(), SessionState::Connected);
    call.advance(Duration::from_secs(2));
    let bob = call.take(Side::Bob);
    assert!(bob.iter().any(|e| matches!(e, SessionEvent::DidEnd { originator: Originator::Local, end_reason } if end_reason == "session timer expired")), "{bob:?}");
    assert!(call.sent.iter().any(|(s, m)| *s == Side::Bob && m.method() == Some(&Method::Bye)));
    assert_eq!(call.alice.state(), SessionState::Terminated, "Alice got the BYE");
}

#[test]
fn is_focus_marks_the_contact_of_the_invite_and_of_the_200() {
    let mut call = Call::new();
    call.alice.set_focus(true);
    call.connect();
    call.bob.set_focus(true);
    let now = call.now;
    call.bob.accept(now, ANSWER.to_vec()).unwrap();
    call.pump();
    let contact = |side: Side, pick: &dyn Fn(&Message) -> bool| {
        let (_, m) = call.sent.iter().find(|(s, m)| *s == side && pick(m)).expect("the message");
        m.header_value("Contact").unwrap().to_owned()
    };
    let invite = contact(Side::Alice, &|m| m.method() == Some(&Method::Invite));
    assert_eq!(invite, "<sip:alice-contact@127.0.0.1:5060>;isfocus");
    let ok = contact(Side::Bob, &|m| m.status() == Some(200));
    assert!(ok.ends_with(";isfocus"), "{ok}");
    assert_eq!(ok.matches("isfocus").count(), 1);
}
