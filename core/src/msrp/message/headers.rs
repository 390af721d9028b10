//! MSRP header fields (RFC 4975 §8–9, RFC 4976 §5): typed values for the
//! headers the protocol acts on, the others kept in order as written.

use std::fmt;

use super::error::{BuildError, ErrorKind};
use super::uri::{MsrpUri, parse_path};

/// `Byte-Range: start-end/total` (RFC 4975 §7.1.1): the 1-based position of
/// the chunk's first byte, the position of its last byte (`*` = unknown) and
/// the size of the whole message (`*` = unknown). An empty chunk has
/// `end = start - 1` (`1-0/0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ByteRange {
    /// Position of the first byte, from 1.
    pub start: u64,
    /// Position of the last byte, `None` for `*`.
    pub end: Option<u64>,
    /// Size of the whole message, `None` for `*`.
    pub total: Option<u64>,
}

impl ByteRange {
    /// The range of a whole message of `len` bytes sent in one chunk:
    /// `1-len/len`.
    pub fn whole(len: u64) -> ByteRange {
        ByteRange { start: 1, end: Some(len), total: Some(len) }
    }

    /// Parses `start-end/total`, then [checks](ByteRange::check) it.
    pub fn parse(text: &str) -> Result<ByteRange, &'static str> {
        let (start, rest) = text.split_once('-').ok_or("expected start-end/total")?;
        let (end, total) = rest.split_once('/').ok_or("expected start-end/total")?;
        let range = ByteRange { start: number(start)?, end: star_or_number(end)?, total: star_or_number(total)? };
        range.check()?;
        Ok(range)
    }

    /// Checks the range is consistent: start at least 1, end not before
    /// `start - 1`, end and start within the total.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.start == 0 {
            return Err("start is 0");
        }
        if let Some(end) = self.end
            && end < self.start - 1
        {
            return Err("start is after end");
        }
        if let Some(total) = self.total {
            if self.end.is_some_and(|end| end > total) {
                return Err("end is beyond the total");
            }
            if self.start - 1 > total {
                return Err("start is beyond the total");
            }
        }
        Ok(())
    }

    /// The number of bytes the range covers, when its end is known.
    pub fn len(&self) -> Option<u64> {
        self.end.map(|end| end.saturating_sub(self.start.saturating_sub(1)))
    }

    /// Whether the range is known to cover no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-", self.start)?;
        match self.end {
            Some(end) => write!(f, "{end}/")?,
            None => f.write_str("*/")?,
        }
        match self.total {
            Some(total) => write!(f, "{total}"),
            None => f.write_str("*"),
        }
    }
}

fn number(text: &str) -> Result<u64, &'static str> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a number");
    }
    text.parse().map_err(|_| "number too large")
}

fn star_or_number(text: &str) -> Result<Option<u64>, &'static str> {
    if text == "*" { Ok(None) } else { number(text).map(Some) }
}

/// `Success-Report` (RFC 4975 §9): whether the sender wants a REPORT when
/// the message has been received. Absent means `no`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SuccessReport {
    /// `yes`: send a success REPORT.
    Yes,
    /// `no`.
    No,
}

impl SuccessReport {
    /// The value as written.
    pub fn as_str(self) -> &'static str {
        match self {
            SuccessReport::Yes => "yes",
            SuccessReport::No => "no",
        }
    }
}

/// `Failure-Report` (RFC 4975 §9): which failures the sender wants to hear
/// about. Absent means `yes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureReport {
    /// `yes`: transaction responses (200 included) and failure REPORTs.
    Yes,
    /// `no`: no responses, no REPORTs.
    No,
    /// `partial`: only negative responses and failure REPORTs.
    Partial,
}

impl FailureReport {
    /// The value as written.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReport::Yes => "yes",
            FailureReport::No => "no",
            FailureReport::Partial => "partial",
        }
    }
}

/// `Status: 000 code [comment]` (RFC 4975 §9), carried by REPORTs. Only the
/// `000` namespace is defined and accepted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Status {
    /// The status code (200 for success).
    pub code: u16,
    /// The comment after the code, if any.
    pub comment: Option<String>,
}

impl Status {
    /// A status with `code` and its usual comment from
    /// [`reason_phrase`](super::reason_phrase).
    pub fn new(code: u16) -> Status {
        Status { code, comment: Some(super::reason_phrase(code).to_owned()) }
    }

    /// Parses `000 code [comment]`.
    pub fn parse(text: &str) -> Result<Status, &'static str> {
        let rest = text.strip_prefix("000 ").ok_or("the namespace is not 000")?;
        let (code, comment) = match rest.split_once(' ') {
            Some((code, comment)) => (code, Some(comment)),
            None => (rest, None),
        };
        let code = parse_code(code).ok_or("the code is not three digits")?;
        Ok(Status { code, comment: comment.filter(|c| !c.is_empty()).map(str::to_owned) })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "000 {:03}", self.code)?;
        if let Some(comment) = &self.comment {
            write!(f, " {comment}")?;
        }
        Ok(())
    }
}

/// Three ASCII digits as a status code.
pub(crate) fn parse_code(text: &str) -> Option<u16> {
    if text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()) { text.parse().ok() } else { None }
}

/// A header field kept as written (name and value without the `: `).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// The name as written.
    pub name: String,
    /// The value, without leading and trailing white space.
    pub value: String,
}

/// The header fields of an MSRP frame. The typed fields are the ones MSRP
/// and relays act on; every other header (Content-ID, Content-Disposition,
/// extensions) is kept in [`Headers::other`] in the order received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Headers {
    /// `To-Path`: the hops still to go, the destination last.
    pub to_path: Vec<MsrpUri>,
    /// `From-Path`: the hops back to the sender, the sender last.
    pub from_path: Vec<MsrpUri>,
    /// `Message-ID`.
    pub message_id: Option<String>,
    /// `Byte-Range`.
    pub byte_range: Option<ByteRange>,
    /// `Success-Report`.
    pub success_report: Option<SuccessReport>,
    /// `Failure-Report`.
    pub failure_report: Option<FailureReport>,
    /// `Status` (REPORT requests).
    pub status: Option<Status>,
    /// `Use-Path` (RFC 4976: the relay path granted by AUTH), empty when absent.
    pub use_path: Vec<MsrpUri>,
    /// `Expires` in seconds (RFC 4976).
    pub expires: Option<u32>,
    /// `Min-Expires` in seconds (RFC 4976).
    pub min_expires: Option<u32>,
    /// `Max-Expires` in seconds (RFC 4976).
    pub max_expires: Option<u32>,
    /// `WWW-Authenticate`, as written (RFC 4976 digest challenge).
    pub www_authenticate: Option<String>,
    /// `Authorization`, as written (RFC 4976 digest credentials).
    pub authorization: Option<String>,
    /// `Authentication-Info`, as written (RFC 4976).
    pub authentication_info: Option<String>,
    /// `Use-Nickname` (RFC 7701, NICKNAME requests), as written.
    pub use_nickname: Option<String>,
    /// `Content-Type` of the body.
    pub content_type: Option<String>,
    /// Every other header, in order.
    pub other: Vec<Header>,
}

/// Canonical names of the typed headers.
pub(crate) mod names {
    pub const TO_PATH: &str = "To-Path";
    pub const FROM_PATH: &str = "From-Path";
    pub const MESSAGE_ID: &str = "Message-ID";
    pub const BYTE_RANGE: &str = "Byte-Range";
    pub const SUCCESS_REPORT: &str = "Success-Report";
    pub const FAILURE_REPORT: &str = "Failure-Report";
    pub const STATUS: &str = "Status";
    pub const USE_PATH: &str = "Use-Path";
    pub const EXPIRES: &str = "Expires";
    pub const MIN_EXPIRES: &str = "Min-Expires";
    pub const MAX_EXPIRES: &str = "Max-Expires";
    pub const WWW_AUTHENTICATE: &str = "WWW-Authenticate";
    pub const AUTHORIZATION: &str = "Authorization";
    pub const AUTHENTICATION_INFO: &str = "Authentication-Info";
    pub const USE_NICKNAME: &str = "Use-Nickname";
    pub const CONTENT_TYPE: &str = "Content-Type";
}

use names::*;

const TYPED: [&str; 16] = [
    TO_PATH,
    FROM_PATH,
    MESSAGE_ID,
    BYTE_RANGE,
    SUCCESS_REPORT,
    FAILURE_REPORT,
    STATUS,
    USE_PATH,
    EXPIRES,
    MIN_EXPIRES,
    MAX_EXPIRES,
    WWW_AUTHENTICATE,
    AUTHORIZATION,
    AUTHENTICATION_INFO,
    USE_NICKNAME,
    CONTENT_TYPE,
];

impl Headers {
    /// The value of the first header named `name` (any case) among the
    /// ones kept as written.
    pub fn get_other(&self, name: &str) -> Option<&str> {
        self.other.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// `Success-Report` with its default (`no`) when absent.
    pub fn success_report_or_default(&self) -> SuccessReport {
        self.success_report.unwrap_or(SuccessReport::No)
    }

    /// `Failure-Report` with its default (`yes`) when absent.
    pub fn failure_report_or_default(&self) -> FailureReport {
        self.failure_report.unwrap_or(FailureReport::Yes)
    }

    /// Stores one received header. A typed header that cannot be decoded
    /// or appears twice is an error (and stays absent); the others are
    /// appended to [`Headers::other`].
    pub(crate) fn insert(&mut self, name: &str, value: &str) -> Result<(), ErrorKind> {
        let Some(canonical) = TYPED.iter().copied().find(|known| known.eq_ignore_ascii_case(name)) else {
            self.other.push(Header { name: name.to_owned(), value: value.to_owned() });
            return Ok(());
        };
        let bad = |reason| ErrorKind::Header { name: canonical, reason };
        let duplicate = bad("appears more than once");
        macro_rules! once {
            ($field:expr, $value:expr) => {{
                if $field.is_some() {
                    return Err(duplicate);
                }
                $field = Some($value);
            }};
        }
        match canonical {
            TO_PATH | FROM_PATH | USE_PATH => {
                let field = match canonical {
                    TO_PATH => &mut self.to_path,
                    FROM_PATH => &mut self.from_path,
                    _ => &mut self.use_path,
                };
                if !field.is_empty() {
                    return Err(duplicate);
                }
                *field = parse_path(value).map_err(|_| bad("not a list of MSRP URIs"))?;
            }
            MESSAGE_ID => {
                if value.is_empty() || !value.bytes().all(is_ident_char) {
                    return Err(bad("not an identifier"));
                }
                once!(self.message_id, value.to_owned())
            }
            BYTE_RANGE => {
                let range = ByteRange::parse(value).map_err(|reason| ErrorKind::ByteRange { reason })?;
                once!(self.byte_range, range)
            }
            SUCCESS_REPORT => {
                let report = match value {
                    "yes" => SuccessReport::Yes,
                    "no" => SuccessReport::No,
                    _ => return Err(bad("not yes or no")),
                };
                once!(self.success_report, report)
            }
            FAILURE_REPORT => {
                let report = match value {
                    "yes" => FailureReport::Yes,
                    "no" => FailureReport::No,
                    "partial" => FailureReport::Partial,
                    _ => return Err(bad("not yes, no or partial")),
                };
                once!(self.failure_report, report)
            }
            STATUS => once!(self.status, Status::parse(value).map_err(bad)?),
            EXPIRES => once!(self.expires, seconds(value).ok_or_else(|| bad("not a number of seconds"))?),
            MIN_EXPIRES => once!(self.min_expires, seconds(value).ok_or_else(|| bad("not a number of seconds"))?),
            MAX_EXPIRES => once!(self.max_expires, seconds(value).ok_or_else(|| bad("not a number of seconds"))?),
            WWW_AUTHENTICATE => once!(self.www_authenticate, value.to_owned()),
            AUTHORIZATION => once!(self.authorization, value.to_owned()),
            AUTHENTICATION_INFO => once!(self.authentication_info, value.to_owned()),
            USE_NICKNAME => once!(self.use_nickname, value.to_owned()),
            _ => {
                if value.is_empty() {
                    return Err(bad("empty"));
                }
                once!(self.content_type, value.to_owned())
            }
        }
        Ok(())
    }

    /// Checks that every name and value can be written on one header line.
    pub(crate) fn check_encodable(&self) -> Result<(), BuildError> {
        let text = |name: &str, value: &str| {
            if value.bytes().any(|b| b == b'\r' || b == b'\n') {
                Err(BuildError::Text { name: name.to_owned() })
            } else {
                Ok(())
            }
        };
        for (name, value) in [
            (MESSAGE_ID, &self.message_id),
            (WWW_AUTHENTICATE, &self.www_authenticate),
            (AUTHORIZATION, &self.authorization),
            (AUTHENTICATION_INFO, &self.authentication_info),
            (USE_NICKNAME, &self.use_nickname),
            (CONTENT_TYPE, &self.content_type),
        ] {
            if let Some(value) = value {
                text(name, value)?;
            }
        }
        if let Some(status) = &self.status
            && let Some(comment) = &status.comment
        {
            text(STATUS, comment)?;
        }
        for (name, path) in [(TO_PATH, &self.to_path), (FROM_PATH, &self.from_path), (USE_PATH, &self.use_path)] {
            for uri in path {
                let parts = [&uri.host, &uri.transport].into_iter().chain(&uri.userinfo).chain(&uri.session_id);
                for part in parts.chain(&uri.params) {
                    if part.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
                        return Err(BuildError::Text { name: name.to_owned() });
                    }
                }
            }
        }
        for header in &self.other {
            if header.name.is_empty() || !header.name.bytes().all(is_token_char) {
                return Err(BuildError::Text { name: header.name.clone() });
            }
            text(&header.name, &header.value)?;
        }
        Ok(())
    }

    /// Writes the header lines: To-Path and From-Path first (RFC 4975
    /// §7.1), the other typed headers, the headers kept as written, and
    /// Content-Type last (it must directly precede the body).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        fn line(out: &mut Vec<u8>, name: &str, value: impl fmt::Display) {
            use std::io::Write;
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{name}: {value}\r\n");
        }
        fn path(out: &mut Vec<u8>, name: &str, uris: &[MsrpUri]) {
            if uris.is_empty() {
                return;
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            for (i, uri) in uris.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                line_uri(out, uri);
            }
            out.extend_from_slice(b"\r\n");
        }
        fn line_uri(out: &mut Vec<u8>, uri: &MsrpUri) {
            use std::io::Write;
            let _ = write!(out, "{uri}");
        }
        fn text(out: &mut Vec<u8>, name: &str, value: &Option<String>) {
            if let Some(value) = value {
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        path(out, TO_PATH, &self.to_path);
        path(out, FROM_PATH, &self.from_path);
        text(out, MESSAGE_ID, &self.message_id);
        if let Some(range) = &self.byte_range {
            line(out, BYTE_RANGE, range);
        }
        if let Some(report) = self.success_report {
            line(out, SUCCESS_REPORT, report.as_str());
        }
        if let Some(report) = self.failure_report {
            line(out, FAILURE_REPORT, report.as_str());
        }
        if let Some(status) = &self.status {
            line(out, STATUS, status);
        }
        path(out, USE_PATH, &self.use_path);
        for (name, value) in [(EXPIRES, self.expires), (MIN_EXPIRES, self.min_expires), (MAX_EXPIRES, self.max_expires)]
        {
            if let Some(value) = value {
                line(out, name, value);
            }
        }
        text(out, WWW_AUTHENTICATE, &self.www_authenticate);
        text(out, AUTHORIZATION, &self.authorization);
        text(out, AUTHENTICATION_INFO, &self.authentication_info);
        text(out, USE_NICKNAME, &self.use_nickname);
        for header in &self.other {
            out.extend_from_slice(header.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(header.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        text(out, CONTENT_TYPE, &self.content_type);
    }
}

fn seconds(text: &str) -> Option<u32> {
    if !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// RFC 4975 `ident-char`: letters, digits, `.`, `-`, `+`, `%`, `=`.
pub(crate) fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'%' | b'=')
}

/// RFC 4975 `token` characters (header names).
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges() {
        assert_eq!(ByteRange::parse("1-25/25"), Ok(ByteRange { start: 1, end: Some(25), total: Some(25) }));
        assert_eq!(ByteRange::parse("1-*/8191"), Ok(ByteRange { start: 1, end: None, total: Some(8191) }));
        assert_eq!(ByteRange::parse("5-*/*"), Ok(ByteRange { start: 5, end: None, total: None }));
        assert_eq!(ByteRange::parse("1-0/0"), Ok(ByteRange { start: 1, end: Some(0), total: Some(0) }));
        assert_eq!(ByteRange::parse("1-0/0").unwrap().len(), Some(0));
        for (text, reason) in [
            ("0-1/1", "start is 0"),
            ("5-3/10", "start is after end"),
            ("1-11/10", "end is beyond the total"),
            ("12-*/10", "start is beyond the total"),
            ("1-2", "expected start-end/total"),
            ("a-2/3", "not a number"),
            ("1-2/-3", "not a number"),
            ("1-2/99999999999999999999999", "number too large"),
        ] {
            assert_eq!(ByteRange::parse(text), Err(reason), "{text}");
        }
        for text in ["1-25/25", "1-*/8191", "5-*/*", "1-0/0", "3-9/*"] {
            assert_eq!(ByteRange::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(Status::parse("000 200 OK"), Ok(Status { code: 200, comment: Some("OK".into()) }));
        assert_eq!(Status::parse("000 413"), Ok(Status { code: 413, comment: None }));
        assert_eq!(Status::parse("000 200 OK").unwrap().to_string(), "000 200 OK");
        assert!(Status::parse("001 200 OK").is_err());
        assert!(Status::parse("000 2000").is_err());
        assert!(Status::parse("200 OK").is_err());
    }

    #[test]
    fn duplicate_and_bad_typed_headers_are_errors() {
        let mut headers = Headers::default();
        headers.insert("message-id", "abc").unwrap();
        assert!(matches!(headers.insert("Message-ID", "def"), Err(ErrorKind::Header { name: "Message-ID", .. })));
        assert!(matches!(headers.insert("Success-Report", "partial"), Err(ErrorKind::Header { .. })));
        assert!(matches!(headers.insert("Byte-Range", "3-1/5"), Err(ErrorKind::ByteRange { .. })));
        assert!(matches!(headers.insert("Expires", "-1"), Err(ErrorKind::Header { .. })));
        headers.insert("X-Thing", "1").unwrap();
        headers.insert("Content-ID", "<x@y>").unwrap();
        assert_eq!(headers.get_other("content-id"), Some("<x@y>"));
        assert_eq!(headers.other.len(), 2);
    }
}
