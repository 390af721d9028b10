//! `Route` (`sipsimple.util.Route`): one next hop towards a SIP proxy.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::value::Value;

use super::LookupError;

/// A SIP transport, as used in routes and in `supported_transports`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// SIP over UDP (`udp`).
    Udp,
    /// SIP over TCP (`tcp`).
    Tcp,
    /// SIP over TLS (`tls`).
    Tls,
}

impl Transport {
    /// The lower-case name: `udp`, `tcp` or `tls`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// The port used when neither the URI nor DNS gives one: 5061 for TLS,
    /// 5060 otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            Transport::Udp | Transport::Tcp => 5060,
        }
    }

    /// The SRV service prefix (RFC 3263 §4.2): `_sip._udp`, `_sip._tcp` or
    /// `_sips._tcp`.
    pub fn srv_prefix(self) -> &'static str {
        match self {
            Transport::Udp => "_sip._udp",
            Transport::Tcp => "_sip._tcp",
            Transport::Tls => "_sips._tcp",
        }
    }

    /// The NAPTR service field that selects this transport (RFC 3263 §4.1):
    /// `SIP+D2U`, `SIP+D2T` or `SIPS+D2T`.
    pub fn naptr_service(self) -> &'static str {
        match self {
            Transport::Udp => "SIP+D2U",
            Transport::Tcp => "SIP+D2T",
            Transport::Tls => "SIPS+D2T",
        }
    }

    /// The transport a NAPTR service field selects, if it is one of ours
    /// (case-insensitive).
    pub fn from_naptr_service(service: &str) -> Option<Transport> {
        [Transport::Udp, Transport::Tcp, Transport::Tls]
            .into_iter()
            .find(|t| t.naptr_service().eq_ignore_ascii_case(service))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = LookupError;

    /// Parses `udp`, `tcp` or `tls`, case-insensitive.
    fn from_str(s: &str) -> Result<Transport, LookupError> {
        match s.to_ascii_lowercase().as_str() {
            "udp" => Ok(Transport::Udp),
            "tcp" => Ok(Transport::Tcp),
            "tls" => Ok(Transport::Tls),
            _ => Err(LookupError::UnknownTransports(s.to_owned())),
        }
    }
}

/// `Route`: a next hop to a SIP proxy, as returned by
/// `DNSLookup.lookup_sip_proxy` (address, port, transport and the name to
/// check the server certificate against).
///
/// Plain data: any thread may create, read and compare routes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// The IP address (IPv4 dotted quad or IPv6 text, without brackets).
    pub address: String,
    /// The port; `None` means the transport's default port.
    pub port: Option<u16>,
    /// The transport.
    pub transport: Transport,
    /// The domain the TLS server certificate must match (`tls_name`); `None`
    /// when the route came from an IP address.
    pub tls_name: Option<String>,
}

impl Route {
    /// `Route(address, port=None, transport='udp', tls_name=None)`.
    pub fn new(address: impl Into<String>, port: Option<u16>, transport: Transport, tls_name: Option<String>) -> Route {
        Route { address: address.into(), port, transport, tls_name }
    }

    /// The port to connect to: the route's port, or the transport's default.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.transport.default_port())
    }

    /// `get_uri()`: the route as a SIP URI,
    /// `sip:<address>[:<port>];transport=<transport>` (IPv6 addresses in
    /// brackets). Like the original, the scheme is `sip` for every
    /// transport and the transport parameter says `tls`.
    pub fn get_uri(&self) -> String {
        let host = match self.address.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => self.address.clone(),
        };
        match self.port {
            Some(port) => format!("sip:{host}:{port};transport={}", self.transport),
            None => format!("sip:{host};transport={}", self.transport),
        }
    }

    /// The route as notification data: a map with `address`, `port`,
    /// `transport`, `tls_name` (and `uri`, the text of [`Route::get_uri`]).
    pub fn to_value(&self) -> Value {
        let mut m = std::collections::BTreeMap::new();
        m.insert("address".to_owned(), Value::from(self.address.as_str()));
        m.insert("port".to_owned(), Value::from(self.port));
        m.insert("transport".to_owned(), Value::from(self.transport.as_str()));
        m.insert("tls_name".to_owned(), Value::from(self.tls_name.clone()));
        m.insert("uri".to_owned(), Value::from(self.get_uri()));
        Value::Map(m)
    }
}

impl fmt::Display for Route {
    /// `<Route to "address:port" over "transport">`, as the original's repr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Route to \"{}:{}\" over \"{}\">", self.address, self.effective_port(), self.transport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_form_and_equality() {
        let r = Route::new("1.2.3.4", Some(1234), Transport::Tls, None);
        assert_eq!(r.get_uri(), "sip:1.2.3.4:1234;transport=tls");
        assert_eq!(Route::new("::1", Some(5060), Transport::Udp, None).get_uri(), "sip:[::1]:5060;transport=udp");
        assert_eq!(Route::new("10.0.0.1", None, Transport::Tcp, None).get_uri(), "sip:10.0.0.1;transport=tcp");
        assert_eq!(r, Route::new("1.2.3.4", Some(1234), Transport::Tls, None));
        assert_ne!(r, Route::new("1.2.3.4", Some(1234), Transport::Tls, Some("example.com".into())));
        assert_eq!(r.to_string(), "<Route to \"1.2.3.4:1234\" over \"tls\">");
        assert_eq!(Route::new("1.2.3.4", None, Transport::Tls, None).effective_port(), 5061);
    }

    #[test]
    fn transports_parse_case_insensitively() {
        assert_eq!("TLS".parse::<Transport>().ok(), Some(Transport::Tls));
        assert!("sctp".parse::<Transport>().is_err());
        assert_eq!(Transport::from_naptr_service("sips+d2t"), Some(Transport::Tls));
        assert_eq!(Transport::from_naptr_service("SIP+D2S"), None);
    }
}
