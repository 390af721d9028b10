//! The Via header value (RFC 3261 §20.42, §25.1 `via-parm`).

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use super::error::ParseError;
use super::params::{self, ParamIter, Params};
use super::scan;
use super::uri;

/// The RFC 3261 magic cookie that starts every branch created by an
/// RFC 3261 element (§8.1.1.7).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// A transport named in a Via header or a `transport` URI parameter.
/// Parsed case-insensitively; known transports print in upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Transport<'a> {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// TLS over SCTP.
    TlsSctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
    /// Any other transport token, as written.
    Other(Cow<'a, str>),
}

impl<'a> Transport<'a> {
    /// The transport named by token `s`.
    pub fn from_token(s: &'a str) -> Transport<'a> {
        let b = s.as_bytes();
        let is = |name: &[u8]| scan::token_eq_ic(b, name) && scan::all(b, scan::TOKEN);
        match b.len() {
            2 if is(b"WS") => Transport::Ws,
            3 if is(b"UDP") => Transport::Udp,
            3 if is(b"TCP") => Transport::Tcp,
            3 if is(b"TLS") => Transport::Tls,
            3 if is(b"WSS") => Transport::Wss,
            4 if is(b"SCTP") => Transport::Sctp,
            8 if is(b"TLS-SCTP") => Transport::TlsSctp,
            _ => Transport::Other(Cow::Borrowed(s)),
        }
    }

    /// The transport token (upper case for known transports).
    pub fn as_str(&self) -> &str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::TlsSctp => "TLS-SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other(s) => s,
        }
    }

    /// Whether the transport delivers reliably (everything but UDP).
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// Whether the transport is secured by TLS.
    pub fn is_secure(&self) -> bool {
        matches!(self, Transport::Tls | Transport::TlsSctp | Transport::Wss)
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> Transport<'static> {
        match self {
            Transport::Udp => Transport::Udp,
            Transport::Tcp => Transport::Tcp,
            Transport::Tls => Transport::Tls,
            Transport::Sctp => Transport::Sctp,
            Transport::TlsSctp => Transport::TlsSctp,
            Transport::Ws => Transport::Ws,
            Transport::Wss => Transport::Wss,
            Transport::Other(s) => Transport::Other(Cow::Owned(s.into_owned())),
        }
    }
}

impl fmt::Display for Transport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A byte range of a Via value's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug)]
struct Parts {
    protocol: Span,
    version: Span,
    transport: Span,
    host: Span,
    port: Option<u16>,
    params: Span,
}

/// One Via value: `SIP/2.0/UDP host:port;branch=...;rport;received=...`.
/// Kept as its text plus the position of each part (cheap to clone and to
/// copy into an owned value); printing normalizes the white space the
/// sender may have put between the parts, and equality compares the parts.
#[derive(Clone)]
pub struct Via<'a> {
    text: Cow<'a, str>,
    parts: Parts,
}

impl<'a> Via<'a> {
    /// `SIP/2.0/<transport> host[:port]` with no parameters.
    pub fn new(transport: Transport<'_>, host: &str, port: Option<u16>) -> Via<'static> {
        assemble("SIP", "2.0", transport.as_str(), host, port, None)
    }

    /// Parses one Via value (one element of the list).
    pub fn parse(s: &'a str) -> Result<Via<'a>, ParseError> {
        parse_via(s).map_err(|reason| ParseError::value("Via", reason))
    }

    fn part(&self, span: Span) -> &str {
        span.get(&self.text).unwrap_or("")
    }

    fn params_raw(&self) -> Option<&str> {
        self.parts.params.get(&self.text)
    }

    /// Sets a parameter (`None` for a flag), replacing one of the same
    /// name. The caller gives a valid token (or host, or quoted string).
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Via<'static> {
        self.set_param(name, value);
        self.into_owned()
    }

    /// Sets a parameter in place (see [`Via::with_param`]); used for
    /// `received` and `rport` on requests received.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        let mut params = self.params().into_owned();
        params.set(name, value);
        *self = self.rebuild(params.as_raw());
    }

    /// Removes every parameter named `name`.
    pub fn remove_param(&mut self, name: &str) {
        let mut params = self.params().into_owned();
        if params.remove(name) {
            *self = self.rebuild(params.as_raw());
        }
    }

    fn rebuild(&self, params: &str) -> Via<'static> {
        let params = (!params.is_empty()).then_some(params);
        assemble(self.protocol(), self.version(), self.part(self.parts.transport), self.host(), self.port(), params)
    }

    /// Sets the `branch` parameter.
    pub fn with_branch(self, branch: &str) -> Via<'static> {
        self.with_param("branch", Some(branch))
    }

    /// Adds the `rport` flag (RFC 3581).
    pub fn with_rport(self) -> Via<'static> {
        self.with_param("rport", None)
    }

    /// The protocol name (`SIP`).
    pub fn protocol(&self) -> &str {
        self.part(self.parts.protocol)
    }

    /// The protocol version (`2.0`).
    pub fn version(&self) -> &str {
        self.part(self.parts.version)
    }

    /// The transport.
    pub fn transport(&self) -> Transport<'_> {
        Transport::from_token(self.part(self.parts.transport))
    }

    /// The sent-by host as written (IPv6 in brackets).
    pub fn host(&self) -> &str {
        self.part(self.parts.host)
    }

    /// The sent-by host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        uri::host_ip(self.host())
    }

    /// The sent-by port, when given.
    pub fn port(&self) -> Option<u16> {
        self.parts.port
    }

    /// The sent-by as `host[:port]`.
    pub fn sent_by(&self) -> Cow<'_, str> {
        match self.parts.port {
            Some(p) => Cow::Owned(format!("{}:{p}", self.host())),
            None => Cow::Borrowed(self.host()),
        }
    }

    /// The parameters.
    pub fn params(&self) -> Params<'_> {
        Params::from_raw(self.params_raw().unwrap_or(""))
    }

    /// The value of parameter `name` as written.
    pub fn param(&self, name: &str) -> Option<&str> {
        ParamIter::new(self.params_raw()?).find(|p| scan::eq_ic(p.name, name)).and_then(|p| p.value)
    }

    /// Whether parameter `name` is present (with or without a value).
    pub fn has_param(&self, name: &str) -> bool {
        self.params_raw().is_some_and(|raw| ParamIter::new(raw).any(|p| scan::eq_ic(p.name, name)))
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch")
    }

    /// The branch when it was made by an RFC 3261 element: it starts with
    /// the magic cookie and has something after it. `None` means the
    /// RFC 2543 matching rules apply (RFC 3261 §17.2.3).
    pub fn rfc3261_branch(&self) -> Option<&str> {
        self.branch().filter(|b| b.len() > BRANCH_MAGIC_COOKIE.len() && b.starts_with(BRANCH_MAGIC_COOKIE))
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        self.param("received")
    }

    /// The `rport` parameter (RFC 3581): `None` when absent, `Some(None)`
    /// for the bare flag a client sends, `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        let p = ParamIter::new(self.params_raw()?).find(|p| scan::eq_ic(p.name, "rport"))?;
        Some(p.value.and_then(|v| scan::parse_u32(v.as_bytes())).and_then(|v| u16::try_from(v).ok()))
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.param("maddr")
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.param("ttl").and_then(|v| scan::parse_u32(v.as_bytes())).and_then(|v| u8::try_from(v).ok())
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> Via<'static> {
        Via { text: Cow::Owned(self.text.into_owned()), parts: self.parts }
    }
}

impl PartialEq for Via<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.protocol() == other.protocol()
            && self.version() == other.version()
            && self.transport() == other.transport()
            && self.host() == other.host()
            && self.port() == other.port()
            && self.params() == other.params()
    }
}

impl Eq for Via<'_> {}

impl fmt::Debug for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Via({self})")
    }
}

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{} {}", self.protocol(), self.version(), self.transport(), self.host())?;
        if let Some(p) = self.port() {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params())
    }
}

/// Writes the parts of a Via and records where each lands.
fn assemble(
    protocol: &str,
    version: &str,
    transport: &str,
    host: &str,
    port: Option<u16>,
    params: Option<&str>,
) -> Via<'static> {
    let mut text = String::with_capacity(protocol.len() + host.len() + 24 + params.map_or(0, str::len));
    let push = |text: &mut String, s: &str| {
        let start = text.len();
        text.push_str(s);
        Span::new(start, text.len())
    };
    let protocol = push(&mut text, protocol);
    text.push('/');
    let version = push(&mut text, version);
    text.push('/');
    let transport = push(&mut text, transport);
    text.push(' ');
    let host = push(&mut text, host);
    if let Some(p) = port {
        text.push(':');
        text.push_str(&p.to_string());
    }
    let params = match params {
        Some(raw) => {
            text.push(';');
            push(&mut text, raw)
        }
        None => Span::NONE,
    };
    Via { text: Cow::Owned(text), parts: Parts { protocol, version, transport, host, port, params } }
}

fn skip_lws(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && scan::is_lws(b[p]) {
        p += 1;
    }
    p
}

fn token_end(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && scan::is(b[p], scan::TOKEN) {
        p += 1;
    }
    p
}

/// Checks the values of the parameters RFC 3261 and RFC 3581 define.
#[inline]
fn check_via_param(name: &[u8], value: Option<&[u8]>) -> Result<(), &'static str> {
    let number = |v: Option<&[u8]>, max: u32| v.and_then(scan::parse_u32).is_some_and(|n| n <= max);
    // Parameter names are tokens (checked by the caller).
    let ok = match name.len() {
        6 if scan::token_eq_ic(name, b"branch") => value.is_some(),
        3 if scan::token_eq_ic(name, b"ttl") => number(value, 255),
        5 if scan::token_eq_ic(name, b"rport") => value.is_none() || number(value, 65535),
        _ => true,
    };
    if ok { Ok(()) } else { Err("invalid branch, rport or ttl parameter") }
}

/// Decodes one via-parm starting at `start`; returns it and the position
/// where it ends (the end of `s` or a `,` before the next via-parm).
pub(crate) fn parse_via_at(s: &str, start: usize) -> Result<(Via<'_>, usize), &'static str> {
    let b = s.as_bytes();
    let proto_start = skip_lws(b, start);
    if b.len() >= proto_start + 8 && b[proto_start..proto_start + 8].eq_ignore_ascii_case(b"SIP/2.0/") {
        // The usual spelling: no white space inside sent-protocol.
        let transport_start = proto_start + 8;
        let transport_end = token_end(b, transport_start);
        return parse_sent_by(
            s,
            (proto_start, proto_start + 3),
            (proto_start + 4, proto_start + 7),
            (transport_start, transport_end),
        );
    }
    let proto_end = token_end(b, proto_start);
    let mut p = skip_lws(b, proto_end);
    if proto_end == proto_start || b.get(p) != Some(&b'/') {
        return Err("invalid sent-protocol");
    }
    let version_start = skip_lws(b, p + 1);
    let version_end = token_end(b, version_start);
    p = skip_lws(b, version_end);
    if version_end == version_start || b.get(p) != Some(&b'/') {
        return Err("invalid sent-protocol");
    }
    let transport_start = skip_lws(b, p + 1);
    let transport_end = token_end(b, transport_start);
    parse_sent_by(s, (proto_start, proto_end), (version_start, version_end), (transport_start, transport_end))
}

/// The rest of a via-parm once sent-protocol is read: sent-by and
/// parameters.
#[inline(always)]
fn parse_sent_by(
    s: &str,
    (proto_start, proto_end): (usize, usize),
    (version_start, version_end): (usize, usize),
    (transport_start, transport_end): (usize, usize),
) -> Result<(Via<'_>, usize), &'static str> {
    let b = s.as_bytes();
    if transport_end == transport_start {
        return Err("invalid transport");
    }
    let host_start = skip_lws(b, transport_end);
    if host_start == transport_end {
        return Err("missing white space before sent-by");
    }
    let (host_end, mut port, mut p) = uri::scan_host_port(b, host_start)?;
    if port.is_none() {
        let q = skip_lws(b, p);
        if b.get(q) == Some(&b':') {
            let ds = skip_lws(b, q + 1);
            let mut de = ds;
            while de < b.len() && b[de].is_ascii_digit() {
                de += 1;
            }
            port = scan::parse_u32(&b[ds..de]).filter(|&v| v <= 65535 && de - ds <= 5).map(|v| v as u16);
            if port.is_none() {
                return Err("invalid port");
            }
            p = de;
        }
    }
    let sent_by_end = p;
    p = skip_lws(b, p);
    let mut params = Span::NONE;
    let mut end = sent_by_end;
    if b.get(p) == Some(&b';') {
        let (raw_end, stop) = params::scan_header_params(b, p + 1, true, check_via_param)?;
        params = Span::new(p + 1 - proto_start, raw_end - proto_start);
        end = raw_end;
        p = stop;
    }
    if p < b.len() && b[p] != b',' {
        return Err("unexpected text after sent-by");
    }
    let rel = |a: usize, z: usize| Span::new(a - proto_start, z - proto_start);
    let via = Via {
        text: Cow::Borrowed(&s[proto_start..end]),
        parts: Parts {
            protocol: rel(proto_start, proto_end),
            version: rel(version_start, version_end),
            transport: rel(transport_start, transport_end),
            host: rel(host_start, host_end),
            port,
            params,
        },
    };
    Ok((via, p))
}

/// Decodes exactly one via-parm.
pub(crate) fn parse_via(s: &str) -> Result<Via<'_>, &'static str> {
    match parse_via_at(s, 0)? {
        (via, end) if end == s.len() => Ok(via),
        _ => Err("unexpected text after sent-by"),
    }
}

/// Decodes every via-parm of a Via header value, in order.
pub(crate) fn parse_via_list<'a>(s: &'a str, mut each: impl FnMut(Via<'a>)) -> Result<(), &'static str> {
    let b = s.as_bytes();
    let mut p = 0;
    loop {
        let q = skip_lws(b, p);
        if q == b.len() || b[q] == b',' {
            return Err("empty element in the list");
        }
        let (via, end) = parse_via_at(s, q)?;
        each(via);
        if end >= b.len() {
            return Ok(());
        }
        p = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via(s: &str) -> Via<'_> {
        Via::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parts() {
        let v = via("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport");
        assert_eq!((v.protocol(), v.version()), ("SIP", "2.0"));
        assert_eq!(v.transport(), Transport::Udp);
        assert_eq!((v.host(), v.port()), ("192.0.2.10", Some(5060)));
        assert_eq!(v.branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(v.rfc3261_branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.sent_by(), "192.0.2.10:5060");
        assert_eq!(v.to_string(), "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport");
        let r = via("SIP/2.0/TCP host.example.com;received=192.0.2.5;rport=7000;ttl=16;maddr=224.2.0.1");
        assert_eq!(r.received(), Some("192.0.2.5"));
        assert_eq!(r.rport(), Some(Some(7000)));
        assert_eq!(r.ttl(), Some(16));
        assert_eq!(r.maddr(), Some("224.2.0.1"));
        assert_eq!(r.rfc3261_branch(), None);
        let six = via("SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bKx;received=2001:db8::1");
        assert_eq!(six.ip(), Some("2001:db8::9".parse().unwrap()));
        assert!(six.transport().is_secure());
        assert_eq!(via("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK").rfc3261_branch(), None);
    }

    #[test]
    fn torture_spacing() {
        let v = via("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw");
        assert_eq!(v.transport(), Transport::Udp);
        assert_eq!(v.host(), "192.0.2.2");
        assert_eq!(v.branch(), Some("390skdjuw"));
        let v = via("SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8");
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(v.to_string(), "SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8");
        let v = via("SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en");
        assert_eq!(v.transport(), Transport::Other("UNKNOWN".into()));
        let v = via("SIP/2.0/UDP host : 5060");
        assert_eq!(v.port(), Some(5060));
        let mut hosts = Vec::new();
        parse_via_list("SIP/2.0/UDP a;branch=z9hG4bK1 , SIP/2.0/TCP [::1]:5060;rport,SIP/2.0/TLS c", |v| {
            hosts.push(v.host().to_owned())
        })
        .unwrap();
        assert_eq!(hosts, vec!["a", "[::1]", "c"]);
        assert!(parse_via_list("SIP/2.0/UDP a,", |_| {}).is_err());
        assert!(parse_via_list("SIP/2.0/UDP a,,SIP/2.0/UDP b", |_| {}).is_err());
        assert!(parse_via_list("", |_| {}).is_err());
        let v = via("SIP/2.0/TCP host.example.com;branch=z9hG4bK-.!%66*_+`'~");
        assert_eq!(v.branch(), Some("z9hG4bK-.!%66*_+`'~"));
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP ",
            "SIP/2.0/UDP192.0.2.1",
            "SIP/2.0 192.0.2.1",
            "SIP/2.0/UDP 192.0.2.15;;,;,,",
            "SIP/2.0/UDP 192.0.2.15;branch",
            "SIP/2.0/UDP 192.0.2.15;rport=x",
            "SIP/2.0/UDP 192.0.2.15;ttl=300",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP host junk",
            "SIP/2.0/UDP [::1",
            "SIP/2.0/UDP a, SIP/2.0/UDP b",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn builder() {
        let v = Via::new(Transport::Tcp, "client.example.com", Some(5060)).with_branch("z9hG4bKabc").with_rport();
        let mut w = v.clone();
        w.set_param("received", Some("192.0.2.7"));
        w.set_param("rport", Some("5070"));
        assert_eq!(
            w.to_string(),
            "SIP/2.0/TCP client.example.com:5060;branch=z9hG4bKabc;received=192.0.2.7;rport=5070"
        );
        assert_eq!(w.rport(), Some(Some(5070)));
        w.remove_param("received");
        assert!(!w.has_param("received"));
        assert_eq!(v.to_string(), "SIP/2.0/TCP client.example.com:5060;branch=z9hG4bKabc;rport");
        let text = v.to_string();
        assert_eq!(Via::parse(&text).unwrap(), v);
        assert_eq!(Transport::from_token("tls-sctp"), Transport::TlsSctp);
        assert!(!Transport::Udp.is_reliable());
    }
}
