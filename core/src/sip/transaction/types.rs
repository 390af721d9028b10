//! Types shared by the four machines: states, outputs, events, errors.

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use super::timer::{Timer, Timers};

/// The state of a transaction. Each machine uses a subset:
///
/// | machine | states |
/// |---|---|
/// | client INVITE | Calling → Proceeding → Completed / Accepted → Terminated |
/// | client non-INVITE | Trying → Proceeding → Completed → Terminated |
/// | server INVITE | Proceeding → Completed → Confirmed / Accepted → Terminated |
/// | server non-INVITE | Trying → Proceeding → Completed → Terminated |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Client INVITE: the INVITE was sent, no response yet.
    Calling,
    /// Non-INVITE (client and server): the request was sent or received, no
    /// response yet.
    Trying,
    /// A provisional response was received (client) or the request awaits a
    /// final response from the TU (server).
    Proceeding,
    /// A final response (non-2xx for INVITE) was received or sent;
    /// retransmissions are absorbed or answered.
    Completed,
    /// Server INVITE: the ACK for the non-2xx final response arrived.
    Confirmed,
    /// INVITE with a 2xx (RFC 6026): further 2xx responses (client) or ACKs
    /// (server) go to the TU; INVITE retransmissions are absorbed.
    Accepted,
    /// The transaction is over; it ignores every further input.
    Terminated,
}

/// Bytes a machine wants sent to its peer (the request's destination for a
/// client transaction, the request's source for a server transaction).
#[derive(Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The encoded message.
    pub bytes: Vec<u8>,
    /// `true` when these bytes repeat an earlier transmission (a timer
    /// retransmission or the answer to a retransmitted request).
    pub retransmission: bool,
}

impl fmt::Debug for Transmit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first_line = self.bytes.split(|&b| b == b'\r' || b == b'\n').next().unwrap_or_default();
        f.debug_struct("Transmit")
            .field("first_line", &String::from_utf8_lossy(first_line))
            .field("len", &self.bytes.len())
            .field("retransmission", &self.retransmission)
            .finish()
    }
}

/// What a transaction tells its user (the TU: a dialog, a registration, a
/// stateless core...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<M> {
    /// Client: a provisional (1xx) response. Duplicates the network delivers
    /// are passed on too (the RFC passes every 1xx to the TU).
    Provisional(M),
    /// Client: the final response (2xx–6xx). Reported exactly once per
    /// transaction; retransmissions of a non-2xx final response are absorbed
    /// (the INVITE client re-sends its ACK).
    Final(M),
    /// Client INVITE in the Accepted state (RFC 6026): a further 2xx, either a
    /// retransmission or the answer of another fork. The dialog layer
    /// acknowledges it.
    Additional2xx(M),
    /// Server INVITE in the Accepted state (RFC 6026): an ACK matching the
    /// transaction, passed to the TU.
    Ack(M),
    /// Server: a retransmission of the request was absorbed (and the last
    /// response, if any, sent again). Informational.
    RetransmissionAbsorbed,
    /// Client: Timer B or F fired; the TU treats it as a `408 Request Timeout`
    /// (see [`Event::status_code`]). Server INVITE: Timer H fired, the ACK
    /// never came.
    Timeout(Timer),
    /// The transport reported a failure sending for this transaction
    /// (RFC 3261 §17.1.4, §17.2.4); the TU treats it as a `503`.
    TransportError,
    /// The transaction ended; it produces nothing more. Always the last event.
    Terminated,
}

impl<M: super::TransactionMessage> Event<M> {
    /// The status code the TU acts on: the response's code for responses,
    /// 408 for a client timeout, 503 for a transport error (RFC 3261
    /// §8.1.3.1); `None` for the other events.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Event::Provisional(m) | Event::Final(m) | Event::Additional2xx(m) => m.status_code(),
            Event::Timeout(Timer::B | Timer::F) => Some(408),
            Event::TransportError => Some(503),
            _ => None,
        }
    }
}

/// An input the transaction or the layer refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// A response was given where a request is needed.
    #[error("not a request")]
    NotARequest,
    /// A request was given where a response is needed.
    #[error("not a response")]
    NotAResponse,
    /// The message lacks a field transactions need (or it does not parse).
    #[error("missing or malformed {0}")]
    MissingField(&'static str),
    /// A client transaction's request must carry a branch with the RFC 3261
    /// magic cookie (see [`new_branch`](super::new_branch)).
    #[error("the top Via branch lacks the z9hG4bK magic cookie")]
    BranchWithoutCookie,
    /// The request's method cannot create this kind of transaction (ACK
    /// never creates one; INVITE uses the INVITE machines).
    #[error("method {0} cannot create this transaction")]
    WrongMethod(String),
    /// A client transaction with the same branch and method already exists.
    #[error("a transaction with this branch and method already exists")]
    Duplicate,
    /// No transaction has this id (it never existed or has terminated).
    #[error("no transaction {0}")]
    UnknownTransaction(super::TransactionId),
    /// Only server transactions send responses.
    #[error("transaction {0} is a client transaction")]
    NotAServerTransaction(super::TransactionId),
    /// The transaction cannot take this response in its state (for
    /// example a second final response).
    #[error("the transaction cannot send this response in state {0:?}")]
    InvalidState(State),
}

impl From<TransactionError> for crate::Error {
    fn from(error: TransactionError) -> Self {
        match error {
            TransactionError::UnknownTransaction(_) => crate::Error::NotFound(error.to_string()),
            TransactionError::InvalidState(_) => crate::Error::InvalidState(error.to_string()),
            _ => crate::Error::InvalidArgument(error.to_string()),
        }
    }
}

/// The output queues and timers every machine carries.
#[derive(Clone, Debug)]
pub(crate) struct Output<M> {
    pub(crate) transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<Event<M>>,
    pub(crate) timers: Timers,
}

impl<M> Default for Output<M> {
    fn default() -> Self {
        Output { transmits: VecDeque::new(), events: VecDeque::new(), timers: Timers::default() }
    }
}

impl<M> Output<M> {
    pub(crate) fn send(&mut self, bytes: &[u8], retransmission: bool) {
        self.transmits.push_back(Transmit { bytes: bytes.to_vec(), retransmission });
    }

    pub(crate) fn event(&mut self, event: Event<M>) {
        self.events.push_back(event);
    }

    /// Stops every timer and reports [`Event::Terminated`].
    pub(crate) fn terminate(&mut self) {
        self.timers.stop_all();
        self.events.push_back(Event::Terminated);
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub(crate) fn poll_event(&mut self) -> Option<Event<M>> {
        self.events.pop_front()
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }
}

/// Whether `code` is a final status (200–699).
pub(crate) fn is_final(code: u16) -> bool {
    (200..700).contains(&code)
}

/// The accessors and drain methods every transaction state machine has in
/// common (its `state`, `request`, `reliable` and `out` fields).
macro_rules! machine_common {
    ($machine:ident) => {
        impl<M: $crate::sip::transaction::TransactionMessage> $machine<M> {
            /// The current state.
            pub fn state(&self) -> State {
                self.state
            }

            /// The request that started the transaction.
            pub fn request(&self) -> &M {
                &self.request
            }

            /// True when the transport is reliable (no retransmissions).
            pub fn is_reliable(&self) -> bool {
                self.reliable
            }

            /// The next bytes to send.
            pub fn poll_transmit(&mut self) -> Option<Transmit> {
                self.out.poll_transmit()
            }

            /// The next event for the TU.
            pub fn poll_event(&mut self) -> Option<Event<M>> {
                self.out.poll_event()
            }

            /// When `handle_timeout` must be called next; `None` when no
            /// timer is armed.
            pub fn poll_timeout(&self) -> Option<std::time::Instant> {
                self.out.poll_timeout()
            }

            fn terminate(&mut self) {
                self.state = State::Terminated;
                self.out.terminate();
            }
        }
    };
}
pub(crate) use machine_common;
