//! The MSRP frame model (RFC 4975 §7): start line, headers, body and
//! end-line; building requests, responses (§7.2) and REPORTs (§7.1.2), and
//! writing frames out.

use std::fmt;

use rand::Rng;
use rand::distr::Alphanumeric;

use super::error::BuildError;
use super::headers::{ByteRange, FailureReport, Headers, Status, SuccessReport, is_ident_char};
use super::uri::MsrpUri;

/// The number of hyphens that start an end-line.
pub(crate) const END_LINE_DASHES: &[u8] = b"-------";

/// A request method. Methods other than the ones MSRP and its extensions
/// define are kept by name so that the session layer can answer 501.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `SEND`: carries a message chunk.
    Send,
    /// `REPORT`: a delivery report.
    Report,
    /// `AUTH`: authentication to a relay (RFC 4976).
    Auth,
    /// `NICKNAME`: chat nickname (RFC 7701).
    Nickname,
    /// Any other method, as written (upper-case letters and `_`).
    Other(String),
}

impl Method {
    /// The method name as written on the start line.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Send => "SEND",
            Method::Report => "REPORT",
            Method::Auth => "AUTH",
            Method::Nickname => "NICKNAME",
            Method::Other(name) => name,
        }
    }

    /// The method named `name` (RFC 4975 `method = 1*UPALPHA`; `_` is also
    /// accepted, as in `FILE_OFFSET`). `None` for an invalid name.
    pub fn from_name(name: &str) -> Option<Method> {
        Some(match name {
            "SEND" => Method::Send,
            "REPORT" => Method::Report,
            "AUTH" => Method::Auth,
            "NICKNAME" => Method::Nickname,
            _ if is_method_name(name) => Method::Other(name.to_owned()),
            _ => return None,
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_method_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

/// The continuation flag of an end-line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Continuation {
    /// `$`: the last chunk of the message.
    Complete,
    /// `+`: more chunks of the message follow.
    More,
    /// `#`: the sender aborts the message; no more chunks follow.
    Aborted,
}

impl Continuation {
    /// The flag character.
    pub fn as_byte(self) -> u8 {
        match self {
            Continuation::Complete => b'$',
            Continuation::More => b'+',
            Continuation::Aborted => b'#',
        }
    }

    /// The flag for a character, `None` if it is not `$`, `+` or `#`.
    pub fn from_byte(flag: u8) -> Option<Continuation> {
        match flag {
            b'$' => Some(Continuation::Complete),
            b'+' => Some(Continuation::More),
            b'#' => Some(Continuation::Aborted),
            _ => None,
        }
    }
}

/// Whether a frame is a request or a response.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `MSRP <tid> <method>`.
    Request(Method),
    /// `MSRP <tid> <code> [comment]`.
    Response {
        /// The status code.
        code: u16,
        /// The comment after the code, if any.
        comment: Option<String>,
    },
}

/// Everything of a frame but its body and end-line: transaction id, start
/// line and headers. The parser yields it as soon as the headers are read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Head {
    /// The transaction id (4 to 32 characters).
    pub transaction_id: String,
    /// Request method or response status.
    pub kind: Kind,
    /// The header fields.
    pub headers: Headers,
}

/// A complete frame: head, body and the end-line's continuation flag.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// Start line and headers.
    pub head: Head,
    /// The body (empty when the frame has none).
    pub body: Vec<u8>,
    /// The end-line's flag.
    pub continuation: Continuation,
}

/// A new random transaction id (16 letters and digits).
pub fn new_transaction_id() -> String {
    random_ident(16)
}

/// A new random transaction id whose end-line does not occur in `body`
/// (RFC 4975 §7.1: the sender must make sure of it).
pub fn transaction_id_for(body: &[u8]) -> String {
    loop {
        let id = new_transaction_id();
        if memchr::memmem::find(body, &end_line_start(&id)).is_none() {
            return id;
        }
    }
}

/// A new random Message-ID (16 letters and digits).
pub fn new_message_id() -> String {
    random_ident(16)
}

fn random_ident(len: usize) -> String {
    rand::rng().sample_iter(Alphanumeric).take(len).map(char::from).collect()
}

/// `"-------" transaction-id`.
fn end_line_start(transaction_id: &str) -> Vec<u8> {
    let mut needle = Vec::with_capacity(END_LINE_DASHES.len() + transaction_id.len());
    needle.extend_from_slice(END_LINE_DASHES);
    needle.extend_from_slice(transaction_id.as_bytes());
    needle
}

/// Whether `body` contains the end-line of `transaction_id` (hyphens,
/// transaction id and a continuation flag).
fn body_contains_end_line(body: &[u8], transaction_id: &str) -> bool {
    let needle = end_line_start(transaction_id);
    memchr::memmem::find_iter(body, &needle)
        .any(|at| body.get(at + needle.len()).is_some_and(|&flag| Continuation::from_byte(flag).is_some()))
}

/// Whether `id` is a valid transaction id (RFC 4975 `ident`: a letter or
/// digit then 3 to 31 `ident-char`s).
pub fn is_valid_transaction_id(id: &str) -> bool {
    (4..=32).contains(&id.len()) && id.as_bytes()[0].is_ascii_alphanumeric() && id.bytes().all(is_ident_char)
}

/// The reason phrase this library writes after a status code.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        408 => "Request Timeout",
        413 => "Message Too Large",
        415 => "Unsupported Media Type",
        423 => "Interval Out-of-Bounds",
        481 => "Session Does Not Exist",
        501 => "Not Implemented",
        506 => "Session Already Bound",
        _ => "Unknown",
    }
}

impl Head {
    /// A request with a new transaction id and the given paths.
    pub fn request(method: Method, to_path: Vec<MsrpUri>, from_path: Vec<MsrpUri>) -> Head {
        Head {
            transaction_id: new_transaction_id(),
            kind: Kind::Request(method),
            headers: Headers { to_path, from_path, ..Headers::default() },
        }
    }

    /// A SEND request for a message of `message_id` and `content_type`
    /// (new transaction id; set the Byte-Range per chunk, or use
    /// [`Head::chunks`]).
    pub fn send(to_path: Vec<MsrpUri>, from_path: Vec<MsrpUri>, message_id: &str, content_type: &str) -> Head {
        let mut head = Head::request(Method::Send, to_path, from_path);
        head.headers.message_id = Some(message_id.to_owned());
        head.headers.content_type = Some(content_type.to_owned());
        head
    }

    /// The request method, `None` for a response.
    pub fn method(&self) -> Option<&Method> {
        match &self.kind {
            Kind::Request(method) => Some(method),
            Kind::Response { .. } => None,
        }
    }

    /// The status code, `None` for a request.
    pub fn code(&self) -> Option<u16> {
        match &self.kind {
            Kind::Request(_) => None,
            Kind::Response { code, .. } => Some(*code),
        }
    }

    /// Whether a transaction response with `code` is to be sent for this
    /// request (RFC 4975 §7.2): never for a response or a REPORT; never
    /// with `Failure-Report: no`; only for codes other than 200 with
    /// `Failure-Report: partial`.
    pub fn response_wanted(&self, code: u16) -> bool {
        match self.method() {
            None | Some(Method::Report) => false,
            Some(_) => match self.headers.failure_report_or_default() {
                FailureReport::Yes => true,
                FailureReport::No => false,
                FailureReport::Partial => code != 200,
            },
        }
    }

    /// The response to this request (RFC 4975 §7.2), or `None` when
    /// [`Head::response_wanted`] says none is sent or the request lacks a
    /// path. Same transaction id; To-Path is the previous hop (the first
    /// From-Path URI) for SEND and the whole From-Path for other methods;
    /// From-Path is this hop (the first To-Path URI).
    pub fn response(&self, code: u16, comment: Option<&str>) -> Option<Head> {
        if !self.response_wanted(code) {
            return None;
        }
        let from = self.headers.to_path.first()?.clone();
        let previous_hop = self.headers.from_path.first()?;
        let to_path = match self.method() {
            Some(Method::Send) => vec![previous_hop.clone()],
            _ => self.headers.from_path.clone(),
        };
        Some(Head {
            transaction_id: self.transaction_id.clone(),
            kind: Kind::Response { code, comment: comment.map(str::to_owned) },
            headers: Headers { to_path, from_path: vec![from], ..Headers::default() },
        })
    }

    /// Whether the sender of this SEND asked for a success REPORT.
    pub fn success_report_wanted(&self) -> bool {
        self.method() == Some(&Method::Send) && self.headers.success_report_or_default() == SuccessReport::Yes
    }

    /// Whether the sender of this SEND wants a failure REPORT for `code`
    /// (`Failure-Report` `yes` or `partial`, code not 200).
    pub fn failure_report_wanted(&self, code: u16) -> bool {
        self.method() == Some(&Method::Send)
            && code != 200
            && self.headers.failure_report_or_default() != FailureReport::No
    }

    /// A REPORT about this SEND (RFC 4975 §7.1.2): new transaction id,
    /// To-Path the SEND's From-Path (the way back to its sender), From-Path
    /// this endpoint (the SEND's first To-Path URI), the SEND's Message-ID,
    /// `status` and `byte_range` (the bytes reported on).
    pub fn report(&self, status: Status, byte_range: ByteRange) -> Result<Head, BuildError> {
        if self.method() != Some(&Method::Send) {
            return Err(BuildError::NotASend);
        }
        let message_id = self.headers.message_id.clone().ok_or(BuildError::MissingHeader { name: "Message-ID" })?;
        let from = self.headers.to_path.first().ok_or(BuildError::MissingHeader { name: "To-Path" })?.clone();
        if self.headers.from_path.is_empty() {
            return Err(BuildError::MissingHeader { name: "From-Path" });
        }
        let mut report = Head::request(Method::Report, self.headers.from_path.clone(), vec![from]);
        report.headers.message_id = Some(message_id);
        report.headers.byte_range = Some(byte_range);
        report.headers.status = Some(status);
        Ok(report)
    }

    /// A REPORT about the `body_len` bytes this SEND chunk carried: the
    /// Byte-Range starts at the chunk's start (1 without Byte-Range), ends
    /// `body_len` bytes later (at most at the total), and keeps the chunk's
    /// total (`body_len` without Byte-Range).
    pub fn chunk_report(&self, body_len: u64, status: Status) -> Result<Head, BuildError> {
        let range = match self.headers.byte_range {
            Some(range) => {
                let end = range.start.saturating_add(body_len).saturating_sub(1);
                ByteRange {
                    start: range.start,
                    end: Some(range.total.map_or(end, |total| end.min(total))),
                    total: range.total,
                }
            }
            None => ByteRange::whole(body_len),
        };
        self.report(status, range)
    }

    /// Splits a message body into SEND chunks of at most `chunk_size` bytes
    /// using this head as template (its Message-ID, paths, report
    /// headers, Content-Type and other headers): each chunk gets its own
    /// transaction id (absent from its body), a Byte-Range
    /// `start-end/total`, and `+` except the last, which gets `$`. An empty
    /// body gives one chunk `1-0/0`.
    pub fn chunks<'a>(&'a self, body: &'a [u8], chunk_size: usize) -> Result<Chunks<'a>, BuildError> {
        if self.method() != Some(&Method::Send) {
            return Err(BuildError::NotASend);
        }
        if chunk_size == 0 {
            return Err(BuildError::ChunkSize);
        }
        Ok(Chunks { template: self, body, chunk_size, offset: 0, done: false })
    }

    /// Checks that the head can be written: valid transaction id and method,
    /// a three-digit code, no line break in any header.
    pub fn check(&self) -> Result<(), BuildError> {
        if !is_valid_transaction_id(&self.transaction_id) {
            return Err(BuildError::TransactionId);
        }
        match &self.kind {
            Kind::Request(method) if !is_method_name(method.as_str()) => return Err(BuildError::Method),
            Kind::Response { code, .. } if *code > 999 => return Err(BuildError::StatusCode),
            Kind::Response { comment: Some(comment), .. } if comment.bytes().any(|b| b == b'\r' || b == b'\n') => {
                return Err(BuildError::Text { name: "comment".to_owned() });
            }
            _ => {}
        }
        self.headers.check_encodable()
    }

    /// Writes the start line and headers, then (when `has_body`) the empty
    /// line that starts the body. Write the body next, then
    /// [`encode_end_line`]. Call [`Head::check`] first for a head that did
    /// not come from the parser or the builders.
    pub fn encode(&self, has_body: bool, out: &mut Vec<u8>) {
        out.extend_from_slice(b"MSRP ");
        out.extend_from_slice(self.transaction_id.as_bytes());
        out.push(b' ');
        match &self.kind {
            Kind::Request(method) => out.extend_from_slice(method.as_str().as_bytes()),
            Kind::Response { code, comment } => {
                out.extend_from_slice(format!("{code:03}").as_bytes());
                if let Some(comment) = comment {
                    out.push(b' ');
                    out.extend_from_slice(comment.as_bytes());
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        self.headers.encode(out);
        if has_body {
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Writes an end-line: the CRLF that ends the body (when `has_body`), seven
/// hyphens, the transaction id, the flag and CRLF.
pub fn encode_end_line(transaction_id: &str, continuation: Continuation, has_body: bool, out: &mut Vec<u8>) {
    if has_body {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(END_LINE_DASHES);
    out.extend_from_slice(transaction_id.as_bytes());
    out.push(continuation.as_byte());
    out.extend_from_slice(b"\r\n");
}

impl Frame {
    /// A frame from its parts.
    pub fn new(head: Head, body: Vec<u8>, continuation: Continuation) -> Frame {
        Frame { head, body, continuation }
    }

    /// Whether the frame is written with a body section: it has body bytes
    /// or a Content-Type.
    pub fn has_body(&self) -> bool {
        !self.body.is_empty() || self.head.headers.content_type.is_some()
    }

    /// Appends the frame's bytes to `out` after [`Head::check`]; also fails
    /// when the body contains the frame's end-line.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), BuildError> {
        self.head.check()?;
        if body_contains_end_line(&self.body, &self.head.transaction_id) {
            return Err(BuildError::TransactionId);
        }
        let has_body = self.has_body();
        out.reserve(self.body.len() + 256);
        self.head.encode(has_body, out);
        out.extend_from_slice(&self.body);
        encode_end_line(&self.head.transaction_id, self.continuation, has_body, out);
        Ok(())
    }

    /// The frame's bytes (see [`Frame::encode`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>, BuildError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

/// The SEND chunks of one message, from [`Head::chunks`].
#[derive(Debug)]
pub struct Chunks<'a> {
    template: &'a Head,
    body: &'a [u8],
    chunk_size: usize,
    offset: usize,
    done: bool,
}

impl Iterator for Chunks<'_> {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        if self.done {
            return None;
        }
        let end = self.body.len().min(self.offset.saturating_add(self.chunk_size));
        let piece = &self.body[self.offset..end];
        let total = self.body.len() as u64;
        let mut head = self.template.clone();
        head.transaction_id = transaction_id_for(piece);
        head.headers.byte_range =
            Some(ByteRange { start: self.offset as u64 + 1, end: Some(end as u64), total: Some(total) });
        let continuation = if end == self.body.len() { Continuation::Complete } else { Continuation::More };
        self.done = continuation == Continuation::Complete;
        self.offset = end;
        Some(Frame { head, body: piece.to_vec(), continuation })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> MsrpUri {
        MsrpUri::parse(text).unwrap()
    }

    #[test]
    fn transaction_ids_are_valid_and_absent_from_the_body() {
        for _ in 0..100 {
            let id = new_transaction_id();
            assert!(is_valid_transaction_id(&id), "{id}");
        }
        assert!(is_valid_transaction_id("a786hjs2"));
        assert!(is_valid_transaction_id("a1.-+%="));
        assert!(!is_valid_transaction_id("abc"));
        assert!(!is_valid_transaction_id(".abcd"));
        assert!(!is_valid_transaction_id("ab cd"));
        assert!(!is_valid_transaction_id(&"a".repeat(33)));
        let body = b"xx-------abcd$";
        assert!(body_contains_end_line(body, "abcd"));
        assert!(!body_contains_end_line(b"xx-------abcdX-------abcd", "abcd"));
        assert!(!body_contains_end_line(body, transaction_id_for(body).as_str()));
    }

    #[test]
    fn chunking_sets_byte_ranges_and_flags() {
        let mut template = Head::send(
            vec![uri("msrp://b.example.com:8888/9di4eae923wzd;tcp")],
            vec![uri("msrp://a.example.com:7777/iau39soe2843z;tcp")],
            "12339sdqwer",
            "text/plain",
        );
        template.headers.success_report = Some(SuccessReport::Yes);
        let body: Vec<u8> = (0..10u8).collect();
        let chunks: Vec<Frame> = template.chunks(&body, 4).unwrap().collect();
        let ranges: Vec<String> = chunks.iter().map(|c| c.head.headers.byte_range.unwrap().to_string()).collect();
        assert_eq!(ranges, ["1-4/10", "5-8/10", "9-10/10"]);
        let flags: Vec<Continuation> = chunks.iter().map(|c| c.continuation).collect();
        assert_eq!(flags, [Continuation::More, Continuation::More, Continuation::Complete]);
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.body.clone()).collect();
        assert_eq!(joined, body);
        let ids: std::collections::HashSet<&str> = chunks.iter().map(|c| c.head.transaction_id.as_str()).collect();
        assert_eq!(ids.len(), 3);
        assert!(chunks.iter().all(|c| c.head.headers.success_report == Some(SuccessReport::Yes)));

        let empty: Vec<Frame> = template.chunks(b"", 4).unwrap().collect();
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].head.headers.byte_range.unwrap().to_string(), "1-0/0");
        assert_eq!(empty[0].continuation, Continuation::Complete);

        let exact: Vec<Frame> = template.chunks(&body, 5).unwrap().collect();
        assert_eq!(exact.len(), 2);
        assert_eq!(template.chunks(&body, 0).err(), Some(BuildError::ChunkSize));
        let report = template.report(Status::new(200), ByteRange::whole(10)).unwrap();
        assert_eq!(report.chunks(&body, 4).err(), Some(BuildError::NotASend));
    }

    #[test]
    fn encode_rejects_injection() {
        let mut head = Head::request(Method::Send, vec![uri("msrp://b:1/x;tcp")], vec![uri("msrp://a:1/y;tcp")]);
        head.headers.message_id = Some("m1".into());
        head.headers.content_type = Some("text/plain\r\nEvil: 1".into());
        let frame = Frame::new(head.clone(), b"hi".to_vec(), Continuation::Complete);
        assert!(matches!(frame.to_bytes(), Err(BuildError::Text { .. })));
        head.headers.content_type = Some("text/plain".into());
        head.transaction_id = "bad id".into();
        assert_eq!(Frame::new(head.clone(), vec![], Continuation::Complete).to_bytes(), Err(BuildError::TransactionId));
        head.transaction_id = "abcd".into();
        let frame = Frame::new(head.clone(), b"x\r\n-------abcd$\r\n".to_vec(), Continuation::Complete);
        assert_eq!(frame.to_bytes(), Err(BuildError::TransactionId));
        head.kind = Kind::Request(Method::Other("send".into()));
        assert_eq!(Frame::new(head, vec![], Continuation::Complete).to_bytes(), Err(BuildError::Method));
    }
}
