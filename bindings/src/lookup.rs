//! DNS lookups (`sipsimple.lookup`): [`DnsLookup`] and the lookups under
//! way its methods return ([`SipProxyLookup`], [`ServiceLookup`],
//! [`XcapServerLookup`]), with their results ([`Route`], [`ServiceAddress`]).

use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::lookup::{self as core, LookupError, LookupOptions, PendingLookup};

use crate::{Result, SipSimpleError};

/// A next hop towards a SIP proxy, as `DnsLookup.lookupSipProxy` finds it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Route {
    /// The IP address (IPv6 without brackets).
    pub address: String,
    /// The port (the transport's default port when DNS gave none).
    pub port: u16,
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    /// The name a TLS server certificate must match; `None` for a route
    /// taken from an IP address without an explicit name.
    pub tls_name: Option<String>,
    /// The route as a SIP URI (`get_uri()` of the original):
    /// `sip:<address>:<port>;transport=<transport>`, IPv6 in brackets.
    pub uri: String,
}

impl From<&core::Route> for Route {
    fn from(route: &core::Route) -> Route {
        Route {
            address: route.address.clone(),
            port: route.effective_port(),
            transport: route.transport.as_str().to_owned(),
            tls_name: route.tls_name.clone(),
            uri: route.get_uri(),
        }
    }
}

/// A server of a service (STUN server, MSRP relay), as
/// `DnsLookup.lookupService` finds it.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ServiceAddress {
    /// The IP address.
    pub address: String,
    /// The port.
    pub port: u16,
}

fn options(timeout: f64, lifetime: f64) -> Result<LookupOptions> {
    LookupOptions::from_secs(timeout, lifetime).map_err(|e| SipSimpleError::InvalidArgument { detail: e.to_string() })
}

/// Waits for `pending` (see the `wait` methods) and converts its result.
fn wait_for<T: Clone, R>(
    pending: &PendingLookup<T>,
    timeout_ms: Option<u32>,
    convert: impl FnOnce(T) -> R,
) -> Result<R> {
    let result = match timeout_ms {
        Some(0) => pending.result(),
        Some(ms) => pending.wait_timeout(Duration::from_millis(ms.into())),
        None => pending.wait_timeout(Duration::MAX),
    };
    match result {
        None => Err(SipSimpleError::Timeout {
            detail: format!("the DNS lookup did not end within {} ms", timeout_ms.unwrap_or_default()),
        }),
        Some(Ok(value)) => Ok(convert(value)),
        Some(Err(e)) => Err(lookup_failed(e)),
    }
}

fn lookup_failed(error: LookupError) -> SipSimpleError {
    SipSimpleError::DnsLookupFailed { error: error.to_string() }
}

/// `lookupSipProxy` under way. `wait` gives its routes.
#[derive(uniffi::Object)]
pub struct SipProxyLookup {
    pending: PendingLookup<Vec<core::Route>>,
}

#[uniffi::export]
impl SipProxyLookup {
    /// Blocks until the lookup ends, at most `timeout_ms` milliseconds when
    /// given (0 only looks; without a timeout the wait is bounded by the
    /// lookup's `lifetime`): the routes, in order of preference. Errors:
    /// `DnsLookupFailed` (the text of `DNSLookupDidFail.error`), `Timeout`
    /// if it has not ended in time (it goes on: wait again). May be called
    /// again, from any thread: it gives the same result.
    #[uniffi::method(default(timeout_ms = None))]
    pub fn wait(&self, timeout_ms: Option<u32>) -> Result<Vec<Route>> {
        wait_for(&self.pending, timeout_ms, |routes| routes.iter().map(Route::from).collect())
    }

    /// True once the lookup has ended.
    pub fn is_done(&self) -> bool {
        self.pending.is_done()
    }
}

/// `lookupService` under way. `wait` gives its servers.
#[derive(uniffi::Object)]
pub struct ServiceLookup {
    pending: PendingLookup<Vec<(String, u16)>>,
}

#[uniffi::export]
impl ServiceLookup {
    /// Blocks until the lookup ends, as `SipProxyLookup.wait`: the servers,
    /// in order of preference.
    #[uniffi::method(default(timeout_ms = None))]
    pub fn wait(&self, timeout_ms: Option<u32>) -> Result<Vec<ServiceAddress>> {
        wait_for(&self.pending, timeout_ms, |servers| {
            servers.into_iter().map(|(address, port)| ServiceAddress { address, port }).collect()
        })
    }

    /// True once the lookup has ended.
    pub fn is_done(&self) -> bool {
        self.pending.is_done()
    }
}

/// `lookupXcapServer` under way. `wait` gives the XCAP root URLs.
#[derive(uniffi::Object)]
pub struct XcapServerLookup {
    pending: PendingLookup<Vec<String>>,
}

#[uniffi::export]
impl XcapServerLookup {
    /// Blocks until the lookup ends, as `SipProxyLookup.wait`: the URLs.
    #[uniffi::method(default(timeout_ms = None))]
    pub fn wait(&self, timeout_ms: Option<u32>) -> Result<Vec<String>> {
        wait_for(&self.pending, timeout_ms, |urls| urls)
    }

    /// True once the lookup has ended.
    pub fn is_done(&self) -> bool {
        self.pending.is_done()
    }
}

/// `DNSLookup`: finds SIP proxies (RFC 3263), STUN servers and MSRP relays,
/// and XCAP roots.
///
/// Every lookup method returns at once with the lookup under way; the
/// lookup runs on the middleware's own thread and ends with a notification
/// sent by this object (sender handle: `handle()`): `DNSLookupDidSucceed`
/// (`result`: in JSON, routes as objects with `address`, `port`,
/// `transport`, `tls_name`, `uri`; servers as `[address, port]`; URLs as
/// strings) or `DNSLookupDidFail` (`error`), plus `DNSLookupTrace` for each
/// DNS query (`query_type`, `query_name`, `nameservers`, `answer`, `error`,
/// `context`, `service`, `uri`). Lookups need the running application:
/// before it started they fail with "DNSManager is not running".
///
/// `timeout` is how long to wait for one nameserver and `lifetime` how long
/// the whole lookup may take, in seconds (3 and 15 by default); a negative,
/// infinite or NaN value is `InvalidArgument`. Every other problem (a
/// malformed URI, an unsupported transport, no records, a DNS timeout)
/// fails the lookup: `DNSLookupDidFail`, and `DnsLookupFailed` from `wait`.
/// A URI whose host is an IP address needs no DNS.
///
/// The object's handle is released when the object is destroyed; lookups
/// under way still end and post their notification.
#[derive(uniffi::Object)]
pub struct DnsLookup {
    inner: Arc<core::DNSLookup>,
}

impl Drop for DnsLookup {
    fn drop(&mut self) {
        let _ = self.inner.release();
    }
}

#[uniffi::export]
impl DnsLookup {
    /// A new lookup object.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(DnsLookup { inner: core::DNSLookup::new() })
    }

    /// The object's handle: the sender of its notifications.
    pub fn handle(&self) -> u64 {
        self.inner.handle().raw()
    }

    /// `lookup_sip_proxy`: the routes to the SIP proxy of `uri` (`sip:` or
    /// `sips:` URI), in order of preference (RFC 3263).
    /// `supported_transports` lists `udp`, `tcp` and `tls` in the
    /// application's order of preference. `tls_name` is the name a TLS
    /// server certificate must match (by default the URI's host, for routes
    /// found through DNS). `sip:127.0.0.1:5070;transport=tcp` gives one TCP
    /// route to 127.0.0.1:5070 without DNS; a `sips` URI means TLS.
    #[uniffi::method(default(timeout = 3.0, lifetime = 15.0, tls_name = None))]
    pub fn lookup_sip_proxy(
        &self,
        uri: String,
        supported_transports: Vec<String>,
        timeout: f64,
        lifetime: f64,
        tls_name: Option<String>,
    ) -> Result<Arc<SipProxyLookup>> {
        let options = options(timeout, lifetime)?;
        let pending = self.inner.lookup_sip_proxy(&uri, &supported_transports, tls_name.as_deref(), options);
        Ok(Arc::new(SipProxyLookup { pending }))
    }

    /// `lookup_service`: the servers of `service` (`stun` or `msrprelay`)
    /// for the domain of `uri`: SRV records (`_stun._udp`, `_msrps._tcp`),
    /// else the domain's addresses with `port`, or with the service's
    /// default port (3478, 2855). An IP address host is returned as is.
    #[uniffi::method(default(timeout = 3.0, lifetime = 15.0, port = None))]
    pub fn lookup_service(
        &self,
        uri: String,
        service: String,
        timeout: f64,
        lifetime: f64,
        port: Option<u16>,
    ) -> Result<Arc<ServiceLookup>> {
        let options = options(timeout, lifetime)?;
        let pending = self.inner.lookup_service(&uri, &service, port, options);
        Ok(Arc::new(ServiceLookup { pending }))
    }

    /// `lookup_xcap_server`: the `http`/`https` URLs among the TXT records
    /// of `xcap.<domain>` for the domain of `uri`. An IP address host fails.
    #[uniffi::method(default(timeout = 3.0, lifetime = 15.0))]
    pub fn lookup_xcap_server(&self, uri: String, timeout: f64, lifetime: f64) -> Result<Arc<XcapServerLookup>> {
        let options = options(timeout, lifetime)?;
        let pending = self.inner.lookup_xcap_server(&uri, options);
        Ok(Arc::new(XcapServerLookup { pending }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_convert_with_their_uri_and_effective_port() {
        let route = core::Route::new("::1", None, core::Transport::Tls, Some("proxy.example.com".into()));
        assert_eq!(
            Route::from(&route),
            Route {
                address: "::1".into(),
                port: 5061,
                transport: "tls".into(),
                tls_name: Some("proxy.example.com".into()),
                uri: "sip:[::1];transport=tls".into(),
            }
        );
    }

    #[test]
    fn bad_time_limits_are_refused_and_lookups_fail_without_the_application() {
        let lookup = DnsLookup::new();
        for (timeout, lifetime) in [(-1.0, 15.0), (3.0, f64::NAN), (f64::INFINITY, 1.0)] {
            let refused = lookup.lookup_sip_proxy("sip:127.0.0.1".into(), vec!["udp".into()], timeout, lifetime, None);
            assert!(matches!(refused, Err(SipSimpleError::InvalidArgument { .. })));
        }
        // No test of this crate starts the application, so the DNS manager
        // is not running: every lookup fails, and says why.
        if sipsimple_core::lookup::DNSManager::instance().running() {
            return;
        }
        let pending = lookup.lookup_service("sip:10.0.0.1".into(), "stun".into(), 3.0, 15.0, None).unwrap();
        let error = pending.wait(Some(10_000)).unwrap_err();
        assert!(pending.is_done());
        assert_eq!(error.to_string(), "DNS lookup failed: DNSManager is not running");
        assert!(matches!(pending.wait(Some(0)), Err(SipSimpleError::DnsLookupFailed { .. })));
    }
}
