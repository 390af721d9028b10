//! SIP transactions (RFC 3261 §17, with the Accepted states of RFC 6026) as
//! sans-IO state machines.
//!
//! Four machines — [`ClientInvite`], [`ClientNonInvite`], [`ServerInvite`],
//! [`ServerNonInvite`] — and a [`TransactionLayer`] that owns many of them,
//! routes incoming messages to them (RFC 3261 §17.1.3, §17.2.3, §9.2 and the
//! RFC 2543 fallback) and reports the rest to the transaction user (TU).
//! Nothing here touches a socket, a thread or the clock: every input carries
//! `now`, and the outputs are drained:
//!
//! ```text
//! input:  start_client / handle_message / send_response /
//!         handle_timeout / handle_transport_error   (now, ...)
//! output: poll_transmit()  -> bytes to send (and where, for the layer)
//!         poll_event()     -> what the TU must know
//!         poll_timeout()   -> when to call handle_timeout next
//! ```
//!
//! After every input, drain `poll_transmit` and `poll_event` until `None`,
//! then sleep until `poll_timeout`. Time never goes backwards. A timeout
//! handled early, late or twice does no harm. Retransmissions (Timers A, E,
//! G) run only on unreliable transports, and Timers D, I, J, K are zero on
//! reliable ones, as RFC 3261 Table 4 says; the `reliable` flag is given
//! per transaction.
//!
//! The machines are generic over [`TransactionMessage`], the little they need
//! to know about a message, so they can be tested with any message type and
//! do not depend on the parser.
//!
//! A driver, in outline:
//!
//! ```ignore
//! let mut layer = TransactionLayer::<Message, SocketAddr>::new(TimerConfig::default());
//! let id = layer.start_client(now, request, destination, false)?;   // a request to send
//! layer.handle_message(now, parsed, source, false)?;                  // a datagram arrived
//! layer.handle_timeout(now);                                           // the timer fired
//! while let Some(t) = layer.poll_transmit() { socket.send_to(&t.bytes, t.remote) }
//! while let Some(e) = layer.poll_event() { tu.handle(e) }              // responses, new requests...
//! timer.reset(layer.poll_timeout());
//! ```

mod client_invite;
mod client_non_invite;
mod layer;
mod message;
mod message_impl;
mod server_invite;
mod server_non_invite;
#[cfg(test)]
mod test_message;
mod timer;
mod types;

pub use client_invite::ClientInvite;
pub use client_non_invite::ClientNonInvite;
pub use layer::{LayerEvent, LayerTransmit, TransactionId, TransactionKind, TransactionLayer};
pub use message::{MAGIC_COOKIE, TransactionMessage, new_branch};
pub use server_invite::ServerInvite;
pub use server_non_invite::ServerNonInvite;
pub use timer::{Timer, TimerConfig};
pub use types::{Event, State, TransactionError, Transmit};
