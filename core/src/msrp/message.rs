//! MSRP messages (RFC 4975, with AUTH and the relay headers of RFC 4976),
//! sans-IO.
//!
//! - The model: a [`Frame`] is a [`Head`] (transaction id, request
//!   [`Method`] or response status, typed [`Headers`] with [`MsrpUri`]
//!   paths, [`ByteRange`], report and relay headers, others kept in order),
//!   a body and the end-line's [`Continuation`] flag.
//! - Receiving: [`Parser`] takes bytes in any split and yields
//!   [`Event`]s — the head, then body pieces as they arrive (never gathered,
//!   for file chunks), then the end; [`FrameParser`] gathers whole frames up
//!   to [`Limits::max_body`]. Bad input is a [`ParseError`] that says
//!   whether the connection must close and which response to send.
//! - Sending: [`Head::request`], [`Head::send`], [`Head::chunks`] (a body
//!   cut into SEND chunks), [`Head::response`] (§7.2), [`Head::report`]
//!   and [`Head::chunk_report`] (§7.1.2), then [`Frame::encode`] — or
//!   [`Head::encode`], the body, and [`encode_end_line`] to write a chunk
//!   whose body stays where it is.
//!
//! Everything here is plain data: no I/O, no clock, no thread.

mod error;
mod frame;
mod headers;
mod parser;
mod uri;

pub use error::{BuildError, ErrorKind, ParseError};
pub use frame::{
    Chunks, Continuation, Frame, Head, Kind, Method, encode_end_line, is_valid_transaction_id, new_message_id,
    new_transaction_id, reason_phrase, transaction_id_for,
};
pub use headers::{ByteRange, FailureReport, Header, Headers, Status, SuccessReport};
pub use parser::{Event, FrameParser, Limits, Parser};
pub use uri::{MsrpUri, Scheme, UriError};

#[cfg(test)]
mod tests;
