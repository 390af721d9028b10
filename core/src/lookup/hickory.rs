//! [`Resolver`] over hickory-resolver: one query per call, absolute names,
//! no hosts file, the per-nameserver timeout given at construction.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{TokioResolver, lookup::Lookup};

use super::records::{NaptrRecord, SrvRecord, TxtRecord, normalize_name};
use super::resolver::{QueryError, QueryFuture, Resolver};

/// The standard DNS port.
pub const DNS_PORT: u16 = 53;

/// What a resolver is built from: nameserver addresses (with their ports)
/// plus the system's domain and search list (kept for reference; lookups
/// always use absolute names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolverSetup {
    /// The nameservers, in order.
    pub nameservers: Vec<SocketAddr>,
    /// The local domain, from the system configuration.
    pub domain: Option<String>,
    /// The search list, from the system configuration.
    pub search: Vec<String>,
}

impl ResolverSetup {
    /// Reads the system configuration (`/etc/resolv.conf` on Unix, the
    /// registry on Windows, System Configuration on Apple platforms).
    pub fn from_system() -> Result<ResolverSetup, String> {
        let (config, _options) = hickory_resolver::system_conf::read_system_conf().map_err(|e| e.to_string())?;
        let mut nameservers = Vec::new();
        for ns in config.name_servers() {
            let port = ns.connections.first().map(|c| c.port).unwrap_or(DNS_PORT);
            let addr = SocketAddr::new(ns.ip, port);
            if !nameservers.contains(&addr) {
                nameservers.push(addr);
            }
        }
        Ok(ResolverSetup {
            nameservers,
            domain: config.domain().map(|d| normalize_name(&d.to_utf8())),
            search: config.search().iter().map(|d| normalize_name(&d.to_utf8())).collect(),
        })
    }

    /// The nameservers as text: `1.2.3.4`, or `1.2.3.4:5353` / `[::1]:5353`
    /// when the port is not 53 (`DNSResolverDidInitialize.nameservers`).
    pub fn nameserver_names(&self) -> Vec<String> {
        self.nameservers.iter().map(|a| nameserver_name(*a)).collect()
    }
}

/// `1.2.3.4`, `::1`, or `1.2.3.4:5353` / `[::1]:5353` off port 53.
pub fn nameserver_name(addr: SocketAddr) -> String {
    if addr.port() == DNS_PORT { addr.ip().to_string() } else { addr.to_string() }
}

/// Parses a nameserver: `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]` or
/// `[::1]:5353`.
pub fn parse_nameserver(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, DNS_PORT));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(|ip| SocketAddr::new(IpAddr::V6(ip), DNS_PORT));
    }
    text.parse::<SocketAddr>().ok()
}

/// A [`Resolver`] over a hickory [`TokioResolver`]. Build it and use it on a
/// tokio runtime with I/O and time enabled.
pub struct HickoryResolver {
    resolver: TokioResolver,
    nameservers: Vec<String>,
}

impl HickoryResolver {
    /// A resolver for `setup`, waiting `timeout` for each nameserver (two
    /// attempts), with its own cache (TTLs honoured).
    pub fn new(setup: &ResolverSetup, timeout: Duration) -> Result<HickoryResolver, String> {
        let servers: Vec<NameServerConfig> = setup
            .nameservers
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
            })
            .collect();
        let config = ResolverConfig::from_name_servers(servers);
        let mut options = ResolverOpts::default();
        options.timeout = timeout;
        options.use_hosts_file = ResolveHosts::Never;
        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HickoryResolver { resolver, nameservers: setup.nameserver_names() })
    }

    async fn lookup(&self, name: &str, record_type: RecordType) -> Result<Lookup, QueryError> {
        let mut fqdn = Name::from_utf8(name).map_err(|e| QueryError::Failed(format!("bad name {name:?}: {e}")))?;
        fqdn.set_fqdn(true);
        self.resolver.lookup(fqdn, record_type).await.map_err(query_error)
    }

    fn records<'a, T: Send + 'a>(
        &'a self,
        name: &'a str,
        record_type: RecordType,
        convert: fn(&RData) -> Option<T>,
    ) -> QueryFuture<'a, T> {
        Box::pin(async move {
            let lookup = self.lookup(name, record_type).await?;
            let records: Vec<T> = lookup.answers().iter().filter_map(|r| convert(&r.data)).collect();
            if records.is_empty() { Err(QueryError::NoRecords) } else { Ok(records) }
        })
    }
}

fn query_error(e: NetError) -> QueryError {
    if e.is_no_records_found() || e.is_nx_domain() {
        QueryError::NoRecords
    } else if matches!(e, NetError::Timeout) {
        QueryError::Timeout
    } else {
        QueryError::Failed(e.to_string())
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Resolver for HickoryResolver {
    fn naptr<'a>(&'a self, name: &'a str) -> QueryFuture<'a, NaptrRecord> {
        self.records(name, RecordType::NAPTR, |data| match data {
            RData::NAPTR(n) => Some(NaptrRecord {
                order: n.order,
                preference: n.preference,
                flags: text(&n.flags),
                services: text(&n.services),
                regexp: text(&n.regexp),
                replacement: normalize_name(&n.replacement.to_utf8()),
            }),
            _ => None,
        })
    }
    fn srv<'a>(&'a self, name: &'a str) -> QueryFuture<'a, SrvRecord> {
        self.records(name, RecordType::SRV, |data| match data {
            RData::SRV(s) => Some(SrvRecord {
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                target: normalize_name(&s.target.to_utf8()),
            }),
            _ => None,
        })
    }
    fn a<'a>(&'a self, name: &'a str) -> QueryFuture<'a, Ipv4Addr> {
        self.records(name, RecordType::A, |data| match data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
    }
    fn aaaa<'a>(&'a self, name: &'a str) -> QueryFuture<'a, Ipv6Addr> {
        self.records(name, RecordType::AAAA, |data| match data {
            RData::AAAA(a) => Some(a.0),
            _ => None,
        })
    }
    fn txt<'a>(&'a self, name: &'a str) -> QueryFuture<'a, TxtRecord> {
        self.records(name, RecordType::TXT, |data| match data {
            RData::TXT(t) => Some(TxtRecord(t.txt_data.iter().map(|s| text(s)).collect())),
            _ => None,
        })
    }
    fn nameservers(&self) -> Vec<String> {
        self.nameservers.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameserver_text_round_trips() {
        for (text, shown) in [
            ("127.0.0.1", "127.0.0.1"),
            ("127.0.0.1:5353", "127.0.0.1:5353"),
            ("::1", "::1"),
            ("[::1]", "::1"),
            ("[::1]:5353", "[::1]:5353"),
            (" 10.0.0.1:53 ", "10.0.0.1"),
        ] {
            let addr = parse_nameserver(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(nameserver_name(addr), shown);
        }
        for bad in ["", "host", "1.2.3.4:", "1.2.3.4:x", "[::1", "::1]:53"] {
            assert!(parse_nameserver(bad).is_none(), "{bad}");
        }
    }
}
