//! URIs (RFC 3261 §19.1, §25.1): `sip`, `sips` and `tel` URIs split into
//! their parts, any other absolute URI kept as text.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::error::ParseError;
use super::params::{ParamIter, Params};
use super::scan;

/// The scheme of a [`Uri`]. Schemes compare case-insensitively; known ones
/// print in lower case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scheme<'a> {
    /// `sip:`
    Sip,
    /// `sips:` (TLS on every hop).
    Sips,
    /// `tel:` (RFC 3966).
    Tel,
    /// Any other scheme, as written (`http`, `urn`, `im`...).
    Other(Cow<'a, str>),
}

impl Scheme<'_> {
    /// The scheme name.
    pub fn as_str(&self) -> &str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s,
        }
    }
}

impl fmt::Display for Scheme<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sip,
    Sips,
    Tel,
    Other,
}

/// A byte range of the URI text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    const NONE: Span = Span { start: u32::MAX, end: u32::MAX };

    fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }

    fn get(self, text: &str) -> Option<&str> {
        if self.start == u32::MAX { None } else { text.get(self.start as usize..self.end as usize) }
    }
}

/// Where each part lies in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Parts {
    kind: Kind,
    scheme_end: u32,
    user: Span,
    password: Span,
    host: Span,
    port: Option<u16>,
    params: Span,
    headers: Span,
}

/// A URI. For `sip`/`sips` every part is available; for `tel` the number is
/// the [`user`](Uri::user) and the parameters are [`params`](Uri::params);
/// any other scheme keeps the text after the colon as
/// [`opaque`](Uri::opaque). The URI is stored as its text plus the position
/// of each part (cheap to clone and to copy into an owned value). `%`
/// escapes are decoded by the accessors that say so and kept when
/// printing, so `Display` gives back the parsed text (with the scheme in
/// lower case). Equality compares the text, the scheme case-insensitively.
#[derive(Clone)]
pub struct Uri<'a> {
    text: Cow<'a, str>,
    parts: Parts,
}

impl<'a> Uri<'a> {
    /// Parses a complete URI (no surrounding white space or `<>`).
    pub fn parse(s: &'a str) -> Result<Uri<'a>, ParseError> {
        parse_uri(s).map_err(|reason| ParseError::value("URI", reason))
    }

    /// `sip:host`, to be completed with the `with_*` methods.
    pub fn sip(host: &str) -> Uri<'static> {
        assemble(Kind::Sip, "sip", None, None, host, None, None, None)
    }

    /// `sips:host`, to be completed with the `with_*` methods.
    pub fn sips(host: &str) -> Uri<'static> {
        assemble(Kind::Sips, "sips", None, None, host, None, None, None)
    }

    fn rebuild(
        &self,
        user: Option<&str>,
        host: &str,
        port: Option<u16>,
        params: Option<&str>,
        headers: Option<&str>,
    ) -> Uri<'static> {
        if self.parts.kind == Kind::Other {
            return self.clone().into_owned();
        }
        let scheme = &self.text[..self.parts.scheme_end as usize];
        assemble(self.parts.kind, scheme, user, self.password_raw(), host, port, params, headers)
    }

    /// Sets the user part (the number of a `tel` URI); characters outside
    /// the user grammar are `%`-escaped. An empty user removes it.
    pub fn with_user(self, user: &str) -> Uri<'static> {
        let escaped = scan::escape(user, scan::USER);
        let user = (!escaped.is_empty()).then_some(&*escaped);
        self.rebuild(user, self.host(), self.port(), self.params_raw(), self.headers())
    }

    /// Sets the host (an IPv6 address goes in brackets).
    pub fn with_host(self, host: &str) -> Uri<'static> {
        self.rebuild(self.user_raw(), host, self.port(), self.params_raw(), self.headers())
    }

    /// Sets the port.
    pub fn with_port(self, port: u16) -> Uri<'static> {
        self.rebuild(self.user_raw(), self.host(), Some(port), self.params_raw(), self.headers())
    }

    /// Sets a URI parameter (`None` for a flag such as `lr`), replacing one
    /// of the same name. The name and value are escaped where the URI
    /// grammar needs it.
    pub fn with_param(self, name: &str, value: Option<&str>) -> Uri<'static> {
        let name = scan::escape(name, scan::PARAM);
        let value = value.map(|v| scan::escape(v, scan::PARAM));
        let mut params = self.params().into_owned();
        params.set(&name, value.as_deref());
        let raw = params.as_raw();
        self.rebuild(self.user_raw(), self.host(), self.port(), (!raw.is_empty()).then_some(raw), self.headers())
    }

    /// Removes every URI parameter named `name`.
    pub fn without_param(self, name: &str) -> Uri<'static> {
        let mut params = self.params().into_owned();
        params.remove(name);
        let raw = params.as_raw();
        self.rebuild(self.user_raw(), self.host(), self.port(), (!raw.is_empty()).then_some(raw), self.headers())
    }

    /// Sets the `transport` parameter.
    pub fn with_transport(self, transport: &str) -> Uri<'static> {
        self.with_param("transport", Some(transport))
    }

    /// Removes the URI headers (`?...`).
    pub fn without_headers(self) -> Uri<'static> {
        self.rebuild(self.user_raw(), self.host(), self.port(), self.params_raw(), None)
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme<'_> {
        match self.parts.kind {
            Kind::Sip => Scheme::Sip,
            Kind::Sips => Scheme::Sips,
            Kind::Tel => Scheme::Tel,
            Kind::Other => Scheme::Other(Cow::Borrowed(&self.text[..self.parts.scheme_end as usize])),
        }
    }

    /// Whether the scheme is `sip` or `sips`.
    pub fn is_sip(&self) -> bool {
        matches!(self.parts.kind, Kind::Sip | Kind::Sips)
    }

    /// Whether the scheme is `sips`.
    pub fn is_sips(&self) -> bool {
        self.parts.kind == Kind::Sips
    }

    /// The user part with `%` escapes decoded (the number of a `tel` URI).
    pub fn user(&self) -> Option<Cow<'_, str>> {
        self.user_raw().map(scan::unescape)
    }

    /// The user part as written.
    pub fn user_raw(&self) -> Option<&str> {
        self.parts.user.get(&self.text)
    }

    /// The password part (after `user:`), escapes decoded.
    pub fn password(&self) -> Option<Cow<'_, str>> {
        self.password_raw().map(scan::unescape)
    }

    pub(super) fn password_raw(&self) -> Option<&str> {
        self.parts.password.get(&self.text)
    }

    /// The host as written: a name, an IPv4 address or an IPv6 reference
    /// in brackets. Empty for `tel` and other schemes.
    pub fn host(&self) -> &str {
        self.parts.host.get(&self.text).unwrap_or("")
    }

    /// The host as an IP address when it is one (brackets removed).
    pub fn ip(&self) -> Option<IpAddr> {
        host_ip(self.host())
    }

    /// The port, when given.
    pub fn port(&self) -> Option<u16> {
        self.parts.port
    }

    fn params_raw(&self) -> Option<&str> {
        self.parts.params.get(&self.text)
    }

    /// The URI parameters.
    pub fn params(&self) -> Params<'_> {
        Params::from_raw(self.params_raw().unwrap_or(""))
    }

    /// The value of URI parameter `name` as written (`None` when absent or
    /// a flag).
    pub fn param(&self, name: &str) -> Option<&str> {
        ParamIter::new(self.params_raw()?).find(|p| scan::eq_ic(p.name, name)).and_then(|p| p.value)
    }

    /// Whether URI parameter `name` is present (with or without a value).
    pub fn has_param(&self, name: &str) -> bool {
        self.params_raw().is_some_and(|raw| ParamIter::new(raw).any(|p| scan::eq_ic(p.name, name)))
    }

    /// The `transport` parameter.
    pub fn transport(&self) -> Option<&str> {
        self.param("transport")
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.param("maddr")
    }

    /// The `user` parameter (`phone`, `ip`...).
    pub fn user_param(&self) -> Option<&str> {
        self.param("user")
    }

    /// Whether the `lr` (loose routing) flag is present.
    pub fn lr(&self) -> bool {
        self.has_param("lr")
    }

    /// The URI headers (`?name=value&...`) as written, without the `?`.
    pub fn headers(&self) -> Option<&str> {
        self.parts.headers.get(&self.text)
    }

    /// The URI headers as decoded `(name, value)` pairs.
    pub fn header_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        self.headers().unwrap_or("").split('&').filter(|h| !h.is_empty()).map(|h| {
            let (n, v) = h.split_once('=').unwrap_or((h, ""));
            (scan::unescape(n), scan::unescape(v))
        })
    }

    /// For schemes other than sip, sips and tel: the text after the colon.
    pub fn opaque(&self) -> &str {
        if self.parts.kind == Kind::Other {
            self.text.get(self.parts.scheme_end as usize + 1..).unwrap_or("")
        } else {
            ""
        }
    }

    /// `host[:port]` as written (the sent-by form).
    pub fn host_port(&self) -> Cow<'_, str> {
        match self.parts.port {
            Some(p) => Cow::Owned(format!("{}:{p}", self.host())),
            None => Cow::Borrowed(self.host()),
        }
    }

    /// The URI text as parsed or built.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> Uri<'static> {
        Uri { text: Cow::Owned(self.text.into_owned()), parts: self.parts }
    }
}

impl PartialEq for Uri<'_> {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.parts.scheme_end as usize, other.parts.scheme_end as usize);
        self.parts.kind == other.parts.kind
            && self.text.get(a..) == other.text.get(b..)
            && (self.parts.kind != Kind::Other || scan::eq_ic(&self.text[..a], &other.text[..b]))
    }
}

impl Eq for Uri<'_> {}

impl fmt::Debug for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uri({:?})", self.text)
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self.parts.scheme_end as usize;
        match self.parts.kind {
            Kind::Sip => f.write_str("sip")?,
            Kind::Sips => f.write_str("sips")?,
            Kind::Tel => f.write_str("tel")?,
            Kind::Other => f.write_str(self.text.get(..end).unwrap_or(""))?,
        }
        f.write_str(self.text.get(end..).unwrap_or(""))
    }
}

impl FromStr for Uri<'static> {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Uri<'static>, ParseError> {
        Uri::parse(s).map(Uri::into_owned)
    }
}

/// Writes the parts of a URI and records where each lands.
#[allow(clippy::too_many_arguments)]
fn assemble(
    kind: Kind,
    scheme: &str,
    user: Option<&str>,
    password: Option<&str>,
    host: &str,
    port: Option<u16>,
    params: Option<&str>,
    headers: Option<&str>,
) -> Uri<'static> {
    let mut text = String::with_capacity(scheme.len() + host.len() + 32);
    let mut parts = Parts {
        kind,
        scheme_end: scheme.len() as u32,
        user: Span::NONE,
        password: Span::NONE,
        host: Span::NONE,
        port: None,
        params: Span::NONE,
        headers: Span::NONE,
    };
    text.push_str(scheme);
    text.push(':');
    if let Some(u) = user {
        let start = text.len();
        text.push_str(u);
        parts.user = Span::new(start, text.len());
        if kind != Kind::Tel {
            if let Some(p) = password {
                text.push(':');
                let start = text.len();
                text.push_str(p);
                parts.password = Span::new(start, text.len());
            }
            text.push('@');
        }
    }
    if kind != Kind::Tel {
        let start = text.len();
        text.push_str(host);
        parts.host = Span::new(start, text.len());
        if let Some(p) = port {
            text.push(':');
            text.push_str(&p.to_string());
            parts.port = Some(p);
        }
    }
    if let Some(p) = params {
        text.push(';');
        let start = text.len();
        text.push_str(p);
        parts.params = Span::new(start, text.len());
    }
    if let Some(h) = headers.filter(|_| kind != Kind::Tel) {
        text.push('?');
        let start = text.len();
        text.push_str(h);
        parts.headers = Span::new(start, text.len());
    }
    Uri { text: Cow::Owned(text), parts }
}

/// The IP address in a host (IPv6 in brackets), if it is one.
pub(crate) fn host_ip(host: &str) -> Option<IpAddr> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if host.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return host.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    None
}

/// Reads `host [":" port]` starting at `p`: a name or IPv4 address, or an
/// IPv6 reference in brackets. Returns the host end, the port and the
/// position after it.
#[inline]
pub(crate) fn scan_host_port(b: &[u8], mut p: usize) -> Result<(usize, Option<u16>, usize), &'static str> {
    let start = p;
    if b.get(p) == Some(&b'[') {
        while p < b.len() && b[p] != b']' {
            p += 1;
        }
        if p >= b.len() {
            return Err("unterminated IPv6 reference");
        }
        let inner = std::str::from_utf8(&b[start + 1..p]).map_err(|_| "invalid IPv6 address")?;
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err("invalid IPv6 address");
        }
        p += 1;
    } else {
        p = scan::class_end(b, p, b.len(), scan::HOST);
        if p == start {
            return Err(if p < b.len() { "invalid character in host" } else { "missing host" });
        }
    }
    let host_end = p;
    if b.get(p) != Some(&b':') {
        return Ok((host_end, None, p));
    }
    p += 1;
    let digits = p;
    let mut port: u32 = 0;
    while p < b.len() && b[p].is_ascii_digit() && p - digits < 5 {
        port = port * 10 + u32::from(b[p] - b'0');
        p += 1;
    }
    if p == digits || port > 65535 || b.get(p).is_some_and(u8::is_ascii_digit) {
        return Err("invalid port");
    }
    Ok((host_end, Some(port as u16), p))
}

/// Checks `% HEX HEX` at `b[p]`.
#[inline]
fn escape_at(b: &[u8], p: usize) -> bool {
    matches!((b.get(p + 1), b.get(p + 2)), (Some(x), Some(y)) if x.is_ascii_hexdigit() && y.is_ascii_hexdigit())
}

/// Scans URI parameters from `p` (just after the first `;`): `name[=value]`
/// separated by `;`, none empty. Stops at the first character that cannot
/// be part of them (`?`, `>`, white space, the end...).
fn scan_uri_params(b: &[u8], mut p: usize) -> Result<usize, &'static str> {
    let mut seg_start = p;
    let mut eq: Option<usize> = None;
    loop {
        let c = b.get(p).copied().unwrap_or(b' ');
        match c {
            b'=' if eq.is_none() => eq = Some(p),
            b'%' => {
                if !escape_at(b, p) {
                    return Err("invalid % escape in URI parameters");
                }
                p += 2;
            }
            c if c != b';' && scan::is(c, scan::PARAM) => {}
            _ => {
                let empty_value = eq.is_some_and(|e| e + 1 == p);
                if p == seg_start || eq == Some(seg_start) || empty_value {
                    return Err("empty URI parameter");
                }
                if c != b';' {
                    return Ok(p);
                }
                seg_start = p + 1;
                eq = None;
            }
        }
        p += 1;
    }
}

/// Reads `user[:password]@` from `p`: returns the end of the user part
/// and the position of `@`, or `None` when there is no user part (the
/// first character outside the user and password grammar is not `@`).
#[inline(always)]
fn scan_userinfo(b: &[u8], start: usize) -> Result<Option<(usize, usize)>, &'static str> {
    // Find `@` across the characters a user part, a password or a host
    // part may hold; stop at anything else (`>`, white space, the end).
    let at =
        start + b[start..].iter().position(|&c| c == b'@' || !scan::is(c, scan::USERINFO)).unwrap_or(b.len() - start);
    if b.get(at) != Some(&b'@') {
        return Ok(None);
    }
    let colon = b[start..at].iter().position(|&c| c == b':').map(|o| start + o);
    let user_end = colon.unwrap_or(at);
    if user_end == start {
        return Err("empty user part");
    }
    let valid = |from: usize, to: usize, class: u16| {
        let mut p = from;
        while p < to {
            match b[p] {
                b'%' if escape_at(b, p) && p + 2 < to => p += 3,
                b'%' => return false,
                c if scan::is(c, class) => p += 1,
                _ => return false,
            }
        }
        true
    };
    if !valid(start, user_end, scan::USER) {
        return Err("invalid character in user part");
    }
    if let Some(c) = colon
        && !valid(c + 1, at, scan::PASSWORD)
    {
        return Err("invalid character in password");
    }
    Ok(Some((user_end, at)))
}

fn parse_uri(s: &str) -> Result<Uri<'_>, &'static str> {
    let (uri, end) = parse_uri_prefix(s)?;
    if end != s.len() {
        return Err("invalid character in URI");
    }
    Ok(uri)
}

/// Parses the URI at the start of `s` and returns it with its length: the
/// URI ends at the first character its grammar does not allow there (`>`,
/// white space...).
pub(crate) fn parse_uri_prefix(s: &str) -> Result<(Uri<'_>, usize), &'static str> {
    let b = s.as_bytes();
    let (kind, p) = if b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"sip:") {
        (Kind::Sip, 3)
    } else {
        if !b.first().is_some_and(u8::is_ascii_alphabetic) {
            return Err("invalid scheme");
        }
        let mut p = 1;
        while p < b.len() && scan::is(b[p], scan::SCHEME) {
            p += 1;
        }
        if b.get(p) != Some(&b':') {
            return Err(if p == b.len() { "missing scheme" } else { "invalid scheme" });
        }
        let scheme = &b[..p];
        let kind = if scheme.eq_ignore_ascii_case(b"sips") {
            Kind::Sips
        } else if scheme.eq_ignore_ascii_case(b"tel") {
            Kind::Tel
        } else if scheme.eq_ignore_ascii_case(b"sip") {
            Kind::Sip
        } else {
            Kind::Other
        };
        (kind, p)
    };
    let mut parts = Parts {
        kind,
        scheme_end: p as u32,
        user: Span::NONE,
        password: Span::NONE,
        host: Span::NONE,
        port: None,
        params: Span::NONE,
        headers: Span::NONE,
    };
    let rest = p + 1;
    let end = match kind {
        Kind::Other => {
            let mut e = rest;
            while e < b.len() {
                match b[e] {
                    b'%' if escape_at(b, e) => e += 3,
                    c if c != b'%' && scan::is(c, scan::URIC) => e += 1,
                    _ => break,
                }
            }
            if e == rest {
                return Err("invalid character in URI");
            }
            e
        }
        Kind::Tel => {
            let mut e = rest;
            while e < b.len() && b[e] != b';' && scan::is(b[e], scan::TEL) {
                e += 1;
            }
            if e == rest {
                return Err("invalid telephone number");
            }
            parts.user = Span::new(rest, e);
            if b.get(e) == Some(&b';') {
                let end = scan_uri_params(b, e + 1)?;
                parts.params = Span::new(e + 1, end);
                e = end;
            }
            e
        }
        Kind::Sip | Kind::Sips => {
            let mut h = rest;
            if let Some((user_end, at)) = scan_userinfo(b, rest)? {
                parts.user = Span::new(rest, user_end);
                if user_end < at {
                    parts.password = Span::new(user_end + 1, at);
                }
                h = at + 1;
            }
            let (host_end, port, mut q) = scan_host_port(b, h)?;
            parts.host = Span::new(h, host_end);
            parts.port = port;
            if b.get(q) == Some(&b';') {
                let end = scan_uri_params(b, q + 1)?;
                parts.params = Span::new(q + 1, end);
                q = end;
            }
            if b.get(q) == Some(&b'?') {
                let hs = q + 1;
                let mut e = hs;
                while e < b.len() {
                    match b[e] {
                        b'%' if !escape_at(b, e) => return Err("invalid % escape in URI headers"),
                        b'%' => e += 3,
                        c if scan::is(c, scan::HNV) || c == b'=' || c == b'&' => e += 1,
                        _ => break,
                    }
                }
                parts.headers = Span::new(hs, e);
                q = e;
            }
            q
        }
    };
    Ok((Uri { text: Cow::Borrowed(&s[..end]), parts }, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &str) -> Uri<'_> {
        let uri = Uri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(uri.to_string(), s);
        uri
    }

    #[test]
    fn sip_parts() {
        let u = roundtrip("sip:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=hi&x=%20");
        assert_eq!(u.scheme(), Scheme::Sip);
        assert_eq!(u.user().as_deref(), Some("alice"));
        assert_eq!(u.password().as_deref(), Some("secret"));
        assert_eq!(u.host(), "atlanta.example.com");
        assert_eq!(u.port(), Some(5061));
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.lr());
        assert_eq!(u.params().len(), 2);
        let pairs: Vec<_> = u.header_pairs().collect();
        assert_eq!(pairs, vec![(Cow::from("subject"), Cow::from("hi")), (Cow::from("x"), Cow::from(" "))]);
        let v6 = roundtrip("sips:[2001:db8::1]:5061");
        assert_eq!(v6.ip(), Some("2001:db8::1".parse().unwrap()));
        assert!(v6.is_sips());
        assert_eq!(roundtrip("sip:192.0.2.1").ip(), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(roundtrip("sip:example.com").ip(), None);
        assert_eq!(roundtrip("sip:example.com:5060").host_port(), "example.com:5060");
        assert_eq!(roundtrip("sip:u:@h").password().as_deref(), Some(""));
    }

    #[test]
    fn torture_uris() {
        let u = roundtrip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(u.user().as_deref(), Some("sips:user@example.com"));
        assert_eq!(u.host(), "example.net");
        let u = roundtrip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user().as_deref(), Some("user;par=u@example.net"));
        let u = roundtrip(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        );
        assert_eq!(u.user_raw(), Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"));
        assert_eq!(u.password().as_deref(), Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"));
        let u = roundtrip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert_eq!(u.user().as_deref(), Some("caller"));
        assert_eq!(u.params().len(), 2);
        let u = roundtrip("sip:null-%00-null@example.com");
        assert_eq!(u.user().as_deref(), Some("null-\0-null"));
        let u = roundtrip("nobodyKnowsThisScheme:totallyopaquecontent");
        assert_eq!(u.scheme().as_str(), "nobodyKnowsThisScheme");
        assert_eq!(u.opaque(), "totallyopaquecontent");
        roundtrip("soap.beep://192.0.2.103:3002");
        roundtrip("http://www.example.com");
        let t = roundtrip("tel:+1-201-555-0123;phone-context=example.com");
        assert_eq!(t.user().as_deref(), Some("+1-201-555-0123"));
        assert_eq!(t.param("phone-context"), Some("example.com"));
        let u = Uri::parse("SIP:Bob@Example.COM").unwrap();
        assert_eq!(u.to_string(), "sip:Bob@Example.COM");
        assert_eq!(u, Uri::parse("sip:Bob@Example.COM").unwrap());
        assert_ne!(u, Uri::parse("sips:Bob@Example.COM").unwrap());
        let e = roundtrip("sip:user@example.com?Route=%3Csip:example.com%3E");
        assert_eq!(
            e.header_pairs().next().map(|(n, v)| (n.into_owned(), v.into_owned())),
            Some(("Route".into(), "<sip:example.com>".into()))
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "sip",
            "<sip:user@example.com>",
            "sip:user@example.com; lr",
            "sip:",
            "sip:@example.com",
            "sip:user@",
            "sip:user@host:",
            "sip:user@host:65536",
            "sip:user@host:050600",
            "sip:user@host:5060x",
            "sip:us er@host",
            "sip:user@[::1",
            "sip:user@[zz::1]",
            "sip:user@host;;lr",
            "sip:user@host;lr;",
            "sip:user@host;=x",
            "sip:user@host;x=",
            "sip:u%4@host",
            "sip:u@host;x=%4",
            "sip:u@host?a=%",
            "sip:u@host?a b",
            "1sip:host",
            "x:a b",
            "x:",
            "tel:",
            "tel:12;",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn builder() {
        let u =
            Uri::sip("example.com").with_user("al ice").with_port(5070).with_transport("tcp").with_param("lr", None);
        assert_eq!(u.to_string(), "sip:al%20ice@example.com:5070;transport=tcp;lr");
        assert_eq!(u.user().as_deref(), Some("al ice"));
        assert_eq!(u.transport(), Some("tcp"));
        assert_eq!(u, Uri::parse("sip:al%20ice@example.com:5070;transport=tcp;lr").unwrap());
        let u = u.without_param("transport").with_host("[::1]");
        assert_eq!(u.to_string(), "sip:al%20ice@[::1]:5070;lr");
        assert_eq!(u.ip(), Some("::1".parse().unwrap()));
        let owned: Uri<'static> = "sips:bob@example.org?x=1".parse().unwrap();
        assert_eq!(owned.scheme(), Scheme::Sips);
        assert_eq!(owned.clone().without_headers().to_string(), "sips:bob@example.org");
        assert_eq!(Uri::sips("h").with_user("").to_string(), "sips:h");
    }
}
