//! SIP messages (RFC 3261 §7, §20, §25).
//!
//! - [`parse`] reads a datagram (or a framed stream message) into a
//!   [`MessageRef`] that borrows the bytes: header lines are split without
//!   copying, every known header is checked against its grammar, and the
//!   values every layer reads (top [`Via`], From/To [`NameAddr`], [`CSeq`],
//!   Call-ID, Max-Forwards, Contact, Content-Type [`MediaType`]) are
//!   decoded once; the others on demand. [`split`] stops after splitting
//!   ([`RawMessage`]). Compact names, folded lines, any name case, extension
//!   methods and unknown headers are accepted; unknown headers are kept
//!   verbatim.
//! - [`Message`] owns a message: a copy of a parsed one
//!   ([`MessageRef::to_owned`]) or one built here ([`Message::request`],
//!   [`Message::response_to`]); [`Message::encode`] writes it with CRLF
//!   line ends and a computed Content-Length.
//! - [`frame`] finds message boundaries and keep-alives on TCP/TLS streams;
//!   [`Limits`] bounds sizes for both framing and parsing.
//! - [`Uri::equivalent`] compares URIs the way RFC 3261 §19.1.4 defines
//!   (`==` compares their text).
//! - [`check_request`] tells which error response (400, 405, 406, 415, 416,
//!   420, 483, 501) a user agent owes a request before processing it.
//!
//! Nothing here does I/O, blocks or panics on input; every type is `Send`
//! and `Sync` and may be used from any thread.

mod check;
mod error;
mod framing;
mod headers;
#[allow(clippy::module_inception)]
mod message;
mod method;
mod name_addr;
mod params;
mod parser;
mod scan;
mod uri;
mod uri_eq;
mod values;
mod via;

pub use check::{Rejection, RequestPolicy, check_request, check_request_with, check_response};
pub use error::ParseError;
pub use framing::{Framing, Limits, frame};
pub use headers::{Header, HeaderKind, HeaderRef, Headers};
pub use message::{HeaderFields, Message, reason_phrase};
pub use method::Method;
pub use name_addr::NameAddr;
pub use params::{Param, ParamIter, Params};
pub use parser::{MessageRef, RawMessage, StartLine, parse, parse_with, split};
pub use uri::{Scheme, Uri};
pub use values::{CSeq, MediaType};
pub use via::{BRANCH_MAGIC_COOKIE, Transport, Via};
