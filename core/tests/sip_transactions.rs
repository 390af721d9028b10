//! SIP transactions between two endpoints over a simulated network: a client
//! transaction layer and a server transaction layer, each with a small
//! transaction user, exchanging bytes through a seeded queue that loses,
//! duplicates, delays and reorders datagrams. Time is simulated (no sleeps,
//! no sockets) and every run is bounded, so a livelock fails instead of
//! hanging. The scenarios run with a test double and with the real
//! `sip::message::Message`, parsed from the bytes on the wire.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sipsimple_core::sip::message::{Message, Method};
use sipsimple_core::sip::transaction::{
    Event, LayerEvent, State, Timer, TimerConfig, TransactionError, TransactionId, TransactionLayer,
    TransactionMessage, new_branch,
};

#[path = "../src/sip/transaction/test_message.rs"]
mod test_message;

use test_message::TestMessage;

/// What the simulated user agents need from a message type beyond
/// [`TransactionMessage`]: parsing received bytes and building the messages a
/// UA core builds. Implemented for the test double and for the project's
/// real [`Message`], so every scenario runs through the real parser too.
trait SimMessage: TransactionMessage + std::fmt::Debug {
    fn decode_bytes(bytes: &[u8]) -> Option<Self>;
    fn make_request(method: &str, branch: &str) -> Self;
    /// The status code, 0 for a request.
    fn code(&self) -> u16;
    /// A response to this request; a final one gets a To tag.
    fn make_response(&self, status: u16) -> Self;
    /// The CANCEL for this request (RFC 3261 §9.1).
    fn make_cancel(&self) -> Self;
    /// The UA core's ACK for a 2xx (RFC 3261 §13.2.2.4): a new branch.
    fn make_ack_2xx(&self, response: &Self, branch: &str) -> Self;

    fn is_invite_2xx(&self) -> bool {
        self.cseq_method() == Some("INVITE") && (200..300).contains(&self.code())
    }
}

impl SimMessage for TestMessage {
    fn decode_bytes(bytes: &[u8]) -> Option<Self> {
        TestMessage::decode(bytes)
    }

    fn make_request(method: &str, branch: &str) -> Self {
        TestMessage::request(method, branch)
    }

    fn code(&self) -> u16 {
        self.status
    }

    fn make_response(&self, status: u16) -> Self {
        self.response(status)
    }

    fn make_cancel(&self) -> Self {
        self.cancel()
    }

    fn make_ack_2xx(&self, response: &Self, branch: &str) -> Self {
        let ack = self.build_ack(response).expect("ACK");
        ack.with_branch(Some(branch))
    }
}

impl SimMessage for Message {
    fn decode_bytes(bytes: &[u8]) -> Option<Self> {
        Message::parse(bytes).ok()
    }

    fn make_request(method: &str, branch: &str) -> Self {
        let text = format!(
            "{method} sip:bob@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP client.example.com:5060;branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: \"Alice\" <sip:alice@example.com>;tag=from-1\r\n\
             To: <sip:bob@example.com>\r\n\
             Call-ID: call-1@client.example.com\r\n\
             CSeq: 1 {method}\r\n\
             Content-Length: 0\r\n\r\n"
        );
        Message::parse(text.as_bytes()).expect("a valid request")
    }

    fn code(&self) -> u16 {
        self.status().unwrap_or_default()
    }

    fn make_response(&self, status: u16) -> Self {
        let response = Message::response_to(self, status, "");
        if status > 100 { response.with_to_tag("to-1") } else { response }
    }

    fn make_cancel(&self) -> Self {
        let headers = self.headers();
        let number = self.cseq_parts().map(|(n, _)| n).unwrap_or_default();
        Message::request(Method::Cancel, self.uri().expect("a request").clone())
            .header("Via", headers.values("Via").next().unwrap_or_default())
            .header("Max-Forwards", "70")
            .header("From", headers.get("From").unwrap_or_default())
            .header("To", headers.get("To").unwrap_or_default())
            .header("Call-ID", headers.get("Call-ID").unwrap_or_default())
            .header("CSeq", format!("{number} CANCEL"))
    }

    fn make_ack_2xx(&self, response: &Self, branch: &str) -> Self {
        let mut ack = self.build_ack(response).expect("ACK");
        ack.headers_mut().set("Via", format!("SIP/2.0/UDP client.example.com:5060;branch={branch};rport"));
        ack
    }
}

/// SplitMix64: a small seeded generator, stable across library versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }

    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = (high - low).as_micros() as u64;
        low + Duration::from_micros(if span == 0 { 0 } else { self.next() % (span + 1) })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Side {
    Client,
    Server,
}

struct Packet {
    at: Instant,
    seq: u64,
    to: Side,
    bytes: Vec<u8>,
}

/// The lossy network: every datagram is lost with probability `loss`,
/// doubled with probability `duplicate`, and delayed by a random latency
/// (which reorders datagrams sent close together).
struct Network {
    rng: Rng,
    loss: f64,
    duplicate: f64,
    latency: (Duration, Duration),
    in_flight: Vec<Packet>,
    seq: u64,
    sent: usize,
}

impl Network {
    fn new(seed: u64, loss: f64, duplicate: f64, latency: (Duration, Duration)) -> Network {
        Network { rng: Rng(seed), loss, duplicate, latency, in_flight: Vec::new(), seq: 0, sent: 0 }
    }

    fn send(&mut self, now: Instant, to: Side, bytes: Vec<u8>) {
        self.sent += 1;
        if self.rng.chance(self.loss) {
            return;
        }
        let copies = if self.rng.chance(self.duplicate) { 2 } else { 1 };
        for _ in 0..copies {
            let at = now + self.rng.between(self.latency.0, self.latency.1);
            self.seq += 1;
            self.in_flight.push(Packet { at, seq: self.seq, to, bytes: bytes.clone() });
        }
    }

    fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.iter().map(|p| p.at).min()
    }

    fn pop_due(&mut self, now: Instant) -> Option<Packet> {
        let index = (0..self.in_flight.len())
            .filter(|&i| self.in_flight[i].at <= now)
            .min_by_key(|&i| (self.in_flight[i].at, self.in_flight[i].seq))?;
        Some(self.in_flight.swap_remove(index))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// MESSAGE answered 200.
    Message,
    /// INVITE answered 180 then 486.
    InviteRejected,
    /// INVITE answered 180 then 200; the TUs retransmit the 2xx and ACK it.
    InviteAccepted,
    /// INVITE answered 180 only; the caller CANCELs, the callee answers 200
    /// to the CANCEL and 487 to the INVITE.
    InviteCancelled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Final(u16),
    Timeout,
    /// The client TU gave up on an INVITE stuck in Proceeding.
    Abandoned,
}

/// Per-transaction record of the events the TU saw.
#[derive(Default, Debug)]
struct Seen {
    finals: Vec<u16>,
    timeouts: Vec<Timer>,
    transport_errors: usize,
    terminated: usize,
    after_terminated: usize,
}

impl Seen {
    fn record<M: SimMessage>(&mut self, event: &Event<M>) {
        if self.terminated > 0 {
            self.after_terminated += 1;
        }
        match event {
            Event::Final(r) => self.finals.push(r.code()),
            Event::Timeout(timer) => self.timeouts.push(*timer),
            Event::TransportError => self.transport_errors += 1,
            Event::Terminated => self.terminated += 1,
            _ => {}
        }
    }
}

/// The caller: one request, ACKs for every 2xx, CANCEL and give-up timers.
struct ClientTu<M> {
    request: M,
    id: TransactionId,
    seen: HashMap<TransactionId, Seen>,
    ack_2xx: Option<M>,
    acks_sent: usize,
    cancel_at: Option<Instant>,
    cancel_id: Option<TransactionId>,
    give_up_at: Option<Instant>,
    abandoned: bool,
}

/// The callee: answers the request once, retransmits a 2xx until the ACK
/// (RFC 3261 §13.3.1.4), answers a CANCEL.
struct ServerTu<M> {
    scenario: Scenario,
    answer_delay: Duration,
    new_requests: HashMap<String, usize>,
    invite: Option<(TransactionId, M)>,
    answer_at: Option<Instant>,
    sent_final: Option<u16>,
    ok_retransmit: Option<(Instant, Duration, Instant)>,
    acks: usize,
    seen: HashMap<TransactionId, Seen>,
}

struct Sim<M> {
    start: Instant,
    now: Instant,
    config: TimerConfig,
    reliable: bool,
    net: Network,
    client: TransactionLayer<M, Side>,
    server: TransactionLayer<M, Side>,
    client_tu: ClientTu<M>,
    server_tu: ServerTu<M>,
    retransmissions: usize,
}

/// Upper bound on the time advances of one run; a run that needs more is a livelock.
const MAX_STEPS: usize = 20_000;

impl<M: SimMessage> Sim<M> {
    fn new(scenario: Scenario, seed: u64, loss: f64, duplicate: f64, reliable: bool) -> Sim<M> {
        let start = Instant::now();
        let config = TimerConfig::default();
        let mut net = Network::new(seed, loss, duplicate, (Duration::from_millis(5), Duration::from_millis(300)));
        let answer_delay = match scenario {
            Scenario::InviteCancelled => Duration::from_secs(60),
            _ => net.rng.between(Duration::ZERO, Duration::from_millis(1500)),
        };
        let mut client = TransactionLayer::new(config);
        let method = if scenario == Scenario::Message { "MESSAGE" } else { "INVITE" };
        let request = M::make_request(method, &new_branch());
        let id = client.start_client(start, request.clone(), Side::Server, reliable).expect("valid request");
        Sim {
            start,
            now: start,
            config,
            reliable,
            net,
            client,
            server: TransactionLayer::new(config),
            client_tu: ClientTu {
                request,
                id,
                seen: HashMap::new(),
                ack_2xx: None,
                acks_sent: 0,
                cancel_at: (scenario == Scenario::InviteCancelled).then(|| start + Duration::from_secs(2)),
                cancel_id: None,
                give_up_at: None,
                abandoned: false,
            },
            server_tu: ServerTu {
                scenario,
                answer_delay,
                new_requests: HashMap::new(),
                invite: None,
                answer_at: None,
                sent_final: None,
                ok_retransmit: None,
                acks: 0,
                seen: HashMap::new(),
            },
            retransmissions: 0,
        }
    }

    /// Runs until nothing is left to do; returns the number of time advances.
    fn run(&mut self) -> Result<usize, String> {
        for step in 0..MAX_STEPS {
            self.pump();
            let next = [
                self.net.next_delivery(),
                self.client.poll_timeout(),
                self.server.poll_timeout(),
                self.client_tu.cancel_at,
                self.client_tu.give_up_at,
                self.server_tu.answer_at,
                self.server_tu.ok_retransmit.map(|(at, _, _)| at),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else {
                return Ok(step);
            };
            assert!(next >= self.now, "time went backwards");
            self.now = next;
            if self.now - self.start > Duration::from_secs(600) {
                return Err(format!("still running after {:?}", self.now - self.start));
            }
            while let Some(packet) = self.net.pop_due(self.now) {
                let message = M::decode_bytes(&packet.bytes).ok_or("undecodable datagram")?;
                let (layer, from) = match packet.to {
                    Side::Client => (&mut self.client, Side::Server),
                    Side::Server => (&mut self.server, Side::Client),
                };
                layer.handle_message(self.now, message, from, self.reliable).map_err(|e| e.to_string())?;
                self.pump();
            }
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
            self.client_timers();
            self.server_timers();
        }
        Err(format!("livelock: no quiescence after {MAX_STEPS} steps"))
    }

    /// Moves transmits into the network and events into the TUs until both
    /// layers are drained.
    fn pump(&mut self) {
        loop {
            let mut progress = false;
            while let Some(t) = self.client.poll_transmit() {
                self.retransmissions += usize::from(t.retransmission);
                self.net.send(self.now, Side::Server, t.bytes);
                progress = true;
            }
            while let Some(t) = self.server.poll_transmit() {
                self.retransmissions += usize::from(t.retransmission);
                self.net.send(self.now, Side::Client, t.bytes);
                progress = true;
            }
            while let Some(event) = self.client.poll_event() {
                self.client_event(event);
                progress = true;
            }
            while let Some(event) = self.server.poll_event() {
                self.server_event(event);
                progress = true;
            }
            if !progress {
                break;
            }
        }
    }

    fn client_event(&mut self, event: LayerEvent<M, Side>) {
        let now = self.now;
        let tu = &mut self.client_tu;
        match event {
            LayerEvent::Transaction { id, event } => {
                tu.seen.entry(id).or_default().record(&event);
                if id != tu.id {
                    return;
                }
                match event {
                    Event::Provisional(_) if tu.give_up_at.is_none() && tu.cancel_at.is_none() => {
                        // Give up on a ringing INVITE that never gets its final response.
                        tu.give_up_at = Some(now + Duration::from_secs(180));
                    }
                    Event::Final(r) | Event::Additional2xx(r) if r.is_invite_2xx() => {
                        tu.give_up_at = None;
                        Self::ack_2xx(tu, &mut self.net, now, &r);
                    }
                    Event::Final(_) | Event::Timeout(_) | Event::TransportError => tu.give_up_at = None,
                    _ => {}
                }
            }
            LayerEvent::StrayResponse { response, .. } => {
                // A 2xx retransmission after Timer M: the dialog layer ACKs it again.
                if response.is_invite_2xx() {
                    Self::ack_2xx(tu, &mut self.net, now, &response);
                }
            }
            other => panic!("unexpected event at the client: {other:?}"),
        }
    }

    fn ack_2xx(tu: &mut ClientTu<M>, net: &mut Network, now: Instant, response: &M) {
        let ack = tu.ack_2xx.get_or_insert_with(|| tu.request.make_ack_2xx(response, &new_branch()));
        tu.acks_sent += 1;
        net.send(now, Side::Server, ack.to_bytes());
    }

    fn client_timers(&mut self) {
        let now = self.now;
        let tu = &mut self.client_tu;
        if tu.cancel_at.is_some_and(|at| at <= now) {
            tu.cancel_at = None;
            match self.client.state(tu.id) {
                // RFC 3261 §9.1: no CANCEL before a provisional response.
                Some(State::Calling) => tu.cancel_at = Some(now + Duration::from_millis(500)),
                Some(State::Proceeding) => {
                    let cancel = tu.request.make_cancel();
                    let id = self.client.start_client(now, cancel, Side::Server, self.reliable).expect("CANCEL");
                    tu.cancel_id = Some(id);
                    // No final response 64·T1 after the CANCEL: give up (§9.1).
                    tu.give_up_at = Some(now + self.config.transaction_timeout());
                }
                _ => {}
            }
        }
        if tu.give_up_at.is_some_and(|at| at <= now) {
            tu.give_up_at = None;
            if self.client.terminate(tu.id).is_ok() {
                tu.abandoned = true;
            }
        }
    }

    fn server_event(&mut self, event: LayerEvent<M, Side>) {
        let now = self.now;
        let tu = &mut self.server_tu;
        match event {
            LayerEvent::NewRequest { id, request, cancels, .. } => {
                let method = TransactionMessage::method(&request).unwrap_or_default().to_owned();
                *tu.new_requests.entry(method.clone()).or_default() += 1;
                match method.as_str() {
                    "INVITE" => {
                        self.server.send_response(now, id, request.make_response(180)).expect("180");
                        tu.answer_at = Some(now + tu.answer_delay);
                        tu.invite = Some((id, request));
                    }
                    "CANCEL" => {
                        let pending = cancels.filter(|c| self.server.state(*c) == Some(State::Proceeding));
                        let status = if pending.is_some() { 200 } else { 481 };
                        self.server.send_response(now, id, request.make_response(status)).expect("CANCEL answer");
                        if let (Some(invite_id), Some((_, invite))) = (pending, &tu.invite) {
                            self.server.send_response(now, invite_id, invite.make_response(487)).expect("487");
                            tu.sent_final = Some(487);
                        }
                    }
                    _ => {
                        tu.answer_at = Some(now + tu.answer_delay);
                        tu.invite = Some((id, request));
                    }
                }
            }
            LayerEvent::Transaction { id, event } => tu.seen.entry(id).or_default().record(&event),
            LayerEvent::Ack { .. } => {
                tu.acks += 1;
                tu.ok_retransmit = None;
            }
            other => panic!("unexpected event at the server: {other:?}"),
        }
    }

    fn server_timers(&mut self) {
        let now = self.now;
        let tu = &mut self.server_tu;
        if tu.answer_at.is_some_and(|at| at <= now) {
            tu.answer_at = None;
            let (id, request) = tu.invite.clone().expect("a request to answer");
            let status = match tu.scenario {
                Scenario::InviteRejected => 486,
                // Nobody answers: 480 after a minute, unless cancelled before.
                Scenario::InviteCancelled => 480,
                _ => 200,
            };
            if matches!(self.server.state(id), Some(State::Trying | State::Proceeding)) {
                self.server.send_response(now, id, request.make_response(status)).expect("final response");
                tu.sent_final = Some(status);
            }
            if tu.scenario == Scenario::InviteAccepted && !self.reliable {
                let t1 = self.config.t1;
                tu.ok_retransmit = Some((now + t1, t1, now + self.config.transaction_timeout()));
            }
        }
        if let Some((at, interval, give_up)) = tu.ok_retransmit
            && at <= now
        {
            if now >= give_up {
                tu.ok_retransmit = None;
            } else {
                let (id, request) = tu.invite.clone().expect("the INVITE");
                let ok = request.make_response(200);
                match self.server.send_response(now, id, ok.clone()) {
                    Ok(()) => {}
                    Err(TransactionError::UnknownTransaction(_)) => self.net.send(now, Side::Client, ok.to_bytes()),
                    Err(e) => panic!("2xx retransmission refused: {e}"),
                }
                let interval = (interval * 2).min(self.config.t2);
                tu.ok_retransmit = Some((now + interval, interval, give_up));
            }
        }
    }

    /// The caller's outcome for its request, checking it is unique.
    fn outcome(&self) -> Result<Outcome, String> {
        let seen = self.client_tu.seen.get(&self.client_tu.id).ok_or("no events for the request")?;
        if seen.terminated != 1 || seen.after_terminated != 0 {
            return Err(format!("client transaction terminated {} times: {seen:?}", seen.terminated));
        }
        match (seen.finals.as_slice(), seen.timeouts.as_slice(), self.client_tu.abandoned) {
            ([code], [], false) => Ok(Outcome::Final(*code)),
            ([], [Timer::B | Timer::F], false) => Ok(Outcome::Timeout),
            ([], [], true) => Ok(Outcome::Abandoned),
            _ => Err(format!("not exactly one outcome: {seen:?}, abandoned {}", self.client_tu.abandoned)),
        }
    }

    /// Checks the end state of a finished run; returns the caller's outcome.
    fn check(&self) -> Result<Outcome, String> {
        let outcome = self.outcome()?;
        if !self.client.is_empty() || !self.server.is_empty() || !self.net.in_flight.is_empty() {
            return Err(format!(
                "not quiescent: {} client and {} server transactions, {} datagrams",
                self.client.len(),
                self.server.len(),
                self.net.in_flight.len()
            ));
        }
        for (side, seen) in [("client", &self.client_tu.seen), ("server", &self.server_tu.seen)] {
            for (id, s) in seen {
                if s.terminated != 1 || s.after_terminated != 0 || s.finals.len() > 1 || s.transport_errors != 0 {
                    return Err(format!("{side} transaction {id}: {s:?}"));
                }
            }
        }
        for (method, count) in &self.server_tu.new_requests {
            if *count != 1 {
                return Err(format!("the server TU saw {method} {count} times"));
            }
        }
        if let Outcome::Final(code) = outcome {
            let method = TransactionMessage::method(&self.client_tu.request).unwrap_or_default();
            if self.server_tu.new_requests.get(method) != Some(&1) {
                return Err("a final response for a request the server never saw".into());
            }
            if Some(code) != self.server_tu.sent_final {
                return Err(format!("got {code}, the server sent {:?}", self.server_tu.sent_final));
            }
            if method == "INVITE" && (200..300).contains(&code) && self.client_tu.acks_sent == 0 {
                return Err("2xx never acknowledged".into());
            }
        }
        Ok(outcome)
    }
}

fn run_seeds<M: SimMessage>(
    scenario: Scenario,
    loss: f64,
    duplicate: f64,
    seeds: std::ops::Range<u64>,
) -> HashMap<String, usize> {
    let mut tally: HashMap<String, usize> = HashMap::new();
    for seed in seeds {
        let mut sim = Sim::<M>::new(scenario, seed, loss, duplicate, false);
        let result = sim.run().and_then(|_| sim.check());
        match result {
            Ok(outcome) => *tally.entry(format!("{outcome:?}")).or_default() += 1,
            Err(e) => panic!("{scenario:?} loss {loss} seed {seed}: {e}"),
        }
    }
    tally
}

fn completed(tally: &HashMap<String, usize>, code: u16) -> usize {
    tally.get(&format!("{:?}", Outcome::Final(code))).copied().unwrap_or_default()
}

#[test]
fn message_over_a_lossy_duplicating_reordering_network() {
    let tally = run_seeds::<TestMessage>(Scenario::Message, 0.2, 0.1, 0..300);
    assert!(completed(&tally, 200) >= 297, "{tally:?}");
    let tally = run_seeds::<TestMessage>(Scenario::Message, 0.5, 0.2, 1000..1300);
    assert!(completed(&tally, 200) >= 250, "{tally:?}");
}

#[test]
fn rejected_invite_over_a_lossy_network() {
    let tally = run_seeds::<TestMessage>(Scenario::InviteRejected, 0.2, 0.1, 0..300);
    assert!(completed(&tally, 486) >= 297, "{tally:?}");
    let tally = run_seeds::<TestMessage>(Scenario::InviteRejected, 0.5, 0.2, 2000..2300);
    assert!(completed(&tally, 486) >= 250, "{tally:?}");
}

#[test]
fn accepted_invite_over_a_lossy_network() {
    let tally = run_seeds::<TestMessage>(Scenario::InviteAccepted, 0.2, 0.1, 0..300);
    assert!(completed(&tally, 200) >= 297, "{tally:?}");
    let tally = run_seeds::<TestMessage>(Scenario::InviteAccepted, 0.5, 0.2, 3000..3300);
    assert!(completed(&tally, 200) >= 250, "{tally:?}");
}

#[test]
fn cancelled_invite_over_a_lossy_network() {
    let tally = run_seeds::<TestMessage>(Scenario::InviteCancelled, 0.2, 0.1, 0..300);
    assert!(completed(&tally, 487) >= 290, "{tally:?}");
    run_seeds::<TestMessage>(Scenario::InviteCancelled, 0.5, 0.2, 4000..4300);
}

#[test]
fn cancel_matches_and_both_transactions_complete() {
    let mut sim = Sim::<TestMessage>::new(Scenario::InviteCancelled, 7, 0.0, 0.0, false);
    sim.run().unwrap();
    assert_eq!(sim.check().unwrap(), Outcome::Final(487));
    let cancel = sim.client_tu.cancel_id.expect("a CANCEL was sent");
    assert_eq!(sim.client_tu.seen[&cancel].finals, vec![200]);
    assert_eq!(sim.server_tu.new_requests.get("CANCEL"), Some(&1));
}

#[test]
fn black_hole_times_out_cleanly() {
    for scenario in [Scenario::Message, Scenario::InviteRejected] {
        for reliable in [false, true] {
            let mut sim = Sim::<TestMessage>::new(scenario, 1, 1.0, 0.0, reliable);
            let steps = sim.run().unwrap();
            assert_eq!(sim.check().unwrap(), Outcome::Timeout, "{scenario:?}");
            assert_eq!(sim.now - sim.start, Duration::from_secs(32), "Timer B/F is 64·T1");
            let expected_sends = if reliable {
                1
            } else if scenario == Scenario::Message {
                11
            } else {
                7
            };
            assert_eq!(sim.net.sent, expected_sends, "{scenario:?} reliable {reliable}");
            assert!(steps < 20);
        }
    }
}

fn reliable_runs<M: SimMessage>() {
    for (scenario, expected) in [
        (Scenario::Message, Outcome::Final(200)),
        (Scenario::InviteRejected, Outcome::Final(486)),
        (Scenario::InviteAccepted, Outcome::Final(200)),
        (Scenario::InviteCancelled, Outcome::Final(487)),
    ] {
        for seed in 0..50 {
            let mut sim = Sim::<M>::new(scenario, seed, 0.0, 0.0, true);
            sim.run().unwrap();
            assert_eq!(sim.check().unwrap(), expected, "{scenario:?} seed {seed}");
            assert_eq!(sim.retransmissions, 0, "{scenario:?} seed {seed}");
        }
    }
}

#[test]
fn reliable_transport_never_retransmits() {
    reliable_runs::<TestMessage>();
    reliable_runs::<Message>();
}

#[test]
fn real_messages_over_a_lossy_network() {
    for (scenario, code) in [
        (Scenario::Message, 200),
        (Scenario::InviteRejected, 486),
        (Scenario::InviteAccepted, 200),
        (Scenario::InviteCancelled, 487),
    ] {
        let tally = run_seeds::<Message>(scenario, 0.2, 0.1, 0..100);
        assert!(completed(&tally, code) >= 97, "{scenario:?}: {tally:?}");
    }
}

#[test]
fn lossless_exchanges_send_the_minimum() {
    // MESSAGE → 200: two datagrams. INVITE → 180, 486, ACK: four (plus a
    // 100 Trying never, since the TU answers 180 at once).
    let mut sim = Sim::<TestMessage>::new(Scenario::Message, 3, 0.0, 0.0, false);
    sim.run().unwrap();
    sim.check().unwrap();
    assert_eq!(sim.net.sent - sim.retransmissions, 2);
    let mut sim = Sim::<TestMessage>::new(Scenario::InviteRejected, 3, 0.0, 0.0, false);
    sim.run().unwrap();
    sim.check().unwrap();
    assert_eq!(sim.net.sent - sim.retransmissions, 4);
}

#[test]
fn simulation_is_deterministic_per_seed() {
    let trace = |seed| {
        let mut sim = Sim::<TestMessage>::new(Scenario::InviteAccepted, seed, 0.3, 0.2, false);
        let steps = sim.run().unwrap();
        (steps, sim.net.sent, sim.retransmissions, sim.now - sim.start, sim.check().unwrap())
    };
    assert_eq!(trace(42), trace(42));
}

#[test]
fn two_layers_exchange_transactions_in_parallel() {
    // Many concurrent transactions through one pair of layers, lossless and
    // in order: each completes once and the layers empty out.
    let start = Instant::now();
    let mut client: TransactionLayer<TestMessage, Side> = TransactionLayer::new(TimerConfig::default());
    let mut server: TransactionLayer<TestMessage, Side> = TransactionLayer::new(TimerConfig::default());
    let mut ids = Vec::new();
    for n in 0..100u32 {
        let request = TestMessage::request(if n % 2 == 0 { "OPTIONS" } else { "INVITE" }, &new_branch()).with_cseq(n);
        ids.push(client.start_client(start, request, Side::Server, false).unwrap());
    }
    let mut now = start;
    let mut finals: HashMap<TransactionId, usize> = HashMap::new();
    for _ in 0..1000 {
        let mut progress = false;
        while let Some(t) = client.poll_transmit() {
            server.handle_message(now, TestMessage::decode(&t.bytes).unwrap(), Side::Client, false).unwrap();
            progress = true;
        }
        while let Some(event) = server.poll_event() {
            if let LayerEvent::NewRequest { id, request, .. } = event {
                server.send_response(now, id, request.response(404)).unwrap();
            }
            progress = true;
        }
        while let Some(t) = server.poll_transmit() {
            client.handle_message(now, TestMessage::decode(&t.bytes).unwrap(), Side::Server, false).unwrap();
            progress = true;
        }
        while let Some(event) = client.poll_event() {
            if let LayerEvent::Transaction { id, event: Event::Final(_) } = event {
                *finals.entry(id).or_default() += 1;
            }
            progress = true;
        }
        if !progress {
            match client.poll_timeout().into_iter().chain(server.poll_timeout()).min() {
                Some(next) => {
                    now = next;
                    client.handle_timeout(now);
                    server.handle_timeout(now);
                }
                None => break,
            }
        }
    }
    assert!(client.is_empty() && server.is_empty());
    assert_eq!(finals.len(), ids.len());
    assert!(finals.values().all(|&n| n == 1));
}
