//! The error of the message parser and of the typed value decoders.

/// Why bytes are not a well-formed SIP message (or a value is not a
/// well-formed header value). Line numbers count from 1 at the start line;
/// a folded header is reported at its first line.
///
/// [`ParseError::status_code`] tells which response a user agent sends when
/// the bytes were a request; a malformed response is discarded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// No bytes, or only empty lines.
    #[error("empty message")]
    Empty,
    /// The message is larger than [`Limits::max_message_size`](super::Limits).
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the message (or of what arrived so far).
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// More header fields than [`Limits::max_headers`](super::Limits).
    #[error("more than {limit} header fields")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// A line (a header field after unfolding, or the start line) is longer
    /// than [`Limits::max_header_line`](super::Limits).
    #[error("line {line} is longer than {limit} bytes")]
    LineTooLong {
        /// Line number.
        line: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The header section does not end with an empty line.
    #[error("the header section does not end with an empty line")]
    Truncated,
    /// A byte sequence that is not UTF-8 in the start line or the headers.
    #[error("line {line}: text is not UTF-8")]
    NotUtf8 {
        /// Line number.
        line: usize,
    },
    /// A CR not followed by LF.
    #[error("line {line}: CR not followed by LF")]
    BareCr {
        /// Line number.
        line: usize,
    },
    /// The request line or status line is malformed.
    #[error("invalid start line: {reason}")]
    StartLine {
        /// What is wrong.
        reason: &'static str,
    },
    /// The SIP version is not `SIP/2.0` (answered with 505).
    #[error("unsupported SIP version {version:?}")]
    Version {
        /// The version as written.
        version: String,
    },
    /// A header line that is not `name: value` (or a fold with nothing to
    /// continue).
    #[error("line {line}: {reason}")]
    HeaderLine {
        /// Line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A known header whose value does not follow its grammar.
    #[error("line {line}: invalid {name} header: {reason}")]
    Header {
        /// Line number.
        line: usize,
        /// The header name as written.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Content-Length announces more bytes than the datagram holds.
    #[error("Content-Length {declared} exceeds the {available} bytes after the header section")]
    BodyTooShort {
        /// The Content-Length value.
        declared: usize,
        /// The bytes present after the empty line.
        available: usize,
    },
    /// The CSeq method differs from the request method.
    #[error("CSeq method {cseq} does not match request method {method}")]
    MethodMismatch {
        /// The request method.
        method: String,
        /// The CSeq method.
        cseq: String,
    },
    /// A standalone value (URI, name-addr, Via...) that does not parse.
    #[error("invalid {what}: {reason}")]
    Value {
        /// What was being parsed (`URI`, `Via`...).
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

impl ParseError {
    /// The status code a user agent answers a malformed request with:
    /// 505 for an unsupported version, 513 for an oversized message, 400
    /// otherwise. (A malformed response is silently discarded.)
    pub fn status_code(&self) -> u16 {
        match self {
            ParseError::Version { .. } => 505,
            ParseError::TooLarge { .. } => 513,
            _ => 400,
        }
    }

    pub(crate) fn value(what: &'static str, reason: &'static str) -> ParseError {
        ParseError::Value { what, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_and_where() {
        let e = ParseError::Header { line: 4, name: "From".into(), reason: "unterminated quoted string" };
        assert_eq!(e.to_string(), "line 4: invalid From header: unterminated quoted string");
        assert_eq!(e.status_code(), 400);
        assert_eq!(ParseError::Version { version: "SIP/7.0".into() }.status_code(), 505);
        assert_eq!(ParseError::TooLarge { size: 10, limit: 5 }.status_code(), 513);
    }
}
