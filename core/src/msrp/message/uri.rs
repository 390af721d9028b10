//! MSRP URIs (RFC 4975 §6): `msrp://host:port/session-id;tcp` and
//! `msrps://...`, their text form and their comparison (§6.1).

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The scheme of an MSRP URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `msrp`: MSRP over plain TCP.
    Msrp,
    /// `msrps`: MSRP over TLS.
    Msrps,
}

impl Scheme {
    /// The scheme as written in a URI (`msrp` or `msrps`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Msrp => "msrp",
            Scheme::Msrps => "msrps",
        }
    }
}

/// Why a string is not an MSRP URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The URI does not start with `msrp://` or `msrps://`.
    #[error("the scheme is not msrp:// or msrps://")]
    Scheme,
    /// The host is missing or contains characters a host cannot have.
    #[error("missing or invalid host")]
    Host,
    /// The port is not a number from 0 to 65535.
    #[error("invalid port")]
    Port,
    /// The session-id is empty or has characters outside RFC 4975's set.
    #[error("invalid session-id")]
    SessionId,
    /// The `;transport` part is missing or is not alphanumeric.
    #[error("missing or invalid transport")]
    Transport,
    /// The user part or a URI parameter has a space, control or reserved
    /// character.
    #[error("invalid character in the user part or a parameter")]
    Character,
}

/// An MSRP URI: `scheme://[userinfo@]host[:port][/session-id];transport[;param]*`.
///
/// `PartialEq` compares the parts exactly as stored; use
/// [`MsrpUri::is_equivalent`] for the RFC 4975 §6.1 comparison that session
/// matching needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MsrpUri {
    /// `msrp` or `msrps`.
    pub scheme: Scheme,
    /// The user part before `@`, if any (relays use it in AUTH, RFC 4976).
    pub userinfo: Option<String>,
    /// The host as written: a name, an IPv4 address, or an IPv6 address in
    /// brackets (`[2001:db8::1]`).
    pub host: String,
    /// The port, if written.
    pub port: Option<u16>,
    /// The session-id after `/`, if any.
    pub session_id: Option<String>,
    /// The transport (`tcp`).
    pub transport: String,
    /// URI parameters after the transport, as written (`name=value` or `name`).
    pub params: Vec<String>,
}

impl MsrpUri {
    /// A URI `scheme://host:port/session_id;tcp`.
    pub fn new(scheme: Scheme, host: &str, port: u16, session_id: &str) -> MsrpUri {
        MsrpUri {
            scheme,
            userinfo: None,
            host: host.to_owned(),
            port: Some(port),
            session_id: Some(session_id.to_owned()),
            transport: "tcp".to_owned(),
            params: Vec::new(),
        }
    }

    /// Parses an MSRP URI. The scheme and the transport are matched without
    /// regard to case; the transport may be any alphanumeric token.
    pub fn parse(text: &str) -> Result<MsrpUri, UriError> {
        let (scheme, rest) = text.split_once("://").ok_or(UriError::Scheme)?;
        let scheme = if scheme.eq_ignore_ascii_case("msrp") {
            Scheme::Msrp
        } else if scheme.eq_ignore_ascii_case("msrps") {
            Scheme::Msrps
        } else {
            return Err(UriError::Scheme);
        };
        let authority_end = rest.find(['/', ';']).ok_or(UriError::Transport)?;
        let (authority, rest) = rest.split_at(authority_end);
        let (session_id, rest) = match rest.strip_prefix('/') {
            Some(after) => {
                let end = after.find(';').ok_or(UriError::Transport)?;
                let id = &after[..end];
                if id.is_empty() || !id.bytes().all(is_session_id_char) {
                    return Err(UriError::SessionId);
                }
                (Some(id.to_owned()), &after[end..])
            }
            None => (None, rest),
        };
        let mut parts = rest.strip_prefix(';').ok_or(UriError::Transport)?.split(';');
        let transport = parts.next().unwrap_or_default();
        if transport.is_empty() || !transport.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(UriError::Transport);
        }
        let mut params = Vec::new();
        for param in parts {
            if param.is_empty() || !param.bytes().all(is_param_char) {
                return Err(UriError::Character);
            }
            params.push(param.to_owned());
        }
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => {
                let user = &authority[..at];
                if user.is_empty() || !user.bytes().all(is_userinfo_char) {
                    return Err(UriError::Character);
                }
                (Some(user.to_owned()), &authority[at + 1..])
            }
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)?;
        Ok(MsrpUri {
            scheme,
            userinfo,
            host: host.to_owned(),
            port,
            session_id,
            transport: transport.to_owned(),
            params,
        })
    }

    /// Whether two URIs name the same MSRP resource (RFC 4975 §6.1): same
    /// scheme; hosts equal as IP addresses when both are addresses, else
    /// equal ignoring case after decoding percent-encoded unreserved
    /// characters; the same port, or no port on both; the same session-id
    /// (case-sensitive), or none on both; the same transport ignoring case.
    /// The user part and URI parameters are not compared.
    pub fn is_equivalent(&self, other: &MsrpUri) -> bool {
        self.scheme == other.scheme
            && self.port == other.port
            && self.session_id == other.session_id
            && self.transport.eq_ignore_ascii_case(&other.transport)
            && hosts_equivalent(&self.host, &other.host)
    }
}

impl fmt::Display for MsrpUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme.as_str())?;
        f.write_str("://")?;
        if let Some(user) = &self.userinfo {
            write!(f, "{user}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(id) = &self.session_id {
            write!(f, "/{id}")?;
        }
        write!(f, ";{}", self.transport)?;
        for param in &self.params {
            write!(f, ";{param}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for MsrpUri {
    type Err = UriError;

    fn from_str(text: &str) -> Result<MsrpUri, UriError> {
        MsrpUri::parse(text)
    }
}

/// Parses a path header value: URIs separated by spaces, at least one.
pub(crate) fn parse_path(value: &str) -> Result<Vec<MsrpUri>, UriError> {
    let uris = value.split(' ').filter(|part| !part.is_empty()).map(MsrpUri::parse).collect::<Result<Vec<_>, _>>()?;
    if uris.is_empty() {
        return Err(UriError::Scheme);
    }
    Ok(uris)
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>), UriError> {
    let (host, port) = if hostport.starts_with('[') {
        let close = hostport.find(']').ok_or(UriError::Host)?;
        let inner = &hostport[1..close];
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err(UriError::Host);
        }
        let after = &hostport[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err(UriError::Host),
        };
        (&hostport[..=close], port)
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if !host.starts_with('[') && (host.is_empty() || !host.bytes().all(is_reg_name_char)) {
        return Err(UriError::Host);
    }
    let port = match port {
        Some(port) if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some(port.parse::<u16>().map_err(|_| UriError::Port)?)
        }
        Some(_) => return Err(UriError::Port),
        None => None,
    };
    Ok((host, port))
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_session_id_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'+' | b'=' | b'/' | b'%')
}

fn is_reg_name_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'%' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'=')
}

fn is_userinfo_char(b: u8) -> bool {
    is_reg_name_char(b) || b == b':'
}

fn is_param_char(b: u8) -> bool {
    b.is_ascii_graphic() && b != b';'
}

fn host_ip(host: &str) -> Option<IpAddr> {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) => inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        None => host.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

fn hosts_equivalent(a: &str, b: &str) -> bool {
    match (host_ip(a), host_ip(b)) {
        (Some(a), Some(b)) => a == b,
        (None, None) => decode_unreserved(a).eq_ignore_ascii_case(&decode_unreserved(b)),
        _ => false,
    }
}

/// Decodes `%XX` sequences that stand for unreserved characters (RFC 3986
/// §6.2.2.2); other escapes are kept.
fn decode_unreserved(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(value) = u8::from_str_radix(hex, 16)
            && is_unreserved(value)
        {
            out.push(char::from(value));
            i += 3;
            continue;
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_uri() {
        let uri = MsrpUri::parse("msrps://alice@[2001:db8::1]:2855/9di4eae923wzd;tcp;ext=1").unwrap();
        assert_eq!(uri.scheme, Scheme::Msrps);
        assert_eq!(uri.userinfo.as_deref(), Some("alice"));
        assert_eq!(uri.host, "[2001:db8::1]");
        assert_eq!(uri.port, Some(2855));
        assert_eq!(uri.session_id.as_deref(), Some("9di4eae923wzd"));
        assert_eq!(uri.transport, "tcp");
        assert_eq!(uri.params, vec!["ext=1".to_owned()]);
        assert_eq!(uri.to_string(), "msrps://alice@[2001:db8::1]:2855/9di4eae923wzd;tcp;ext=1");
    }

    #[test]
    fn parses_relay_uri_without_port_or_session() {
        let uri = MsrpUri::parse("msrps://alice@intra.example.com;tcp").unwrap();
        assert_eq!(uri.host, "intra.example.com");
        assert_eq!(uri.port, None);
        assert_eq!(uri.session_id, None);
        assert_eq!(uri.to_string(), "msrps://alice@intra.example.com;tcp");
    }

    #[test]
    fn rejects_malformed_uris() {
        for (text, error) in [
            ("sip://a.example.com:1/s;tcp", UriError::Scheme),
            ("msrp:/a.example.com:1/s;tcp", UriError::Scheme),
            ("msrp://a.example.com:1/s", UriError::Transport),
            ("msrp://a.example.com:1/s;", UriError::Transport),
            ("msrp://:1/s;tcp", UriError::Host),
            ("msrp://a b:1/s;tcp", UriError::Host),
            ("msrp://a:99999/s;tcp", UriError::Port),
            ("msrp://a:/s;tcp", UriError::Port),
            ("msrp://a:1x/s;tcp", UriError::Port),
            ("msrp://[zz::1]:1/s;tcp", UriError::Host),
            ("msrp://a:1/;tcp", UriError::SessionId),
            ("msrp://a:1/s s;tcp", UriError::SessionId),
            ("msrp://a:1/s;tcp;", UriError::Character),
        ] {
            assert_eq!(MsrpUri::parse(text), Err(error), "{text}");
        }
    }

    #[test]
    fn equivalence_follows_rfc4975_section_6_1() {
        let eq = |a: &str, b: &str| MsrpUri::parse(a).unwrap().is_equivalent(&MsrpUri::parse(b).unwrap());
        assert!(eq("msrp://Bob.Example.COM:8888/abc;TCP", "MSRP://bob.example.com:8888/abc;tcp"));
        assert!(eq("msrp://user@h.example.com:1/abc;tcp", "msrp://h.example.com:1/abc;tcp"));
        assert!(eq("msrp://h.example.com:1/abc;tcp;x=1", "msrp://h.example.com:1/abc;tcp"));
        assert!(eq("msrp://h%2Eexample.com:1/abc;tcp", "msrp://h.example.com:1/abc;tcp"));
        assert!(eq("msrp://[2001:db8:0::1]:1/a;tcp", "msrp://[2001:DB8::1]:1/a;tcp"));
        assert!(!eq("msrp://h:1/abc;tcp", "msrps://h:1/abc;tcp"));
        assert!(!eq("msrp://h:1/abc;tcp", "msrp://h/abc;tcp"));
        assert!(!eq("msrp://h:1/abc;tcp", "msrp://h:2/abc;tcp"));
        assert!(!eq("msrp://h:1/abc;tcp", "msrp://h:1/ABC;tcp"));
        assert!(!eq("msrp://h:1/abc;tcp", "msrp://h:1;tcp"));
        assert!(!eq("msrp://h:1/abc;tcp", "msrp://h:1/abc;sctp"));
        assert!(!eq("msrp://127.0.0.1:1/a;tcp", "msrp://localhost:1/a;tcp"));
    }

    #[test]
    fn path_lists() {
        let path = parse_path("msrp://r.example.com:1/x;tcp  msrp://b.example.com:2/y;tcp").unwrap();
        assert_eq!(path.len(), 2);
        assert!(parse_path("").is_err());
        assert!(parse_path("msrp://a:1/x;tcp junk").is_err());
    }
}
