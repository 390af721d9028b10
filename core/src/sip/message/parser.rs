//! The zero-copy parser: [`split`] cuts the received bytes into a start
//! line, header lines and a body without copying them ([`RawMessage`]);
//! [`parse`] also checks every known header and decodes the ones every layer
//! reads ([`MessageRef`]).

use std::borrow::Cow;

use super::error::ParseError;
use super::framing::Limits;
use super::headers::{self, HeaderKind, HeaderRef};
use super::message::Message;
use super::method::Method;
use super::name_addr::{self, NameAddr};
use super::scan;
use super::uri::Uri;
use super::values::{self, CSeq, MediaType};
use super::via::{self, Via};

/// The first line of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `METHOD Request-URI SIP/2.0`
    Request {
        /// The method.
        method: Method,
        /// The Request-URI.
        uri: Uri<'a>,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// The status code (100–699).
        code: u16,
        /// The reason phrase (may be empty).
        reason: Cow<'a, str>,
    },
}

impl StartLine<'_> {
    /// A copy that owns its text.
    pub fn into_owned(self) -> StartLine<'static> {
        match self {
            StartLine::Request { method, uri } => StartLine::Request { method, uri: uri.into_owned() },
            StartLine::Response { code, reason } => {
                StartLine::Response { code, reason: Cow::Owned(reason.into_owned()) }
            }
        }
    }
}

/// Values decoded once by [`parse`].
#[derive(Clone, Debug, Default)]
struct Typed<'a> {
    via: Option<Via<'a>>,
    from: Option<NameAddr<'a>>,
    to: Option<NameAddr<'a>>,
    cseq: Option<CSeq>,
    call_id: Option<&'a str>,
    max_forwards: Option<u8>,
    contact: Option<NameAddr<'a>>,
    content_type: Option<MediaType<'a>>,
}

/// A message split into start line, header lines and body, borrowed from
/// the received bytes, with no header value checked (only Content-Length is
/// read, to find the body). Made by [`split`]; [`RawMessage::validate`]
/// turns it into a [`MessageRef`]. For relaying, logging or quick
/// inspection; [`parse`] is what a user agent wants.
#[derive(Clone, Debug)]
pub struct RawMessage<'a> {
    consumed: usize,
    raw: &'a [u8],
    start: StartLine<'a>,
    headers: Vec<HeaderRef<'a>>,
    content_length: Option<usize>,
    body: &'a [u8],
}

/// A parsed SIP message borrowed from the bytes it was parsed from: every
/// known header was checked against its grammar and the ones every layer
/// reads (top Via, From, To, Call-ID, CSeq, Max-Forwards, first Contact,
/// Content-Type) were decoded once; their accessors return references.
/// Other typed values are decoded on each call. Header values are kept as
/// written: names in any case or compact form, folds included (decoders
/// treat them as white space). Cheap to clone; safe to use from any thread.
#[derive(Clone, Debug)]
pub struct MessageRef<'a> {
    raw: RawMessage<'a>,
    typed: Typed<'a>,
}

/// Parses one message from a datagram (or from the bytes [`frame`] found)
/// with the default [`Limits`]. See [`parse_with`].
///
/// [`frame`]: super::frame
pub fn parse(buf: &[u8]) -> Result<MessageRef<'_>, ParseError> {
    parse_with(buf, &Limits::default())
}

/// Parses one message: CRLFs before the start line are skipped, the start
/// line and header lines are split, every known header is checked against
/// its grammar (Via, From, To, Call-ID, CSeq, Max-Forwards, Contact, Route,
/// Record-Route, Content-Length, Content-Type, Expires...), and the body is
/// delimited by Content-Length (or runs to the end of the buffer when there
/// is none). Bytes after the body are ignored; [`MessageRef::len`] says how
/// many were used. A request whose CSeq method differs from its method is
/// rejected.
pub fn parse_with<'a>(buf: &'a [u8], limits: &Limits) -> Result<MessageRef<'a>, ParseError> {
    split(buf, limits)?.validate()
}

/// Splits one message without checking header values (see [`RawMessage`]).
pub fn split<'a>(buf: &'a [u8], limits: &Limits) -> Result<RawMessage<'a>, ParseError> {
    if buf.len() > limits.max_message_size {
        return Err(ParseError::TooLarge { size: buf.len(), limit: limits.max_message_size });
    }
    let mut start = 0;
    while start < buf.len() && matches!(buf[start], b'\r' | b'\n') {
        start += 1;
    }
    if start == buf.len() {
        return Err(ParseError::Empty);
    }
    let (start_line, headers, body_start) = split_head(buf, start, limits)?;

    let mut content_length = None;
    let mut body_end = buf.len();
    if let Some(h) = headers.iter().find(|h| h.kind() == HeaderKind::ContentLength) {
        let n = values::parse_content_length(h.value()).map_err(|reason| header_error(h, reason))?;
        let available = buf.len() - body_start;
        if n > available {
            return Err(ParseError::BodyTooShort { declared: n, available });
        }
        content_length = Some(n);
        body_end = body_start + n;
    }
    Ok(RawMessage {
        consumed: body_end,
        raw: &buf[start..body_end],
        start: start_line,
        headers,
        content_length,
        body: &buf[body_start..body_end],
    })
}

/// The accessors every view of a message has.
macro_rules! untyped_accessors {
    () => {
        /// The number of input bytes this message occupies, from the first
        /// byte (leading CRLFs included) to the end of the body.
        pub fn len(&self) -> usize {
            self.base().consumed
        }

        /// Always false: a message has at least a start line.
        pub fn is_empty(&self) -> bool {
            false
        }

        /// The message bytes, start line to end of body.
        pub fn as_bytes(&self) -> &'a [u8] {
            self.base().raw
        }

        /// The start line.
        pub fn start_line(&self) -> &StartLine<'a> {
            &self.base().start
        }

        /// Whether this is a request.
        pub fn is_request(&self) -> bool {
            matches!(self.base().start, StartLine::Request { .. })
        }

        /// The method of a request.
        pub fn method(&self) -> Option<&Method> {
            match &self.base().start {
                StartLine::Request { method, .. } => Some(method),
                StartLine::Response { .. } => None,
            }
        }

        /// The Request-URI of a request.
        pub fn uri(&self) -> Option<&Uri<'a>> {
            match &self.base().start {
                StartLine::Request { uri, .. } => Some(uri),
                StartLine::Response { .. } => None,
            }
        }

        /// The status code of a response.
        pub fn status(&self) -> Option<u16> {
            match &self.base().start {
                StartLine::Response { code, .. } => Some(*code),
                StartLine::Request { .. } => None,
            }
        }

        /// The reason phrase of a response.
        pub fn reason(&self) -> Option<&str> {
            match &self.base().start {
                StartLine::Response { reason, .. } => Some(reason),
                StartLine::Request { .. } => None,
            }
        }

        /// The header lines in order.
        pub fn headers(&self) -> &[HeaderRef<'a>] {
            &self.base().headers
        }

        /// The value of the first header named `name` (any case, compact
        /// forms equal to full names).
        pub fn header(&self, name: &str) -> Option<&'a str> {
            self.header_all(name).next()
        }

        /// The values of every header line named `name`.
        pub fn header_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
            let kind = HeaderKind::from_name(name);
            self.headers()
                .iter()
                .filter(move |h| headers::name_matches(h.kind(), h.name(), kind, name))
                .map(|h| h.value())
        }

        /// The values of headers named `name`: each comma-separated element
        /// of a list header on its own, otherwise each line's value.
        pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
            let kind = HeaderKind::from_name(name);
            self.headers()
                .iter()
                .filter(move |h| headers::name_matches(h.kind(), h.name(), kind, name))
                .flat_map(|h| headers::split_values(h.kind(), h.value()))
        }

        /// The Content-Length header (the body length is `body().len()`).
        pub fn content_length(&self) -> Option<usize> {
            self.base().content_length
        }

        /// The body.
        pub fn body(&self) -> &'a [u8] {
            self.base().body
        }

        /// An owned copy: header names kept as written, folded values
        /// joined on one line, the body copied.
        pub fn to_owned(&self) -> Message {
            let raw = self.base();
            Message::from_parts(
                raw.start.clone().into_owned(),
                raw.headers.iter().map(headers::Header::from_ref).collect(),
                raw.body.to_vec(),
            )
        }
    };
}

impl<'a> RawMessage<'a> {
    untyped_accessors!();

    fn base(&self) -> &RawMessage<'a> {
        self
    }

    /// Checks every known header and decodes the common ones (what
    /// [`parse`] does after splitting).
    pub fn validate(self) -> Result<MessageRef<'a>, ParseError> {
        let mut msg = MessageRef { raw: self, typed: Typed::default() };
        let MessageRef { raw, typed: t } = &mut msg;
        for h in &raw.headers {
            let v = h.value();
            let err = |reason| header_error(h, reason);
            match h.kind() {
                HeaderKind::Via => {
                    via::parse_via_list(v, |via| {
                        if t.via.is_none() {
                            t.via = Some(via);
                        }
                    })
                    .map_err(err)?;
                }
                HeaderKind::From => {
                    let a = name_addr::parse_name_addr(v).map_err(err)?;
                    t.from.get_or_insert(a);
                }
                HeaderKind::To => {
                    let a = name_addr::parse_name_addr(v).map_err(err)?;
                    t.to.get_or_insert(a);
                }
                HeaderKind::Contact if v != "*" => {
                    name_addr::parse_name_addr_list(v, |a| {
                        if t.contact.is_none() {
                            t.contact = Some(a);
                        }
                    })
                    .map_err(err)?;
                }
                HeaderKind::Route
                | HeaderKind::RecordRoute
                | HeaderKind::Path
                | HeaderKind::ServiceRoute
                | HeaderKind::PAssertedIdentity
                | HeaderKind::PPreferredIdentity => {
                    name_addr::parse_name_addr_list(v, |_| {}).map_err(err)?;
                }
                HeaderKind::ReplyTo | HeaderKind::ReferTo | HeaderKind::ReferredBy => {
                    name_addr::parse_name_addr(v).map_err(err)?;
                }
                HeaderKind::CSeq => {
                    let c = values::parse_cseq(v).map_err(err)?;
                    t.cseq.get_or_insert(c);
                }
                HeaderKind::CallId => {
                    let c = values::check_call_id(v).map_err(err)?;
                    t.call_id.get_or_insert(c);
                }
                HeaderKind::MaxForwards => {
                    let m = values::parse_max_forwards(v).map_err(err)?;
                    t.max_forwards.get_or_insert(m);
                }
                HeaderKind::ContentLength => {
                    values::parse_content_length(v).map_err(err)?;
                }
                HeaderKind::ContentType => {
                    let m = values::parse_media_type(v).map_err(err)?;
                    t.content_type.get_or_insert(m);
                }
                HeaderKind::Expires | HeaderKind::MinExpires => {
                    values::parse_delta_seconds(v).map_err(err)?;
                }
                _ => {}
            }
        }
        if let (StartLine::Request { method, .. }, Some(cseq)) = (&raw.start, &t.cseq)
            && cseq.method != *method
        {
            return Err(ParseError::MethodMismatch { method: method.to_string(), cseq: cseq.method.to_string() });
        }
        Ok(msg)
    }
}

impl<'a> MessageRef<'a> {
    untyped_accessors!();

    fn base(&self) -> &RawMessage<'a> {
        &self.raw
    }

    /// Parses with the default limits (same as [`parse`]).
    pub fn parse(buf: &'a [u8]) -> Result<MessageRef<'a>, ParseError> {
        parse(buf)
    }

    /// The split message this view was validated from.
    pub fn raw(&self) -> &RawMessage<'a> {
        &self.raw
    }

    fn first(&self, kind: HeaderKind) -> Option<&'a str> {
        self.raw.headers.iter().find(|h| h.kind() == kind).map(|h| h.value())
    }

    fn values_of(&self, kind: HeaderKind) -> impl Iterator<Item = &'a str> + '_ {
        self.raw
            .headers
            .iter()
            .filter(move |h| h.kind() == kind)
            .flat_map(|h| headers::split_values(h.kind(), h.value()))
    }

    /// The topmost Via value.
    pub fn top_via(&self) -> Option<&Via<'a>> {
        self.typed.via.as_ref()
    }

    /// Every Via value, top first (decoded on each call).
    pub fn vias(&self) -> impl Iterator<Item = Via<'a>> + '_ {
        self.values_of(HeaderKind::Via).filter_map(|v| via::parse_via(v).ok())
    }

    /// The `branch` of the topmost Via.
    pub fn top_via_branch(&self) -> Option<&str> {
        self.typed.via.as_ref()?.branch()
    }

    /// The From address.
    pub fn from(&self) -> Option<&NameAddr<'a>> {
        self.typed.from.as_ref()
    }

    /// The To address.
    pub fn to(&self) -> Option<&NameAddr<'a>> {
        self.typed.to.as_ref()
    }

    /// The `tag` of the From header.
    pub fn from_tag(&self) -> Option<&str> {
        self.typed.from.as_ref()?.tag()
    }

    /// The `tag` of the To header.
    pub fn to_tag(&self) -> Option<&str> {
        self.typed.to.as_ref()?.tag()
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Option<&'a str> {
        self.typed.call_id
    }

    /// The CSeq.
    pub fn cseq(&self) -> Option<&CSeq> {
        self.typed.cseq.as_ref()
    }

    /// The CSeq number and method token, borrowed from the message.
    pub fn cseq_parts(&self) -> Option<(u32, &'a str)> {
        self.first(HeaderKind::CSeq).and_then(|v| values::cseq_parts(v).ok())
    }

    /// Max-Forwards.
    pub fn max_forwards(&self) -> Option<u8> {
        self.typed.max_forwards
    }

    /// The first Contact address (`None` for the `*` wildcard).
    pub fn contact(&self) -> Option<&NameAddr<'a>> {
        self.typed.contact.as_ref()
    }

    /// Every Contact address, in order (decoded on each call).
    pub fn contacts(&self) -> impl Iterator<Item = NameAddr<'a>> + '_ {
        self.values_of(HeaderKind::Contact).filter(|v| *v != "*").filter_map(|v| name_addr::parse_name_addr(v).ok())
    }

    /// Whether the Contact is the `*` wildcard (REGISTER removing all
    /// bindings).
    pub fn is_contact_wildcard(&self) -> bool {
        self.first(HeaderKind::Contact) == Some("*")
    }

    /// Every Route address, in order (decoded on each call).
    pub fn routes(&self) -> impl Iterator<Item = NameAddr<'a>> + '_ {
        self.values_of(HeaderKind::Route).filter_map(|v| name_addr::parse_name_addr(v).ok())
    }

    /// Every Record-Route address, in order (decoded on each call).
    pub fn record_routes(&self) -> impl Iterator<Item = NameAddr<'a>> + '_ {
        self.values_of(HeaderKind::RecordRoute).filter_map(|v| name_addr::parse_name_addr(v).ok())
    }

    /// The Content-Type.
    pub fn content_type(&self) -> Option<&MediaType<'a>> {
        self.typed.content_type.as_ref()
    }

    /// The Expires header.
    pub fn expires(&self) -> Option<u32> {
        self.first(HeaderKind::Expires).and_then(|v| values::parse_delta_seconds(v).ok())
    }

    /// The option tags of every Require header.
    pub fn require(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.values_of(HeaderKind::Require)
    }

    /// The option tags of every Supported header.
    pub fn supported(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.values_of(HeaderKind::Supported)
    }
}

fn header_error(h: &HeaderRef<'_>, reason: &'static str) -> ParseError {
    ParseError::Header { line: h.line() as usize, name: h.name().to_owned(), reason }
}

/// Where a header line lies in the buffer, before the text is known to
/// be UTF-8.
#[derive(Clone, Copy, Default)]
struct RawHeader {
    name_start: u32,
    name_end: u32,
    value_start: u32,
    value_end: u32,
    line: u32,
}

/// Keeps a header line's offsets, enforcing the header limits.
#[inline(always)]
fn store(
    h: RawHeader,
    inline: &mut [RawHeader],
    spill: &mut Vec<RawHeader>,
    count: &mut usize,
    limits: &Limits,
) -> Result<(), ParseError> {
    if *count >= limits.max_headers {
        return Err(ParseError::TooManyHeaders { limit: limits.max_headers });
    }
    if (h.value_end - h.name_start) as usize > limits.max_header_line {
        return Err(ParseError::LineTooLong { line: h.line as usize, limit: limits.max_header_line });
    }
    match inline.get_mut(*count) {
        Some(slot) => *slot = h,
        None => spill.push(h),
    }
    *count += 1;
    Ok(())
}

/// The LF ending the line that starts at `from`, checking that every CR
/// on the way is followed by LF. `Ok(None)` when the buffer ends first.
#[inline(always)]
fn line_end(buf: &[u8], from: usize, line: usize) -> Result<Option<usize>, ParseError> {
    let mut p = from;
    loop {
        p = scan::find_control(buf, p);
        match buf.get(p) {
            None => return Ok(None),
            Some(b'\n') => return Ok(Some(p)),
            Some(b'\r') => {
                return if buf.get(p + 1) == Some(&b'\n') { Ok(Some(p + 1)) } else { Err(ParseError::BareCr { line }) };
            }
            Some(_) => p += 1,
        }
    }
}

/// Splits the start line and the header lines, in one pass over the bytes
/// and one UTF-8 check of the header section. Returns the start line, the
/// headers and where the body starts. A datagram that ends right after a
/// complete header line, without the empty line, is accepted with an
/// empty body.
fn split_head<'a>(
    buf: &'a [u8],
    start: usize,
    limits: &Limits,
) -> Result<(StartLine<'a>, Vec<HeaderRef<'a>>, usize), ParseError> {
    let too_long = |line: usize| ParseError::LineTooLong { line, limit: limits.max_header_line };
    let Some(sl_lf) = line_end(buf, start, 1)? else {
        return Err(if buf.len() - start > limits.max_header_line { too_long(1) } else { ParseError::Truncated });
    };
    let sl_end = if buf[sl_lf - 1] == b'\r' { sl_lf - 1 } else { sl_lf };
    if sl_end - start > limits.max_header_line {
        return Err(too_long(1));
    }
    let start_text = std::str::from_utf8(&buf[start..sl_end]).map_err(|_| ParseError::NotUtf8 { line: 1 })?;
    let start_line = parse_start_line(start_text)?;

    // Header lines, as offsets: the first MAX_INLINE on the stack.
    const MAX_INLINE: usize = 32;
    let mut inline = [RawHeader::default(); MAX_INLINE];
    let mut count = 0usize;
    let mut spill: Vec<RawHeader> = Vec::new();
    let mut current: Option<RawHeader> = None;
    let head_start = sl_lf + 1;
    let mut pos = head_start;
    let mut line = 1usize;
    let (head_end, body_start) = loop {
        line += 1;
        match (buf.get(pos), buf.get(pos + 1)) {
            (None, _) => break (pos, pos),
            (Some(b'\n'), _) => break (pos, pos + 1),
            (Some(b'\r'), Some(b'\n')) => break (pos, pos + 2),
            _ => {}
        }
        let Some(lf) = line_end(buf, pos, line)? else {
            return Err(if buf.len() - pos > limits.max_header_line { too_long(line) } else { ParseError::Truncated });
        };
        let eol = if buf[lf - 1] == b'\r' { lf - 1 } else { lf };
        if eol - pos > limits.max_header_line {
            return Err(too_long(line));
        }
        let first = buf[pos];
        if first == b' ' || first == b'\t' {
            match current.as_mut() {
                Some(c) => c.value_end = eol as u32,
                None => {
                    return Err(ParseError::HeaderLine { line, reason: "continuation line without a header" });
                }
            }
        } else {
            if let Some(c) = current.take() {
                store(c, &mut inline, &mut spill, &mut count, limits)?;
            }
            let name_end = scan::class_end(buf, pos, eol, scan::TOKEN);
            let mut i = name_end;
            while i < eol && (buf[i] == b' ' || buf[i] == b'\t') {
                i += 1;
            }
            if i >= eol || buf[i] != b':' || name_end == pos {
                let reason = if memchr::memchr(b':', &buf[pos..eol]).is_some() {
                    "invalid header name"
                } else {
                    "header line without a colon"
                };
                return Err(ParseError::HeaderLine { line, reason });
            }
            let mut value_start = i + 1;
            while value_start < eol && (buf[value_start] == b' ' || buf[value_start] == b'\t') {
                value_start += 1;
            }
            current = Some(RawHeader {
                name_start: pos as u32,
                name_end: name_end as u32,
                value_start: value_start as u32,
                value_end: eol as u32,
                line: line as u32,
            });
        }
        pos = lf + 1;
    };
    if let Some(c) = current.take() {
        store(c, &mut inline, &mut spill, &mut count, limits)?;
    }

    let head = std::str::from_utf8(&buf[head_start..head_end]).map_err(|e| ParseError::NotUtf8 {
        line: 2 + memchr::memchr_iter(b'\n', &buf[head_start..head_start + e.valid_up_to()]).count(),
    })?;
    let mut headers = Vec::with_capacity(count);
    let (first, rest) = (&inline[..count.min(MAX_INLINE)], &spill[..]);
    for h in first.iter().chain(rest) {
        let at = |o: u32| o as usize - head_start;
        // Offsets lie on ASCII characters of UTF-8 text: `get` never fails.
        let (Some(name), Some(mut value)) =
            (head.get(at(h.name_start)..at(h.name_end)), head.get(at(h.value_start)..at(h.value_end)))
        else {
            return Err(ParseError::NotUtf8 { line: h.line as usize });
        };
        // Folded values may start or end with white space.
        if value.as_bytes().first().is_some_and(|&c| scan::is_lws(c))
            || value.as_bytes().last().is_some_and(|&c| scan::is_lws(c))
        {
            value = scan::trim_lws(value);
        }
        headers.push(HeaderRef::new(name, HeaderKind::from_token(name), value, h.line));
    }
    Ok((start_line, headers, body_start))
}

/// `SIP/2.0`, case-insensitive `SIP`. `Ok(false)` for another well-formed
/// version, `Err` when it is not a version at all.
fn check_version(v: &str) -> Result<bool, ParseError> {
    let Some((proto, num)) = v.split_once('/') else {
        return Err(ParseError::StartLine { reason: "invalid SIP version" });
    };
    let well_formed = scan::eq_ic(proto, "SIP")
        && num.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
    if !well_formed {
        return Err(ParseError::StartLine { reason: "invalid SIP version" });
    }
    Ok(num == "2.0")
}

fn parse_start_line(line: &str) -> Result<StartLine<'_>, ParseError> {
    let b = line.as_bytes();
    if b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"SIP/") {
        let sp = scan::find_byte(b, 0, b' ').unwrap_or(b.len());
        let version = &line[..sp];
        if !check_version(version)? {
            return Err(ParseError::Version { version: version.to_owned() });
        }
        let rb = b.get(sp + 1..).unwrap_or(b"");
        if rb.len() < 3 || !rb[..3].iter().all(u8::is_ascii_digit) || rb.get(3).is_some_and(|&c| c != b' ') {
            return Err(ParseError::StartLine { reason: "the status code must be three digits" });
        }
        let code = u16::from(rb[0] - b'0') * 100 + u16::from(rb[1] - b'0') * 10 + u16::from(rb[2] - b'0');
        if !(100..=699).contains(&code) {
            return Err(ParseError::StartLine { reason: "status code out of range" });
        }
        let reason = line.get(sp + 5..).unwrap_or("");
        return Ok(StartLine::Response { code, reason: Cow::Borrowed(reason) });
    }
    // The usual request line ends with " SIP/2.0": no need to search.
    let last_space = if b.ends_with(b" SIP/2.0") { Some(b.len() - 8) } else { b.iter().rposition(|&c| c == b' ') };
    let (Some(sp1), Some(sp2)) = (scan::find_byte(b, 0, b' '), last_space) else {
        return Err(ParseError::StartLine { reason: "expected METHOD SP Request-URI SP SIP-Version" });
    };
    if sp2 <= sp1 {
        return Err(ParseError::StartLine { reason: "expected METHOD SP Request-URI SP SIP-Version" });
    }
    let (method, uri, version) = (&line[..sp1], &line[sp1 + 1..sp2], &line[sp2 + 1..]);
    if uri.is_empty() || uri.contains(' ') || version.is_empty() {
        return Err(ParseError::StartLine { reason: "elements must be separated by exactly one space" });
    }
    if version != "SIP/2.0" && !check_version(version)? {
        return Err(ParseError::Version { version: version.to_owned() });
    }
    if !scan::all(method.as_bytes(), scan::TOKEN) {
        return Err(ParseError::StartLine { reason: "invalid method" });
    }
    let uri = Uri::parse(uri).map_err(|_| ParseError::StartLine { reason: "invalid Request-URI" })?;
    Ok(StartLine::Request { method: Method::from_token(method), uri })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = include_bytes!("../../../benches/fixtures/invite-918.sip");

    #[test]
    fn bench_invite() {
        let m = parse(INVITE).unwrap();
        assert!(m.is_request());
        assert_eq!(m.method(), Some(&Method::Invite));
        assert_eq!(m.uri().map(|u| u.to_string()).as_deref(), Some("sip:bob@biloxi.example.com"));
        assert_eq!(m.headers().len(), 13);
        let via = m.top_via().unwrap();
        assert_eq!(via.branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(m.top_via_branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(m.vias().count(), 2);
        assert_eq!(m.from().unwrap().tag(), Some("1928301774"));
        assert_eq!(m.from_tag(), Some("1928301774"));
        assert_eq!(m.to_tag(), Some("a6c85cf"));
        assert_eq!(m.to().unwrap().display_name().as_deref(), Some("Bob"));
        assert_eq!(m.call_id(), Some("a84b4c76e66710@pc33.atlanta.example.com"));
        assert_eq!(m.cseq(), Some(&CSeq::new(314159, Method::Invite)));
        assert_eq!(m.cseq_parts(), Some((314159, "INVITE")));
        assert_eq!(m.max_forwards(), Some(70));
        assert_eq!(m.contact().unwrap().uri().transport(), Some("udp"));
        assert!(m.content_type().unwrap().is("application/sdp"));
        assert_eq!(m.content_length(), Some(262));
        assert_eq!(m.body().len(), 262);
        assert_eq!(m.len(), INVITE.len());
        assert_eq!(m.header_values("Allow").count(), 10);
        assert_eq!(m.supported().collect::<Vec<_>>(), vec!["replaces", "timer", "100rel"]);
        assert_eq!(m.header("user-agent"), Some("ExampleUA/1.0 (anchor benchmark)"));

        let s = split(INVITE, &Limits::default()).unwrap();
        assert_eq!(s.headers(), m.headers());
        assert_eq!(s.body(), m.body());
        let v = s.clone().validate().unwrap();
        assert_eq!(v.from(), m.from());
        assert_eq!(s.to_owned(), m.to_owned());
    }

    #[test]
    fn start_lines() {
        let ok = |s: &str| parse(s.as_bytes()).map(|m| m.start_line().clone().into_owned());
        assert!(matches!(ok("SIP/2.0 100 \r\n\r\n"), Ok(StartLine::Response { code: 100, .. })));
        assert!(matches!(ok("SIP/2.0 180\r\n\r\n"), Ok(StartLine::Response { code: 180, .. })));
        assert!(matches!(ok("OPTIONS sip:a@b SIP/2.0\r\n\r\n"), Ok(StartLine::Request { .. })));
        assert!(matches!(ok("\r\n\r\nOPTIONS sip:a@b sip/2.0\r\n\r\n"), Ok(StartLine::Request { .. })));
        assert!(matches!(ok("OPTIONS sip:a@b SIP/7.0\r\n\r\n"), Err(ParseError::Version { .. })));
        assert!(matches!(ok("SIP/3.0 200 OK\r\n\r\n"), Err(ParseError::Version { .. })));
        for bad in [
            "OPTIONS  sip:a@b SIP/2.0\r\n\r\n",
            "OPTIONS sip:a@b SIP/2.0 \r\n\r\n",
            "OPTIONS sip:a@b; lr SIP/2.0\r\n\r\n",
            "OPTIONS <sip:a@b> SIP/2.0\r\n\r\n",
            "OPTIONS sip:a@b HTTP/1.1\r\n\r\n",
            "OPTIONS sip:a@b\r\n\r\n",
            "SIP/2.0 4294967301 big\r\n\r\n",
            "SIP/2.0 099 low\r\n\r\n",
            "SIP/2.0 20 OK\r\n\r\n",
            "SIP/2.0\r\n\r\n",
            "OPT@IONS sip:a@b SIP/2.0\r\n\r\n",
        ] {
            assert!(matches!(ok(bad), Err(ParseError::StartLine { .. })), "{bad:?}: {:?}", ok(bad));
        }
        assert_eq!(parse(b"").err(), Some(ParseError::Empty));
        assert_eq!(parse(b"\r\n\r\n").err(), Some(ParseError::Empty));
    }

    #[test]
    fn header_lines() {
        let m = parse(b"OPTIONS sip:a@b SIP/2.0\r\nX-A: 1\r\n  2\r\nX-B :\r\nX-C:3\r\n\r\nbody").unwrap();
        let h = m.headers();
        assert_eq!(h.len(), 3);
        assert_eq!((h[0].name(), h[0].value(), h[0].line()), ("X-A", "1\r\n  2", 2));
        assert_eq!(h[0].unfolded_value(), "1 2");
        assert_eq!((h[1].name(), h[1].value()), ("X-B", ""));
        assert_eq!((h[2].name(), h[2].value(), h[2].line()), ("X-C", "3", 5));
        assert_eq!(m.body(), b"body");
        assert_eq!(m.content_length(), None);

        let folded_first = parse(b"OPTIONS sip:a@b SIP/2.0\r\nRoute:\r\n <sip:x;lr> \r\n\r\n").unwrap();
        assert_eq!(folded_first.header("route"), Some("<sip:x;lr>"));
        let lf = parse(b"OPTIONS sip:a@b SIP/2.0\nX-A: 1\n\nbody").unwrap();
        assert_eq!(lf.header("x-a"), Some("1"));
        assert_eq!(lf.body(), b"body");
        let no_blank = parse(b"OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n").unwrap();
        assert_eq!(no_blank.body(), b"");

        let err = |s: &[u8]| parse(s).err();
        assert!(matches!(
            err(b"OPTIONS sip:a@b SIP/2.0\r\n X: 1\r\n\r\n"),
            Some(ParseError::HeaderLine { line: 2, .. })
        ));
        assert!(matches!(err(b"OPTIONS sip:a@b SIP/2.0\r\nX 1\r\n\r\n"), Some(ParseError::HeaderLine { line: 2, .. })));
        assert!(matches!(err(b"OPTIONS sip:a@b SIP/2.0\r\nX Y: 1\r\n\r\n"), Some(ParseError::HeaderLine { .. })));
        assert!(matches!(err(b"OPTIONS sip:a@b SIP/2.0\r\nX: 1\r2\r\n\r\n"), Some(ParseError::BareCr { line: 2 })));
        assert!(matches!(err(b"OPTIONS sip:a@b SIP/2.0\r\nX: \xff\r\n\r\n"), Some(ParseError::NotUtf8 { line: 2 })));
        assert!(matches!(err(b"OPTIONS sip:a@b SIP/2.0\r\nX: 1"), Some(ParseError::Truncated)));
        assert!(matches!(
            err(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nab"),
            Some(ParseError::BodyTooShort { declared: 5, available: 2 })
        ));
        assert!(matches!(err(b"OPTIONS sip:a@b SIP/2.0\r\nl: -1\r\n\r\n"), Some(ParseError::Header { line: 2, .. })));
        assert!(matches!(
            err(b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n"),
            Some(ParseError::MethodMismatch { .. })
        ));
        let e = err(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nTo: \"open <sip:a@b>\r\n\r\n");
        assert_eq!(e.map(|e| e.to_string()).as_deref(), Some("line 3: invalid To header: unterminated quoted string"));
    }

    #[test]
    fn limits() {
        let small = Limits { max_message_size: 100, max_headers: 2, max_header_line: 30 };
        let big = [b'x'; 101];
        assert!(matches!(parse_with(&big, &small), Err(ParseError::TooLarge { .. })));
        assert!(matches!(
            parse_with(b"OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &small),
            Err(ParseError::TooManyHeaders { limit: 2 })
        ));
        assert!(matches!(
            parse_with(b"OPTIONS sip:a@b SIP/2.0\r\nA: 12345678901234567890123456789\r\n\r\n", &small),
            Err(ParseError::LineTooLong { line: 2, .. })
        ));
        assert!(matches!(
            parse_with(b"OPTIONS sip:a@b SIP/2.0\r\nA: 1234567890\r\n 123456789012345678\r\n\r\n", &small),
            Err(ParseError::LineTooLong { line: 2, .. })
        ));
    }

    #[test]
    fn tags_from_raw_values() {
        assert_eq!(name_addr::tag_of("sip:a@b;tag=1"), Some("1"));
        assert_eq!(name_addr::tag_of("\"x;tag=2\" <sip:a@b;tag=3>;tag=4"), Some("4"));
        assert_eq!(name_addr::tag_of("<sip:a@b;tag=3>"), None);
        assert_eq!(name_addr::tag_of("sip:a@b ;  tag = 5"), Some("5"));
        assert_eq!(name_addr::tag_of("\"a>b;tag=1\" <sip:a@b>;tag=6"), Some("6"));
    }
}
