//! The server non-INVITE transaction (RFC 3261 §17.2.2).

use std::time::Instant;

use super::timer::{Timer, TimerConfig};
use super::types::{Output, State, TransactionError, Transmit};
use super::{Event, TransactionMessage};

/// A server non-INVITE transaction: sends the TU's responses and answers
/// request retransmissions with the last response (absorbing them silently
/// before the first response), for 64·T1 after the final response on
/// unreliable transports (Timer J).
///
/// ```text
/// Trying --1xx from TU--> Proceeding --200-699 from TU--> Completed --Timer J--> Terminated
///    \__________________200-699 from TU_________________/
/// ```
///
/// Driven like [`ServerInvite`](super::ServerInvite).
#[derive(Clone, Debug)]
pub struct ServerNonInvite<M> {
    state: State,
    config: TimerConfig,
    reliable: bool,
    request: M,
    last_response: Option<M>,
    last_response_bytes: Option<Vec<u8>>,
    out: Output<M>,
}

super::types::machine_common!(ServerNonInvite);

impl<M: TransactionMessage> ServerNonInvite<M> {
    /// Creates the transaction for a request received at `now`. INVITE and
    /// ACK are refused.
    pub fn new(_now: Instant, request: M, config: &TimerConfig, reliable: bool) -> Result<Self, TransactionError> {
        if !request.is_request() {
            return Err(TransactionError::NotARequest);
        }
        match request.method() {
            Some(method @ ("INVITE" | "ACK")) => return Err(TransactionError::WrongMethod(method.to_owned())),
            Some(_) => {}
            None => return Err(TransactionError::MissingField("method")),
        }
        Ok(ServerNonInvite {
            state: State::Trying,
            config: config.sanitized(),
            reliable,
            request,
            last_response: None,
            last_response_bytes: None,
            out: Output::default(),
        })
    }

    /// The last response sent, if any.
    pub fn last_response(&self) -> Option<&M> {
        self.last_response.as_ref()
    }

    /// A retransmission of the request: answered with the last response (in
    /// Proceeding and Completed) or absorbed (in Trying). Responses are ignored.
    pub fn handle_request(&mut self, _now: Instant, request: M) {
        if !request.is_request() || self.state == State::Terminated {
            return;
        }
        self.out.event(Event::RetransmissionAbsorbed);
        if let Some(bytes) = &self.last_response_bytes {
            self.out.send(bytes, true);
        }
    }

    /// Sends a response from the TU: 1xx in Trying or Proceeding (→
    /// Proceeding), 200–699 in Trying or Proceeding (→ Completed, Timer J).
    /// Anything else is refused with [`TransactionError::InvalidState`].
    pub fn send_response(&mut self, now: Instant, response: M) -> Result<(), TransactionError> {
        if response.is_request() {
            return Err(TransactionError::NotAResponse);
        }
        let code = response
            .status_code()
            .filter(|c| (100..700).contains(c))
            .ok_or(TransactionError::MissingField("status code"))?;
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return Err(TransactionError::InvalidState(self.state));
        }
        let bytes = response.to_bytes();
        self.out.send(&bytes, false);
        self.last_response = Some(response);
        self.last_response_bytes = Some(bytes);
        if code < 200 {
            self.state = State::Proceeding;
        } else {
            self.state = State::Completed;
            if self.reliable {
                self.terminate();
            } else {
                self.out.timers.set(Timer::J, now + self.config.transaction_timeout());
            }
        }
        Ok(())
    }

    /// Fires every timer due at `now`. A timeout that is early, late,
    /// repeated or for a timer this machine does not use is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.out.timers.pop_expired(now) {
            if (timer, self.state) == (Timer::J, State::Completed) {
                self.terminate();
            }
        }
    }

    /// The transport failed to send a response (RFC 3261 §17.2.4): the TU is
    /// told and the transaction ends.
    pub fn handle_transport_error(&mut self, _now: Instant) {
        if self.state != State::Terminated {
            self.out.event(Event::TransportError);
            self.terminate();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_message::TestMessage;
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn message() -> TestMessage {
        TestMessage::request("MESSAGE", "z9hG4bKmsg")
    }

    fn drain(tx: &mut ServerNonInvite<TestMessage>) -> (Vec<Transmit>, Vec<Event<TestMessage>>) {
        let transmits = std::iter::from_fn(|| tx.poll_transmit()).collect();
        let events = std::iter::from_fn(|| tx.poll_event()).collect();
        (transmits, events)
    }

    fn statuses(transmits: &[Transmit]) -> Vec<u16> {
        transmits.iter().map(|t| TestMessage::decode(&t.bytes).unwrap().status).collect()
    }

    #[test]
    fn refuses_invite_and_ack() {
        let now = Instant::now();
        for method in ["INVITE", "ACK"] {
            let request = TestMessage::request(method, "z9hG4bKx");
            assert_eq!(
                ServerNonInvite::new(now, request, &TimerConfig::default(), false).err(),
                Some(TransactionError::WrongMethod(method.into()))
            );
        }
    }

    #[test]
    fn trying_absorbs_retransmissions_silently() {
        let start = Instant::now();
        let mut tx = ServerNonInvite::new(start, message(), &TimerConfig::default(), false).unwrap();
        assert_eq!(tx.state(), State::Trying);
        assert_eq!(tx.poll_timeout(), None);
        tx.handle_request(start + 500 * MS, message());
        assert_eq!(drain(&mut tx), (vec![], vec![Event::RetransmissionAbsorbed]));
    }

    #[test]
    fn proceeding_resends_the_provisional() {
        let start = Instant::now();
        let mut tx = ServerNonInvite::new(start, message(), &TimerConfig::default(), false).unwrap();
        tx.send_response(start, message().response(100)).unwrap();
        assert_eq!(tx.state(), State::Proceeding);
        tx.send_response(start, message().response(101)).unwrap();
        tx.handle_request(start + 500 * MS, message());
        let (sent, events) = drain(&mut tx);
        assert_eq!(statuses(&sent), vec![100, 101, 101]);
        assert!(sent[2].retransmission);
        assert_eq!(events, vec![Event::RetransmissionAbsorbed]);
    }

    #[test]
    fn completed_resends_the_final_until_timer_j() {
        let start = Instant::now();
        let mut tx = ServerNonInvite::new(start, message(), &TimerConfig::default(), false).unwrap();
        tx.send_response(start, message().response(100)).unwrap();
        tx.send_response(start + MS, message().response(202)).unwrap();
        assert_eq!(tx.state(), State::Completed);
        assert_eq!(
            tx.send_response(start, message().response(200)),
            Err(TransactionError::InvalidState(State::Completed))
        );
        tx.handle_request(start + Duration::from_secs(1), message());
        let (sent, _) = drain(&mut tx);
        assert_eq!(statuses(&sent), vec![100, 202, 202]);
        assert_eq!(tx.poll_timeout(), Some(start + MS + Duration::from_secs(32)));
        tx.handle_timeout(start + Duration::from_secs(32));
        assert_eq!(tx.state(), State::Completed);
        tx.handle_timeout(start + MS + Duration::from_secs(32));
        assert_eq!(tx.state(), State::Terminated);
        assert_eq!(drain(&mut tx).1, vec![Event::Terminated]);
        tx.handle_request(start + Duration::from_secs(40), message());
        tx.handle_timeout(start + Duration::from_secs(40));
        assert_eq!(drain(&mut tx), (vec![], vec![]));
    }

    #[test]
    fn reliable_final_terminates_at_once() {
        let start = Instant::now();
        let mut tx = ServerNonInvite::new(start, message(), &TimerConfig::default(), true).unwrap();
        tx.send_response(start, message().response(200)).unwrap();
        let (sent, events) = drain(&mut tx);
        assert_eq!(statuses(&sent), vec![200]);
        assert_eq!(events, vec![Event::Terminated]);
    }

    #[test]
    fn transport_error_terminates() {
        let start = Instant::now();
        let mut tx = ServerNonInvite::new(start, message(), &TimerConfig::default(), false).unwrap();
        tx.send_response(start, message().response(200)).unwrap();
        tx.handle_transport_error(start);
        tx.handle_transport_error(start);
        assert_eq!(drain(&mut tx).1, vec![Event::TransportError, Event::Terminated]);
    }
}
