//! The owned message: built by us (requests, responses per RFC 3261
//! §8.2.6) or copied from a parsed one, and serialized with a computed
//! Content-Length.

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;

use super::error::ParseError;
use super::headers::{Header, HeaderKind, HeaderRef, Headers};
use super::method::Method;
use super::name_addr::{self, NameAddr};
use super::params::ParamIter;
use super::parser::{self, MessageRef, StartLine};
use super::scan;
use super::uri::Uri;
use super::values::{self, CSeq, MediaType};
use super::via::{self, Via};

/// Read access to the header lines of a parsed ([`MessageRef`], split-only
/// [`RawMessage`](super::RawMessage)) or owned ([`Message`]) message.
pub trait HeaderFields {
    /// The header lines in order.
    fn fields(&self) -> impl Iterator<Item = HeaderRef<'_>>;
}

impl HeaderFields for MessageRef<'_> {
    fn fields(&self) -> impl Iterator<Item = HeaderRef<'_>> {
        self.headers().iter().copied()
    }
}

impl HeaderFields for super::parser::RawMessage<'_> {
    fn fields(&self) -> impl Iterator<Item = HeaderRef<'_>> {
        self.headers().iter().copied()
    }
}

impl HeaderFields for Message {
    fn fields(&self) -> impl Iterator<Item = HeaderRef<'_>> {
        self.headers.iter().map(Header::as_ref)
    }
}

/// A SIP message that owns its contents.
///
/// Headers received keep their spelling (compact forms included, folds
/// joined on one line); headers added through the builder get the
/// canonical name (`Via`, `Call-ID`...). Typed accessors decode on each
/// call and return `None` when a header is absent or malformed.
/// [`Message::encode`] writes CRLF line ends and a Content-Length equal to
/// the body length (replacing the value of the first Content-Length header,
/// dropping any other, or appending one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    start: StartLine<'static>,
    headers: Headers,
    body: Vec<u8>,
}

impl Message {
    pub(crate) fn from_parts(start: StartLine<'static>, headers: Vec<Header>, body: Vec<u8>) -> Message {
        let mut list = Headers::new();
        for h in headers {
            list.push(h);
        }
        Message { start, headers: list, body }
    }

    /// Parses bytes into an owned message (see [`parse`](super::parse)).
    pub fn parse(buf: &[u8]) -> Result<Message, ParseError> {
        parser::parse(buf).map(|m| m.to_owned())
    }

    /// A request with no headers and no body.
    pub fn request(method: Method, uri: Uri<'_>) -> Message {
        Message::from_parts(StartLine::Request { method, uri: uri.into_owned() }, Vec::new(), Vec::new())
    }

    /// A response with no headers and no body; an empty `reason` gets the
    /// standard phrase of `code`.
    pub fn response(code: u16, reason: &str) -> Message {
        let reason = if reason.is_empty() { reason_phrase(code).to_owned() } else { reason.replace(['\r', '\n'], " ") };
        Message::from_parts(StartLine::Response { code, reason: Cow::Owned(reason) }, Vec::new(), Vec::new())
    }

    /// A response to `request` as RFC 3261 §8.2.6 builds it: every Via (in
    /// order), From, To, Call-ID and CSeq copied; Timestamp copied into a
    /// 100; Record-Route copied into a 101–299 response to a request that
    /// creates a dialog (§12.1.1). Add a To tag with
    /// [`Message::with_to_tag`].
    pub fn response_to(request: &impl HeaderFields, code: u16, reason: &str) -> Message {
        let mut response = Message::response(code, reason);
        let dialog_creating = request
            .fields()
            .find(|h| h.kind() == HeaderKind::CSeq)
            .and_then(|h| values::cseq_parts(h.value()).ok())
            .is_some_and(|(_, m)| matches!(m, "INVITE" | "SUBSCRIBE" | "REFER" | "NOTIFY"));
        for h in request.fields() {
            let copy = match h.kind() {
                HeaderKind::Via | HeaderKind::From | HeaderKind::To | HeaderKind::CallId | HeaderKind::CSeq => true,
                HeaderKind::Timestamp => code == 100,
                HeaderKind::RecordRoute => dialog_creating && (101..300).contains(&code),
                _ => false,
            };
            if copy {
                response.headers.push(Header::canonical(h.name(), h.unfolded_value()));
            }
        }
        response
    }

    /// Appends a header (builder style); a known name gets its canonical
    /// spelling. `value` is any displayable value: text or a typed value
    /// such as [`Via`], [`NameAddr`] or [`CSeq`].
    pub fn header(mut self, name: &str, value: impl fmt::Display) -> Message {
        self.add_header(name, value);
        self
    }

    /// Appends a header (see [`Message::header`]).
    pub fn add_header(&mut self, name: &str, value: impl fmt::Display) {
        self.headers.push(Header::canonical(name, value.to_string()));
    }

    /// Sets the body and its Content-Type (builder style).
    pub fn with_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Message {
        self.headers.set("Content-Type", content_type);
        self.body = body.into();
        self
    }

    /// Adds `;tag=<tag>` to the To header when it has no tag yet (UAS
    /// responses, RFC 3261 §8.2.6.2).
    pub fn with_to_tag(mut self, tag: &str) -> Message {
        let Some(value) = self.headers.get_kind(HeaderKind::To) else {
            return self;
        };
        if name_addr::parse_name_addr(value).map(|a| a.tag().is_some()).unwrap_or(false) {
            return self;
        }
        let new_value = format!("{value};tag={tag}");
        self.headers.set("To", new_value);
        self
    }

    /// The start line.
    pub fn start_line(&self) -> &StartLine<'static> {
        &self.start
    }

    /// The start line, to change it.
    pub fn start_line_mut(&mut self) -> &mut StartLine<'static> {
        &mut self.start
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, to change them.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Replaces the body (Content-Length follows on encoding).
    pub fn set_body(&mut self, body: Vec<u8>) {
        self.body = body;
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI of a request.
    pub fn uri(&self) -> Option<&Uri<'static>> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    /// The reason phrase of a response.
    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Response { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }

    /// The value of the first header named `name` (any spelling).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The topmost Via value.
    pub fn top_via(&self) -> Option<Via<'_>> {
        self.headers.values_kind(HeaderKind::Via).next().and_then(|v| via::parse_via(v).ok())
    }

    /// Every Via value, top first.
    pub fn vias(&self) -> impl Iterator<Item = Via<'_>> {
        self.headers.values_kind(HeaderKind::Via).filter_map(|v| via::parse_via(v).ok())
    }

    /// The `branch` of the topmost Via.
    pub fn top_via_branch(&self) -> Option<&str> {
        let v = self.headers.values_kind(HeaderKind::Via).next()?;
        let semi = memchr::memchr(b';', v.as_bytes())?;
        ParamIter::new(&v[semi + 1..]).find(|p| scan::eq_ic(p.name, "branch")).and_then(|p| p.value)
    }

    /// The From address.
    pub fn from(&self) -> Option<NameAddr<'_>> {
        self.headers.get_kind(HeaderKind::From).and_then(|v| name_addr::parse_name_addr(v).ok())
    }

    /// The To address.
    pub fn to(&self) -> Option<NameAddr<'_>> {
        self.headers.get_kind(HeaderKind::To).and_then(|v| name_addr::parse_name_addr(v).ok())
    }

    /// The `tag` of the From header.
    pub fn from_tag(&self) -> Option<&str> {
        self.headers.get_kind(HeaderKind::From).and_then(name_addr::tag_of)
    }

    /// The `tag` of the To header.
    pub fn to_tag(&self) -> Option<&str> {
        self.headers.get_kind(HeaderKind::To).and_then(name_addr::tag_of)
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.headers.get_kind(HeaderKind::CallId).and_then(|v| values::check_call_id(v).ok())
    }

    /// The CSeq.
    pub fn cseq(&self) -> Option<CSeq> {
        self.headers.get_kind(HeaderKind::CSeq).and_then(|v| values::parse_cseq(v).ok())
    }

    /// The CSeq number and method token, without allocating.
    pub fn cseq_parts(&self) -> Option<(u32, &str)> {
        self.headers.get_kind(HeaderKind::CSeq).and_then(|v| values::cseq_parts(v).ok())
    }

    /// Max-Forwards.
    pub fn max_forwards(&self) -> Option<u8> {
        self.headers.get_kind(HeaderKind::MaxForwards).and_then(|v| values::parse_max_forwards(v).ok())
    }

    /// The first Contact address (`None` for the `*` wildcard).
    pub fn contact(&self) -> Option<NameAddr<'_>> {
        self.contacts().next()
    }

    /// Every Contact address, in order.
    pub fn contacts(&self) -> impl Iterator<Item = NameAddr<'_>> {
        self.headers
            .values_kind(HeaderKind::Contact)
            .filter(|v| *v != "*")
            .filter_map(|v| name_addr::parse_name_addr(v).ok())
    }

    /// Every Route address, in order.
    pub fn routes(&self) -> impl Iterator<Item = NameAddr<'_>> {
        self.headers.values_kind(HeaderKind::Route).filter_map(|v| name_addr::parse_name_addr(v).ok())
    }

    /// Every Record-Route address, in order.
    pub fn record_routes(&self) -> impl Iterator<Item = NameAddr<'_>> {
        self.headers.values_kind(HeaderKind::RecordRoute).filter_map(|v| name_addr::parse_name_addr(v).ok())
    }

    /// The Content-Type.
    pub fn content_type(&self) -> Option<MediaType<'_>> {
        self.headers.get_kind(HeaderKind::ContentType).and_then(|v| values::parse_media_type(v).ok())
    }

    /// The Expires header.
    pub fn expires(&self) -> Option<u32> {
        self.headers.get_kind(HeaderKind::Expires).and_then(|v| values::parse_delta_seconds(v).ok())
    }

    /// Writes the message as it goes on the wire into `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(
            self.body.len() + 64 + self.headers.iter().map(|h| h.name().len() + h.value().len() + 4).sum::<usize>(),
        );
        match &self.start {
            StartLine::Request { method, uri } => {
                out.extend_from_slice(method.as_str().as_bytes());
                out.push(b' ');
                let _ = write!(out, "{uri}");
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            StartLine::Response { code, reason } => {
                out.extend_from_slice(b"SIP/2.0 ");
                push_number(out, usize::from(*code));
                out.push(b' ');
                out.extend_from_slice(reason.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        let mut length_written = false;
        for h in &self.headers {
            if h.kind() == HeaderKind::ContentLength {
                if length_written {
                    continue;
                }
                length_written = true;
                out.extend_from_slice(h.name().as_bytes());
                out.extend_from_slice(b": ");
                push_number(out, self.body.len());
                out.extend_from_slice(b"\r\n");
                continue;
            }
            out.extend_from_slice(h.name().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !length_written {
            out.extend_from_slice(b"Content-Length: ");
            push_number(out, self.body.len());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }

    /// The message as it goes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// The wire text; a body that is not UTF-8 is shown with U+FFFD.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

fn push_number(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The standard reason phrase of a status code (RFC 3261 §21 and later
/// RFCs); `""` for an unknown code.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        430 => "Flow Failed",
        433 => "Anonymity Disallowed",
        436 => "Bad Identity-Info",
        437 => "Unsupported Certificate",
        438 => "Invalid Identity Header",
        439 => "First Hop Lacks Outbound Support",
        440 => "Max-Breadth Exceeded",
        469 => "Bad Info Package",
        470 => "Consent Needed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        555 => "Push Notification Service Not Supported",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        608 => "Rejected",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::parse;
    use crate::sip::message::via::Transport;

    const INVITE: &[u8] = include_bytes!("../../../benches/fixtures/invite-918.sip");

    #[test]
    fn build_request() {
        let uri = Uri::sip("biloxi.example.com").with_user("bob");
        let from =
            NameAddr::new(Uri::sip("atlanta.example.com").with_user("alice")).with_display_name("Alice").with_tag("88");
        let m = Message::request(Method::Message, uri)
            .header("v", Via::new(Transport::Udp, "192.0.2.1", Some(5060)).with_branch("z9hG4bKx").with_rport())
            .header("max-forwards", 70)
            .header("From", &from)
            .header("To", "<sip:bob@biloxi.example.com>")
            .header("i", "abc@192.0.2.1")
            .header("CSeq", CSeq::new(1, Method::Message))
            .with_body("text/plain", "hello");
        let text = m.to_string();
        assert_eq!(
            text,
            "MESSAGE sip:bob@biloxi.example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx;rport\r\n\
             Max-Forwards: 70\r\n\
             From: \"Alice\" <sip:alice@atlanta.example.com>;tag=88\r\n\
             To: <sip:bob@biloxi.example.com>\r\n\
             Call-ID: abc@192.0.2.1\r\n\
             CSeq: 1 MESSAGE\r\n\
             Content-Type: text/plain\r\n\
             Content-Length: 5\r\n\
             \r\n\
             hello"
        );
        let back = parse(text.as_bytes()).unwrap();
        assert_eq!(back.body(), b"hello");
        assert_eq!(back.from(), Some(&from));
        assert_eq!(m.top_via_branch(), Some("z9hG4bKx"));
        assert_eq!(m.from_tag(), Some("88"));
        assert_eq!(m.call_id(), Some("abc@192.0.2.1"));
        assert_eq!(m.cseq_parts(), Some((1, "MESSAGE")));
    }

    #[test]
    fn response_to_copies_and_tags() {
        let mut req_bytes = INVITE.to_vec();
        let at = req_bytes.windows(4).position(|w| w == b"CSeq").unwrap();
        req_bytes.splice(at..at, b"Record-Route: <sip:p1.example.com;lr>\r\nTimestamp: 54\r\n".iter().copied());
        let req = parse(&req_bytes).unwrap();
        let ringing = Message::response_to(&req, 180, "").with_to_tag("abc");
        assert_eq!(ringing.status(), Some(180));
        assert_eq!(ringing.reason(), Some("Ringing"));
        let names: Vec<_> = ringing.headers().iter().map(|h| h.name()).collect();
        assert_eq!(names, vec!["Via", "Via", "From", "To", "Call-ID", "Record-Route", "CSeq"]);
        // The request already had a To tag: it is kept.
        assert_eq!(ringing.to_tag(), Some("a6c85cf"));
        let trying = Message::response_to(&req, 100, "Trying");
        assert!(trying.headers().contains("Timestamp"));
        assert!(!trying.headers().contains("Record-Route"));

        let opts = parse(b"OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:c@d>;tag=1\r\nt: sip:a@b\r\ni: x\r\nCSeq: 2 OPTIONS\r\nMax-Forwards: 70\r\nAccept: application/sdp\r\n\r\n").unwrap();
        let ok = Message::response_to(&opts, 200, "OK").with_to_tag("t9").with_body("application/sdp", "v=0\r\n");
        assert_eq!(ok.to_tag(), Some("t9"));
        assert_eq!(ok.header_value("To"), Some("sip:a@b;tag=t9"));
        assert!(!ok.headers().contains("Max-Forwards"));
        assert_eq!(ok.cseq(), Some(CSeq::new(2, Method::Options)));
        let bytes = ok.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:c@d>;tag=1\r\n"));
        assert!(text.ends_with("Content-Length: 5\r\n\r\nv=0\r\n"));
        let back = parse(&bytes).unwrap();
        assert_eq!(back.to_tag(), Some("t9"));
        assert_eq!(back.body(), b"v=0\r\n");
        // A response to an owned request works the same way.
        let again =
            Message::response_to(&opts.to_owned(), 200, "OK").with_to_tag("t9").with_body("application/sdp", "v=0\r\n");
        assert_eq!(again, ok);
    }

    #[test]
    fn content_length_is_computed() {
        let m = Message::parse(b"OPTIONS sip:a@b SIP/2.0\r\nl: 3\r\nContent-Length: 3\r\n\r\nabc").unwrap();
        let mut m2 = m.clone();
        m2.set_body(b"hello world".to_vec());
        let text = String::from_utf8(m2.to_bytes()).unwrap();
        assert_eq!(text, "OPTIONS sip:a@b SIP/2.0\r\nl: 11\r\n\r\nhello world");
        let r = Message::response(486, "");
        assert_eq!(r.to_bytes(), b"SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(Message::response(299, "").reason(), Some(""));
        assert_eq!(Message::response(200, "A\r\nB").reason(), Some("A  B"));
    }

    #[test]
    fn owned_copy_keeps_spelling_and_unfolds() {
        let m = Message::parse(b"OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\nX-Folded: a\r\n  b\r\ni: c\r\n\r\n")
            .unwrap();
        let names: Vec<_> = m.headers().iter().map(|h| (h.name(), h.value())).collect();
        assert_eq!(names, vec![("v", "SIP/2.0/UDP h"), ("X-Folded", "a b"), ("i", "c")]);
        assert_eq!(m.call_id(), Some("c"));
        assert_eq!(m.top_via().map(|v| v.host().to_owned()).as_deref(), Some("h"));
    }
}
