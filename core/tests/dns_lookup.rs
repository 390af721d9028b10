//! DNSManager and DNSLookup against a real DNS server on loopback: dnsmasq,
//! started by the test on a free port with the zone in `tests/dns/zone.conf`
//! (NAPTR, SRV, A, AAAA and TXT records for `example.test`, `broken.test`,
//! `badnaptr.test`, `srvonly.test`, `aonly.test` and `weighted.test`).
//!
//! dnsmasq comes from Debian's `dnsmasq-base` package; when it is missing
//! the test installs it with apt-get, and fails with a clear message when
//! that is impossible. The server is killed when the test ends.
//!
//! DNSManager is a process-wide singleton, so the scenarios run in sequence
//! inside one test.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sipsimple_core::lookup::{DNSLookup, DNSManager, LookupOptions, Route, StaticResolver, Transport};
use sipsimple_core::notification::NotificationRecorder;
use sipsimple_core::{NotificationCenter, Value};

const T: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// The DNS server

fn find_dnsmasq() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join("dnsmasq")).find(|p| p.is_file())
}

/// The dnsmasq binary, installed from Debian's packages if needed.
fn dnsmasq() -> PathBuf {
    if let Some(p) = find_dnsmasq() {
        return p;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let install = ["install", "-y", "--no-install-recommends", "dnsmasq-base"];
    if !apt(&install) {
        let _ = apt(&["update"]);
        let _ = apt(&install);
    }
    find_dnsmasq().unwrap_or_else(|| {
        panic!(
            "dnsmasq is needed for the DNS tests and could not be installed \
             (tried `apt-get install -y --no-install-recommends dnsmasq-base`); install it and run again"
        )
    })
}

/// A port free for both UDP and TCP on 127.0.0.1.
fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(udp) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else { continue };
        let Ok(addr) = udp.local_addr() else { continue };
        if TcpListener::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no free port on 127.0.0.1");
}

/// A minimal DNS query (A record, recursion not desired).
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// dnsmasq serving `tests/dns/zone.conf` on 127.0.0.1:`port`; killed on drop.
struct DnsServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl DnsServer {
    fn start() -> DnsServer {
        let binary = dnsmasq();
        let zone = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dns/zone.conf");
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("sipsimple-dnsmasq-{port}.log"));
            let child = Command::new(&binary)
                .arg("--keep-in-foreground")
                .arg(format!("--conf-file={}", zone.display()))
                .arg("--listen-address=127.0.0.1")
                .arg("--bind-interfaces")
                .arg(format!("--port={port}"))
                .arg("--pid-file=")
                .arg("--log-queries")
                .arg(format!("--log-facility={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let mut server = DnsServer { child, port, log };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("dnsmasq did not start: {last_error}");
    }

    /// Waits until the server answers a query (or has exited).
    fn wait_ready(&mut self) -> Result<(), String> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
        socket.set_read_timeout(Some(Duration::from_millis(100))).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + T;
        let mut id = 1u16;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
                }
                return Err(format!("dnsmasq exited with {status}: {stderr}"));
            }
            let query = dns_query(id, "aonly.test");
            let _ = socket.send_to(&query, (Ipv4Addr::LOCALHOST, self.port));
            let mut buf = [0u8; 512];
            if let Ok((n, _)) = socket.recv_from(&mut buf)
                && n >= 2
                && buf[..2] == id.to_be_bytes()
            {
                return Ok(());
            }
            id = id.wrapping_add(1);
        }
        Err("no answer within 10 s".into())
    }

    fn nameserver(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        } else {
            eprintln!("dnsmasq log kept at {}", self.log.display());
        }
    }
}

/// A UDP socket and a TCP listener that never answer: a nameserver that
/// times out.
struct SilentServer {
    _udp: UdpSocket,
    _tcp: TcpListener,
    addr: SocketAddr,
}

impl SilentServer {
    fn start() -> SilentServer {
        for _ in 0..50 {
            let Ok(udp) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else { continue };
            let Ok(addr) = udp.local_addr() else { continue };
            if let Ok(tcp) = TcpListener::bind(addr) {
                return SilentServer { _udp: udp, _tcp: tcp, addr };
            }
        }
        panic!("no free port on 127.0.0.1");
    }
}

// ---------------------------------------------------------------------------
// Helpers

fn route(address: &str, port: u16, transport: Transport, tls_name: &str) -> Route {
    Route::new(address, Some(port), transport, Some(tls_name.to_owned()))
}

/// A lookup object whose notifications are recorded.
struct Probe {
    lookup: Arc<DNSLookup>,
    rec: Arc<NotificationRecorder>,
}

impl Probe {
    fn new() -> Probe {
        let lookup = DNSLookup::new();
        lookup.set_srv_seed(Some(1));
        let rec = NotificationRecorder::new();
        NotificationCenter::default_center().add_observer(rec.clone(), None, Some(Value::Object(lookup.handle())));
        Probe { lookup, rec }
    }

    /// The `result` of DNSLookupDidSucceed, asserting that nothing failed.
    fn succeeded(&self) -> Value {
        let n = self.rec.wait_for("DNSLookupDidSucceed", T).unwrap_or_else(|| {
            panic!(
                "no DNSLookupDidSucceed; got {:?}",
                self.rec.all().iter().map(|n| (&n.name, n.data.to_json())).collect::<Vec<_>>()
            )
        });
        assert!(!self.rec.names().contains(&"DNSLookupDidFail".to_owned()));
        n.data.get("result").cloned().unwrap_or_default()
    }

    /// The `error` of DNSLookupDidFail.
    fn failed(&self) -> String {
        let n = self.rec.wait_for("DNSLookupDidFail", T).expect("DNSLookupDidFail");
        n.data.get("error").and_then(Value::as_str).unwrap_or_default().to_owned()
    }

    fn traces(&self) -> Vec<sipsimple_core::Notification> {
        self.rec.all().into_iter().filter(|n| n.name == "DNSLookupTrace").collect()
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = NotificationCenter::default_center().remove_observer(
            &*self.rec,
            None,
            Some(Value::Object(self.lookup.handle())),
        );
        let _ = self.lookup.release();
    }
}

fn routes_value(routes: &[Route]) -> Value {
    Value::List(routes.iter().map(Route::to_value).collect())
}

/// `lookup_sip_proxy` through the notification path and the returned
/// result; both must agree.
fn proxy(uri: &str, supported: &[&str]) -> Vec<Route> {
    let probe = Probe::new();
    let routes = probe
        .lookup
        .lookup_sip_proxy(uri, supported, None, LookupOptions::default())
        .wait()
        .unwrap_or_else(|e| panic!("{uri}: {e}"));
    assert_eq!(probe.succeeded(), routes_value(&routes), "{uri}");
    routes
}

fn proxy_error(uri: &str, supported: &[&str]) -> String {
    let probe = Probe::new();
    let err = probe.lookup.lookup_sip_proxy(uri, supported, None, LookupOptions::default()).wait().unwrap_err();
    assert_eq!(probe.failed(), err.to_string());
    err.to_string()
}

const ALL: &[&str] = &["udp", "tcp", "tls"];

// ---------------------------------------------------------------------------

#[test]
fn lookups_against_a_real_dns_server() {
    let server = DnsServer::start();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
    let manager = DNSManager::instance();
    let center = NotificationCenter::default_center();
    let manager_rec = NotificationRecorder::new();
    center.add_observer(manager_rec.clone(), None, Some(Value::Object(manager.handle())));

    // Before start: lookups fail at once, with the notification.
    {
        let probe = Probe::new();
        let err = probe.lookup.lookup_xcap_server("sip:example.test", LookupOptions::default()).wait().unwrap_err();
        assert_eq!(err.to_string(), "DNSManager is not running");
        assert_eq!(probe.failed(), "DNSManager is not running");
    }
    assert!(manager.set_nameservers(Some(&["not an address"])).is_err());

    // Start on our runtime with the test server as the only nameserver.
    manager.set_nameservers(Some(&[server.nameserver()])).expect("nameservers");
    manager.start(runtime.handle().clone()).expect("start");
    assert!(manager.start(runtime.handle().clone()).is_err(), "second start is an error");
    let init = manager_rec.wait_for("DNSResolverDidInitialize", T).expect("DNSResolverDidInitialize");
    assert_eq!(init.data.get("nameservers"), Some(&Value::from(vec![server.nameserver()])));
    assert_eq!(manager.nameservers(), vec![server.nameserver()]);

    // example.test: NAPTR order/preference (SIPS+D2T, then SIP+D2T, then
    // SIP+D2U; SIP+D2S ignored), each SRV by priority, A before AAAA.
    let e = "example.test";
    let full = vec![
        route("127.0.0.21", 5061, Transport::Tls, e),
        route("127.0.0.22", 5063, Transport::Tls, e),
        route("127.0.0.11", 5070, Transport::Tcp, e),
        route("::1", 5070, Transport::Tcp, e),
        route("127.0.0.11", 5060, Transport::Udp, e),
        route("::1", 5060, Transport::Udp, e),
        route("127.0.0.12", 5080, Transport::Udp, e),
    ];
    assert_eq!(proxy("sip:alice@example.test", ALL), full);
    assert_eq!(full[0].get_uri(), "sip:127.0.0.21:5061;transport=tls");
    assert_eq!(full[3].get_uri(), "sip:[::1]:5070;transport=tcp");
    // Only the supported transports.
    assert_eq!(proxy("sip:example.test", &["udp"]), full[4..].to_vec());
    assert_eq!(proxy("sip:example.test", &["UDP", "tcp"]), full[2..].to_vec());
    // sips: TLS only.
    assert_eq!(proxy("sips:example.test", ALL), full[..2].to_vec());
    assert!(proxy_error("sips:example.test", &["udp", "tcp"]).contains("TLS transport is not supported"));
    // A transport parameter: SRV for that transport only.
    assert_eq!(proxy("sip:example.test;transport=tcp", ALL), full[2..4].to_vec());
    // A port: address records only, the URI's transport.
    assert_eq!(proxy("sip:example.test:5090", ALL), vec![route("127.0.0.10", 5090, Transport::Udp, e)]);
    assert_eq!(
        proxy("sips:sip1.example.test:6000", ALL),
        vec![
            route("127.0.0.11", 6000, Transport::Tls, "sip1.example.test"),
            route("::1", 6000, Transport::Tls, "sip1.example.test"),
        ]
    );

    // broken.test: the NAPTR points to a missing SRV name → SRV
    // _sip._udp.broken.test → its target's A record.
    assert_eq!(proxy("sip:broken.test", ALL), vec![route("127.0.0.31", 5075, Transport::Udp, "broken.test")]);
    // No SRV for TCP either → A of the domain, default port.
    assert_eq!(proxy("sip:broken.test", &["tcp"]), vec![route("127.0.0.32", 5060, Transport::Tcp, "broken.test")]);
    // badnaptr.test: malformed NAPTR records only, no SRV → A.
    assert_eq!(proxy("sip:badnaptr.test", ALL), vec![route("127.0.0.41", 5060, Transport::Udp, "badnaptr.test")]);
    // srvonly.test: no NAPTR → SRV in the caller's order of transports.
    assert_eq!(
        proxy("sip:srvonly.test", &["tcp", "udp"]),
        vec![
            route("127.0.0.51", 5072, Transport::Tcp, "srvonly.test"),
            route("127.0.0.52", 5062, Transport::Udp, "srvonly.test"),
        ]
    );
    assert_eq!(
        proxy("sip:srvonly.test", &["udp", "tcp"]),
        vec![
            route("127.0.0.52", 5062, Transport::Udp, "srvonly.test"),
            route("127.0.0.51", 5072, Transport::Tcp, "srvonly.test"),
        ]
    );
    // aonly.test: A and AAAA, first supported transport, default port.
    assert_eq!(
        proxy("sip:aonly.test", ALL),
        vec![route("127.0.0.61", 5060, Transport::Udp, "aonly.test"), route("::1", 5060, Transport::Udp, "aonly.test"),]
    );
    assert_eq!(
        proxy("sip:aonly.test", &["tls", "udp"]),
        vec![route("127.0.0.61", 5061, Transport::Tls, "aonly.test"), route("::1", 5061, Transport::Tls, "aonly.test"),]
    );
    // Nothing at all.
    assert_eq!(proxy_error("sip:nothing.test", ALL), "No routes found for SIP URI sip:nothing.test");
    // Argument errors arrive the same way.
    assert_eq!(proxy_error("sip:example.test", &[]), "No transports are supported");
    assert_eq!(proxy_error("sip:example.test", &["udp", "sctp"]), "Unknown transports: sctp");

    // IP literals: no DNS query at all.
    {
        let probe = Probe::new();
        let routes =
            probe.lookup.lookup_sip_proxy("sip:[::1]:5999;transport=tcp", ALL, None, LookupOptions::default()).wait();
        assert_eq!(routes.unwrap(), vec![Route::new("::1", Some(5999), Transport::Tcp, None)]);
        probe.succeeded();
        assert!(probe.traces().is_empty());
    }

    // Equal priorities: RFC 2782 weights; a seeded lookup is reproducible.
    let weighted = proxy("sip:weighted.test", ALL);
    let mut sorted = weighted.clone();
    sorted.sort_by_key(|r| r.port);
    assert_eq!(
        sorted,
        vec![
            route("127.0.0.81", 5001, Transport::Udp, "weighted.test"),
            route("127.0.0.82", 5002, Transport::Udp, "weighted.test"),
        ]
    );
    assert_eq!(proxy("sip:weighted.test", ALL), weighted, "same seed, same order");

    // Traces: one per query, with what was asked, where, and the answer.
    {
        let probe = Probe::new();
        probe
            .lookup
            .lookup_sip_proxy("sip:bob:s3cret@broken.test", ALL, None, LookupOptions::default())
            .wait()
            .unwrap();
        probe.succeeded();
        let traces = probe.traces();
        let asked: Vec<(String, String)> = traces
            .iter()
            .map(|t| {
                let f = |k: &str| t.data.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                (f("query_type"), f("query_name"))
            })
            .collect();
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            asked[..4],
            [
                pair("NAPTR", "broken.test"),
                pair("SRV", "_sip._udp.missing.broken.test"),
                pair("SRV", "_sip._udp.broken.test"),
                pair("A", "proxy.broken.test"),
            ]
        );
        let naptr = &traces[0].data;
        assert_eq!(naptr.get("context"), Some(&Value::from("lookup_sip_proxy")));
        assert_eq!(naptr.get("uri"), Some(&Value::from("sip:broken.test")), "no user part, no password");
        assert!(traces.iter().all(|t| !t.data.to_json().to_string().contains("s3cret")));
        assert_eq!(naptr.get("nameservers"), Some(&Value::from(vec![server.nameserver()])));
        assert_eq!(naptr.get("error"), Some(&Value::Null));
        assert_eq!(
            naptr.get("answer"),
            Some(&Value::from(vec!["10 10 \"s\" \"SIP+D2U\" \"\" _sip._udp.missing.broken.test."]))
        );
        let missing = &traces[1].data;
        assert_eq!(missing.get("answer"), Some(&Value::Null));
        assert_eq!(missing.get("error"), Some(&Value::from("no records found")));
    }

    // Services: SRV, else A with the default (or given) port.
    {
        let probe = Probe::new();
        let got = probe.lookup.lookup_service("sip:alice@example.test", "msrprelay", None, LookupOptions::default());
        assert_eq!(got.wait().unwrap(), vec![("127.0.0.71".to_owned(), 2856)]);
        assert_eq!(
            probe.succeeded(),
            Value::List(vec![Value::List(vec![Value::from("127.0.0.71"), Value::from(2856u16)])])
        );
        let trace = probe.traces().into_iter().next().expect("a trace");
        assert_eq!(trace.data.get("service"), Some(&Value::from("msrprelay")));
        assert_eq!(trace.data.get("context"), Some(&Value::from("lookup_service")));
    }
    let service = |uri: &str, name: &str, port: Option<u16>| {
        let probe = Probe::new();
        let got = probe.lookup.lookup_service(uri, name, port, LookupOptions::default()).wait();
        got.map_err(|e| {
            assert_eq!(probe.failed(), e.to_string());
            e.to_string()
        })
    };
    assert_eq!(service("sip:example.test", "stun", None), Ok(vec![("127.0.0.72".to_owned(), 3479)]));
    assert_eq!(service("sip:aonly.test", "stun", None), Ok(vec![("127.0.0.61".into(), 3478), ("::1".into(), 3478)]));
    assert_eq!(
        service("sip:aonly.test", "msrprelay", None),
        Ok(vec![("127.0.0.61".into(), 2855), ("::1".into(), 2855)])
    );
    assert_eq!(service("sip:aonly.test", "msrprelay", Some(2999)).map(|v| v[0].1), Ok(2999));
    assert_eq!(service("sip:nothing.test", "stun", None), Err("No stun servers found for domain nothing.test".into()));
    assert_eq!(service("sip:example.test", "turn", None), Err("Unknown service: turn".into()));

    // XCAP: the http(s) TXT strings of xcap.<domain>.
    {
        let probe = Probe::new();
        let got = probe.lookup.lookup_xcap_server("sip:alice@example.test", LookupOptions::default()).wait();
        assert_eq!(got.unwrap(), vec!["https://xcap.example.test/xcap-root".to_owned()]);
        assert_eq!(probe.succeeded(), Value::from(vec!["https://xcap.example.test/xcap-root"]));
        let probe = Probe::new();
        let err = probe.lookup.lookup_xcap_server("sip:aonly.test", LookupOptions::default()).wait().unwrap_err();
        assert_eq!(err.to_string(), "No XCAP servers found for domain aonly.test");
        assert_eq!(probe.failed(), err.to_string());
    }

    // A PendingLookup can be awaited too.
    let lookup = DNSLookup::new();
    let routes = runtime.block_on(async {
        lookup.lookup_sip_proxy("sip:srvonly.test", &["udp"], None, LookupOptions::default()).await
    });
    assert_eq!(routes.unwrap(), vec![route("127.0.0.52", 5062, Transport::Udp, "srvonly.test")]);
    // wait() inside a runtime is refused rather than blocking it.
    let refused = runtime
        .block_on(async { lookup.lookup_sip_proxy("sip:aonly.test", &["udp"], None, LookupOptions::default()).wait() });
    assert!(refused.unwrap_err().to_string().contains("await"));
    let _ = lookup.release();

    // A lookup object with its own resolver (here a table in memory) still
    // runs on the manager's runtime and posts the same notifications.
    {
        let fake = StaticResolver::new().a_record("fake.test", Ipv4Addr::new(127, 0, 0, 99));
        let lookup = DNSLookup::with_resolver(Arc::new(fake));
        let rec = NotificationRecorder::new();
        center.add_observer(rec.clone(), None, Some(Value::Object(lookup.handle())));
        let routes = lookup.lookup_sip_proxy("sip:fake.test", ALL, None, LookupOptions::default()).wait().unwrap();
        assert_eq!(routes, vec![route("127.0.0.99", 5060, Transport::Udp, "fake.test")]);
        let done = rec.wait_for("DNSLookupDidSucceed", T).expect("DNSLookupDidSucceed");
        assert_eq!(done.data.get("result"), Some(&routes_value(&routes)));
        let _ = center.remove_observer(&*rec, None, Some(Value::Object(lookup.handle())));
        let _ = lookup.release();
    }

    // Tracing can be turned off.
    manager.set_tracing(false);
    {
        let probe = Probe::new();
        probe.lookup.lookup_sip_proxy("sip:aonly.test", ALL, None, LookupOptions::default()).wait().unwrap();
        probe.succeeded();
        assert!(probe.traces().is_empty());
    }
    manager.set_tracing(true);

    // A nameserver that never answers: timeout within the lifetime.
    let silent = SilentServer::start();
    manager_rec.clear();
    manager.set_nameservers(Some(&[silent.addr.to_string()])).unwrap();
    let changed = manager_rec.wait_for("DNSNameserversDidChange", T).expect("DNSNameserversDidChange");
    assert_eq!(changed.data.get("nameservers"), Some(&Value::from(vec![silent.addr.to_string()])));
    {
        let probe = Probe::new();
        let options = LookupOptions::from_secs(0.2, 1.0).unwrap();
        let started = Instant::now();
        let err = probe.lookup.lookup_sip_proxy("sip:example.test", ALL, None, options).wait().unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(err.to_string(), "Timeout in lookup for routes for SIP URI sip:example.test");
        assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5), "{elapsed:?}");
        assert_eq!(probe.failed(), err.to_string());
    }
    // Setting the same list again changes nothing.
    manager_rec.clear();
    manager.set_nameservers(Some(&[silent.addr.to_string()])).unwrap();
    manager.set_nameservers(Some(&[server.nameserver()])).unwrap();
    let changed = manager_rec.wait_for("DNSNameserversDidChange", T).expect("DNSNameserversDidChange");
    assert_eq!(changed.data.get("nameservers"), Some(&Value::from(vec![server.nameserver()])));
    assert!(center.flush(T));
    assert_eq!(manager_rec.names(), vec!["DNSNameserversDidChange".to_owned()], "one change only");
    assert_eq!(proxy("sip:aonly.test", &["udp"])[0], route("127.0.0.61", 5060, Transport::Udp, "aonly.test"));

    // Stop: later lookups fail; a new start initializes again.
    manager.stop();
    assert!(!manager.running());
    assert_eq!(proxy_error("sip:aonly.test", ALL), "DNSManager is not running");
    manager_rec.clear();
    manager.start(runtime.handle().clone()).unwrap();
    manager_rec.wait_for("DNSResolverDidInitialize", T).expect("DNSResolverDidInitialize after restart");
    assert_eq!(proxy("sip:aonly.test", &["udp"]).len(), 2);
    manager.stop();
    let _ = center.remove_observer(&*manager_rec, None, Some(Value::Object(manager.handle())));
    runtime.shutdown_timeout(Duration::from_secs(2));
}
