//! The server INVITE transaction (RFC 3261 §17.2.1, with the Accepted state
//! of RFC 6026 §7.1).

use std::time::{Duration, Instant};

use super::timer::{Timer, TimerConfig};
use super::types::{Output, State, TransactionError, Transmit};
use super::{Event, TransactionMessage};

/// A server INVITE transaction: sends the TU's responses, answers INVITE
/// retransmissions with the last response, retransmits a 3xx–6xx final
/// response on unreliable transports until the ACK arrives (Timer G, T1
/// doubling up to T2; Timer H gives up after 64·T1), and absorbs the ACK's
/// retransmissions (Timer I).
///
/// ```text
/// Proceeding --300-699 from TU--> Completed --ACK--> Confirmed --Timer I--> Terminated
///     |                              +--Timer H / transport error--> Terminated
///     +--2xx from TU--> Accepted --Timer L--> Terminated
/// ```
///
/// 100 Trying: RFC 3261 §17.2.1 asks for a 100 Trying unless the TU answers
/// within 200 ms. This machine arms [`Timer::Trying`] for
/// [`TimerConfig::trying_delay`] (200 ms by default) and sends
/// `100 Trying` (built with [`TransactionMessage::build_response`]) when it
/// fires and the TU has not sent a response; `Some(Duration::ZERO)` sends it
/// at once from [`new`](Self::new), `None` leaves it to the TU. The default
/// saves a message for requests the TU answers at once (a 486 from a busy
/// UA, a 401 challenge) while still stopping the client's retransmissions
/// well before Timer A's first firing at T1.
///
/// RFC 6026: after a 2xx the transaction stays Accepted for 64·T1 (Timer L):
/// it absorbs INVITE retransmissions, passes matching ACKs to the TU as
/// [`Event::Ack`] and sends the 2xx retransmissions the TU hands it (the TU
/// retransmits a 2xx itself, RFC 3261 §13.3.1.4).
///
/// Driven like [`ClientInvite`](super::ClientInvite): `handle_*` and
/// [`send_response`](Self::send_response) with the current time, then drain
/// `poll_transmit`, `poll_event`, and arm a timer for `poll_timeout`.
#[derive(Clone, Debug)]
pub struct ServerInvite<M> {
    state: State,
    config: TimerConfig,
    reliable: bool,
    request: M,
    last_response: Option<M>,
    last_response_bytes: Option<Vec<u8>>,
    interval_g: Duration,
    out: Output<M>,
}

super::types::machine_common!(ServerInvite);

impl<M: TransactionMessage> ServerInvite<M> {
    /// Creates the transaction for an INVITE received at `now` from a
    /// transport of the given kind. The TU learns of the INVITE from its
    /// caller (the layer reports it as a new request); the transaction emits
    /// no event for it.
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
        let mut tx = ServerInvite {
            state: State::Proceeding,
            config,
            reliable,
            request,
            last_response: None,
            last_response_bytes: None,
            interval_g: config.t1,
            out: Output::default(),
        };
        match config.trying_delay {
            Some(delay) if delay.is_zero() => tx.send_trying(),
            Some(delay) => tx.out.timers.set(Timer::Trying, now + delay),
            None => {}
        }
        Ok(tx)
    }

    /// The last response sent (provisional or final), if any.
    pub fn last_response(&self) -> Option<&M> {
        self.last_response.as_ref()
    }

    /// A request matched to this transaction: a retransmitted INVITE (answered
    /// with the last response, or absorbed) or an ACK (Completed → Confirmed;
    /// in Accepted, passed to the TU). Other input is ignored.
    pub fn handle_request(&mut self, now: Instant, request: M) {
        if !request.is_request() {
            return;
        }
        match (request.method(), self.state) {
            (Some("INVITE"), State::Proceeding | State::Completed) => {
                self.out.event(Event::RetransmissionAbsorbed);
                if let Some(bytes) = &self.last_response_bytes {
                    self.out.send(bytes, true);
                }
            }
            (Some("INVITE"), State::Confirmed | State::Accepted) => self.out.event(Event::RetransmissionAbsorbed),
            (Some("ACK"), State::Completed) => {
                self.state = State::Confirmed;
                self.out.timers.stop(Timer::G);
                self.out.timers.stop(Timer::H);
                if self.reliable {
                    self.terminate();
                } else {
                    self.out.timers.set(Timer::I, now + self.config.t4);
                }
            }
            (Some("ACK"), State::Confirmed) => self.out.event(Event::RetransmissionAbsorbed),
            (Some("ACK"), State::Accepted) => self.out.event(Event::Ack(request)),
            _ => {}
        }
    }

    /// Sends a response from the TU. Proceeding takes 1xx (stays), 2xx (→
    /// Accepted, Timer L) and 3xx–6xx (→ Completed, Timers G and H); Accepted
    /// takes 2xx retransmissions. Anything else is refused with
    /// [`TransactionError::InvalidState`] and nothing is sent.
    pub fn send_response(&mut self, now: Instant, response: M) -> Result<(), TransactionError> {
        if response.is_request() {
            return Err(TransactionError::NotAResponse);
        }
        let code = response
            .status_code()
            .filter(|c| (100..700).contains(c))
            .ok_or(TransactionError::MissingField("status code"))?;
        match (self.state, code) {
            (State::Proceeding, _) => {
                self.out.timers.stop(Timer::Trying);
                let bytes = response.to_bytes();
                self.out.send(&bytes, false);
                self.last_response = Some(response);
                self.last_response_bytes = Some(bytes);
                if (200..300).contains(&code) {
                    self.state = State::Accepted;
                    self.out.timers.set(Timer::L, now + self.config.transaction_timeout());
                } else if code >= 300 {
                    self.state = State::Completed;
                    if !self.reliable {
                        self.out.timers.set(Timer::G, now + self.config.t1);
                    }
                    self.out.timers.set(Timer::H, now + self.config.transaction_timeout());
                }
                Ok(())
            }
            (State::Accepted, 200..=299) => {
                self.out.send(&response.to_bytes(), true);
                Ok(())
            }
            (state, _) => Err(TransactionError::InvalidState(state)),
        }
    }

    /// Fires every timer due at `now`. A timeout that is early, late,
    /// repeated or for a timer this machine does not use is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.out.timers.pop_expired(now) {
            match (timer, self.state) {
                (Timer::Trying, State::Proceeding) if self.last_response.is_none() => self.send_trying(),
                (Timer::G, State::Completed) => {
                    if let Some(bytes) = &self.last_response_bytes {
                        self.out.send(bytes, true);
                    }
                    self.interval_g = self.interval_g.saturating_mul(2).min(self.config.t2);
                    self.out.timers.set(Timer::G, now + self.interval_g);
                }
                (Timer::H, State::Completed) => {
                    self.out.event(Event::Timeout(Timer::H));
                    self.terminate();
                }
                (Timer::I, State::Confirmed) | (Timer::L, State::Accepted) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The transport failed to send a response (RFC 3261 §17.2.4): the TU
    /// is told; the transaction ends, except in Accepted (RFC 6026), where
    /// it keeps absorbing INVITE retransmissions until Timer L.
    pub fn handle_transport_error(&mut self, _now: Instant) {
        match self.state {
            State::Proceeding | State::Completed => {
                self.out.event(Event::TransportError);
                self.terminate();
            }
            State::Accepted => self.out.event(Event::TransportError),
            _ => {}
        }
    }

    fn send_trying(&mut self) {
        match self.request.build_response(100, "Trying") {
            Some(trying) => {
                let bytes = trying.to_bytes();
                self.out.send(&bytes, false);
                self.last_response = Some(trying);
                self.last_response_bytes = Some(bytes);
            }
            None => tracing::warn!("could not build 100 Trying"),
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

    fn ack() -> TestMessage {
        invite().build_ack(&invite().response(486)).unwrap()
    }

    fn drain(tx: &mut ServerInvite<TestMessage>) -> (Vec<Transmit>, Vec<Event<TestMessage>>) {
        let transmits = std::iter::from_fn(|| tx.poll_transmit()).collect();
        let events = std::iter::from_fn(|| tx.poll_event()).collect();
        (transmits, events)
    }

    fn statuses(transmits: &[Transmit]) -> Vec<u16> {
        transmits.iter().map(|t| TestMessage::decode(&t.bytes).unwrap().status).collect()
    }

    #[test]
    fn sends_100_trying_after_200_ms_if_the_tu_is_silent() {
        let start = Instant::now();
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        assert_eq!(tx.state(), State::Proceeding);
        assert_eq!(drain(&mut tx), (vec![], vec![]));
        assert_eq!(tx.poll_timeout(), Some(start + 200 * MS));
        tx.handle_timeout(start + 199 * MS);
        assert!(drain(&mut tx).0.is_empty());
        tx.handle_timeout(start + 200 * MS);
        assert_eq!(statuses(&drain(&mut tx).0), vec![100]);
        assert_eq!(tx.last_response().map(|r| r.status), Some(100));
        // A retransmitted INVITE gets the 100 again.
        tx.handle_request(start + 500 * MS, invite());
        let (sent, events) = drain(&mut tx);
        assert_eq!(statuses(&sent), vec![100]);
        assert!(sent[0].retransmission);
        assert_eq!(events, vec![Event::RetransmissionAbsorbed]);
    }

    #[test]
    fn no_100_trying_when_the_tu_answers_first() {
        let start = Instant::now();
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        tx.send_response(start + 10 * MS, invite().response(180)).unwrap();
        tx.handle_timeout(start + 200 * MS);
        assert_eq!(statuses(&drain(&mut tx).0), vec![180]);
    }

    #[test]
    fn trying_delay_zero_and_none() {
        let start = Instant::now();
        let now = TimerConfig { trying_delay: Some(Duration::ZERO), ..TimerConfig::default() };
        let mut tx = ServerInvite::new(start, invite(), &now, false).unwrap();
        assert_eq!(statuses(&drain(&mut tx).0), vec![100]);
        let never = TimerConfig { trying_delay: None, ..TimerConfig::default() };
        let mut tx = ServerInvite::new(start, invite(), &never, false).unwrap();
        assert_eq!(tx.poll_timeout(), None);
        tx.handle_timeout(start + Duration::from_secs(1));
        assert!(drain(&mut tx).0.is_empty());
    }

    #[test]
    fn retransmission_before_any_response_is_absorbed_silently() {
        let start = Instant::now();
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        tx.handle_request(start + 50 * MS, invite());
        assert_eq!(drain(&mut tx), (vec![], vec![Event::RetransmissionAbsorbed]));
    }

    #[test]
    fn non_2xx_final_timer_g_schedule_then_ack_confirms_then_timer_i() {
        let start = Instant::now();
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        tx.send_response(start, invite().response(486)).unwrap();
        assert_eq!(tx.state(), State::Completed);
        assert_eq!(statuses(&drain(&mut tx).0), vec![486]);
        // Timer G: 0.5, 1.5, 3.5, 7.5, 11.5 s (doubling, capped at T2 = 4 s).
        let mut at = Vec::new();
        while let Some(deadline) = tx.poll_timeout() {
            if deadline - start > Duration::from_secs(12) {
                break;
            }
            tx.handle_timeout(deadline);
            for t in drain(&mut tx).0 {
                assert!(t.retransmission);
                at.push(deadline - start);
            }
        }
        assert_eq!(at, vec![500 * MS, 1500 * MS, 3500 * MS, 7500 * MS, 11500 * MS]);
        // A retransmitted INVITE gets the final response again.
        tx.handle_request(start + Duration::from_secs(12), invite());
        assert_eq!(statuses(&drain(&mut tx).0), vec![486]);
        // The ACK confirms; G and H stop; I runs for T4.
        let ack_at = start + Duration::from_secs(12);
        tx.handle_request(ack_at, ack());
        assert_eq!(tx.state(), State::Confirmed);
        assert_eq!(tx.poll_timeout(), Some(ack_at + Duration::from_secs(5)));
        tx.handle_request(ack_at + MS, ack());
        tx.handle_request(ack_at + MS, invite());
        let (sent, events) = drain(&mut tx);
        assert!(sent.is_empty());
        assert_eq!(events, vec![Event::RetransmissionAbsorbed, Event::RetransmissionAbsorbed]);
        tx.handle_timeout(ack_at + Duration::from_secs(5));
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(drain(&mut tx).1, vec![Event::Terminated]);
    }

    #[test]
    fn timer_h_reports_missing_ack() {
        let start = Instant::now();
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), true).unwrap();
        tx.send_response(start, invite().response(500)).unwrap();
        drain(&mut tx);
        assert_eq!(tx.poll_timeout(), Some(start + Duration::from_secs(32)));
        tx.handle_timeout(start + Duration::from_secs(32));
        let (sent, events) = drain(&mut tx);
        assert!(sent.is_empty(), "reliable transport: no retransmissions");
        assert_eq!(events, vec![Event::Timeout(Timer::H), Event::Terminated]);
        assert_eq!(events[0].status_code(), None);
    }

    #[test]
    fn reliable_ack_terminates_at_once() {
        let start = Instant::now();
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), true).unwrap();
        tx.send_response(start, invite().response(404)).unwrap();
        tx.handle_request(start + MS, ack());
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(drain(&mut tx).1, vec![Event::Terminated]);
    }

    #[test]
    fn accepted_absorbs_invites_passes_acks_and_sends_2xx_retransmissions() {
        let start = Instant::now();
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        tx.send_response(start, invite().response(180)).unwrap();
        let ok = invite().response(200);
        tx.send_response(start + MS, ok.clone()).unwrap();
        assert_eq!(tx.state(), State::Accepted);
        assert_eq!(statuses(&drain(&mut tx).0), vec![180, 200]);
        tx.handle_request(start + 2 * MS, invite());
        let (sent, events) = drain(&mut tx);
        assert!(sent.is_empty(), "the TU, not the transaction, retransmits a 2xx");
        assert_eq!(events, vec![Event::RetransmissionAbsorbed]);
        tx.send_response(start + 500 * MS, ok.clone()).unwrap();
        let sent = drain(&mut tx).0;
        assert_eq!(statuses(&sent), vec![200]);
        assert!(sent[0].retransmission);
        let ack_2xx = invite().build_ack(&ok).unwrap();
        tx.handle_request(start + 600 * MS, ack_2xx.clone());
        assert_eq!(drain(&mut tx).1, vec![Event::Ack(ack_2xx)]);
        assert_eq!(
            tx.send_response(start, invite().response(486)),
            Err(TransactionError::InvalidState(State::Accepted))
        );
        tx.handle_transport_error(start + 700 * MS);
        assert_eq!(tx.state(), State::Accepted);
        assert_eq!(drain(&mut tx).1, vec![Event::TransportError]);
        tx.handle_timeout(start + MS + Duration::from_secs(32));
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(drain(&mut tx).1, vec![Event::Terminated]);
    }

    #[test]
    fn refuses_a_second_final_response_and_requests() {
        let start = Instant::now();
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        assert_eq!(tx.send_response(start, invite()), Err(TransactionError::NotAResponse));
        tx.send_response(start, invite().response(486)).unwrap();
        assert_eq!(
            tx.send_response(start, invite().response(200)),
            Err(TransactionError::InvalidState(State::Completed))
        );
        assert_eq!(
            tx.send_response(start, invite().response(180)),
            Err(TransactionError::InvalidState(State::Completed))
        );
    }

    #[test]
    fn transport_error_in_proceeding_and_completed_terminates() {
        let start = Instant::now();
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        tx.handle_transport_error(start);
        assert_eq!(drain(&mut tx).1, vec![Event::TransportError, Event::Terminated]);
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        tx.send_response(start, invite().response(486)).unwrap();
        tx.handle_transport_error(start + MS);
        assert_eq!(drain(&mut tx).1, vec![Event::TransportError, Event::Terminated]);
        tx.handle_timeout(start + Duration::from_secs(100));
        tx.handle_request(start + Duration::from_secs(100), invite());
        assert_eq!(drain(&mut tx), (vec![], vec![]));
    }

    #[test]
    fn early_late_and_repeated_timeouts_are_harmless() {
        let start = Instant::now();
        let mut tx = ServerInvite::new(start, invite(), &TimerConfig::default(), false).unwrap();
        tx.send_response(start, invite().response(486)).unwrap();
        drain(&mut tx);
        tx.handle_timeout(start + 100 * MS);
        assert!(drain(&mut tx).0.is_empty());
        tx.handle_timeout(start + Duration::from_secs(3600));
        tx.handle_timeout(start + Duration::from_secs(3600));
        let (sent, events) = drain(&mut tx);
        assert_eq!(sent.len(), 1, "one late Timer G firing, not one per missed interval");
        assert_eq!(events, vec![Event::Timeout(Timer::H), Event::Terminated]);
    }
}
