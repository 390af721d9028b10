//! The parts of a SIP URI that DNS lookups use (`uri.host`, `uri.port`,
//! `uri.parameters['transport']`, `uri.secure`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::LookupError;

/// A lookup target: what `lookup_sip_proxy`, `lookup_service` and
/// `lookup_xcap_server` read from the URI they are given.
///
/// Parsed from URI text (`sip:alice@example.com:5060;transport=tcp`,
/// `sips:example.com`, `<sip:[::1]>`, or a bare `example.com`, taken as a
/// `sip` URI) or built field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupUri {
    /// The host: a domain name, or an IP address (IPv6 without brackets).
    pub host: String,
    /// The port, if the URI gives one.
    pub port: Option<u16>,
    /// The `transport` URI parameter, lower-cased, if present.
    pub transport: Option<String>,
    /// True for a `sips` URI.
    pub secure: bool,
}

impl LookupUri {
    /// A `sip` URI with only a host.
    pub fn host(host: impl Into<String>) -> LookupUri {
        LookupUri { host: host.into(), port: None, transport: None, secure: false }
    }

    /// The host as an IP address, when it is an IPv4 or IPv6 literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// Parses URI text. Errors name what is wrong; nothing here panics on
    /// any input.
    pub fn parse(text: &str) -> Result<LookupUri, LookupError> {
        let invalid = |why: &str| LookupError::InvalidUri(format!("{why}: {:?}", without_userinfo(text)));
        let mut s = text.trim();
        // `Display Name <sip:...>` or `<sip:...>`.
        if let Some(start) = s.find('<') {
            let rest = &s[start + 1..];
            let end = rest.find('>').ok_or_else(|| invalid("unterminated '<'"))?;
            s = rest[..end].trim();
        }
        let (secure, rest) = match s.split_once(':') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("sip") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("sips") => (true, rest),
            _ => (false, s),
        };
        // Headers (`?...`) are not used; parameters start at the first ';'
        // after the host part.
        let rest = rest.split('?').next().unwrap_or_default();
        // The user part (which may hold ';') ends at the last '@': URI
        // parameters cannot contain an unescaped '@'.
        let hostport_and_params = match rest.rfind('@') {
            Some(at) => &rest[at + 1..],
            None => rest,
        };
        let mut parts = hostport_and_params.split(';');
        let hostport = parts.next().unwrap_or_default().trim();
        let mut transport = None;
        for param in parts {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            if name.trim().eq_ignore_ascii_case("transport") {
                let value = value.trim().to_ascii_lowercase();
                if value.is_empty() {
                    return Err(invalid("empty transport parameter"));
                }
                transport = Some(value);
            }
        }
        let (host, port) = split_hostport(hostport).ok_or_else(|| invalid("bad host or port"))?;
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let valid_name = host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if host.parse::<IpAddr>().is_err() && !valid_name {
            return Err(invalid("bad host"));
        }
        Ok(LookupUri { host: host.trim_end_matches('.').to_owned(), port, transport, secure })
    }
}

/// URI text without its user part (`sip:alice:pw@host` → `sip:host`), for
/// traces and error messages: a password must never reach them.
pub fn without_userinfo(text: &str) -> String {
    let Some(at) = text.rfind('@') else {
        return text.to_owned();
    };
    let lower = text[..at].to_ascii_lowercase();
    let start = lower.rfind("sips:").map(|i| i + 5).or_else(|| lower.rfind("sip:").map(|i| i + 4)).unwrap_or(0);
    format!("{}{}", &text[..start], &text[at + 1..])
}

fn split_hostport(hostport: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        return match after {
            "" => Some((v6, None)),
            _ => Some((v6, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    // A bare IPv6 literal (several colons) has no port.
    if hostport.matches(':').count() > 1 {
        hostport.parse::<std::net::Ipv6Addr>().ok()?;
        return Some((hostport, None));
    }
    match hostport.split_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((hostport, None)),
    }
}

impl FromStr for LookupUri {
    type Err = LookupError;
    fn from_str(s: &str) -> Result<LookupUri, LookupError> {
        LookupUri::parse(s)
    }
}

impl fmt::Display for LookupUri {
    /// `sip[s]:host[:port][;transport=t]` (IPv6 hosts in brackets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if let Some(t) = &self.transport {
            write!(f, ";transport={t}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> LookupUri {
        LookupUri::parse(s).unwrap()
    }

    #[test]
    fn parses_the_parts_lookups_use() {
        assert_eq!(p("sip:example.com"), LookupUri::host("example.com"));
        assert_eq!(p("example.com"), LookupUri::host("example.com"));
        let u = p("SIPS:alice@Example.com:5071;lr;Transport=TCP?subject=x");
        assert_eq!(
            (u.host.as_str(), u.port, u.transport.as_deref(), u.secure),
            ("Example.com", Some(5071), Some("tcp"), true)
        );
        let u = p("\"Bob\" <sip:bob@[2001:db8::1]:5062;transport=udp>");
        assert_eq!((u.host.as_str(), u.port, u.ip().is_some()), ("2001:db8::1", Some(5062), true));
        assert_eq!(p("sip:[::1]").host, "::1");
        assert_eq!(p("sip:::1").host, "::1");
        assert_eq!(p("sip:u;p=a@b@10.0.0.1").host, "10.0.0.1");
        assert_eq!(p("sip:example.com.").host, "example.com");
        assert_eq!(p("sip:[::1]:5060;transport=tls").to_string(), "sip:[::1]:5060;transport=tls");
    }

    #[test]
    fn user_parts_never_reach_messages() {
        assert_eq!(without_userinfo("sip:alice:s3cret@example.com;transport=tcp"), "sip:example.com;transport=tcp");
        assert_eq!(without_userinfo("\"A\" <SIPS:a:pw@[::1]>"), "\"A\" <SIPS:[::1]>");
        assert_eq!(without_userinfo("alice:pw@example.com"), "example.com");
        assert_eq!(without_userinfo("sip:example.com"), "sip:example.com");
        let err = LookupUri::parse("sip:alice:s3cret@bad host").unwrap_err().to_string();
        assert!(!err.contains("s3cret") && err.contains("bad host"), "{err}");
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            "sip:",
            "sip:host:port",
            "sip:[::1",
            "sip:[nothex]:5",
            "sip:a b",
            "<sip:x",
            "sip:h:99999",
            "sip:h;transport=",
        ] {
            assert!(LookupUri::parse(bad).is_err(), "{bad:?}");
        }
    }
}
