//! The registration state machine under simulated time.

use std::time::{Duration, Instant};

use super::machine::*;
use crate::account::{Credentials, Secret};
use crate::lookup::{Route, Transport};
use crate::sip::engine::Destination;
use crate::sip::message::{Message, Uri};
use crate::sip::transport::TransportKind;

fn config() -> RegistrationConfig {
    RegistrationConfig {
        aor: Uri::parse("sip:alice@example.com").unwrap().into_owned(),
        display_name: Some("Alice".into()),
        registrar: Uri::sip("example.com"),
        credentials: Credentials { username: "alice".into(), password: Secret::new("alicepw") },
        interval: 600,
        instance_id: Some("urn:uuid:00000000-0000-0000-0000-000000000001".into()),
        attempt_timeout: Duration::from_secs(10),
        unregister_timeout: Duration::from_secs(2),
    }
}

fn target(port: u16) -> RouteTarget {
    RouteTarget {
        route: Route::new("192.0.2.1", Some(port), Transport::Udp, None),
        destination: Destination {
            transport: TransportKind::Udp,
            address: format!("192.0.2.1:{port}").parse().unwrap(),
            tls_name: None,
        },
        contact: Uri::parse("sip:abcdefgh@192.0.2.100:5070").unwrap().into_owned(),
    }
}

/// The machine plus a clock and what it produced.
struct Harness {
    m: Registration,
    now: Instant,
    events: Vec<Event>,
    sent: Vec<(u64, Message, Destination)>,
    lookups: Vec<u64>,
}

impl Harness {
    fn new() -> Harness {
        Harness { m: Registration::new(config()), now: Instant::now(), events: vec![], sent: vec![], lookups: vec![] }
    }
    /// Activated: the WillRegister and the route lookup are out.
    fn activated() -> Harness {
        let mut h = Harness::new();
        h.m.activate(h.now);
        h.drain();
        h
    }
    /// Registered through one route (events taken).
    fn registered() -> Harness {
        let mut h = Harness::activated();
        h.routes(vec![target(5060)]);
        h.answer(200, &[]);
        h.take_events();
        h
    }
    fn drain(&mut self) {
        while let Some(o) = self.m.poll_output() {
            match o {
                Output::Lookup { lookup } => self.lookups.push(lookup),
                Output::Send { attempt, request, destination } => {
                    // Every REGISTER must survive the wire.
                    let bytes = request.to_bytes();
                    let parsed = Message::parse(&bytes).expect("the REGISTER parses");
                    self.sent.push((attempt, parsed, destination));
                }
                Output::Event(e) => self.events.push(e),
            }
        }
    }
    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
    fn last_sent(&self) -> &(u64, Message, Destination) {
        self.sent.last().expect("a REGISTER was sent")
    }
    fn routes(&mut self, routes: Vec<RouteTarget>) {
        let lookup = *self.lookups.last().expect("a lookup was asked for");
        self.m.handle_routes(self.now, lookup, Ok(routes));
        self.drain();
    }
    fn answer(&mut self, code: u16, extra: &[(&str, &str)]) {
        let (attempt, request, _) = self.last_sent().clone();
        let mut response = Message::response_to(&request, code, crate::sip::message::reason_phrase(code));
        for (name, value) in extra {
            response.add_header(name, value);
        }
        self.m.handle_response(self.now, attempt, &response);
        self.drain();
    }
    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.m.handle_timeout(self.now);
        self.drain();
    }
    fn advance_to_timer(&mut self) -> Duration {
        let due = self.m.poll_timeout().expect("a timer is set");
        let by = due.saturating_duration_since(self.now);
        self.advance(by);
        by
    }
}

const CHALLENGE: &str = r#"Digest realm="example.com", nonce="abc123", qop="auth", algorithm=MD5"#;

fn contact_of(request: &Message) -> String {
    request.header_value("Contact").unwrap().to_owned()
}

#[test]
fn registers_with_digest_and_refreshes_before_expiry() {
    let mut h = Harness::activated();
    assert_eq!(h.take_events(), vec![Event::WillRegister]);
    h.routes(vec![target(5060)]);
    let (_, first, destination) = h.last_sent().clone();
    assert_eq!(destination.address.port(), 5060);
    assert_eq!(first.uri().unwrap().to_string(), "sip:example.com");
    assert_eq!(first.expires(), Some(600));
    assert_eq!(first.cseq_parts(), Some((1, "REGISTER")));
    assert!(first.header_value("Route").unwrap().contains("sip:192.0.2.1:5060;transport=udp;lr"));
    assert!(contact_of(&first).contains("+sip.instance=\"<urn:uuid:"));
    assert!(first.header_value("From").unwrap().starts_with("\"Alice\" <sip:alice@example.com>;tag="));
    assert!(first.header_value("Authorization").is_none());

    h.answer(401, &[("WWW-Authenticate", CHALLENGE)]);
    assert!(h.take_events().is_empty(), "an answered challenge is not reported");
    let (_, second, _) = h.last_sent().clone();
    assert_eq!(second.cseq_parts(), Some((2, "REGISTER")));
    assert_eq!(second.call_id(), first.call_id());
    let authorization = second.header_value("Authorization").unwrap();
    assert!(authorization.contains("username=\"alice\"") && authorization.contains("nc=00000001"));
    assert!(!authorization.contains("alicepw"));

    let ours = format!("{};expires=300", contact_of(&second));
    h.answer(200, &[("Contact", &ours), ("Contact", "<sip:other@192.0.2.9>;expires=3000")]);
    let events = h.take_events();
    assert!(matches!(&events[0], Event::GotAnswer { code: 200, .. }));
    match &events[1] {
        Event::DidSucceed { expires, contact_header_list, contact_header, registrar } => {
            assert_eq!(*expires, 300);
            assert_eq!(contact_header_list.len(), 2);
            assert!(contact_header.contains("abcdefgh@192.0.2.100:5070"));
            assert_eq!(registrar.port, Some(5060));
        }
        other => panic!("expected DidSucceed, got {other:?}"),
    }
    assert!(h.m.is_registered());

    // Refresh 60 s before the 300 s run out.
    assert_eq!(h.advance_to_timer(), Duration::from_secs(240));
    assert_eq!(h.take_events(), vec![Event::WillRefresh]);
    h.routes(vec![target(5060)]);
    let (_, refresh, _) = h.last_sent().clone();
    assert_eq!(refresh.call_id(), first.call_id(), "a refresh keeps the Call-ID");
    assert_eq!(refresh.cseq_parts(), Some((3, "REGISTER")));
    h.answer(200, &[("Expires", "600")]);
    let events = h.take_events();
    assert!(matches!(events[1], Event::DidSucceed { expires: 600, .. }));
    assert!(h.m.is_registered());
}

#[test]
fn a_wrong_password_fails_once_and_waits_a_minute() {
    let mut h = Harness::activated();
    h.routes(vec![target(5060), target(5062)]);
    h.answer(401, &[("WWW-Authenticate", CHALLENGE)]);
    let sent_before = h.sent.len();
    h.answer(401, &[("WWW-Authenticate", CHALLENGE)]);
    assert_eq!(h.sent.len(), sent_before, "no retry with the same credentials and no other route");
    let events = h.take_events();
    assert!(matches!(&events[1], Event::GotAnswer { code: 401, .. }));
    match &events[2] {
        Event::DidFail { error, retry_after } => {
            assert_eq!(error, "Authentication failed");
            assert!((60.0..=120.0).contains(retry_after), "{retry_after}");
        }
        other => panic!("expected DidFail, got {other:?}"),
    }
    assert!(!h.m.is_registered());
    let waited = h.advance_to_timer();
    assert!(waited >= Duration::from_secs(60));
    assert_eq!(h.take_events(), vec![Event::WillRegister]);
}

#[test]
fn failover_to_the_next_route_on_timeout_and_5xx_then_back_off() {
    let mut h = Harness::activated();
    h.routes(vec![target(5060), target(5062), target(5064)]);
    assert_eq!(h.last_sent().2.address.port(), 5060);
    h.answer(503, &[]);
    assert_eq!(h.last_sent().2.address.port(), 5062);
    // The second route never answers: after the attempt timeout, the third.
    assert_eq!(h.advance_to_timer(), Duration::from_secs(10));
    assert_eq!(h.last_sent().2.address.port(), 5064);
    let stale = h.sent[1].0;
    h.answer(500, &[]);
    let events = h.take_events();
    let fail = events.iter().find_map(|e| match e {
        Event::DidFail { error, retry_after } => Some((error.clone(), *retry_after)),
        _ => None,
    });
    let (error, retry) = fail.expect("DidFail");
    assert_eq!(error, "No more routes to try");
    assert!((1.0..=2.0).contains(&retry));
    // A late answer to an abandoned attempt changes nothing.
    h.m.handle_response(h.now, stale, &Message::response(200, "OK"));
    h.drain();
    assert!(h.take_events().is_empty());

    // Back-off doubles: the next failure waits 2–4 s.
    h.advance_to_timer();
    h.routes(vec![target(5060)]);
    h.answer(503, &[]);
    let retry = h.take_events().into_iter().find_map(|e| match e {
        Event::DidFail { retry_after, .. } => Some(retry_after),
        _ => None,
    });
    assert!((2.0..=4.0).contains(&retry.unwrap()));
}

#[test]
fn interval_too_brief_is_answered_with_min_expires() {
    let mut h = Harness::activated();
    h.routes(vec![target(5060)]);
    h.answer(423, &[("Min-Expires", "1800")]);
    let (_, again, _) = h.last_sent().clone();
    assert_eq!(again.expires(), Some(1800));
    h.answer(200, &[("Expires", "1800")]);
    assert!(h.take_events().iter().any(|e| matches!(e, Event::DidSucceed { expires: 1800, .. })));
}

#[test]
fn deactivating_unregisters_and_reports_the_end() {
    let mut h = Harness::registered();
    h.m.deactivate(h.now);
    h.drain();
    let (_, bye, _) = h.last_sent().clone();
    assert_eq!(bye.expires(), Some(0));
    assert!(contact_of(&bye).contains("expires=0"));
    // Challenged: answered once.
    h.answer(401, &[("WWW-Authenticate", CHALLENGE)]);
    assert!(h.last_sent().1.header_value("Authorization").is_some());
    h.answer(200, &[]);
    assert_eq!(h.take_events(), vec![Event::DidEnd]);
    assert!(h.m.is_finished() && !h.m.is_registered());
    assert_eq!(h.m.poll_timeout(), None);
}

#[test]
fn an_unanswered_unregistration_does_not_end() {
    let mut h = Harness::registered();
    h.m.deactivate(h.now);
    h.drain();
    assert_eq!(h.advance_to_timer(), Duration::from_secs(2));
    assert_eq!(h.take_events(), vec![Event::DidNotEnd { code: 408, reason: "Request Timeout".into() }]);
    assert!(h.m.is_finished());
}

#[test]
fn deactivating_mid_attempt_removes_the_binding_it_made() {
    let mut h = Harness::activated();
    h.routes(vec![target(5060)]);
    h.m.deactivate(h.now);
    h.drain();
    assert!(!h.m.is_finished(), "the attempt in flight finishes first");
    h.answer(200, &[]);
    assert_eq!(h.last_sent().1.expires(), Some(0), "then it is undone");
    h.answer(200, &[]);
    assert!(h.take_events().ends_with(&[Event::DidEnd]));
    assert!(h.m.is_finished());
}

#[test]
fn deactivating_while_waiting_to_retry_stops_at_once() {
    let mut h = Harness::activated();
    h.routes(vec![target(5060)]);
    h.answer(403, &[]);
    assert!(h.take_events().iter().any(|e| matches!(e, Event::DidFail { error, .. } if error == "403 Forbidden")));
    h.m.deactivate(h.now);
    h.drain();
    assert!(h.m.is_finished());
    assert!(h.take_events().is_empty(), "nothing was registered, nothing to end");
}

#[test]
fn a_new_password_registers_again() {
    let mut h = Harness::registered();
    let mut new = config();
    new.credentials.password = Secret::new("newpw");
    h.m.reconfigure(h.now, new);
    h.drain();
    assert_eq!(h.last_sent().1.expires(), Some(0));
    h.answer(200, &[]);
    assert_eq!(h.take_events(), vec![Event::DidEnd, Event::WillRegister]);
    h.routes(vec![target(5060)]);
    assert_eq!(h.last_sent().1.expires(), Some(600));
}

#[test]
fn a_dns_failure_is_retried_with_back_off() {
    let mut h = Harness::activated();
    let lookup = h.lookups[0];
    h.m.handle_routes(h.now, lookup, Err("NXDOMAIN".into()));
    h.drain();
    let events = h.take_events();
    assert!(matches!(&events[1], Event::DidFail { error, .. } if error.contains("DNS lookup failed: NXDOMAIN")));
    h.advance_to_timer();
    assert_eq!(h.lookups.len(), 2);
}

#[test]
fn refresh_delay_is_half_way_for_short_and_a_minute_early_for_long() {
    assert_eq!(refresh_delay(10), Duration::from_secs(5));
    assert_eq!(refresh_delay(37), Duration::from_secs(18));
    assert_eq!(refresh_delay(600), Duration::from_secs(540));
    assert_eq!(refresh_delay(0), Duration::from_secs(1));
}
