//! Errors of the MSRP parser and of the frame builders.

use super::frame::Head;

/// What is wrong with received bytes.
///
/// [`ErrorKind::is_fatal`] tells whether the stream can still be framed:
/// after a fatal error the connection must be closed; after any other the
/// parser has dropped the offending frame (skipping its body up to its
/// end-line) and goes on with the next one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The first line is not `MSRP <transaction-id> <method>` or
    /// `MSRP <transaction-id> <code> [comment]` (fatal: without a
    /// transaction id the end of the frame cannot be found).
    #[error("invalid start line: {reason}")]
    StartLine {
        /// What is wrong.
        reason: &'static str,
    },
    /// A start or header line is longer than
    /// [`Limits::max_line`](super::Limits::max_line) (fatal).
    #[error("a line is longer than {limit} bytes")]
    LineTooLong {
        /// The configured limit.
        limit: usize,
    },
    /// More header lines than [`Limits::max_headers`](super::Limits::max_headers) (fatal).
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The end-line does not carry the frame's transaction id, has no
    /// valid continuation flag, or is not followed by CRLF (fatal).
    #[error("invalid end-line: {reason}")]
    EndLine {
        /// What is wrong.
        reason: &'static str,
    },
    /// A header line that is not `Name: value`, or is not UTF-8.
    #[error("invalid header line: {reason}")]
    HeaderLine {
        /// What is wrong.
        reason: &'static str,
    },
    /// A known header whose value does not follow its grammar, or which
    /// appears twice.
    #[error("invalid {name} header: {reason}")]
    Header {
        /// The header's canonical name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A Byte-Range whose start is 0, whose end is before its start, or
    /// which reaches beyond its total.
    #[error("invalid Byte-Range: {reason}")]
    ByteRange {
        /// What is wrong.
        reason: &'static str,
    },
    /// A header the frame must have is missing: To-Path or From-Path on
    /// any frame, Message-ID on SEND and REPORT, Status on REPORT.
    #[error("missing {name} header")]
    MissingHeader {
        /// The header's canonical name.
        name: &'static str,
    },
    /// The bytes end inside a frame ([`Frame::parse`](super::Frame::parse)
    /// only; fatal).
    #[error("the bytes end inside a frame")]
    Truncated,
    /// The body grew beyond [`Limits::max_body`](super::Limits::max_body);
    /// answer 413 (the rest of the body is skipped).
    #[error("the body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The configured limit.
        limit: usize,
    },
}

impl ErrorKind {
    /// Whether the stream is lost: the connection must be closed.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ErrorKind::StartLine { .. }
                | ErrorKind::LineTooLong { .. }
                | ErrorKind::TooManyHeaders { .. }
                | ErrorKind::EndLine { .. }
                | ErrorKind::Truncated
        )
    }

    /// The MSRP status code that answers a request with this problem:
    /// 413 for [`ErrorKind::BodyTooLarge`], 400 otherwise.
    pub fn status_code(&self) -> u16 {
        match self {
            ErrorKind::BodyTooLarge { .. } => 413,
            _ => 400,
        }
    }
}

/// An error of the incremental parser: what is wrong and, when the start
/// line and headers were read, the frame's head so that the caller can
/// answer it ([`ParseError::response`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    kind: ErrorKind,
    head: Option<Box<Head>>,
}

impl ParseError {
    pub(crate) fn new(kind: ErrorKind, head: Option<Box<Head>>) -> ParseError {
        ParseError { kind, head }
    }

    pub(crate) fn set_head(&mut self, head: Box<Head>) {
        self.head = Some(head);
    }

    /// What is wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The start line and the headers read (as far as they could be
    /// decoded: a header in error is absent), when the error came after
    /// them.
    pub fn head(&self) -> Option<&Head> {
        self.head.as_deref()
    }

    /// Whether the connection must be closed (see [`ErrorKind::is_fatal`]).
    pub fn is_fatal(&self) -> bool {
        self.kind.is_fatal()
    }

    /// The status code to answer with (see [`ErrorKind::status_code`]).
    pub fn status_code(&self) -> u16 {
        self.kind.status_code()
    }

    /// The response to send back (RFC 4975 §7.2), when the frame was a
    /// request whose head was read and that takes a response (not a REPORT,
    /// Failure-Report not `no`). The comment is the reason phrase of
    /// [`ParseError::status_code`].
    pub fn response(&self) -> Option<Head> {
        let code = self.status_code();
        self.head()?.response(code, Some(super::reason_phrase(code)))
    }
}

/// Why a frame cannot be built or encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The transaction id is not 4 to 32 characters from RFC 4975's `ident`
    /// set starting with a letter or digit.
    #[error("invalid transaction id")]
    TransactionId,
    /// A method that is not upper-case letters (and `_`).
    #[error("invalid method name")]
    Method,
    /// A status code above 999.
    #[error("invalid status code")]
    StatusCode,
    /// A header name or value (or a comment) has a CR or LF, or a header
    /// name is not a token.
    #[error("{name} contains a line break or an invalid character")]
    Text {
        /// The header (or `comment`) concerned.
        name: String,
    },
    /// The frame must be a request for this operation.
    #[error("not a request")]
    NotARequest,
    /// The frame must be a SEND request for this operation.
    #[error("not a SEND request")]
    NotASend,
    /// A header the operation needs is missing.
    #[error("missing {name} header")]
    MissingHeader {
        /// The header's canonical name.
        name: &'static str,
    },
    /// A chunk size of 0.
    #[error("the chunk size must be at least 1")]
    ChunkSize,
}
