//! Small typed header values: CSeq, media types (Content-Type, Accept),
//! and the scalar headers (Call-ID, Max-Forwards, Content-Length, Expires).

use std::borrow::Cow;
use std::fmt;

use super::error::ParseError;
use super::method::Method;
use super::params::{self, Params};
use super::scan;

/// The CSeq header value: sequence number and method (RFC 3261 §20.16).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// The sequence number (a 32-bit unsigned integer).
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// A CSeq value.
    pub fn new(seq: u32, method: Method) -> CSeq {
        CSeq { seq, method }
    }

    /// Parses `number method` (white space, folding and leading zeros
    /// allowed).
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        parse_cseq(s).map_err(|reason| ParseError::value("CSeq", reason))
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

pub(crate) fn parse_cseq(s: &str) -> Result<CSeq, &'static str> {
    let (seq, method) = cseq_parts(s)?;
    Ok(CSeq { seq, method: Method::from_token(method) })
}

/// The number and the method token of a CSeq value, without allocating.
pub(crate) fn cseq_parts(s: &str) -> Result<(u32, &str), &'static str> {
    let s = scan::trim_lws(s);
    let b = s.as_bytes();
    let mut seq: u32 = 0;
    let mut p = 0;
    while p < b.len() && b[p].is_ascii_digit() {
        seq = seq
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(b[p] - b'0')))
            .ok_or("sequence number out of range")?;
        p += 1;
    }
    if p == 0 {
        return Err("missing sequence number");
    }
    let method_start = p;
    while p < b.len() && scan::is_lws(b[p]) {
        p += 1;
    }
    if p == method_start || p == b.len() || !scan::all(&b[p..], scan::TOKEN) {
        return Err("invalid method");
    }
    Ok((seq, &s[p..]))
}

/// A media type or media range (`application/sdp`, `text/*;q=0.5`) with
/// its parameters (RFC 3261 §20.15, §20.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaType<'a> {
    mtype: Cow<'a, str>,
    subtype: Cow<'a, str>,
    params: Params<'a>,
}

impl<'a> MediaType<'a> {
    /// `type/subtype` with no parameters.
    pub fn new(mtype: impl Into<Cow<'a, str>>, subtype: impl Into<Cow<'a, str>>) -> MediaType<'a> {
        MediaType { mtype: mtype.into(), subtype: subtype.into(), params: Params::default() }
    }

    /// Parses `type/subtype *(;param)`.
    pub fn parse(s: &'a str) -> Result<MediaType<'a>, ParseError> {
        parse_media_type(s).map_err(|reason| ParseError::value("media type", reason))
    }

    /// The type (`application`).
    pub fn mtype(&self) -> &str {
        &self.mtype
    }

    /// The subtype (`sdp`).
    pub fn subtype(&self) -> &str {
        &self.subtype
    }

    /// The parameters (`charset`, `boundary`, `q`...).
    pub fn params(&self) -> &Params<'a> {
        &self.params
    }

    /// The value of parameter `name` without quotes.
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.params.get(name).and_then(|p| p.unquoted_value())
    }

    /// Whether this is `essence` (`type/subtype`, case-insensitive,
    /// parameters ignored).
    pub fn is(&self, essence: &str) -> bool {
        match essence.split_once('/') {
            Some((t, s)) => scan::eq_ic(&self.mtype, t) && scan::eq_ic(&self.subtype, s),
            None => false,
        }
    }

    /// Whether this media range (`*/*`, `type/*` or a full type) covers
    /// the concrete type `essence` (`type/subtype`).
    pub fn covers(&self, essence: &str) -> bool {
        let Some((t, s)) = essence.split_once('/') else {
            return false;
        };
        (self.mtype == "*" || scan::eq_ic(&self.mtype, t)) && (self.subtype == "*" || scan::eq_ic(&self.subtype, s))
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> MediaType<'static> {
        MediaType {
            mtype: Cow::Owned(self.mtype.into_owned()),
            subtype: Cow::Owned(self.subtype.into_owned()),
            params: self.params.into_owned(),
        }
    }
}

impl fmt::Display for MediaType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.mtype, self.subtype, self.params)
    }
}

pub(crate) fn parse_media_type(s: &str) -> Result<MediaType<'_>, &'static str> {
    let s = scan::trim_lws(s);
    let b = s.as_bytes();
    let mut p = 0;
    while p < b.len() && scan::is(b[p], scan::TOKEN) {
        p += 1;
    }
    let mtype = &s[..p];
    while p < b.len() && scan::is_lws(b[p]) {
        p += 1;
    }
    if mtype.is_empty() || b.get(p) != Some(&b'/') {
        return Err("expected type/subtype");
    }
    p += 1;
    while p < b.len() && scan::is_lws(b[p]) {
        p += 1;
    }
    let sub_start = p;
    while p < b.len() && scan::is(b[p], scan::TOKEN) {
        p += 1;
    }
    let subtype = &s[sub_start..p];
    if subtype.is_empty() {
        return Err("expected type/subtype");
    }
    while p < b.len() && scan::is_lws(b[p]) {
        p += 1;
    }
    let mut params = Params::default();
    if p < b.len() {
        if b[p] != b';' {
            return Err("unexpected text after the media type");
        }
        let raw = &s[p + 1..];
        params::validate_header_params(raw)?;
        params = Params::from_raw(raw);
    }
    Ok(MediaType { mtype: Cow::Borrowed(mtype), subtype: Cow::Borrowed(subtype), params })
}

/// Checks a Call-ID (`word ["@" word]`, tolerant of more `@`).
pub(crate) fn check_call_id(s: &str) -> Result<&str, &'static str> {
    let s = scan::trim_lws(s);
    if s.is_empty() {
        return Err("empty Call-ID");
    }
    if !scan::all(s.as_bytes(), scan::CALLID) {
        return Err("invalid character in Call-ID");
    }
    Ok(s)
}

/// Max-Forwards: 0 to 255.
pub(crate) fn parse_max_forwards(s: &str) -> Result<u8, &'static str> {
    scan::parse_u32(scan::trim_lws(s).as_bytes())
        .ok_or("not a number")
        .and_then(|v| u8::try_from(v).map_err(|_| "value over 255"))
}

/// Content-Length: a non-negative number below 2^32.
pub(crate) fn parse_content_length(s: &str) -> Result<usize, &'static str> {
    scan::parse_u32(scan::trim_lws(s).as_bytes()).map(|v| v as usize).ok_or("not a number below 2^32")
}

/// Expires / Min-Expires: delta-seconds below 2^32.
pub(crate) fn parse_delta_seconds(s: &str) -> Result<u32, &'static str> {
    scan::parse_u32(scan::trim_lws(s).as_bytes()).ok_or("not a number below 2^32")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq() {
        assert_eq!(CSeq::parse("314159 INVITE"), Ok(CSeq::new(314159, Method::Invite)));
        assert_eq!(CSeq::parse("0009\r\n  INVITE"), Ok(CSeq::new(9, Method::Invite)));
        assert_eq!(CSeq::parse("8 NEWMETHOD").map(|c| c.to_string()), Ok("8 NEWMETHOD".to_owned()));
        for bad in ["", "INVITE", "1", "1INVITE", "36893488147419103232 REGISTER", "-1 INVITE", "1 IN VITE"] {
            assert!(CSeq::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn media_types() {
        let m = MediaType::parse("multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert!(m.is("Multipart/Mixed"));
        assert_eq!(m.param("boundary").as_deref(), Some("7a9cbec02ceef655"));
        assert_eq!(m.to_string(), "multipart/mixed;boundary=7a9cbec02ceef655");
        let t = MediaType::parse("text / plain ; charset=\"utf-8\"").unwrap();
        assert_eq!(t.param("charset").as_deref(), Some("utf-8"));
        assert!(MediaType::parse("*/*").unwrap().covers("application/sdp"));
        assert!(MediaType::parse("application/*").unwrap().covers("application/sdp"));
        assert!(!MediaType::parse("text/nobodyKnowsThis").unwrap().covers("application/sdp"));
        for bad in ["", "application", "application/", "/sdp", "application/sdp x", "a/b;"] {
            assert!(MediaType::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(
            check_call_id(" intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{ "),
            Ok("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
        );
        assert!(check_call_id("a b").is_err());
        assert!(check_call_id("").is_err());
        assert_eq!(parse_max_forwards("0068"), Ok(68));
        assert!(parse_max_forwards("300").is_err());
        assert_eq!(parse_content_length("150"), Ok(150));
        assert!(parse_content_length("-999").is_err());
        assert!(parse_delta_seconds("10000000000000000000000").is_err());
    }
}
