//! The client non-INVITE transaction (RFC 3261 §17.1.2).

use std::time::{Duration, Instant};

use super::timer::{Timer, TimerConfig};
use super::types::{Output, State, TransactionError, Transmit};
use super::{Event, TransactionMessage};

/// A client non-INVITE transaction (REGISTER, MESSAGE, OPTIONS, BYE,
/// CANCEL...): sends the request, retransmits it on unreliable transports
/// (Timer E: T1 doubling up to T2, T2 once a provisional response arrived)
/// until a final response or Timer F, and absorbs response retransmissions
/// for T4 (Timer K).
///
/// ```text
/// Trying --1xx--> Proceeding --200-699--> Completed --Timer K--> Terminated
///    \_______________200-699_____________/
///    Trying/Proceeding --Timer F / transport error--> Terminated
/// ```
///
/// Driven exactly like [`ClientInvite`](super::ClientInvite): `handle_*`
/// with the current time, then drain `poll_transmit`, `poll_event`, and arm
/// a timer for `poll_timeout`.
#[derive(Clone, Debug)]
pub struct ClientNonInvite<M> {
    state: State,
    config: TimerConfig,
    reliable: bool,
    request: M,
    request_bytes: Vec<u8>,
    interval_e: Duration,
    out: Output<M>,
}

super::types::machine_common!(ClientNonInvite);

impl<M: TransactionMessage> ClientNonInvite<M> {
    /// Starts the transaction at `now`: queues the request for sending and
    /// arms Timers E (unreliable transports only) and F. INVITE and ACK are
    /// refused.
    pub fn new(now: Instant, request: M, config: &TimerConfig, reliable: bool) -> Result<Self, TransactionError> {
        if !request.is_request() {
            return Err(TransactionError::NotARequest);
        }
        match request.method() {
            Some(method @ ("INVITE" | "ACK")) => return Err(TransactionError::WrongMethod(method.to_owned())),
            Some(_) => {}
            None => return Err(TransactionError::MissingField("method")),
        }
        let config = config.sanitized();
        let request_bytes = request.to_bytes();
        let mut out = Output::default();
        out.send(&request_bytes, false);
        if !reliable {
            out.timers.set(Timer::E, now + config.t1);
        }
        out.timers.set(Timer::F, now + config.transaction_timeout());
        Ok(ClientNonInvite {
            state: State::Trying,
            config,
            reliable,
            request,
            request_bytes,
            interval_e: config.t1,
            out,
        })
    }

    /// A response matched to this transaction. Requests and responses with
    /// an invalid status are ignored; in Completed, retransmitted responses
    /// are absorbed.
    pub fn handle_response(&mut self, now: Instant, response: M) {
        if response.is_request() {
            return;
        }
        let Some(code) = response.status_code().filter(|c| (100..700).contains(c)) else {
            return;
        };
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return;
        }
        if code < 200 {
            self.state = State::Proceeding;
            self.out.event(Event::Provisional(response));
            return;
        }
        self.state = State::Completed;
        self.out.timers.stop(Timer::E);
        self.out.timers.stop(Timer::F);
        self.out.event(Event::Final(response));
        if self.reliable {
            self.terminate();
        } else {
            self.out.timers.set(Timer::K, now + self.config.t4);
        }
    }

    /// Fires every timer due at `now`. A timeout that is early, late,
    /// repeated or for a timer this machine does not use is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.out.timers.pop_expired(now) {
            match (timer, self.state) {
                (Timer::E, State::Trying | State::Proceeding) => {
                    self.out.send(&self.request_bytes, true);
                    self.interval_e = if self.state == State::Trying {
                        self.interval_e.saturating_mul(2).min(self.config.t2)
                    } else {
                        self.config.t2
                    };
                    self.out.timers.set(Timer::E, now + self.interval_e);
                }
                (Timer::F, State::Trying | State::Proceeding) => {
                    self.out.event(Event::Timeout(Timer::F));
                    self.terminate();
                }
                (Timer::K, State::Completed) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The transport failed to send the request: the TU is told and the
    /// transaction ends (RFC 3261 §17.1.4).
    pub fn handle_transport_error(&mut self, _now: Instant) {
        if matches!(self.state, State::Trying | State::Proceeding) {
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

    fn register() -> TestMessage {
        TestMessage::request("REGISTER", "z9hG4bKreg")
    }

    fn drain(tx: &mut ClientNonInvite<TestMessage>) -> (Vec<Transmit>, Vec<Event<TestMessage>>) {
        let transmits = std::iter::from_fn(|| tx.poll_transmit()).collect();
        let events = std::iter::from_fn(|| tx.poll_event()).collect();
        (transmits, events)
    }

    /// Runs timers on time until `until`, returning when each retransmission went out.
    fn retransmission_times(tx: &mut ClientNonInvite<TestMessage>, start: Instant, until: Duration) -> Vec<Duration> {
        let mut at = Vec::new();
        while let Some(deadline) = tx.poll_timeout() {
            if deadline - start > until {
                break;
            }
            tx.handle_timeout(deadline);
            for t in drain(tx).0 {
                assert!(t.retransmission);
                at.push(deadline - start);
            }
        }
        at
    }

    #[test]
    fn refuses_invite_and_ack() {
        let now = Instant::now();
        let config = TimerConfig::default();
        for method in ["INVITE", "ACK"] {
            let request = TestMessage::request(method, "z9hG4bKx");
            assert_eq!(
                ClientNonInvite::new(now, request, &config, false).err(),
                Some(TransactionError::WrongMethod(method.into()))
            );
        }
    }

    #[test]
    fn timer_e_doubles_and_caps_at_t2_then_timer_f() {
        let start = Instant::now();
        let mut tx = ClientNonInvite::new(start, register(), &TimerConfig::default(), false).unwrap();
        assert_eq!(drain(&mut tx).0.len(), 1);
        let at = retransmission_times(&mut tx, start, Duration::from_secs(40));
        // Intervals 0.5, 1, 2, 4, 4, 4... s: 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5 s.
        let mut expected = vec![500 * MS, 1500 * MS, 3500 * MS];
        let mut t = 7500 * MS;
        while t < Duration::from_secs(32) {
            expected.push(t);
            t += Duration::from_secs(4);
        }
        assert_eq!(at, expected);
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(drain(&mut tx).1, vec![]);
    }

    #[test]
    fn timer_f_times_out_with_408() {
        let start = Instant::now();
        let mut tx = ClientNonInvite::new(start, register(), &TimerConfig::default(), true).unwrap();
        drain(&mut tx);
        assert_eq!(tx.poll_timeout(), Some(start + Duration::from_secs(32)));
        tx.handle_timeout(start + Duration::from_secs(32));
        let (sent, events) = drain(&mut tx);
        assert!(sent.is_empty());
        assert_eq!(events, vec![Event::Timeout(Timer::F), Event::Terminated]);
        assert_eq!(events[0].status_code(), Some(408));
    }

    #[test]
    fn proceeding_retransmits_every_t2() {
        let start = Instant::now();
        let mut tx = ClientNonInvite::new(start, register(), &TimerConfig::default(), false).unwrap();
        drain(&mut tx);
        tx.handle_timeout(start + 500 * MS); // E: next in 1 s
        drain(&mut tx);
        tx.handle_response(start + 600 * MS, register().response(100));
        assert_eq!(tx.state(), State::Proceeding);
        assert!(matches!(drain(&mut tx).1.as_slice(), [Event::Provisional(_)]));
        let at = retransmission_times(&mut tx, start, Duration::from_secs(12));
        assert_eq!(at, vec![1500 * MS, 5500 * MS, 9500 * MS]);
    }

    #[test]
    fn final_response_completes_and_absorbs_retransmissions_until_timer_k() {
        let start = Instant::now();
        let mut tx = ClientNonInvite::new(start, register(), &TimerConfig::default(), false).unwrap();
        drain(&mut tx);
        let ok = register().response(200);
        tx.handle_response(start + 100 * MS, ok.clone());
        assert_eq!(tx.state(), State::Completed);
        assert_eq!(drain(&mut tx).1, vec![Event::Final(ok.clone())]);
        tx.handle_response(start + 200 * MS, ok.clone());
        tx.handle_response(start + 200 * MS, register().response(100));
        assert_eq!(drain(&mut tx), (vec![], vec![]));
        assert_eq!(tx.poll_timeout(), Some(start + 100 * MS + Duration::from_secs(5)));
        tx.handle_timeout(start + 100 * MS + Duration::from_secs(5));
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(drain(&mut tx).1, vec![Event::Terminated]);
    }

    #[test]
    fn reliable_transport_no_retransmissions_and_zero_timer_k() {
        let start = Instant::now();
        let mut tx = ClientNonInvite::new(start, register(), &TimerConfig::default(), true).unwrap();
        assert_eq!(drain(&mut tx).0.len(), 1);
        tx.handle_timeout(start + Duration::from_secs(10));
        assert!(drain(&mut tx).0.is_empty());
        tx.handle_response(start + Duration::from_secs(11), register().response(401));
        assert!(matches!(drain(&mut tx).1.as_slice(), [Event::Final(_), Event::Terminated]));
    }

    #[test]
    fn transport_error_terminates_once() {
        let start = Instant::now();
        let mut tx = ClientNonInvite::new(start, register(), &TimerConfig::default(), false).unwrap();
        drain(&mut tx);
        tx.handle_transport_error(start);
        tx.handle_transport_error(start);
        assert_eq!(drain(&mut tx).1, vec![Event::TransportError, Event::Terminated]);
    }

    #[test]
    fn early_late_and_repeated_timeouts_are_harmless() {
        let start = Instant::now();
        let mut tx = ClientNonInvite::new(start, register(), &TimerConfig::default(), false).unwrap();
        drain(&mut tx);
        tx.handle_timeout(start + 100 * MS);
        assert!(drain(&mut tx).0.is_empty());
        // Very late: E fires once (not once per missed interval), F times out.
        tx.handle_timeout(start + Duration::from_secs(3600));
        tx.handle_timeout(start + Duration::from_secs(3600));
        let (sent, events) = drain(&mut tx);
        assert_eq!(sent.len(), 1);
        assert_eq!(events, vec![Event::Timeout(Timer::F), Event::Terminated]);
    }
}
