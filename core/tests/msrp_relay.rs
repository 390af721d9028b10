//! MSRP relays (RFC 4976) against a real relay: Kamailio's msrp module
//! (tests/peers/kamailio_msrp.cfg) on 127.0.0.1 over TCP, digest
//! authentication with the subscribers' SIP passwords (realm 127.0.0.1).
//!
//! - Two accounts of a running application (alice and bob, whose
//!   `nat_traversal.msrp_relay` names the relay) each reserve a path:
//!   AUTH is challenged (401), answered with the account's credentials
//!   and granted (200 with Use-Path and Expires). Two MsrpConnections on
//!   the reserved connections (`MsrpConnectOptions::connected`, paths from
//!   the reservations) exchange messages both ways through the relay, with
//!   success reports. Alice then refreshes her reservation with AUTH on
//!   the running connection and gets a new path. Without the setting an
//!   account's relay is the one of its domain (DNSLookup): an address
//!   domain is its own relay; a named domain's relay comes from its
//!   `_msrps._tcp` SRV records (a static zone here), where carol reserves.
//! - A chat call with both sides behind the relay (alice's outgoing stream
//!   with `nat_traversal.use_msrp_relay_for_outbound`, bob's incoming one):
//!   the streams reserve their paths, and messages flow both ways through
//!   the relay and are reported delivered.
//! - A wrong password: the relay challenges the answer again and the
//!   reservation fails with `RelayError::CredentialsRejected`.
//!
//! Kamailio comes from Debian's `kamailio` package (tests/setup.sh installs
//! it); without it the tests say why and pass.

#[path = "support/app.rs"]
mod app;

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sipsimple_core::account::{Credentials, Secret};
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::lookup::{DNSLookup, LookupOptions, StaticResolver};
use sipsimple_core::msrp::message::MsrpUri;
use sipsimple_core::msrp::relay::{
    MsrpRelay, RefreshOutcome, RelayError, RelayOptions, RelayRefresher, RelayReservation, RelaySetting, RelayTarget,
    locate_relay, reserve_relay_path,
};
use sipsimple_core::msrp::sdp::ConnectionRole;
use sipsimple_core::msrp::session::MsrpEvent;
use sipsimple_core::msrp::transport::{MsrpConnectOptions, MsrpConnection, MsrpEventReceiver};
use sipsimple_core::notification::{NotificationCenter, NotificationRecorder};
use sipsimple_core::session::Session;
use sipsimple_core::streams::{ChatStream, MediaStream};
use sipsimple_core::{SIPApplication, Value};

const T: Duration = Duration::from_secs(15);
/// The subscribers: (username, password).
const USERS: [(&str, &str); 3] = [("alice", "alicepw"), ("bob", "bobpw"), ("carol", "carolpw")];
/// Their domain and digest realm.
const DOMAIN: &str = "127.0.0.1";

static APPLICATION: Mutex<()> = Mutex::new(());

/// Serializes the tests that use the SIPApplication singleton.
fn application_lock() -> MutexGuard<'static, ()> {
    APPLICATION.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Kamailio as an MSRP relay

fn find_kamailio() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join("kamailio")).find(|p| p.is_file())
}

/// A free TCP port on 127.0.0.1 now.
fn free_tcp_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|l| l.local_addr()).expect("a free TCP port").port()
}

/// Kamailio's empty db_text tables plus the subscribers.
fn write_db(db: &Path) {
    use md5::{Digest, Md5};
    let md5 = |s: String| Md5::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>();
    fs::create_dir_all(db).expect("create the db directory");
    let templates = Path::new("/usr/share/kamailio/dbtext/kamailio");
    for entry in fs::read_dir(templates).expect("Kamailio's db_text templates").flatten() {
        if entry.path().is_file() {
            fs::copy(entry.path(), db.join(entry.file_name())).expect("copy a db_text table");
        }
    }
    let path = db.join("subscriber");
    let mut table = fs::read_to_string(&path).expect("the subscriber table template");
    if !table.ends_with('\n') {
        table.push('\n');
    }
    // id:username:domain:password:ha1:ha1b (the ha1 columns must not be empty).
    for (id, (user, password)) in USERS.iter().enumerate() {
        let ha1 = md5(format!("{user}:{DOMAIN}:{password}"));
        let ha1b = md5(format!("{user}@{DOMAIN}:{DOMAIN}:{password}"));
        table.push_str(&format!("{}:{user}:{DOMAIN}:{password}:{ha1}:{ha1b}\n", id + 1));
    }
    fs::write(&path, table).expect("write the subscriber table");
}

/// A running Kamailio MSRP relay on 127.0.0.1; its process group is
/// killed on drop.
struct Relay {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Relay {
    /// Starts the relay, or `None` (having said why) when Kamailio is not
    /// installed.
    fn start() -> Option<Relay> {
        let Some(binary) = find_kamailio() else {
            eprintln!("SKIPPED: kamailio is not installed (Debian package `kamailio`; tests/setup.sh installs it)");
            return None;
        };
        let dir = tempfile::Builder::new().prefix("sipsimple-msrp-relay-").tempdir().expect("a temporary directory");
        write_db(&dir.path().join("db"));
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/kamailio_msrp.cfg");
        let mut relay = Relay { dir, port: 0, child: None };
        let mut last_error = String::new();
        // Another process may take the port between choosing and binding it.
        for _ in 0..5 {
            relay.port = free_tcp_port();
            match relay.launch(&binary, &config) {
                Ok(()) => return Some(relay),
                Err(e) => {
                    last_error = e;
                    relay.stop();
                }
            }
        }
        panic!("the Kamailio MSRP relay did not start: {last_error}");
    }

    /// Checks the configuration, starts Kamailio on `self.port` and waits
    /// until it answers.
    fn launch(&mut self, binary: &Path, config: &Path) -> Result<(), String> {
        let defines =
            [format!("MSRP_PORT={}", self.port), format!("DBURL=\"text://{}/db\"", self.dir.path().display())];
        let defines: Vec<String> = defines.into_iter().flat_map(|d| ["-A".to_owned(), d]).collect();
        let output = Command::new(binary)
            .arg("-c")
            .arg("-f")
            .arg(config)
            .args(&defines)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        if !output.status.success() {
            panic!(
                "`kamailio -c` rejects {}:\n{}{}",
                config.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("kamailio.log"))
            .map_err(|e| format!("cannot open the log: {e}"))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("timeout")
            .arg("600")
            .arg(binary)
            .args(["-DD", "-E", "-m", "64", "-M", "8", "-f"])
            .arg(config)
            .arg("-Y")
            .arg(self.dir.path())
            .args(&defines)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run timeout {}: {e}", binary.display()))?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Waits until an AUTH without credentials gets its 401.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let auth = format!(
            "MSRP probe1 AUTH\r\nTo-Path: msrp://127.0.0.1:{port};tcp\r\n\
             From-Path: msrp://127.0.0.1:9/probe;tcp\r\n-------probe1$\r\n",
            port = self.port
        );
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("kamailio exited with {status}\n{}", self.log()));
            }
            let answered = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, self.port).into(), Duration::from_secs(1))
                .and_then(|mut stream| {
                    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
                    stream.write_all(auth.as_bytes())?;
                    let mut buffer = [0u8; 1024];
                    let n = stream.read(&mut buffer)?;
                    Ok(buffer[..n].starts_with(b"MSRP probe1 401"))
                })
                .unwrap_or(false);
            if answered {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("no 401 to AUTH on 127.0.0.1:{}\n{}", self.port, self.log()))
    }

    /// The relay setting reaching it.
    fn setting(&self) -> String {
        format!("127.0.0.1:{};transport=tcp", self.port)
    }

    fn log(&self) -> String {
        fs::read(self.dir.path().join("kamailio.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let group = format!("-{}", child.id());
        let kill = |signal: &str| {
            Command::new("kill")
                .args(["-s", signal, "--", &group])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        kill("TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut exited = false;
        while Instant::now() < deadline {
            exited = exited || matches!(child.try_wait(), Ok(Some(_)));
            if exited && !kill("0") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kill("KILL");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// Helpers

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime")
}

/// The next event matching `wanted`, within [`T`]; the others are kept in
/// `seen` for the failure message.
async fn next_matching(
    events: &mut MsrpEventReceiver,
    seen: &mut Vec<MsrpEvent>,
    mut wanted: impl FnMut(&MsrpEvent) -> bool,
) -> MsrpEvent {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) if wanted(&event) => return event,
            Ok(Some(event)) => seen.push(event),
            Ok(None) => panic!("the connection ended; events: {seen:?}"),
            Err(_) => panic!("no matching event within {T:?}; events: {seen:?}"),
        }
    }
}

/// A message with a body (the empty binding SEND is skipped).
fn is_message(event: &MsrpEvent) -> bool {
    matches!(event, MsrpEvent::MessageReceived { body, .. } if !body.is_empty())
}

fn delivered(message_id: &str) -> impl FnMut(&MsrpEvent) -> bool + '_ {
    move |event| match event {
        MsrpEvent::MessageDelivered { message_id: id, .. } => id == message_id,
        MsrpEvent::MessageNotDelivered { message_id: id, .. } => {
            panic!("{id} was not delivered: {event:?}")
        }
        _ => false,
    }
}

/// Checks a reservation granted by the relay on `port`.
fn assert_granted(reservation: &RelayReservation, port: u16) {
    let [use_uri] = &reservation.grant.use_path[..] else { panic!("one relay URI: {:?}", reservation.grant) };
    assert_eq!((use_uri.host.as_str(), use_uri.port), ("127.0.0.1", Some(port)), "{use_uri}");
    assert!(use_uri.session_id.is_some(), "{use_uri}");
    // Kamailio's maximum (auth_max_expires): AUTH asks for no Expires (Kamailio 5.6 reads an
    // AUTH's Expires from the wrong header and never answers it).
    assert_eq!(reservation.grant.expires, Duration::from_secs(3600), "the relay's choice");
    let refresh_in = reservation.grant.refresh_at() - reservation.grant.granted_at;
    assert_eq!(refresh_in, Duration::from_secs(3600 - 60), "refreshed a minute before expiry");
    assert_eq!(reservation.auth.requests_sent(), 2, "AUTH, 401, AUTH with credentials, 200");
    assert_eq!(reservation.sdp_path(), vec![use_uri.clone(), reservation.local_uri.clone()]);
    assert_eq!(reservation.local_path(), vec![reservation.local_uri.clone()]);
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn two_accounts_reserve_paths_at_the_relay_and_exchange_messages_through_it() {
    let Some(relay) = Relay::start() else { return };
    let _lock = application_lock();
    let recorder = NotificationRecorder::new();
    NotificationCenter::default_center().add_observer(recorder.clone(), None, None);
    app::start_with_settings(&recorder, &[]);
    let account = |user: &str, password: &str, relay_setting: Option<&str>| {
        let account = app::unregistered_account(&format!("{user}@{DOMAIN}"));
        account.settings().set("auth.password", Value::from(password)).unwrap();
        account.settings().set("msrp.transport", Value::from("tcp")).unwrap();
        let setting = relay_setting.map_or(Value::Null, Value::from);
        account.settings().set("nat_traversal.msrp_relay", setting).unwrap();
        account.save().unwrap();
        account
    };
    let alice = account("alice", "alicepw", Some(&relay.setting()));
    let bob = account("bob", "bobpw", Some(&relay.setting()));
    let carol = account("carol", "carolpw", None);

    let rt = runtime();
    let options = RelayOptions::default();
    let (alice_relay, discovered) = rt.block_on(async {
        let alice_relay = locate_relay(&alice, LookupOptions::default()).await.expect("alice's relay");
        let discovered = locate_relay(&carol, LookupOptions::default()).await.expect("carol's relay");
        (alice_relay, discovered)
    });
    assert_eq!(alice_relay.uri.to_string(), format!("msrp://127.0.0.1:{};tcp", relay.port));
    assert_eq!(alice_relay.addresses, vec![("127.0.0.1".to_owned(), relay.port)]);
    // Without the setting, the relay of the domain: an address domain is its own relay on 2855.
    assert_eq!(discovered.uri.to_string(), "msrp://127.0.0.1;tcp");
    assert_eq!(discovered.addresses, vec![("127.0.0.1".to_owned(), 2855)]);

    // A named domain's relay comes from its _msrps._tcp SRV records; carol reserves there.
    let zone = StaticResolver::new()
        .srv_record("_msrps._tcp.relay.test", 0, 0, relay.port, "kamailio.relay.test")
        .a_record("kamailio.relay.test", Ipv4Addr::LOCALHOST);
    let lookup = DNSLookup::with_resolver(Arc::new(zone));
    let target = RelayTarget::Discover { domain: "relay.test".into(), tls: false };
    let carol_res = rt.block_on(async {
        let srv_relay = target.resolve_with(&lookup, LookupOptions::default()).await.expect("the SRV relay");
        assert_eq!(srv_relay.uri.to_string(), "msrp://relay.test;tcp");
        assert_eq!(srv_relay.addresses, vec![("127.0.0.1".to_owned(), relay.port)]);
        reserve_relay_path(&srv_relay, &carol.credentials(), &RelayOptions::default()).await
    });
    let _ = lookup.release();
    let carol_res = carol_res.unwrap_or_else(|e| panic!("carol's reservation: {e}\n{}", relay.log()));
    assert_granted(&carol_res, relay.port);
    drop(carol_res);

    let (alice_res, bob_res) = rt.block_on(async {
        let bob_relay = locate_relay(&bob, LookupOptions::default()).await.expect("bob's relay");
        let a = reserve_relay_path(&alice_relay, &alice.credentials(), &options).await;
        let b = reserve_relay_path(&bob_relay, &bob.credentials(), &options).await;
        (a, b)
    });
    let alice_res = alice_res.unwrap_or_else(|e| panic!("alice's reservation: {e}\n{}", relay.log()));
    let bob_res = bob_res.unwrap_or_else(|e| panic!("bob's reservation: {e}\n{}", relay.log()));
    assert_granted(&alice_res, relay.port);
    assert_granted(&bob_res, relay.port);
    assert_ne!(alice_res.grant.use_path, bob_res.grant.use_path, "one path per reservation");

    // What each side would put in its SDP, and the paths its session uses.
    let alice_sdp_path = alice_res.sdp_path();
    let bob_sdp_path = bob_res.sdp_path();
    let (alice_local, alice_to) = (alice_res.local_path(), alice_res.to_path(&bob_sdp_path));
    let (bob_local, bob_to) = (bob_res.local_path(), bob_res.to_path(&alice_sdp_path));
    assert_eq!(alice_to.len(), 3, "alice's relay, bob's relay, bob: {alice_to:?}");
    let RelayReservation { io: alice_io, auth: alice_auth, grant: alice_grant, .. } = alice_res;
    let RelayReservation { io: bob_io, .. } = bob_res;

    let connect = |local: Vec<MsrpUri>, remote: Vec<MsrpUri>, role, io| {
        let options = MsrpConnectOptions { connected: Some(io), ..MsrpConnectOptions::default() };
        MsrpConnection::connect(rt.handle(), local, remote, role, options).expect("a connection")
    };
    let (alice_connection, mut alice_events) = connect(alice_local, alice_to, ConnectionRole::Active, alice_io);
    let (bob_connection, mut bob_events) = connect(bob_local, bob_to, ConnectionRole::Passive, bob_io);

    rt.block_on(async {
        let (mut alice_seen, mut bob_seen) = (Vec::new(), Vec::new());
        for round in 0..3 {
            let text = format!("hello bob, through the relay ({round})");
            let id = alice_connection.send_message("text/plain", text.clone().into_bytes(), true).unwrap();
            let received = next_matching(&mut bob_events, &mut bob_seen, is_message).await;
            let MsrpEvent::MessageReceived { message_id, content_type, body, .. } = received else { unreachable!() };
            assert_eq!((message_id.as_str(), content_type.as_deref()), (id.as_str(), Some("text/plain")));
            assert_eq!(String::from_utf8(body).unwrap(), text);
            next_matching(&mut alice_events, &mut alice_seen, delivered(&id)).await;

            let reply = format!("hello alice, back through the relay ({round})");
            let id = bob_connection.send_message("text/plain", reply.clone().into_bytes(), true).unwrap();
            let received = next_matching(&mut alice_events, &mut alice_seen, is_message).await;
            let MsrpEvent::MessageReceived { message_id, body, .. } = received else { unreachable!() };
            assert_eq!(message_id, id);
            assert_eq!(String::from_utf8(body).unwrap(), reply);
            next_matching(&mut bob_events, &mut bob_seen, delivered(&id)).await;
        }

        // Refreshing alice's reservation on the running connection.
        let mut refresher = RelayRefresher::new(alice_auth, alice_grant);
        refresher.refresh(&alice_connection).unwrap();
        assert!(refresher.is_refreshing());
        let grant = loop {
            let event = next_matching(&mut alice_events, &mut alice_seen, |event| {
                matches!(event, MsrpEvent::ResponseReceived { .. })
            })
            .await;
            match refresher.handle_event(Instant::now(), &event, &alice_connection) {
                Ok(RefreshOutcome::Refreshed(grant)) => break grant,
                Ok(RefreshOutcome::Pending | RefreshOutcome::NotMine) => {}
                Err(e) => panic!("the refresh: {e}\n{}", relay.log()),
            }
        };
        assert_eq!(grant.expires, Duration::from_secs(3600));
        assert_eq!(grant.use_path.len(), 1);
        assert_eq!(refresher.grant(), &grant);
        assert!(!refresher.is_refreshing());

        // The session still works after the refresh.
        let id = alice_connection.send_message("text/plain", b"after the refresh".to_vec(), true).unwrap();
        let received = next_matching(&mut bob_events, &mut bob_seen, is_message).await;
        assert!(matches!(received, MsrpEvent::MessageReceived { body, .. } if body == b"after the refresh"));
        next_matching(&mut alice_events, &mut alice_seen, delivered(&id)).await;

        alice_connection.close();
        bob_connection.close();
    });
    let log = relay.log();
    assert!(log.contains("MSRP frame AUTH") && log.contains("MSRP frame SEND"), "{log}");

    SIPApplication::instance().stop().expect("the application stops");
    recorder.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
}

#[test]
fn a_wrong_password_is_refused_with_a_typed_error() {
    let Some(relay) = Relay::start() else { return };
    let rt = runtime();
    let target = RelayTarget::Configured(RelaySetting::parse(&relay.setting()).unwrap());
    let result = rt.block_on(async {
        let relay: MsrpRelay = target.resolve(LookupOptions::default()).await.unwrap();
        let credentials = Credentials { username: "bob".into(), password: Secret::new("not-bobs-password") };
        reserve_relay_path(&relay, &credentials, &RelayOptions::default()).await
    });
    match result {
        Err(RelayError::CredentialsRejected { relay: uri, username }) => {
            assert_eq!(uri, format!("msrp://127.0.0.1:{};tcp", relay.port));
            assert_eq!(username, "bob");
        }
        other => panic!("expected CredentialsRejected, got {other:?}\n{}", relay.log()),
    }
    // An unknown user gets the same answer.
    let result = rt.block_on(async {
        let relay = MsrpRelay::from_setting(&RelaySetting::parse(&relay.setting()).unwrap());
        let credentials = Credentials { username: "mallory".into(), password: Secret::new("x") };
        reserve_relay_path(&relay, &credentials, &RelayOptions::default()).await
    });
    assert!(matches!(result, Err(RelayError::CredentialsRejected { .. })), "{result:?}");
}

#[test]
fn an_unreachable_relay_is_a_connect_error() {
    let port = free_tcp_port();
    let relay = MsrpRelay::from_setting(&RelaySetting::parse(&format!("127.0.0.1:{port};transport=tcp")).unwrap());
    let credentials = Credentials { username: "alice".into(), password: Secret::new("alicepw") };
    let result = runtime().block_on(reserve_relay_path(&relay, &credentials, &RelayOptions::default()));
    assert!(matches!(result, Err(RelayError::Connect { .. })), "{result:?}");
    // TLS relays need TLS settings.
    let tls_relay = MsrpRelay::from_setting(&RelaySetting::parse(&format!("127.0.0.1:{port}")).unwrap());
    let result = runtime().block_on(reserve_relay_path(&tls_relay, &credentials, &RelayOptions::default()));
    assert!(matches!(&result, Err(RelayError::Connect { reason, .. }) if reason.contains("TLS")), "{result:?}");
}

/// The `content` of each `ChatStreamGotMessage` `stream` posted.
fn chat_contents(recorder: &NotificationRecorder, stream: sipsimple_core::Handle) -> Vec<String> {
    let sender = Value::Object(stream);
    recorder
        .all()
        .into_iter()
        .filter(|n| n.name == "ChatStreamGotMessage" && n.sender == sender)
        .map(|n| {
            let message = n.data.get("message").and_then(Value::as_map).cloned().unwrap_or_default();
            message.get("content").and_then(Value::as_str).unwrap_or_default().to_owned()
        })
        .collect()
}

/// A chat call where both sides are behind the relay: alice's outgoing
/// chat stream (`nat_traversal.use_msrp_relay_for_outbound`) and bob's
/// incoming one each reserve a path at their `nat_traversal.msrp_relay`;
/// each SDP path starts with the relay, and messages flow both ways and are
/// reported delivered. (Kamailio forwards towards an endpoint only over a
/// connection that reserved a path: a caller without a relay would get
/// bob's messages over a new connection from the relay to its listener.)
#[test]
fn a_chat_call_runs_through_the_relay_when_both_sides_use_it() {
    let Some(relay) = Relay::start() else { return };
    let run = app::two_accounts(&APPLICATION);
    for (account, password) in [(&run.alice, "alicepw"), (&run.bob, "bobpw")] {
        account.settings().set("msrp.transport", Value::from("tcp")).unwrap();
        account.settings().set("auth.password", Value::from(password)).unwrap();
        account.save().unwrap();
    }
    for account in [&run.alice, &run.bob] {
        account.settings().set("nat_traversal.msrp_relay", Value::from(relay.setting())).unwrap();
        account.save().unwrap();
    }
    run.alice.settings().set("nat_traversal.use_msrp_relay_for_outbound", Value::Bool(true)).unwrap();
    run.alice.save().unwrap();

    let wait = |name: &str, sender: sipsimple_core::Handle, n: usize| {
        let sender = Value::Object(sender);
        run.recorder
            .wait_until(T, |seen| seen.iter().filter(|x| x.name == name && x.sender == sender).nth(n - 1).cloned())
            .unwrap_or_else(|| panic!("no {name} #{n}; got {:?}\n{}", run.recorder.names(), relay.log()))
    };
    let alice_stream = ChatStream::new(&run.alice);
    let call = Session::new(&run.alice);
    let offered: Vec<Arc<dyn MediaStream>> = vec![alice_stream.clone()];
    call.connect_with_streams(&run.bob_uri(), offered, None).unwrap();
    let got = run.recorder.wait_for("SIPSessionNewIncoming", T).expect("SIPSessionNewIncoming");
    let incoming = handle::resolve::<Session>(got.sender.as_object().unwrap(), ObjectKind::Session).unwrap();
    let proposed = incoming.proposed_streams();
    let bob_stream = proposed[0].clone().as_any().downcast::<ChatStream>().expect("a ChatStream");
    incoming.accept_streams(&proposed).unwrap();
    for stream in [&alice_stream, &bob_stream] {
        wait("MediaStreamDidStart", stream.handle(), 1);
    }
    // Each side's path goes through the relay.
    for path in [alice_stream.remote_path(), bob_stream.remote_path()] {
        assert_eq!(path.len(), 2, "{path:?}");
        assert!(path[0].starts_with(&format!("msrp://127.0.0.1:{}/", relay.port)), "{path:?}");
    }

    for i in 1..=3 {
        alice_stream.send_message(format!("alice {i}"), "text/plain", Default::default()).unwrap();
        wait("ChatStreamGotMessage", bob_stream.handle(), i);
        wait("ChatStreamDidDeliverMessage", alice_stream.handle(), i);
        bob_stream.send_message(format!("bob {i}"), "text/plain", Default::default()).unwrap();
        wait("ChatStreamGotMessage", alice_stream.handle(), i);
        wait("ChatStreamDidDeliverMessage", bob_stream.handle(), i);
    }
    assert_eq!(chat_contents(&run.recorder, bob_stream.handle()), ["alice 1", "alice 2", "alice 3"]);
    assert_eq!(chat_contents(&run.recorder, alice_stream.handle()), ["bob 1", "bob 2", "bob 3"]);
    let log = relay.log();
    assert!(log.contains("MSRP frame AUTH") && log.contains("MSRP frame SEND"), "{log}");

    call.end().unwrap();
    wait("SIPSessionDidEnd", incoming.handle(), 1);
    wait("SIPSessionDidEnd", call.handle(), 1);
    run.stop();
}
