//! MSRP (RFC 4975) and what travels over it, sans-IO: the message model,
//! an incremental parser and serializer ([`message`]), CPIM message
//! wrapping (RFC 3862, [`cpim`]), is-composing indications (RFC 3994,
//! [`iscomposing`]), file selectors (RFC 5547, [`file_selector`]) and the
//! MSRP m-lines of SDP offers and answers (RFC 4975 §8, RFC 6135, [`sdp`]).
//! [`session`] is the session endpoint: SEND transactions, chunking,
//! reassembly and delivery reports. [`transport`] runs a session on a
//! TCP or TLS connection (tokio), with the listener that matches sessions.

pub mod cpim;
pub mod file_selector;
pub mod iscomposing;
pub mod library_log;
pub mod message;
pub mod ranges;
pub mod relay;
pub mod sdp;
pub mod session;
pub mod transport;
