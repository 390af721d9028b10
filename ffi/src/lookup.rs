//! DNS lookups in the context of SIP (`sipsimple.lookup`): `DNSLookup`
//! objects that find SIP proxies (RFC 3263), STUN servers and MSRP relays,
//! and XCAP roots.
//!
//! Every lookup function returns at once; the lookup runs on the library's
//! runtime and ends with `DNSLookupDidSucceed` or `DNSLookupDidFail` sent by
//! the lookup object (plus `DNSLookupTrace` per DNS query). The result is
//! also kept for `sipsimple_dns_lookup_wait`, the one function here that
//! may block, and only for as long as the caller allows.

use std::collections::{HashMap, VecDeque};
use std::ffi::c_char;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sipsimple_core::lookup::{DNSLookup, LookupError, LookupOptions, PendingLookup, Route};
use sipsimple_core::{ObjectKind, Value};

use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, borrow_str, optional_str};

/// A lookup under way (or ended, its result not yet taken by a wait).
enum Pending {
    Routes(PendingLookup<Vec<Route>>),
    Servers(PendingLookup<Vec<(String, u16)>>),
    Urls(PendingLookup<Vec<String>>),
}

fn routes_value(routes: &[Route]) -> Value {
    Value::List(routes.iter().map(Route::to_value).collect())
}

fn servers_value(servers: &[(String, u16)]) -> Value {
    Value::List(servers.iter().map(|(a, p)| Value::List(vec![Value::from(a.as_str()), Value::from(*p)])).collect())
}

fn json_text(value: &Value) -> String {
    serde_json::to_string(&value.to_json()).unwrap_or_else(|_| "null".to_owned())
}

impl Pending {
    /// Waits up to `timeout` (zero: only looks): the result as JSON text in
    /// the form of `DNSLookupDidSucceed.result`, the failure, or `None`.
    fn wait_json(&self, timeout: Duration) -> Option<Result<String, LookupError>> {
        fn ended<T>(
            pending: &PendingLookup<T>,
            timeout: Duration,
            to_value: impl Fn(&T) -> Value,
        ) -> Option<Result<String, LookupError>>
        where
            T: Clone,
        {
            let result = if timeout.is_zero() { pending.result() } else { pending.wait_timeout(timeout) };
            result.map(|r| r.map(|v| json_text(&to_value(&v))))
        }
        match self {
            Pending::Routes(p) => ended(p, timeout, |r| routes_value(r)),
            Pending::Servers(p) => ended(p, timeout, |s| servers_value(s)),
            Pending::Urls(p) => ended(p, timeout, |u| Value::from(u.clone())),
        }
    }
}

/// The lookups started through this API on each lookup object, oldest
/// first, until a wait takes their result or the object is freed.
static PENDING: LazyLock<Mutex<HashMap<u64, VecDeque<Arc<Pending>>>>> = LazyLock::new(Default::default);

fn pending_lookups() -> MutexGuard<'static, HashMap<u64, VecDeque<Arc<Pending>>>> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

fn resolve(lookup: sipsimple_handle) -> Result<Arc<DNSLookup>, FfiError> {
    objects::resolve::<DNSLookup>(lookup, ObjectKind::DnsLookup)
}

/// `timeout` and `lifetime` in seconds; 0 selects the default.
fn options(timeout: f64, lifetime: f64) -> Result<LookupOptions, FfiError> {
    let defaults = LookupOptions::default();
    let timeout = if timeout == 0.0 { defaults.timeout.as_secs_f64() } else { timeout };
    let lifetime = if lifetime == 0.0 { defaults.lifetime.as_secs_f64() } else { lifetime };
    LookupOptions::from_secs(timeout, lifetime).map_err(|e| FfiError::argument(e.to_string()))
}

/// Records a started lookup for `sipsimple_dns_lookup_wait`.
fn remember(lookup: &DNSLookup, pending: Pending) {
    pending_lookups().entry(lookup.handle().raw()).or_default().push_back(Arc::new(pending));
}

/// Creates a `DNSLookup` object. `*out_lookup` receives its handle, the
/// sender of the notifications of every lookup started on it; release it
/// with `sipsimple_dns_lookup_free`. Lookups need the running application
/// (its DNS manager): before `SIPApplicationDidStart` and after a stop they
/// fail with `DNSLookupDidFail` ("DNSManager is not running"). The result
/// of each lookup started on it is kept for `sipsimple_dns_lookup_wait`
/// until a wait takes it or the object is freed: an application that only
/// observes the notifications frees the object when it is done with it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_dns_lookup_new(out_lookup: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_dns_lookup_new", || {
        let out = Out::new(out_lookup, "out_lookup")?;
        let lookup = DNSLookup::new();
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(lookup.handle().raw()) };
        Ok(())
    })
}

/// Releases a lookup object: its handle becomes stale and the results not
/// taken by `sipsimple_dns_lookup_wait` are dropped. Lookups under way still
/// end and post their notification (with the old handle as sender).
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_dns_lookup_free(lookup: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_dns_lookup_free", || {
        let object = objects::release::<DNSLookup>(lookup, ObjectKind::DnsLookup)?;
        pending_lookups().remove(&object.handle().raw());
        Ok(())
    })
}

/// `lookup_sip_proxy`: starts an RFC 3263 lookup of the routes to the SIP
/// proxy of `uri` (a SIP URI: `sip:example.com`,
/// `sips:alice@example.com`, `sip:10.0.0.1:5070;transport=tcp`...).
///
/// `supported_transports` is an array of `supported_transports_len`
/// strings, `udp`, `tcp` and `tls` in the application's order of preference
/// (it may be `NULL` when the length is 0). `tls_name` (optional, `NULL`
/// for none) is the name a TLS server certificate must match; by default
/// the URI's host for routes found through DNS. `timeout` is how long to
/// wait for one nameserver and `lifetime` how long the whole lookup may
/// take, in seconds; `0` selects the defaults (3 and 15 seconds).
///
/// Returns at once. The outcome is posted by `lookup`:
/// `DNSLookupDidSucceed` with `result`, a list of routes, each an object
/// with `address`, `port`, `transport` (`udp`, `tcp`, `tls`), `tls_name`
/// (string or null) and `uri` (`sip:address:port;transport=...`), in order
/// of preference; or `DNSLookupDidFail` with `error` (an unsupported or
/// unknown transport, a malformed URI, no records, a DNS timeout...). An IP
/// address host needs no DNS: `sip:127.0.0.1:5070;transport=tcp` gives one
/// TCP route to 127.0.0.1:5070, and a `sips` URI a TLS route.
///
/// Errors (nothing is started): `SIPSIMPLE_RESULT_INVALID_HANDLE` for a
/// stale or non-lookup handle, `SIPSIMPLE_RESULT_NULL_ARGUMENT`,
/// `SIPSIMPLE_RESULT_INVALID_UTF8`, and `SIPSIMPLE_RESULT_INVALID_ARGUMENT`
/// for a negative, infinite or NaN `timeout` or `lifetime`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_dns_lookup_sip_proxy(
    lookup: sipsimple_handle,
    uri: *const c_char,
    supported_transports: *const *const c_char,
    supported_transports_len: usize,
    tls_name: *const c_char,
    timeout: f64,
    lifetime: f64,
) -> sipsimple_result {
    guard("sipsimple_dns_lookup_sip_proxy", || {
        let object = resolve(lookup)?;
        // SAFETY: API contract.
        let uri = unsafe { borrow_str(uri, "uri") }?;
        // SAFETY: API contract.
        let tls_name = unsafe { optional_str(tls_name, "tls_name") }?;
        let transports = if supported_transports_len == 0 {
            Vec::new()
        } else if supported_transports.is_null() {
            return Err(FfiError::NullArgument("supported_transports"));
        } else {
            // SAFETY: the array holds supported_transports_len pointers (API contract).
            let items = unsafe { std::slice::from_raw_parts(supported_transports, supported_transports_len) };
            items
                .iter()
                // SAFETY: each item is NULL or a NUL-terminated string (API contract).
                .map(|&item| unsafe { borrow_str(item, "supported_transports[i]") })
                .collect::<Result<Vec<&str>, FfiError>>()?
        };
        let options = options(timeout, lifetime)?;
        let pending = object.lookup_sip_proxy(uri, &transports, tls_name, options);
        remember(&object, Pending::Routes(pending));
        Ok(())
    })
}

/// `lookup_service`: starts a lookup of the servers of `service` (`stun`
/// or `msrprelay`) for the domain of `uri`: SRV records (`_stun._udp`,
/// `_msrps._tcp`), else the domain's addresses with `port`, or with the
/// service's default port (3478, 2855) when `port` is 0. An IP address host
/// is returned as is. `timeout` and `lifetime` as for
/// `sipsimple_dns_lookup_sip_proxy`.
///
/// Returns at once. The outcome is posted by `lookup`:
/// `DNSLookupDidSucceed` with `result`, a list of `[address, port]` pairs,
/// or `DNSLookupDidFail` with `error` (an unknown service, no servers...).
/// Errors as for `sipsimple_dns_lookup_sip_proxy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_dns_lookup_service(
    lookup: sipsimple_handle,
    uri: *const c_char,
    service: *const c_char,
    port: u16,
    timeout: f64,
    lifetime: f64,
) -> sipsimple_result {
    guard("sipsimple_dns_lookup_service", || {
        let object = resolve(lookup)?;
        // SAFETY: API contract.
        let uri = unsafe { borrow_str(uri, "uri") }?;
        // SAFETY: API contract.
        let service = unsafe { borrow_str(service, "service") }?;
        let options = options(timeout, lifetime)?;
        let pending = object.lookup_service(uri, service, (port != 0).then_some(port), options);
        remember(&object, Pending::Servers(pending));
        Ok(())
    })
}

/// `lookup_xcap_server`: starts a lookup of the XCAP roots of the domain of
/// `uri`: the `http`/`https` URLs among the TXT records of
/// `xcap.<domain>`. An IP address host fails. `timeout` and `lifetime` as
/// for `sipsimple_dns_lookup_sip_proxy`.
///
/// Returns at once. The outcome is posted by `lookup`:
/// `DNSLookupDidSucceed` with `result`, a list of URL strings, or
/// `DNSLookupDidFail` with `error`. Errors as for
/// `sipsimple_dns_lookup_sip_proxy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_dns_lookup_xcap_server(
    lookup: sipsimple_handle,
    uri: *const c_char,
    timeout: f64,
    lifetime: f64,
) -> sipsimple_result {
    guard("sipsimple_dns_lookup_xcap_server", || {
        let object = resolve(lookup)?;
        // SAFETY: API contract.
        let uri = unsafe { borrow_str(uri, "uri") }?;
        let options = options(timeout, lifetime)?;
        let pending = object.lookup_xcap_server(uri, options);
        remember(&object, Pending::Urls(pending));
        Ok(())
    })
}

/// Waits for the oldest lookup started on `lookup` whose result has not
/// been taken yet (the `.wait()` of the original's lookup methods).
/// `timeout_ms` < 0 waits until the lookup ends (at most its `lifetime`), 0
/// only looks, > 0 waits at most that many milliseconds.
///
/// On success `*out_result_json` receives the result as JSON, in the form of
/// `DNSLookupDidSucceed.result` (release it with `sipsimple_string_free`),
/// and the lookup is forgotten. `SIPSIMPLE_RESULT_LOOKUP_FAILED`: the lookup
/// failed (`DNSLookupError` in the original); the last error message ends
/// with the text of `DNSLookupDidFail.error`, and the lookup is forgotten.
/// `SIPSIMPLE_RESULT_TIMEOUT`: it has not ended yet; wait again later.
/// `SIPSIMPLE_RESULT_INVALID_STATE`: no lookup started on `lookup` is left
/// to wait for. `SIPSIMPLE_RESULT_INVALID_HANDLE` for a stale or non-lookup
/// handle (freeing the lookup does not end a wait already under way).
///
/// The notification of a lookup is posted before its result can be taken
/// here. Waiting on the notification delivery thread (in a callback) holds
/// up every notification meanwhile: use `timeout_ms` 0 there. When two
/// threads wait on one lookup object at once, both may get the same result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_dns_lookup_wait(
    lookup: sipsimple_handle,
    timeout_ms: i32,
    out_result_json: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_dns_lookup_wait", || {
        let object = resolve(lookup)?;
        let out = Out::new(out_result_json, "out_result_json")?;
        let key = object.handle().raw();
        let oldest = pending_lookups()
            .get(&key)
            .and_then(|queue| queue.front().cloned())
            .ok_or_else(|| FfiError::Core(sipsimple_core::Error::InvalidState("no lookup is pending".into())))?;
        let timeout = match u64::try_from(timeout_ms) {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => Duration::MAX,
        };
        let Some(result) = oldest.wait_json(timeout) else {
            return Err(FfiError::Timeout(format!("the lookup did not end within {timeout_ms} ms")));
        };
        let mut all = pending_lookups();
        if let Some(queue) = all.get_mut(&key) {
            if queue.front().is_some_and(|front| Arc::ptr_eq(front, &oldest)) {
                queue.pop_front();
            }
            if queue.is_empty() {
                all.remove(&key);
            }
        }
        drop(all);
        match result {
            // SAFETY: out is a writable pointer (API contract).
            Ok(json) => unsafe { out.write_string(json) },
            Err(e) => Err(FfiError::LookupFailed(e.to_string())),
        }
    })
}

/// How many lookups started on `raw` are remembered for a wait (tests).
#[cfg(test)]
fn remembered(raw: sipsimple_handle) -> usize {
    pending_lookups().get(&raw).map_or(0, VecDeque::len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{
        sipsimple_notification_queue_free, sipsimple_notification_queue_new, sipsimple_notification_queue_next,
    };
    use sipsimple_core::Handle;
    use std::ffi::CStr;
    use std::ptr::{null, null_mut};
    use std::time::Instant;

    fn last_error() -> String {
        unsafe { CStr::from_ptr(crate::result::sipsimple_last_error()) }.to_string_lossy().into_owned()
    }

    fn take_string(p: *mut c_char) -> String {
        let text = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        unsafe { crate::strings::sipsimple_string_free(p) };
        text
    }

    /// The next notification in `queue` named `name`, with its data as JSON.
    fn next_named(queue: sipsimple_handle, name: &str) -> (u64, serde_json::Value) {
        loop {
            let mut n = null_mut();
            assert_eq!(
                unsafe { sipsimple_notification_queue_next(queue, 10_000, &mut n) },
                sipsimple_result::Ok,
                "waiting for {name}"
            );
            let inner = unsafe { &(*n).inner };
            let found = (inner.name == name).then(|| {
                let sender = match &inner.sender {
                    Value::Object(h) => h.raw(),
                    _ => 0,
                };
                (sender, inner.data.to_json())
            });
            unsafe { crate::notification::sipsimple_notification_free(n) };
            if let Some(found) = found {
                return found;
            }
        }
    }

    /// Starts the application (which starts the DNS manager) and returns a
    /// queue of its notifications.
    fn start_application() -> sipsimple_handle {
        let (mut app, mut queue, mut storage) = (0, 0, 0);
        assert_eq!(unsafe { crate::application::sipsimple_application_handle(&mut app) }, sipsimple_result::Ok);
        assert_eq!(unsafe { sipsimple_notification_queue_new(null(), app, &mut queue) }, sipsimple_result::Ok);
        assert_eq!(unsafe { crate::storage::sipsimple_storage_memory_new(&mut storage) }, sipsimple_result::Ok);
        assert_eq!(crate::application::sipsimple_application_start(storage), sipsimple_result::Ok);
        assert_eq!(crate::storage::sipsimple_storage_free(storage), sipsimple_result::Ok);
        next_named(queue, "SIPApplicationDidStart");
        queue
    }

    fn stop_application(queue: sipsimple_handle) {
        assert_eq!(crate::application::sipsimple_application_stop(), sipsimple_result::Ok);
        next_named(queue, "SIPApplicationDidEnd");
        assert_eq!(sipsimple_notification_queue_free(queue), sipsimple_result::Ok);
    }

    fn sip_proxy(lookup: sipsimple_handle, uri: &CStr, transports: &[&CStr]) -> sipsimple_result {
        let pointers: Vec<*const c_char> = transports.iter().map(|t| t.as_ptr()).collect();
        unsafe {
            sipsimple_dns_lookup_sip_proxy(lookup, uri.as_ptr(), pointers.as_ptr(), pointers.len(), null(), 1.0, 3.0)
        }
    }

    #[test]
    fn arguments_and_handles_are_checked() {
        let mut out: *mut c_char = null_mut();
        for bad in [0u64, 1, 0xdead_beef, u64::MAX] {
            assert_eq!(sip_proxy(bad, c"sip:127.0.0.1", &[c"udp"]), sipsimple_result::InvalidHandle);
            assert_eq!(
                unsafe { sipsimple_dns_lookup_service(bad, c"sip:127.0.0.1".as_ptr(), c"stun".as_ptr(), 0, 0.0, 0.0) },
                sipsimple_result::InvalidHandle
            );
            assert_eq!(
                unsafe { sipsimple_dns_lookup_xcap_server(bad, c"sip:example.com".as_ptr(), 0.0, 0.0) },
                sipsimple_result::InvalidHandle
            );
            assert_eq!(unsafe { sipsimple_dns_lookup_wait(bad, 0, &mut out) }, sipsimple_result::InvalidHandle);
            assert_eq!(sipsimple_dns_lookup_free(bad), sipsimple_result::InvalidHandle);
        }
        // A handle of another kind is refused, and never released.
        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        assert_eq!(sip_proxy(settings, c"sip:127.0.0.1", &[c"udp"]), sipsimple_result::InvalidHandle);
        assert_eq!(sipsimple_dns_lookup_free(settings), sipsimple_result::InvalidHandle);

        assert_eq!(unsafe { sipsimple_dns_lookup_new(null_mut()) }, sipsimple_result::NullArgument);
        let mut lookup = 0;
        assert_eq!(unsafe { sipsimple_dns_lookup_new(&mut lookup) }, sipsimple_result::Ok);
        assert_eq!(Handle::from_raw(lookup).try_kind(), Some(ObjectKind::DnsLookup));
        let udp = [c"udp".as_ptr()];
        let with_null = [c"udp".as_ptr(), null()];
        let cases = [
            unsafe { sipsimple_dns_lookup_sip_proxy(lookup, null(), udp.as_ptr(), 1, null(), 0.0, 0.0) },
            unsafe { sipsimple_dns_lookup_sip_proxy(lookup, c"sip:a.b".as_ptr(), null(), 1, null(), 0.0, 0.0) },
            unsafe {
                sipsimple_dns_lookup_sip_proxy(lookup, c"sip:a.b".as_ptr(), with_null.as_ptr(), 2, null(), 0.0, 0.0)
            },
            unsafe { sipsimple_dns_lookup_service(lookup, c"sip:a.b".as_ptr(), null(), 0, 0.0, 0.0) },
            unsafe { sipsimple_dns_lookup_xcap_server(lookup, null(), 0.0, 0.0) },
            unsafe { sipsimple_dns_lookup_wait(lookup, 0, null_mut()) },
        ];
        assert!(cases.iter().all(|&r| r == sipsimple_result::NullArgument), "{cases:?}");
        let bad_utf8 = [0xffu8, 0];
        assert_eq!(
            unsafe { sipsimple_dns_lookup_xcap_server(lookup, bad_utf8.as_ptr().cast(), 0.0, 0.0) },
            sipsimple_result::InvalidUtf8
        );
        for (timeout, lifetime) in [(-1.0, 0.0), (0.0, f64::NAN), (f64::INFINITY, 1.0)] {
            let r = unsafe {
                sipsimple_dns_lookup_sip_proxy(lookup, c"sip:a.b".as_ptr(), udp.as_ptr(), 1, null(), timeout, lifetime)
            };
            assert_eq!(r, sipsimple_result::InvalidArgument, "{timeout} {lifetime}");
            assert!(last_error().starts_with("sipsimple_dns_lookup_sip_proxy: "), "{}", last_error());
        }
        // Nothing was started by the refused calls.
        assert_eq!(remembered(lookup), 0);
        assert_eq!(unsafe { sipsimple_dns_lookup_wait(lookup, 0, &mut out) }, sipsimple_result::InvalidState);
        assert!(last_error().contains("no lookup is pending"), "{}", last_error());
        assert!(out.is_null());

        assert_eq!(sipsimple_dns_lookup_free(lookup), sipsimple_result::Ok);
        assert_eq!(sipsimple_dns_lookup_free(lookup), sipsimple_result::InvalidHandle, "stale");
        assert_eq!(sip_proxy(lookup, c"sip:127.0.0.1", &[c"udp"]), sipsimple_result::InvalidHandle);
    }

    #[test]
    fn lookups_end_with_a_notification_and_a_result_to_wait_for() {
        let _app = crate::tests::APPLICATION.lock().unwrap_or_else(PoisonError::into_inner);
        let app_queue = start_application();
        let mut lookup = 0;
        assert_eq!(unsafe { sipsimple_dns_lookup_new(&mut lookup) }, sipsimple_result::Ok);
        let mut queue = 0;
        assert_eq!(unsafe { sipsimple_notification_queue_new(null(), lookup, &mut queue) }, sipsimple_result::Ok);

        // IP address hosts need no DNS: one route, in the URI's transport.
        assert_eq!(sip_proxy(lookup, c"sip:127.0.0.1:5070;transport=tcp", &[c"udp", c"tcp"]), sipsimple_result::Ok);
        assert_eq!(sip_proxy(lookup, c"sips:127.0.0.1", &[c"tls"]), sipsimple_result::Ok);
        assert_eq!(
            unsafe { sipsimple_dns_lookup_service(lookup, c"sip:10.1.2.3".as_ptr(), c"stun".as_ptr(), 0, 0.0, 0.0) },
            sipsimple_result::Ok
        );
        assert_eq!(remembered(lookup), 3);

        let mut out: *mut c_char = null_mut();
        let started = Instant::now();
        assert_eq!(unsafe { sipsimple_dns_lookup_wait(lookup, 10_000, &mut out) }, sipsimple_result::Ok);
        let routes: serde_json::Value = serde_json::from_str(&take_string(out)).unwrap();
        assert_eq!(
            routes,
            serde_json::json!([{"address": "127.0.0.1", "port": 5070, "transport": "tcp", "tls_name": null,
                                "uri": "sip:127.0.0.1:5070;transport=tcp"}])
        );
        assert_eq!(unsafe { sipsimple_dns_lookup_wait(lookup, -1, &mut out) }, sipsimple_result::Ok);
        let routes: serde_json::Value = serde_json::from_str(&take_string(out)).unwrap();
        assert_eq!(routes[0]["transport"], "tls");
        assert_eq!(routes[0]["port"], 5061);
        assert_eq!(unsafe { sipsimple_dns_lookup_wait(lookup, 10_000, &mut out) }, sipsimple_result::Ok);
        assert_eq!(take_string(out), r#"[["10.1.2.3",3478]]"#);
        out = null_mut();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(remembered(lookup), 0);

        // The same outcomes as notifications, in order, sent by the lookup.
        let (sender, data) = next_named(queue, "DNSLookupDidSucceed");
        assert_eq!(sender, lookup);
        assert_eq!(data["result"][0]["address"], "127.0.0.1");
        assert_eq!(next_named(queue, "DNSLookupDidSucceed").1["result"][0]["transport"], "tls");
        assert_eq!(next_named(queue, "DNSLookupDidSucceed").1["result"][0][1], 3478);

        // An unsupported transport fails: the wait says so, and so does the notification.
        assert_eq!(sip_proxy(lookup, c"sip:127.0.0.1;transport=tls", &[c"udp"]), sipsimple_result::Ok);
        assert_eq!(unsafe { sipsimple_dns_lookup_wait(lookup, 10_000, &mut out) }, sipsimple_result::LookupFailed);
        assert!(out.is_null());
        assert!(last_error().contains("tls dictated by URI is not supported"), "{}", last_error());
        let (_, data) = next_named(queue, "DNSLookupDidFail");
        assert!(data["error"].as_str().unwrap().contains("not supported"), "{data}");
        assert_eq!(unsafe { sipsimple_dns_lookup_wait(lookup, 0, &mut out) }, sipsimple_result::InvalidState);

        // A name under .invalid fails (NXDOMAIN, or the lifetime of 3 s runs out).
        let started = Instant::now();
        assert_eq!(sip_proxy(lookup, c"sip:nonexistent.invalid", &[c"udp"]), sipsimple_result::Ok);
        let r = unsafe { sipsimple_dns_lookup_wait(lookup, 20_000, &mut out) };
        assert_eq!(r, sipsimple_result::LookupFailed, "{}", last_error());
        assert!(started.elapsed() < Duration::from_secs(15));
        next_named(queue, "DNSLookupDidFail");

        // Results nobody waited for go with the lookup object.
        assert_eq!(sip_proxy(lookup, c"sip:127.0.0.1", &[c"udp"]), sipsimple_result::Ok);
        assert_eq!(remembered(lookup), 1);
        assert_eq!(sipsimple_dns_lookup_free(lookup), sipsimple_result::Ok);
        assert_eq!(remembered(lookup), 0);
        assert_eq!(sipsimple_notification_queue_free(queue), sipsimple_result::Ok);
        stop_application(app_queue);
    }
}
