//! The lookup procedures, over any [`Resolver`]: RFC 3263 for SIP proxies,
//! SRV-then-A for services, TXT for XCAP roots. Plain async functions with
//! no notification or runtime of their own; [`super::DNSLookup`] runs them
//! on the core runtime and posts the results.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::LookupError;
use super::records::{NaptrRecord, SrvRecord, TxtRecord, order_srv, select_naptr, xcap_urls};
use super::resolver::{QueryError, QueryFuture, QueryResult, Resolver};
use super::route::{Route, Transport};
use super::target::LookupUri;

/// One query as it happened (the data of `DNSLookupTrace`, less the
/// lookup's own context).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryTrace {
    /// `NAPTR`, `SRV`, `A`, `AAAA` or `TXT`.
    pub query_type: &'static str,
    /// The name queried.
    pub query_name: String,
    /// The nameservers the resolver used.
    pub nameservers: Vec<String>,
    /// The records, in zone-file form; `None` when the query failed.
    pub answer: Option<Vec<String>>,
    /// Why the query failed; `None` on success.
    pub error: Option<String>,
}

/// A service `lookup_service` knows: its SRV prefix and default port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// The name given to `lookup_service` (`stun`, `msrprelay`).
    pub name: &'static str,
    /// The SRV prefix (`_stun._udp`, `_msrps._tcp`).
    pub srv_prefix: &'static str,
    /// The port used with A/AAAA results when there is no SRV record.
    pub default_port: u16,
}

/// The services `lookup_service` accepts.
pub const SERVICES: &[Service] = &[
    Service { name: "stun", srv_prefix: "_stun._udp", default_port: 3478 },
    Service { name: "msrprelay", srv_prefix: "_msrps._tcp", default_port: 2855 },
];

/// Parses `supported_transports` (`udp`, `tcp`, `tls`, any case) keeping
/// the caller's order of preference and dropping repeats. Errors: an empty
/// list, or unknown names (all of them are listed).
pub fn parse_transports<S: AsRef<str>>(supported: &[S]) -> Result<Vec<Transport>, LookupError> {
    if supported.is_empty() {
        return Err(LookupError::NoTransports);
    }
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for s in supported {
        match s.as_ref().parse::<Transport>() {
            Ok(t) if !out.contains(&t) => out.push(t),
            Ok(_) => {}
            Err(_) => unknown.push(s.as_ref().to_owned()),
        }
    }
    if !unknown.is_empty() {
        return Err(LookupError::UnknownTransports(unknown.join(", ")));
    }
    Ok(out)
}

/// The state of one lookup: the resolver, the deadline (`lifetime`), the
/// random source for SRV weights and an optional per-query trace callback.
pub struct LookupContext<'a> {
    resolver: &'a dyn Resolver,
    deadline: Option<Instant>,
    rng: StdRng,
    trace: Option<&'a (dyn Fn(QueryTrace) + Send + Sync)>,
}

impl fmt::Debug for LookupContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookupContext").field("deadline", &self.deadline).finish_non_exhaustive()
    }
}

impl<'a> LookupContext<'a> {
    /// A context with no deadline and an RNG seeded from the OS.
    pub fn new(resolver: &'a dyn Resolver) -> LookupContext<'a> {
        LookupContext { resolver, deadline: None, rng: StdRng::from_rng(&mut rand::rng()), trace: None }
    }

    /// Every query must end within `lifetime` from now; once it has passed,
    /// queries fail at once with a timeout.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.deadline = Instant::now().checked_add(lifetime);
        self
    }

    /// Seeds the SRV weight selection, for a reproducible order.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// Calls `trace` after every query.
    pub fn with_trace(mut self, trace: &'a (dyn Fn(QueryTrace) + Send + Sync)) -> Self {
        self.trace = Some(trace);
        self
    }

    async fn query<T: fmt::Display>(
        &self,
        query_type: &'static str,
        name: &str,
        future: QueryFuture<'_, T>,
    ) -> QueryResult<T> {
        let result = match self.deadline {
            Some(deadline) if Instant::now() >= deadline => Err(QueryError::Timeout),
            Some(deadline) => tokio::time::timeout_at(deadline, future).await.unwrap_or(Err(QueryError::Timeout)),
            None => future.await,
        };
        if let Some(trace) = self.trace {
            let (answer, error) = match &result {
                Ok(records) => (Some(records.iter().map(ToString::to_string).collect()), None),
                Err(e) => (None, Some(e.to_string())),
            };
            trace(QueryTrace {
                query_type,
                query_name: name.to_owned(),
                nameservers: self.resolver.nameservers(),
                answer,
                error,
            });
        }
        result
    }

    async fn naptr(&self, name: &str) -> QueryResult<NaptrRecord> {
        self.query("NAPTR", name, self.resolver.naptr(name)).await
    }

    async fn srv(&self, name: &str) -> QueryResult<SrvRecord> {
        self.query("SRV", name, self.resolver.srv(name)).await
    }

    async fn txt(&self, name: &str) -> QueryResult<TxtRecord> {
        self.query("TXT", name, self.resolver.txt(name)).await
    }

    /// A then AAAA records of `host`. Fails (with a timeout) only when
    /// nothing was found and a query timed out.
    async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, QueryError> {
        let mut out = Vec::new();
        let mut timed_out = false;
        match self.query("A", host, self.resolver.a(host)).await {
            Ok(v4) => out.extend(v4.into_iter().map(IpAddr::V4)),
            Err(QueryError::Timeout) => timed_out = true,
            Err(_) => {}
        }
        match self.query("AAAA", host, self.resolver.aaaa(host)).await {
            Ok(v6) => out.extend(v6.into_iter().map(IpAddr::V6)),
            Err(QueryError::Timeout) => timed_out = true,
            Err(_) => {}
        }
        dedup(&mut out);
        if out.is_empty() && timed_out { Err(QueryError::Timeout) } else { Ok(out) }
    }

    /// The SRV records of `name` in RFC 2782 order, each target resolved
    /// to its addresses: `(address, port)` pairs.
    async fn srv_targets(&mut self, name: &str) -> Result<Vec<(IpAddr, u16)>, QueryError> {
        let records = match self.srv(name).await {
            Ok(records) => records,
            Err(QueryError::Timeout) => return Err(QueryError::Timeout),
            Err(_) => return Ok(Vec::new()),
        };
        let ordered = order_srv(&records, &mut self.rng);
        let mut out = Vec::new();
        let mut timed_out = false;
        for record in ordered {
            match self.addresses(&record.target).await {
                Ok(addresses) => out.extend(addresses.into_iter().map(|a| (a, record.port))),
                Err(_) => timed_out = true,
            }
        }
        dedup(&mut out);
        if out.is_empty() && timed_out { Err(QueryError::Timeout) } else { Ok(out) }
    }

    /// NAPTR records of `domain` for the supported transports (order,
    /// preference), each followed to its SRV records and addresses.
    async fn naptr_routes(
        &mut self,
        domain: &str,
        supported: &[Transport],
        tls_name: &str,
    ) -> Result<Vec<Route>, QueryError> {
        let records = match self.naptr(domain).await {
            Ok(records) => records,
            Err(QueryError::Timeout) => return Err(QueryError::Timeout),
            Err(_) => return Ok(Vec::new()),
        };
        let mut routes = Vec::new();
        for (transport, record) in select_naptr(&records, supported) {
            // A pointer to a missing or timed-out SRV name is skipped.
            if let Ok(targets) = self.srv_targets(&record.replacement).await {
                routes.extend(targets.into_iter().map(|(a, p)| route(a, p, transport, Some(tls_name))));
            }
        }
        Ok(routes)
    }

    /// `lookup_sip_proxy`: the routes to reach the SIP proxy of `uri`, in
    /// order of preference (RFC 3263 §4):
    ///
    /// - an IP address host: that address, the URI's port or the default
    ///   port, and the URI's transport (`tls` for `sips`, the `transport`
    ///   parameter, else `udp`);
    /// - a port in the URI: A/AAAA of the host, with that port and the
    ///   URI's transport;
    /// - a `transport` parameter: SRV for that transport, else A/AAAA with
    ///   the default port;
    /// - otherwise NAPTR (`SIP+D2U`, `SIP+D2T`, `SIPS+D2T`, supported ones
    ///   only, `sips` → TLS only) by order and preference, each followed to
    ///   SRV; if that gives nothing (no NAPTR, or NAPTR records pointing
    ///   nowhere), SRV `_sip._udp`/`_sip._tcp`/`_sips._tcp` for each
    ///   supported transport in the caller's order; if still nothing, A/AAAA
    ///   of the host with the first supported transport and its default
    ///   port.
    ///
    /// SRV targets are ordered by priority and weight (RFC 2782), addresses
    /// A before AAAA; repeated routes are dropped. DNS-derived routes carry
    /// `tls_name` (default: the URI's host); IP routes carry `tls_name` only
    /// if given.
    pub async fn lookup_sip_proxy(
        &mut self,
        uri: &LookupUri,
        supported: &[Transport],
        tls_name: Option<&str>,
    ) -> Result<Vec<Route>, LookupError> {
        if supported.is_empty() {
            return Err(LookupError::NoTransports);
        }
        let host = uri.host.as_str();
        let timeout = || LookupError::Timeout(format!("Timeout in lookup for routes for SIP URI {uri}"));
        let not_found = || LookupError::NotFound(format!("No routes found for SIP URI {uri}"));
        let uri_transport = || -> Result<Transport, LookupError> {
            if uri.secure {
                return Ok(Transport::Tls);
            }
            match &uri.transport {
                Some(t) => t.parse().map_err(|_| {
                    LookupError::UnsupportedTransport(format!("Transport {t} dictated by URI is not supported"))
                }),
                None => Ok(Transport::Udp),
            }
        };

        if let Some(ip) = uri.ip() {
            let transport = uri_transport()?;
            if !supported.contains(&transport) {
                return Err(LookupError::UnsupportedTransport(format!(
                    "IP transport {transport} dictated by URI is not supported"
                )));
            }
            let port = uri.port.unwrap_or(transport.default_port());
            return Ok(vec![route(ip, port, transport, tls_name)]);
        }

        let dns_tls_name = tls_name.unwrap_or(host);
        if let Some(port) = uri.port {
            let transport = uri_transport()?;
            if !supported.contains(&transport) {
                return Err(LookupError::UnsupportedTransport(format!(
                    "Host transport {transport} dictated by URI is not supported"
                )));
            }
            let addresses = self.addresses(host).await.map_err(|_| timeout())?;
            return non_empty(addresses.into_iter().map(|a| route(a, port, transport, Some(dns_tls_name))).collect())
                .ok_or_else(not_found);
        }

        if let Some(param) = &uri.transport {
            let unsupported = || {
                LookupError::UnsupportedTransport(format!(
                    "Requested lookup for URI with {param} transport, but it is not supported"
                ))
            };
            let transport: Transport = param.parse().map_err(|_| unsupported())?;
            if !supported.contains(&transport) {
                return Err(unsupported());
            }
            if uri.secure && transport != Transport::Tls {
                return Err(LookupError::UnsupportedTransport(format!(
                    "Requested lookup for SIPS URI, but with {transport} transport parameter"
                )));
            }
            let name = format!("{}.{host}", transport.srv_prefix());
            let mut timed_out = false;
            match self.srv_targets(&name).await {
                Ok(targets) if !targets.is_empty() => {
                    return Ok(targets.into_iter().map(|(a, p)| route(a, p, transport, Some(dns_tls_name))).collect());
                }
                Ok(_) => {}
                Err(_) => timed_out = true,
            }
            let port = transport.default_port();
            return match self.addresses(host).await {
                Ok(a) if !a.is_empty() => {
                    Ok(a.into_iter().map(|a| route(a, port, transport, Some(dns_tls_name))).collect())
                }
                Err(_) => Err(timeout()),
                Ok(_) if timed_out => Err(timeout()),
                Ok(_) => Err(not_found()),
            };
        }

        let supported: Vec<Transport> = if uri.secure {
            if !supported.contains(&Transport::Tls) {
                return Err(LookupError::UnsupportedTransport(
                    "Requested lookup for SIPS URI, but TLS transport is not supported".to_owned(),
                ));
            }
            vec![Transport::Tls]
        } else {
            supported.to_vec()
        };
        let mut timed_out = false;
        match self.naptr_routes(host, &supported, dns_tls_name).await {
            Ok(routes) if !routes.is_empty() => return Ok(dedup_routes(routes)),
            Ok(_) => {}
            Err(_) => timed_out = true,
        }
        let mut routes = Vec::new();
        for &transport in &supported {
            let name = format!("{}.{host}", transport.srv_prefix());
            match self.srv_targets(&name).await {
                Ok(targets) => {
                    routes.extend(targets.into_iter().map(|(a, p)| route(a, p, transport, Some(dns_tls_name))));
                }
                Err(_) => timed_out = true,
            }
        }
        if !routes.is_empty() {
            return Ok(dedup_routes(routes));
        }
        let transport = supported[0];
        match self.addresses(host).await {
            Ok(a) if !a.is_empty() => {
                Ok(a.into_iter().map(|a| route(a, transport.default_port(), transport, Some(dns_tls_name))).collect())
            }
            Err(_) => Err(timeout()),
            Ok(_) if timed_out => Err(timeout()),
            Ok(_) => Err(not_found()),
        }
    }

    /// `lookup_service`: `(address, port)` pairs for `service` (`stun` or
    /// `msrprelay`) at the URI's domain: SRV (`_stun._udp`, `_msrps._tcp`)
    /// in RFC 2782 order, else A/AAAA of the domain with `port` or the
    /// service's default port (3478, 2855). An IP address host is returned
    /// as is, with the URI's port, `port` or the default port.
    pub async fn lookup_service(
        &mut self,
        uri: &LookupUri,
        service: &str,
        port: Option<u16>,
    ) -> Result<Vec<(String, u16)>, LookupError> {
        let Some(svc) = SERVICES.iter().find(|s| s.name == service) else {
            return Err(LookupError::UnknownService(service.to_owned()));
        };
        let fallback_port = port.unwrap_or(svc.default_port);
        let host = uri.host.as_str();
        if let Some(ip) = uri.ip() {
            return Ok(vec![(ip.to_string(), uri.port.unwrap_or(fallback_port))]);
        }
        let mut timed_out = false;
        match self.srv_targets(&format!("{}.{host}", svc.srv_prefix)).await {
            Ok(targets) if !targets.is_empty() => {
                return Ok(targets.into_iter().map(|(a, p)| (a.to_string(), p)).collect());
            }
            Ok(_) => {}
            Err(_) => timed_out = true,
        }
        match self.addresses(host).await {
            Ok(a) if !a.is_empty() => Ok(a.into_iter().map(|a| (a.to_string(), fallback_port)).collect()),
            Ok(_) if !timed_out => Err(LookupError::NotFound(format!("No {service} servers found for domain {host}"))),
            _ => Err(LookupError::Timeout(format!("Timeout in lookup for {service} servers for domain {host}"))),
        }
    }

    /// `lookup_xcap_server`: the `http`/`https` URLs among the TXT records of
    /// `xcap.<domain>`. An IP address host is an error.
    pub async fn lookup_xcap_server(&mut self, uri: &LookupUri) -> Result<Vec<String>, LookupError> {
        let host = uri.host.as_str();
        if uri.ip().is_some() {
            return Err(LookupError::InvalidUri(
                "Cannot perform DNS query because the host is an IP address".to_owned(),
            ));
        }
        match self.txt(&format!("xcap.{host}")).await {
            Ok(records) => non_empty(xcap_urls(&records))
                .ok_or_else(|| LookupError::NotFound(format!("No XCAP servers found for domain {host}"))),
            Err(QueryError::Timeout) => {
                Err(LookupError::Timeout(format!("Timeout in lookup for XCAP servers for domain {host}")))
            }
            Err(_) => Err(LookupError::NotFound(format!("No XCAP servers found for domain {host}"))),
        }
    }
}

fn route(address: IpAddr, port: u16, transport: Transport, tls_name: Option<&str>) -> Route {
    Route::new(address.to_string(), Some(port), transport, tls_name.map(str::to_owned))
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    if v.is_empty() { None } else { Some(v) }
}

fn dedup<T: PartialEq>(v: &mut Vec<T>) {
    let mut i = 0;
    while i < v.len() {
        if v[..i].contains(&v[i]) {
            v.remove(i);
        } else {
            i += 1;
        }
    }
}

fn dedup_routes(mut routes: Vec<Route>) -> Vec<Route> {
    dedup(&mut routes);
    routes
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::Mutex;

    use super::*;
    use crate::lookup::resolver::StaticResolver;

    const ALL: [Transport; 3] = [Transport::Udp, Transport::Tcp, Transport::Tls];

    fn v4(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, 0, last)
    }

    fn r(address: &str, port: u16, transport: Transport, tls_name: Option<&str>) -> Route {
        Route::new(address, Some(port), transport, tls_name.map(str::to_owned))
    }

    /// example.com: NAPTR for all three transports (TCP preferred), SRV with
    /// two priorities, hosts with A and AAAA.
    fn zone() -> StaticResolver {
        StaticResolver::new()
            .naptr_record("example.com", 10, 20, "s", "SIP+D2U", "_sip._udp.example.com")
            .naptr_record("example.com", 10, 10, "s", "SIP+D2T", "_sip._tcp.example.com")
            .naptr_record("example.com", 20, 10, "s", "SIPS+D2T", "_sips._tcp.example.com")
            .srv_record("_sip._udp.example.com", 10, 0, 5060, "a.example.com")
            .srv_record("_sip._tcp.example.com", 20, 0, 5062, "b.example.com")
            .srv_record("_sip._tcp.example.com", 10, 0, 5061, "a.example.com")
            .srv_record("_sips._tcp.example.com", 0, 0, 5063, "b.example.com")
            .a_record("a.example.com", v4(1))
            .aaaa_record("a.example.com", Ipv6Addr::LOCALHOST)
            .a_record("b.example.com", v4(2))
            .a_record("example.com", v4(9))
    }

    async fn proxy(resolver: &StaticResolver, uri: &str, supported: &[Transport]) -> Result<Vec<Route>, LookupError> {
        let uri = LookupUri::parse(uri)?;
        LookupContext::new(resolver).with_seed(1).lookup_sip_proxy(&uri, supported, None).await
    }

    #[tokio::test]
    async fn naptr_order_then_srv_priority_then_a_before_aaaa() {
        let got = proxy(&zone(), "sip:alice@example.com", &ALL).await.unwrap();
        let n = Some("example.com");
        assert_eq!(
            got,
            vec![
                r("127.0.0.1", 5061, Transport::Tcp, n),
                r("::1", 5061, Transport::Tcp, n),
                r("127.0.0.2", 5062, Transport::Tcp, n),
                r("127.0.0.1", 5060, Transport::Udp, n),
                r("::1", 5060, Transport::Udp, n),
                r("127.0.0.2", 5063, Transport::Tls, n),
            ]
        );
    }

    #[tokio::test]
    async fn unsupported_transports_are_filtered_out() {
        let got = proxy(&zone(), "sip:example.com", &[Transport::Udp]).await.unwrap();
        assert_eq!(
            got.iter().map(|r| (r.transport, r.port)).collect::<Vec<_>>(),
            vec![(Transport::Udp, Some(5060)); 2]
        );
        let got = proxy(&zone(), "sip:example.com", &[Transport::Tls, Transport::Udp]).await.unwrap();
        assert_eq!(
            got.iter().map(|r| r.transport).collect::<Vec<_>>(),
            vec![Transport::Udp, Transport::Udp, Transport::Tls]
        );
    }

    #[tokio::test]
    async fn sips_means_tls_only() {
        let got = proxy(&zone(), "sips:example.com", &ALL).await.unwrap();
        assert_eq!(got, vec![r("127.0.0.2", 5063, Transport::Tls, Some("example.com"))]);
        let err = proxy(&zone(), "sips:example.com", &[Transport::Udp, Transport::Tcp]).await.unwrap_err();
        assert!(err.to_string().contains("TLS transport is not supported"), "{err}");
        let err = proxy(&zone(), "sips:example.com;transport=udp", &ALL).await.unwrap_err();
        assert!(err.to_string().contains("SIPS URI"), "{err}");
    }

    #[tokio::test]
    async fn ip_literals_need_no_dns() {
        let empty = StaticResolver::new();
        assert_eq!(proxy(&empty, "sip:10.0.0.1", &ALL).await.unwrap(), vec![r("10.0.0.1", 5060, Transport::Udp, None)]);
        assert_eq!(
            proxy(&empty, "sip:10.0.0.1:5070;transport=TCP", &ALL).await.unwrap(),
            vec![r("10.0.0.1", 5070, Transport::Tcp, None)]
        );
        assert_eq!(
            proxy(&empty, "sips:10.0.0.1", &ALL).await.unwrap(),
            vec![r("10.0.0.1", 5061, Transport::Tls, None)]
        );
        assert_eq!(
            proxy(&empty, "sip:[2001:db8::5]:5080", &ALL).await.unwrap(),
            vec![r("2001:db8::5", 5080, Transport::Udp, None)]
        );
        assert_eq!(
            proxy(&empty, "sip:[2001:db8::5]", &ALL).await.unwrap()[0].get_uri(),
            "sip:[2001:db8::5]:5060;transport=udp"
        );
        let err = proxy(&empty, "sip:10.0.0.1;transport=tls", &[Transport::Udp]).await.unwrap_err();
        assert!(matches!(err, LookupError::UnsupportedTransport(_)), "{err}");
        // An explicit tls_name is carried on IP routes.
        let uri = LookupUri::parse("sips:10.0.0.1").unwrap();
        let got = LookupContext::new(&empty).lookup_sip_proxy(&uri, &ALL, Some("proxy.example.com")).await.unwrap();
        assert_eq!(got[0].tls_name.as_deref(), Some("proxy.example.com"));
    }

    #[tokio::test]
    async fn explicit_port_means_address_records_only() {
        let got = proxy(&zone(), "sip:a.example.com:5999;transport=tcp", &ALL).await.unwrap();
        let n = Some("a.example.com");
        assert_eq!(got, vec![r("127.0.0.1", 5999, Transport::Tcp, n), r("::1", 5999, Transport::Tcp, n)]);
        let got = proxy(&zone(), "sip:example.com:5999", &ALL).await.unwrap();
        assert_eq!(got, vec![r("127.0.0.9", 5999, Transport::Udp, Some("example.com"))]);
    }

    #[tokio::test]
    async fn transport_parameter_means_srv_for_it_then_a() {
        let got = proxy(&zone(), "sip:example.com;transport=tls", &ALL).await.unwrap();
        assert_eq!(got, vec![r("127.0.0.2", 5063, Transport::Tls, Some("example.com"))]);
        let zone = zone().a_record("other.com", v4(7));
        let got = proxy(&zone, "sip:other.com;transport=tcp", &ALL).await.unwrap();
        assert_eq!(got, vec![r("127.0.0.7", 5060, Transport::Tcp, Some("other.com"))]);
        let err = proxy(&zone, "sip:other.com;transport=sctp", &ALL).await.unwrap_err();
        assert!(matches!(err, LookupError::UnsupportedTransport(_)), "{err}");
    }

    #[tokio::test]
    async fn broken_naptr_falls_back_to_srv_then_a() {
        let zone = StaticResolver::new()
            .naptr_record("broken.com", 10, 10, "s", "SIP+D2U", "_sip._udp.missing.broken.com")
            .naptr_record("broken.com", 5, 10, "u", "SIP+D2T", "_sip._tcp.broken.com")
            .srv_record("_sip._tcp.broken.com", 0, 0, 5070, "host.broken.com")
            .srv_record("_sip._udp.broken.com", 0, 0, 5080, "host.broken.com")
            .a_record("host.broken.com", v4(3))
            .a_record("broken.com", v4(4));
        let n = Some("broken.com");
        // SRV fallback follows the caller's order of preference.
        let got = proxy(&zone, "sip:broken.com", &[Transport::Tcp, Transport::Udp]).await.unwrap();
        assert_eq!(got, vec![r("127.0.0.3", 5070, Transport::Tcp, n), r("127.0.0.3", 5080, Transport::Udp, n)]);
        // No SRV either: A of the domain, first supported transport, default port.
        let got = proxy(&zone, "sip:broken.com", &[Transport::Tls]).await.unwrap();
        assert_eq!(got, vec![r("127.0.0.4", 5061, Transport::Tls, n)]);
        let none = StaticResolver::new();
        let err = proxy(&none, "sip:nowhere.com", &ALL).await.unwrap_err();
        assert_eq!(err.to_string(), "No routes found for SIP URI sip:nowhere.com");
    }

    #[tokio::test]
    async fn srv_targets_without_addresses_are_skipped() {
        let zone = StaticResolver::new()
            .srv_record("_sip._udp.x.com", 0, 0, 1, "gone.x.com")
            .srv_record("_sip._udp.x.com", 1, 0, 2, "here.x.com")
            .srv_record("_sip._tcp.x.com", 0, 0, 3, ".")
            .a_record("here.x.com", v4(5));
        let got = proxy(&zone, "sip:x.com", &ALL).await.unwrap();
        assert_eq!(got, vec![r("127.0.0.5", 2, Transport::Udp, Some("x.com"))]);
    }

    #[tokio::test]
    async fn lifetime_bounds_the_whole_lookup() {
        let zone = StaticResolver::new().timeout("slow.com", "NAPTR", Duration::from_secs(30)).timeout(
            "slow.com",
            "A",
            Duration::from_secs(30),
        );
        let uri = LookupUri::parse("sip:slow.com").unwrap();
        let traces = Mutex::new(Vec::new());
        let trace = |t: QueryTrace| traces.lock().unwrap().push((t.query_type, t.error));
        let started = Instant::now();
        let err = LookupContext::new(&zone)
            .with_lifetime(Duration::from_millis(200))
            .with_trace(&trace)
            .lookup_sip_proxy(&uri, &ALL, None)
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(err.to_string(), "Timeout in lookup for routes for SIP URI sip:slow.com");
        let traces = traces.into_inner().unwrap();
        assert_eq!(traces.first(), Some(&("NAPTR", Some("timed out".to_owned()))));
        // Every query after the lifetime ran out failed at once, and was traced.
        assert_eq!(traces.iter().map(|t| t.0).collect::<Vec<_>>(), vec!["NAPTR", "SRV", "SRV", "SRV", "A", "AAAA"]);
    }

    #[tokio::test]
    async fn traces_carry_answers_in_zone_file_form() {
        let traces = Mutex::new(Vec::new());
        let trace = |t: QueryTrace| traces.lock().unwrap().push(t);
        let zone = zone();
        let uri = LookupUri::parse("sip:example.com").unwrap();
        LookupContext::new(&zone).with_trace(&trace).lookup_sip_proxy(&uri, &[Transport::Tls], None).await.unwrap();
        let traces = traces.into_inner().unwrap();
        let first = &traces[0];
        assert_eq!((first.query_type, first.query_name.as_str()), ("NAPTR", "example.com"));
        assert_eq!(first.nameservers, vec!["static".to_owned()]);
        assert!(
            first
                .answer
                .as_ref()
                .unwrap()
                .contains(&"20 10 \"s\" \"SIPS+D2T\" \"\" _sips._tcp.example.com.".to_owned())
        );
        let aaaa = traces.iter().find(|t| t.query_type == "AAAA").unwrap();
        assert_eq!((aaaa.answer.clone(), aaaa.error.as_deref()), (None, Some("no records found")));
    }

    #[tokio::test]
    async fn services_srv_then_a_with_default_port() {
        let zone = StaticResolver::new()
            .srv_record("_msrps._tcp.example.com", 0, 0, 2856, "relay.example.com")
            .a_record("relay.example.com", v4(6))
            .a_record("example.com", v4(9));
        let mut ctx = LookupContext::new(&zone);
        let uri = LookupUri::parse("sip:alice@example.com").unwrap();
        assert_eq!(ctx.lookup_service(&uri, "msrprelay", None).await.unwrap(), vec![("127.0.0.6".to_owned(), 2856)]);
        assert_eq!(ctx.lookup_service(&uri, "stun", None).await.unwrap(), vec![("127.0.0.9".to_owned(), 3478)]);
        assert_eq!(ctx.lookup_service(&uri, "stun", Some(3479)).await.unwrap(), vec![("127.0.0.9".to_owned(), 3479)]);
        let ip = LookupUri::parse("sip:10.1.1.1").unwrap();
        assert_eq!(ctx.lookup_service(&ip, "msrprelay", None).await.unwrap(), vec![("10.1.1.1".to_owned(), 2855)]);
        let err = ctx.lookup_service(&uri, "turn", None).await.unwrap_err();
        assert_eq!(err.to_string(), "Unknown service: turn");
        let nowhere = LookupUri::parse("sip:nowhere.com").unwrap();
        let err = ctx.lookup_service(&nowhere, "stun", None).await.unwrap_err();
        assert_eq!(err.to_string(), "No stun servers found for domain nowhere.com");
    }

    #[tokio::test]
    async fn xcap_roots_from_txt() {
        let zone =
            StaticResolver::new().txt_record("xcap.example.com", &["https://xcap.example.com/xcap-root", "junk"]);
        let mut ctx = LookupContext::new(&zone);
        let uri = LookupUri::parse("sip:example.com").unwrap();
        assert_eq!(ctx.lookup_xcap_server(&uri).await.unwrap(), vec!["https://xcap.example.com/xcap-root".to_owned()]);
        let ip = LookupUri::parse("sip:10.0.0.1").unwrap();
        assert!(matches!(ctx.lookup_xcap_server(&ip).await, Err(LookupError::InvalidUri(_))));
        let other = LookupUri::parse("sip:other.com").unwrap();
        assert!(matches!(ctx.lookup_xcap_server(&other).await, Err(LookupError::NotFound(_))));
    }

    #[test]
    fn supported_transports_are_validated() {
        assert_eq!(parse_transports::<&str>(&[]), Err(LookupError::NoTransports));
        assert_eq!(parse_transports(&["TLS", "udp", "tls"]), Ok(vec![Transport::Tls, Transport::Udp]));
        assert_eq!(parse_transports(&["udp", "sctp", "ws"]), Err(LookupError::UnknownTransports("sctp, ws".into())));
    }
}
