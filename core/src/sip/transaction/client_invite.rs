//! The client INVITE transaction (RFC 3261 §17.1.1, with the Accepted state
//! of RFC 6026 §7.2).

use std::time::{Duration, Instant};

use super::timer::{Timer, TimerConfig};
use super::types::{Output, State, TransactionError, Transmit, is_final};
use super::{Event, TransactionMessage};

/// A client INVITE transaction: sends the INVITE, retransmits it on
/// unreliable transports (Timer A, doubling, until Timer B), passes responses
/// to the TU and acknowledges 3xx–6xx final responses itself.
///
/// ```text
/// Calling --1xx--> Proceeding --300-699 / send ACK--> Completed --Timer D--> Terminated
///    |  \______________________|___2xx______________> Accepted --Timer M--> Terminated
///    +--Timer B / transport error--> Terminated
/// ```
///
/// Sans-IO: feed it with [`handle_response`](Self::handle_response),
/// [`handle_timeout`](Self::handle_timeout) and
/// [`handle_transport_error`](Self::handle_transport_error), each with the
/// current time (which must never go backwards); after every call drain
/// [`poll_transmit`](Self::poll_transmit) and [`poll_event`](Self::poll_event)
/// until they return `None`, then arm a timer for
/// [`poll_timeout`](Self::poll_timeout). The INVITE is queued for sending by
/// [`new`](Self::new). Not thread-safe by itself: one owner drives it.
///
/// Timer B runs in the Calling state only: once a provisional response has
/// arrived the transaction waits for the final response as long as the TU
/// lets it (the TU ends a ringing INVITE with CANCEL), as in RFC 3261 Figure 5.
#[derive(Clone, Debug)]
pub struct ClientInvite<M> {
    state: State,
    config: TimerConfig,
    reliable: bool,
    request: M,
    request_bytes: Vec<u8>,
    ack_bytes: Option<Vec<u8>>,
    interval_a: Duration,
    out: Output<M>,
}

super::types::machine_common!(ClientInvite);

impl<M: TransactionMessage> ClientInvite<M> {
    /// Starts the transaction at `now`: queues the INVITE for sending and arms
    /// Timers A (unreliable transports only) and B. `reliable` is the
    /// transport's kind (TCP, TLS: `true`; UDP: `false`).
    pub fn new(now: Instant, request: M, config: &TimerConfig, reliable: bool) -> Result<Self, TransactionError> {
        if !request.is_request() {
            return Err(TransactionError::NotARequest);
        }
        match request.method() {
            Some("INVITE") => {}
            Some(other) => return Err(TransactionError::WrongMethod(other.to_owned())),
            None => return Err(TransactionError::MissingField("method")),
        }
        let config = config.sanitized();
        let request_bytes = request.to_bytes();
        let mut out = Output::default();
        out.send(&request_bytes, false);
        if !reliable {
            out.timers.set(Timer::A, now + config.t1);
        }
        out.timers.set(Timer::B, now + config.transaction_timeout());
        Ok(ClientInvite {
            state: State::Calling,
            config,
            reliable,
            request,
            request_bytes,
            ack_bytes: None,
            interval_a: config.t1,
            out,
        })
    }

    /// A response matched to this transaction (by the layer, RFC 3261
    /// §17.1.3). Requests and responses with an invalid status are ignored.
    pub fn handle_response(&mut self, now: Instant, response: M) {
        if response.is_request() {
            return;
        }
        let Some(code) = response.status_code().filter(|c| (100..700).contains(c)) else {
            return;
        };
        match self.state {
            State::Calling | State::Proceeding => {
                self.out.timers.stop(Timer::A);
                self.out.timers.stop(Timer::B);
                if code < 200 {
                    self.state = State::Proceeding;
                    self.out.event(Event::Provisional(response));
                } else if code < 300 {
                    self.state = State::Accepted;
                    self.out.timers.set(Timer::M, now + self.config.transaction_timeout());
                    self.out.event(Event::Final(response));
                } else {
                    self.state = State::Completed;
                    let ack = self.request.build_ack(&response).map(|ack| ack.to_bytes());
                    match &ack {
                        Some(bytes) => self.out.send(bytes, false),
                        None => tracing::warn!("could not build the ACK for a {code} response"),
                    }
                    self.ack_bytes = ack;
                    self.out.event(Event::Final(response));
                    let timer_d = if self.reliable { Duration::ZERO } else { self.config.timer_d };
                    if timer_d.is_zero() {
                        self.terminate();
                    } else {
                        self.out.timers.set(Timer::D, now + timer_d);
                    }
                }
            }
            State::Completed if code >= 300 && is_final(code) => {
                if let Some(ack) = &self.ack_bytes {
                    self.out.send(ack, true);
                }
            }
            State::Accepted if (200..300).contains(&code) => self.out.event(Event::Additional2xx(response)),
            _ => {}
        }
    }

    /// Fires every timer due at `now`. A timeout that is early, late,
    /// repeated or for a timer this machine does not use is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.out.timers.pop_expired(now) {
            match (timer, self.state) {
                (Timer::A, State::Calling) => {
                    self.out.send(&self.request_bytes, true);
                    self.interval_a = self.interval_a.saturating_mul(2);
                    self.out.timers.set(Timer::A, now + self.interval_a);
                }
                (Timer::B, State::Calling) => {
                    self.out.event(Event::Timeout(Timer::B));
                    self.terminate();
                }
                (Timer::D, State::Completed) | (Timer::M, State::Accepted) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The transport failed to send the INVITE or the ACK: the TU is told
    /// and the transaction ends (RFC 3261 §17.1.4). Ignored once a 2xx has
    /// been received (the dialog layer sends its own ACKs).
    pub fn handle_transport_error(&mut self, _now: Instant) {
        if matches!(self.state, State::Calling | State::Proceeding | State::Completed) {
            self.out.event(Event::TransportError);
            self.terminate();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_message::TestMessage;
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn invite() -> TestMessage {
        TestMessage::request("INVITE", "z9hG4bKinvite")
    }

    fn drain(tx: &mut ClientInvite<TestMessage>) -> (Vec<Transmit>, Vec<Event<TestMessage>>) {
        let transmits = std::iter::from_fn(|| tx.poll_transmit()).collect();
        let events = std::iter::from_fn(|| tx.poll_event()).collect();
        (transmits, events)
    }

    fn sent_methods(transmits: &[Transmit]) -> Vec<String> {
        transmits
            .iter()
            .map(|t| {
                let m = TestMessage::decode(&t.bytes).expect("test message");
                m.method.unwrap_or_else(|| m.status.to_string())
            })
            .collect()
    }

    #[test]
    fn rejects_other_methods_and_responses() {
        let now = Instant::now();
        let config = TimerConfig::default();
        let options = TestMessage::request("OPTIONS", "z9hG4bKx");
        assert_eq!(
            ClientInvite::new(now, options.clone(), &config, false).err(),
            Some(TransactionError::WrongMethod("OPTIONS".into()))
        );
        assert_eq!(
            ClientInvite::new(now, options.response(200), &config, false).err(),
            Some(TransactionError::NotARequest)
        );
    }

    #[test]
    fn timer_a_doubles_without_cap_until_timer_b() {
        let start = Instant::now();
        let config = TimerConfig::default();
        let mut tx = ClientInvite::new(start, invite(), &config, false).unwrap();
        let (sent, _) = drain(&mut tx);
        assert_eq!(sent.len(), 1);
        assert!(!sent[0].retransmission);
        assert_eq!(tx.state(), State::Calling);

        // Retransmissions at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s: intervals 1, 2, 4, 8, 16 s
        // (Timer A is not capped at T2), then Timer B at 32 s.
        let mut at = Vec::new();
        let mut now = start;
        while let Some(deadline) = tx.poll_timeout() {
            now = deadline;
            tx.handle_timeout(now);
            let (sent, _) = drain(&mut tx);
            for t in &sent {
                assert!(t.retransmission);
                at.push(now - start);
            }
            if tx.state() == State::Terminated {
                break;
            }
        }
        let expected: Vec<Duration> = [500, 1500, 3500, 7500, 15500, 31500].iter().map(|&ms| ms * MS).collect();
        assert_eq!(at, expected);
        assert_eq!(now - start, Duration::from_secs(32));
        assert_eq!(tx.state(), State::Terminated);
    }

    #[test]
    fn timer_b_times_out_with_408() {
        let start = Instant::now();
        let mut tx = ClientInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        drain(&mut tx);
        tx.handle_timeout(start + Duration::from_secs(32));
        let (sent, events) = drain(&mut tx);
        // A late timeout fires the pending Timer A once, then B.
        assert_eq!(sent.len(), 1);
        assert_eq!(events, vec![Event::Timeout(Timer::B), Event::Terminated]);
        assert_eq!(events[0].status_code(), Some(408));
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn provisional_stops_retransmissions_and_timer_b() {
        let start = Instant::now();
        let mut tx = ClientInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        drain(&mut tx);
        tx.handle_response(start + 100 * MS, invite().response(180));
        assert_eq!(tx.state(), State::Proceeding);
        let (_, events) = drain(&mut tx);
        assert!(matches!(events.as_slice(), [Event::Provisional(r)] if r.status == 180));
        assert_eq!(tx.poll_timeout(), None);
        tx.handle_timeout(start + Duration::from_secs(100));
        assert_eq!(drain(&mut tx), (vec![], vec![]));
        tx.handle_response(start + Duration::from_secs(101), invite().response(183));
        assert_eq!(tx.state(), State::Proceeding);
    }

    #[test]
    fn non_2xx_final_is_acked_and_retransmissions_absorbed() {
        let start = Instant::now();
        let mut tx = ClientInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        drain(&mut tx);
        tx.handle_response(start + 10 * MS, invite().response(100));
        drain(&mut tx);
        let busy = invite().response(486);
        tx.handle_response(start + 20 * MS, busy.clone());
        assert_eq!(tx.state(), State::Completed);
        let (sent, events) = drain(&mut tx);
        assert_eq!(sent_methods(&sent), vec!["ACK"]);
        let ack = TestMessage::decode(&sent[0].bytes).unwrap();
        assert_eq!(ack.to_tag.as_deref(), Some("to-1"));
        assert_eq!(ack.cseq_method, "ACK");
        assert_eq!(ack.vias, invite().vias);
        assert_eq!(events, vec![Event::Final(busy.clone())]);

        // A retransmitted 486 re-sends the ACK and is not passed up again.
        tx.handle_response(start + 600 * MS, busy.clone());
        let (sent, events) = drain(&mut tx);
        assert_eq!(sent_methods(&sent), vec!["ACK"]);
        assert!(sent[0].retransmission);
        assert!(events.is_empty());

        assert_eq!(tx.poll_timeout(), Some(start + 20 * MS + Duration::from_secs(32)));
        tx.handle_timeout(start + Duration::from_secs(10));
        assert_eq!(tx.state(), State::Completed);
        tx.handle_timeout(start + 20 * MS + Duration::from_secs(32));
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(drain(&mut tx).1, vec![Event::Terminated]);
    }

    #[test]
    fn reliable_transport_no_retransmissions_and_zero_timer_d() {
        let start = Instant::now();
        let mut tx = ClientInvite::new(start, invite(), &TimerConfig::default(), true).unwrap();
        let (sent, _) = drain(&mut tx);
        assert_eq!(sent.len(), 1);
        assert_eq!(tx.poll_timeout(), Some(start + Duration::from_secs(32)));
        tx.handle_timeout(start + Duration::from_secs(5));
        assert!(drain(&mut tx).0.is_empty());
        tx.handle_response(start + Duration::from_secs(6), invite().response(603));
        let (sent, events) = drain(&mut tx);
        assert_eq!(sent_methods(&sent), vec!["ACK"]);
        assert!(matches!(events.as_slice(), [Event::Final(_), Event::Terminated]));
        assert_eq!(tx.state(), State::Terminated);
    }

    #[test]
    fn accepted_passes_every_2xx_until_timer_m() {
        let start = Instant::now();
        let mut tx = ClientInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        drain(&mut tx);
        let ok = invite().response(200);
        tx.handle_response(start + 50 * MS, ok.clone());
        assert_eq!(tx.state(), State::Accepted);
        let (sent, events) = drain(&mut tx);
        assert!(sent.is_empty(), "the transaction never ACKs a 2xx");
        assert_eq!(events, vec![Event::Final(ok.clone())]);
        let forked = ok.clone().with_to_tag(Some("other-fork"));
        tx.handle_response(start + 60 * MS, ok.clone());
        tx.handle_response(start + 70 * MS, forked.clone());
        tx.handle_response(start + 80 * MS, invite().response(486));
        tx.handle_response(start + 80 * MS, invite().response(180));
        let (sent, events) = drain(&mut tx);
        assert!(sent.is_empty());
        assert_eq!(events, vec![Event::Additional2xx(ok), Event::Additional2xx(forked)]);
        assert_eq!(tx.poll_timeout(), Some(start + 50 * MS + Duration::from_secs(32)));
        tx.handle_timeout(start + 50 * MS + Duration::from_secs(32));
        assert_eq!(drain(&mut tx).1, vec![Event::Terminated]);
    }

    #[test]
    fn transport_error_terminates() {
        let start = Instant::now();
        let mut tx = ClientInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        drain(&mut tx);
        tx.handle_transport_error(start);
        let (_, events) = drain(&mut tx);
        assert_eq!(events, vec![Event::TransportError, Event::Terminated]);
        assert_eq!(events[0].status_code(), Some(503));
        tx.handle_transport_error(start);
        tx.handle_response(start, invite().response(200));
        tx.handle_timeout(start + Duration::from_secs(100));
        assert_eq!(drain(&mut tx), (vec![], vec![]));
    }

    #[test]
    fn early_and_repeated_timeouts_are_harmless() {
        let start = Instant::now();
        let mut tx = ClientInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        drain(&mut tx);
        tx.handle_timeout(start);
        tx.handle_timeout(start + 499 * MS);
        assert!(drain(&mut tx).0.is_empty());
        tx.handle_timeout(start + 500 * MS);
        tx.handle_timeout(start + 500 * MS);
        tx.handle_timeout(start + 500 * MS);
        assert_eq!(drain(&mut tx).0.len(), 1);
        assert_eq!(tx.poll_timeout(), Some(start + 1500 * MS));
    }
}
