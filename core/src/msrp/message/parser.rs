//! The incremental MSRP parser: bytes from a TCP or TLS stream in, in any
//! split, frames out.
//!
//! [`Parser`] yields each frame as events — its [`Head`] once the headers
//! are read, then its body in the pieces that arrived, then its end-line's
//! flag — so that a file chunk streams to disk without being gathered.
//! [`FrameParser`] gathers whole [`Frame`]s up to [`Limits::max_body`], for
//! chat messages and control frames. The end of a body is found with
//! `memchr::memmem`; bytes that may start the end-line are held back until
//! the next bytes tell.

use memchr::memmem::Finder;

use super::error::{ErrorKind, ParseError};
use super::frame::{Continuation, END_LINE_DASHES, Frame, Head, Kind, Method, is_valid_transaction_id};
use super::headers::{Headers, is_token_char, parse_code};

/// Size limits that keep a peer from exhausting memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest start line or header line, CRLF excluded.
    pub max_line: usize,
    /// Most header lines in one frame.
    pub max_headers: usize,
    /// Largest body of one frame: a body that grows beyond it is
    /// [`ErrorKind::BodyTooLarge`] (answer 413) and the rest of it is
    /// skipped. With [`Parser`] the body is never held whole, so this may
    /// be `usize::MAX` for file transfers.
    pub max_body: usize,
}

impl Default for Limits {
    /// 16 KiB lines, 64 headers, 4 MiB bodies.
    fn default() -> Limits {
        Limits { max_line: 16 * 1024, max_headers: 64, max_body: 4 * 1024 * 1024 }
    }
}

/// What [`Parser::next_event`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The start line and headers of a new frame (boxed: the other events
    /// stay small).
    Head(Box<Head>),
    /// The next bytes of the current frame's body (never empty). The slice
    /// borrows the parser's buffer until the next call.
    Body(&'a [u8]),
    /// The end-line: the current frame is complete.
    End(Continuation),
}

struct PendingHead {
    head: Head,
    lines: usize,
    error: Option<ErrorKind>,
}

struct BodyScan {
    /// Finds `CRLF "-------" transaction-id`.
    end_line: Finder<'static>,
    /// Nothing of the body was looked at yet: the CRLF of the empty line
    /// that opened the body may be the one before the end-line.
    at_start: bool,
    /// Body bytes delivered so far.
    delivered: usize,
    /// The frame was rejected: drop its body.
    skipping: bool,
}

enum State {
    StartLine,
    Headers(Box<PendingHead>),
    Body(Box<BodyScan>),
    /// A frame without body whose Head was delivered: its End is next.
    End(Continuation),
    Failed(ParseError),
}

enum Step {
    Continue,
    NeedMore,
    Head(Box<Head>),
    Body(usize, usize),
    End(Continuation),
    Error(ParseError),
}

enum Scan {
    NeedMore,
    Body(usize),
    EndLine { len: usize, continuation: Continuation },
    Bad(&'static str),
}

/// The incremental parser of one MSRP connection.
///
/// Feed the bytes read with [`Parser::feed`], then call
/// [`Parser::next_event`] until it returns `Ok(None)`. Errors that are not
/// [fatal](ParseError::is_fatal) drop the offending frame (no further event
/// for it) and parsing goes on; after a fatal one every call returns the
/// same error and the connection must be closed. Never panics on any input.
pub struct Parser {
    limits: Limits,
    buf: Vec<u8>,
    pos: usize,
    /// Bytes after `pos` already searched for a line feed.
    scanned: usize,
    state: State,
}

impl Default for Parser {
    fn default() -> Parser {
        Parser::new(Limits::default())
    }
}

impl std::fmt::Debug for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parser").field("limits", &self.limits).field("buffered", &self.buffered()).finish()
    }
}

impl Parser {
    /// A parser with the given limits, at the start of a stream.
    pub fn new(limits: Limits) -> Parser {
        Parser { limits, buf: Vec::new(), pos: 0, scanned: 0, state: State::StartLine }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Appends bytes received from the stream. Ignored after a fatal error.
    pub fn feed(&mut self, data: &[u8]) {
        if matches!(self.state, State::Failed(_)) {
            return;
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
        } else if self.pos > 0 {
            self.buf.drain(..self.pos);
        }
        self.pos = 0;
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet delivered (a partial line, or body bytes
    /// that may be the start of the end-line).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether a fatal error happened: the connection must be closed.
    pub fn is_failed(&self) -> bool {
        matches!(self.state, State::Failed(_))
    }

    /// Whether the parser is between frames with nothing buffered: a
    /// connection closed now did not cut a frame.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::StartLine) && self.buffered() == 0
    }

    /// The next event from the bytes fed so far, `Ok(None)` when more bytes
    /// are needed.
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, ParseError> {
        loop {
            match self.step() {
                Step::Continue => {}
                Step::NeedMore => return Ok(None),
                Step::Head(head) => return Ok(Some(Event::Head(head))),
                Step::Body(start, end) => return Ok(Some(Event::Body(&self.buf[start..end]))),
                Step::End(continuation) => return Ok(Some(Event::End(continuation))),
                Step::Error(error) => {
                    if error.is_fatal() {
                        self.state = State::Failed(error.clone());
                    }
                    return Err(error);
                }
            }
        }
    }

    fn step(&mut self) -> Step {
        match &mut self.state {
            State::Failed(error) => Step::Error(error.clone()),
            State::End(continuation) => {
                let continuation = *continuation;
                self.state = State::StartLine;
                Step::End(continuation)
            }
            State::StartLine | State::Headers(_) => self.step_line(),
            State::Body(scan) => {
                let data = &self.buf[self.pos..];
                match scan_body(data, scan) {
                    Scan::NeedMore => Step::NeedMore,
                    Scan::Body(len) => {
                        let start = self.pos;
                        self.pos += len;
                        if scan.skipping {
                            Step::Continue
                        } else if len > self.limits.max_body.saturating_sub(scan.delivered) {
                            scan.skipping = true;
                            Step::Error(ParseError::new(ErrorKind::BodyTooLarge { limit: self.limits.max_body }, None))
                        } else {
                            scan.delivered += len;
                            Step::Body(start, start + len)
                        }
                    }
                    Scan::EndLine { len, continuation } => {
                        self.pos += len;
                        let skipping = scan.skipping;
                        self.state = State::StartLine;
                        if skipping { Step::Continue } else { Step::End(continuation) }
                    }
                    Scan::Bad(reason) => Step::Error(ParseError::new(ErrorKind::EndLine { reason }, None)),
                }
            }
        }
    }

    /// Reads one start or header line.
    fn step_line(&mut self) -> Step {
        let data = &self.buf[self.pos..];
        let Some(newline) = memchr::memchr(b'\n', &data[self.scanned..]).map(|i| i + self.scanned) else {
            self.scanned = data.len();
            // One byte more than the limit may be the CR of the line's end.
            if data.len() > self.limits.max_line.saturating_add(1) {
                return self.fatal(ErrorKind::LineTooLong { limit: self.limits.max_line });
            }
            return Step::NeedMore;
        };
        let line_len = if newline > 0 && data[newline - 1] == b'\r' { newline - 1 } else { newline };
        if line_len > self.limits.max_line {
            return self.fatal(ErrorKind::LineTooLong { limit: self.limits.max_line });
        }
        let line_start = self.pos;
        self.pos += newline + 1;
        self.scanned = 0;
        let line = &self.buf[line_start..line_start + line_len];
        match &mut self.state {
            State::Headers(pending) => {
                if line.starts_with(END_LINE_DASHES) {
                    return self.end_line_without_body(line_start, line_len);
                }
                if line.is_empty() {
                    return self.start_body();
                }
                pending.lines += 1;
                if pending.lines > self.limits.max_headers {
                    return self.fatal(ErrorKind::TooManyHeaders { limit: self.limits.max_headers });
                }
                if let Err(error) = insert_header(&mut pending.head.headers, line)
                    && pending.error.is_none()
                {
                    pending.error = Some(error);
                }
                Step::Continue
            }
            _ => {
                if line.is_empty() {
                    // Stray CRLFs between frames are skipped.
                    return Step::Continue;
                }
                match parse_start_line(line) {
                    Ok(head) => {
                        self.state = State::Headers(Box::new(PendingHead { head, lines: 0, error: None }));
                        Step::Continue
                    }
                    Err(reason) => self.fatal(ErrorKind::StartLine { reason }),
                }
            }
        }
    }

    /// An end-line directly after the headers: a frame without body.
    fn end_line_without_body(&mut self, line_start: usize, line_len: usize) -> Step {
        let State::Headers(pending) = std::mem::replace(&mut self.state, State::StartLine) else {
            return Step::Continue;
        };
        let line = &self.buf[line_start..line_start + line_len];
        let rest = &line[END_LINE_DASHES.len()..];
        let id = pending.head.transaction_id.as_bytes();
        let flag = match rest.split_last() {
            Some((flag, tid)) if tid == id => Continuation::from_byte(*flag),
            _ => {
                let error = ErrorKind::EndLine { reason: "the transaction id does not match the start line" };
                return self.fail(ParseError::new(error, Some(Box::new(pending.head))));
            }
        };
        let Some(continuation) = flag else {
            let error = ErrorKind::EndLine { reason: "no continuation flag" };
            return self.fail(ParseError::new(error, Some(Box::new(pending.head))));
        };
        match finish_head(*pending) {
            Ok(head) => {
                self.state = State::End(continuation);
                Step::Head(Box::new(head))
            }
            Err(error) => Step::Error(error),
        }
    }

    /// The empty line after the headers: the body starts.
    fn start_body(&mut self) -> Step {
        let State::Headers(pending) = std::mem::replace(&mut self.state, State::StartLine) else {
            return Step::Continue;
        };
        let mut needle = Vec::with_capacity(2 + END_LINE_DASHES.len() + pending.head.transaction_id.len());
        needle.extend_from_slice(b"\r\n");
        needle.extend_from_slice(END_LINE_DASHES);
        needle.extend_from_slice(pending.head.transaction_id.as_bytes());
        let mut scan =
            BodyScan { end_line: Finder::new(&needle).into_owned(), at_start: true, delivered: 0, skipping: false };
        let step = match finish_head(*pending) {
            Ok(head) => Step::Head(Box::new(head)),
            Err(error) => {
                scan.skipping = true;
                Step::Error(error)
            }
        };
        self.state = State::Body(Box::new(scan));
        step
    }

    fn fatal(&mut self, kind: ErrorKind) -> Step {
        let head = match std::mem::replace(&mut self.state, State::StartLine) {
            State::Headers(pending) => Some(Box::new(pending.head)),
            _ => None,
        };
        self.fail(ParseError::new(kind, head))
    }

    fn fail(&mut self, error: ParseError) -> Step {
        self.state = State::Failed(error.clone());
        Step::Error(error)
    }
}

/// Parses `MSRP <tid> <method>` or `MSRP <tid> <code>[ <comment>]`.
fn parse_start_line(line: &[u8]) -> Result<Head, &'static str> {
    let line = std::str::from_utf8(line).map_err(|_| "not UTF-8")?;
    let rest = line.strip_prefix("MSRP ").ok_or("does not start with \"MSRP \"")?;
    let (transaction_id, rest) = rest.split_once(' ').ok_or("no method or status code")?;
    if !is_valid_transaction_id(transaction_id) {
        return Err("invalid transaction id");
    }
    let kind = if rest.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let (code, comment) = match rest.split_once(' ') {
            Some((code, comment)) => (code, Some(comment)),
            None => (rest, None),
        };
        let code = parse_code(code).ok_or("invalid status code")?;
        Kind::Response { code, comment: comment.filter(|c| !c.is_empty()).map(str::to_owned) }
    } else {
        Kind::Request(Method::from_name(rest).ok_or("invalid method")?)
    };
    Ok(Head { transaction_id: transaction_id.to_owned(), kind, headers: Headers::default() })
}

/// Parses `Name: value` into `headers`.
fn insert_header(headers: &mut Headers, line: &[u8]) -> Result<(), ErrorKind> {
    let line = std::str::from_utf8(line).map_err(|_| ErrorKind::HeaderLine { reason: "not UTF-8" })?;
    let (name, value) = line.split_once(':').ok_or(ErrorKind::HeaderLine { reason: "no colon" })?;
    if name.is_empty() || !name.bytes().all(is_token_char) {
        return Err(ErrorKind::HeaderLine { reason: "invalid header name" });
    }
    headers.insert(name, value.trim_matches([' ', '\t']))
}

/// Checks the headers every frame and each method must have.
fn finish_head(pending: PendingHead) -> Result<Head, ParseError> {
    let head = pending.head;
    let missing = |name| Err(ErrorKind::MissingHeader { name });
    let check = if let Some(error) = pending.error {
        Err(error)
    } else if head.headers.to_path.is_empty() {
        missing("To-Path")
    } else if head.headers.from_path.is_empty() {
        missing("From-Path")
    } else {
        match head.method() {
            Some(Method::Send | Method::Report) if head.headers.message_id.is_none() => missing("Message-ID"),
            Some(Method::Report) if head.headers.status.is_none() => missing("Status"),
            _ => Ok(()),
        }
    };
    match check {
        Ok(()) => Ok(head),
        Err(kind) => Err(ParseError::new(kind, Some(Box::new(head)))),
    }
}

/// Looks for the end-line in the body bytes `data`.
fn scan_body(data: &[u8], scan: &mut BodyScan) -> Scan {
    let needle = scan.end_line.needle();
    if scan.at_start {
        // `CRLF CRLF "-------" tid flag`: an empty body whose end-line
        // shares the CRLF of the empty line.
        let tail = &needle[2..];
        let n = data.len().min(tail.len());
        if data[..n] != tail[..n] {
            scan.at_start = false;
        } else if data.len() <= tail.len() {
            return Scan::NeedMore;
        } else if Continuation::from_byte(data[tail.len()]).is_some() {
            return end_line_at(data, tail.len());
        } else {
            scan.at_start = false;
        }
    }
    match scan.end_line.find(data) {
        Some(0) => {
            let flag_at = needle.len();
            match data.get(flag_at) {
                None => Scan::NeedMore,
                Some(&flag) if Continuation::from_byte(flag).is_some() => end_line_at(data, flag_at),
                // The transaction id continues: body bytes that only look
                // like an end-line.
                Some(_) => Scan::Body(flag_at),
            }
        }
        Some(at) => Scan::Body(at),
        None => {
            let held = end_line_prefix_at_end(data, needle);
            if data.len() > held { Scan::Body(data.len() - held) } else { Scan::NeedMore }
        }
    }
}

/// The end-line's flag is at `flag_at`: it must be followed by CRLF.
fn end_line_at(data: &[u8], flag_at: usize) -> Scan {
    let Some(&flag) = data.get(flag_at) else { return Scan::NeedMore };
    let Some(continuation) = Continuation::from_byte(flag) else { return Scan::NeedMore };
    match data.get(flag_at + 1..flag_at + 3) {
        None if data.len() == flag_at + 2 && data[flag_at + 1] != b'\r' => {
            Scan::Bad("the continuation flag is not followed by CRLF")
        }
        None => Scan::NeedMore,
        Some(b"\r\n") => Scan::EndLine { len: flag_at + 3, continuation },
        Some(_) => Scan::Bad("the continuation flag is not followed by CRLF"),
    }
}

/// The length of the longest end of `data` that is a proper beginning of
/// `needle` (which starts with its only CR).
fn end_line_prefix_at_end(data: &[u8], needle: &[u8]) -> usize {
    let window = data.len().saturating_sub(needle.len() - 1);
    match memchr::memrchr(b'\r', &data[window..]) {
        Some(at) if needle.starts_with(&data[window + at..]) => data.len() - window - at,
        _ => 0,
    }
}

/// The most [`FrameParser`] reserves for a body on the strength of its
/// Byte-Range; beyond it the body grows as its bytes arrive.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

/// Gathers whole frames from a [`Parser`]: bodies up to
/// [`Limits::max_body`] are collected into [`Frame::body`].
///
/// Errors are the parser's; a [`ErrorKind::BodyTooLarge`] carries the
/// frame's head so that a 413 can be sent.
#[derive(Debug, Default)]
pub struct FrameParser {
    parser: Parser,
    current: Option<(Head, Vec<u8>)>,
    /// The fatal error returned, repeated by every later call.
    failed: Option<ParseError>,
}

impl FrameParser {
    /// A frame parser with the given limits.
    pub fn new(limits: Limits) -> FrameParser {
        FrameParser { parser: Parser::new(limits), current: None, failed: None }
    }

    /// Appends bytes received from the stream.
    pub fn feed(&mut self, data: &[u8]) {
        self.parser.feed(data);
    }

    /// Whether a fatal error happened.
    pub fn is_failed(&self) -> bool {
        self.parser.is_failed()
    }

    /// Whether no frame is partly received.
    pub fn is_idle(&self) -> bool {
        self.current.is_none() && self.parser.is_idle()
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let max_body = self.parser.limits.max_body;
        loop {
            match self.parser.next_event() {
                Ok(None) => return Ok(None),
                Ok(Some(Event::Head(head))) => {
                    self.current = Some((*head, Vec::new()));
                }
                Ok(Some(Event::Body(bytes))) => {
                    if let Some((head, body)) = &mut self.current {
                        if body.is_empty() {
                            // The Byte-Range is the peer's word: reserve by
                            // it only up to a bound, once bytes come.
                            let expected = head.headers.byte_range.and_then(|r| r.len()).unwrap_or(0);
                            let expected = usize::try_from(expected).unwrap_or(usize::MAX);
                            body.reserve(expected.min(max_body).min(INITIAL_BODY_CAPACITY));
                        }
                        body.extend_from_slice(bytes);
                    }
                }
                Ok(Some(Event::End(continuation))) => {
                    if let Some((head, body)) = self.current.take() {
                        return Ok(Some(Frame { head, body, continuation }));
                    }
                }
                Err(mut error) => {
                    if let Some((head, _)) = self.current.take()
                        && error.head().is_none()
                    {
                        error.set_head(Box::new(head));
                    }
                    if error.is_fatal() {
                        self.failed = Some(error.clone());
                    }
                    return Err(error);
                }
            }
        }
    }
}

impl Frame {
    /// Parses one complete frame from `bytes` with the default limits;
    /// bytes after its end-line are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Frame, ParseError> {
        let mut parser = FrameParser::default();
        parser.feed(bytes);
        parser.next_frame()?.ok_or_else(|| ParseError::new(ErrorKind::Truncated, None))
    }
}
