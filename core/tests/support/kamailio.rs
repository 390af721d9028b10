//! A Kamailio SIP proxy for integration tests: registrar with digest
//! authentication, location service and request routing between registered
//! users, listening on 127.0.0.1 over UDP and TCP (one port) and TLS
//! (another port). The configuration is `tests/peers/kamailio.cfg`; this
//! module fills in its placeholders.
//!
//! Include it from a test file with
//! `#[path = "support/kamailio.rs"] mod kamailio;` and use [`Kamailio::start`].
//! Every instance has its own temporary directory (db_text database, TLS
//! certificates, control socket, log) and free ports, so test binaries can
//! run concurrently. Users: `alice`/`alicepw`, `bob`/`bobpw`,
//! `carol`/`carolpw`, realm `127.0.0.1` (the From domain).
//!
//! Kamailio comes from Debian's `kamailio` and `kamailio-tls-modules`
//! packages; when it is missing the harness installs them with apt-get and
//! panics with a clear message when that is impossible. The server runs
//! in its own process group under `timeout 600` (an orphan cannot outlive
//! the test by long) and the whole group is killed on drop.

#![allow(dead_code)]

use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Kamailio may take to answer after it is started.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// The users in the subscriber table: (username, password).
pub const USERS: [(&str, &str); 3] = [("alice", "alicepw"), ("bob", "bobpw"), ("carol", "carolpw")];
/// The digest realm (and SIP domain) of the users.
pub const DOMAIN: &str = "127.0.0.1";

// ---------------------------------------------------------------------------
// Installation

fn find_in_path(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// True when Kamailio's TLS module is installed (Debian puts modules in
/// `/usr/lib/<multiarch>/kamailio/modules`).
fn tls_module_installed() -> bool {
    let mut candidates = vec![PathBuf::from("/usr/lib/kamailio/modules/tls.so")];
    if let Ok(entries) = fs::read_dir("/usr/lib") {
        candidates.extend(entries.flatten().map(|e| e.path().join("kamailio/modules/tls.so")));
    }
    candidates.iter().any(|p| p.is_file())
}

/// The kamailio binary, with its TLS module; installed from Debian's
/// packages if needed.
fn kamailio_binary() -> PathBuf {
    if let Some(p) = find_in_path("kamailio")
        && tls_module_installed()
    {
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
    let install = ["install", "-y", "--no-install-recommends", "kamailio", "kamailio-tls-modules"];
    if !apt(&install) {
        let _ = apt(&["update"]);
        let _ = apt(&install);
    }
    match find_in_path("kamailio") {
        Some(p) if tls_module_installed() => p,
        _ => panic!(
            "Kamailio with its TLS module is needed for these tests and could not be installed \
             (tried `apt-get install -y --no-install-recommends kamailio kamailio-tls-modules`); \
             install them and run again"
        ),
    }
}

// ---------------------------------------------------------------------------
// Ports

/// A port on 127.0.0.1 free for both UDP and TCP, other than `avoid`.
fn free_udp_tcp_port(avoid: &[u16]) -> u16 {
    for _ in 0..100 {
        let Ok(udp) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else { continue };
        let Ok(addr) = udp.local_addr() else { continue };
        if !avoid.contains(&addr.port()) && TcpListener::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}

/// A TCP port on 127.0.0.1 free now, other than `avoid`.
fn free_tcp_port(avoid: &[u16]) -> u16 {
    for _ in 0..100 {
        let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else { continue };
        let Ok(addr) = tcp.local_addr() else { continue };
        if !avoid.contains(&addr.port()) {
            return addr.port();
        }
    }
    panic!("no free TCP port on 127.0.0.1");
}

// ---------------------------------------------------------------------------
// Files

/// The db_text database: Kamailio's empty tables plus the test users.
fn write_db(db: &Path) {
    use md5::{Digest, Md5};
    let md5 = |s: String| Md5::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>();
    fs::create_dir_all(db).expect("create the db directory");
    let templates = Path::new("/usr/share/kamailio/dbtext/kamailio");
    let entries = fs::read_dir(templates)
        .unwrap_or_else(|e| panic!("cannot read Kamailio's db_text templates in {}: {e}", templates.display()));
    for entry in entries.flatten() {
        if entry.path().is_file() {
            fs::copy(entry.path(), db.join(entry.file_name())).expect("copy a db_text table");
        }
    }
    let path = db.join("subscriber");
    let mut table = fs::read_to_string(&path).expect("the subscriber table template");
    if !table.ends_with('\n') {
        table.push('\n');
    }
    // id:username:domain:password:ha1:ha1b. auth_db uses the plaintext
    // password (calculate_ha1); the ha1 columns must not be empty for db_text.
    for (id, (user, password)) in USERS.iter().enumerate() {
        let ha1 = md5(format!("{user}:{DOMAIN}:{password}"));
        let ha1b = md5(format!("{user}@{DOMAIN}:{DOMAIN}:{password}"));
        table.push_str(&format!("{}:{user}:{DOMAIN}:{password}:{ha1}:{ha1b}\n", id + 1));
    }
    fs::write(&path, table).expect("write the subscriber table");
}

/// A CA (`ca.pem`) and a server certificate for 127.0.0.1 and localhost
/// signed by it (`server.pem`, `server-key.pem`), and the tls module's
/// configuration (`tls.cfg`).
fn write_tls(dir: &Path) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "sipsimple test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA certificate");

    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("server certificate parameters");
    server.distinguished_name.push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    let server_key = KeyPair::generate().expect("server key");
    let server = server.signed_by(&server_key, &ca).expect("server certificate");

    fs::write(dir.join("ca.pem"), ca.pem()).expect("write ca.pem");
    fs::write(dir.join("server.pem"), server.pem() + &ca.pem()).expect("write server.pem");
    fs::write(dir.join("server-key.pem"), server_key.serialize_pem()).expect("write server-key.pem");
    let tls_cfg = format!(
        "[server:default]\n\
         method = TLSv1.2+\n\
         verify_certificate = no\n\
         require_certificate = no\n\
         certificate = {dir}/server.pem\n\
         private_key = {dir}/server-key.pem\n\
         \n\
         [client:default]\n\
         method = TLSv1.2+\n\
         verify_certificate = no\n\
         require_certificate = no\n",
        dir = dir.display()
    );
    fs::write(dir.join("tls.cfg"), tls_cfg).expect("write tls.cfg");
}

/// An OPTIONS request to the proxy itself, answered by the config's
/// keepalive branch.
fn options_probe(transport: &str, local_port: u16, port: u16, n: u32) -> String {
    format!(
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:{local_port};branch=z9hG4bK-probe-{n}-{local_port};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@127.0.0.1>;tag=probe{n}\r\n\
         To: <sip:127.0.0.1:{port}>\r\n\
         Call-ID: probe-{n}-{local_port}@127.0.0.1\r\n\
         CSeq: {n} OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Sends `signal` to every process of group `pgid`; false when there is
/// none left (or `kill` failed).
fn signal_group(pgid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------
// The server

/// A running Kamailio (see the module documentation); killed on drop.
pub struct Kamailio {
    /// Removed on drop unless the test panicked.
    tempdir: Option<tempfile::TempDir>,
    dir: PathBuf,
    binary: PathBuf,
    udp_tcp_port: u16,
    tls_port: u16,
    child: Option<Child>,
    started: Duration,
}

impl Kamailio {
    /// Starts Kamailio on free ports and waits until it answers. Panics
    /// (with its log) when it cannot be started.
    pub fn start() -> Kamailio {
        let binary = kamailio_binary();
        let tempdir = tempfile::Builder::new().prefix("sipsimple-kamailio-").tempdir().expect("a temporary directory");
        let dir = tempdir.path().to_owned();
        write_db(&dir.join("db"));
        write_tls(&dir);
        let udp_tcp_port = free_udp_tcp_port(&[]);
        let tls_port = free_tcp_port(&[udp_tcp_port]);
        let mut kamailio = Kamailio {
            tempdir: Some(tempdir),
            dir,
            binary,
            udp_tcp_port,
            tls_port,
            child: None,
            started: Duration::ZERO,
        };
        kamailio.check_config();
        let mut last_error = String::new();
        // Another process may take a port between choosing and binding it:
        // then try other ones.
        for attempt in 0..5 {
            if attempt > 0 {
                kamailio.udp_tcp_port = free_udp_tcp_port(&[]);
                kamailio.tls_port = free_tcp_port(&[kamailio.udp_tcp_port]);
            }
            match kamailio.launch() {
                Ok(()) => return kamailio,
                Err(e) => last_error = e,
            }
        }
        panic!("Kamailio did not start: {last_error}\n--- log ---\n{}", kamailio.log());
    }

    /// Stops Kamailio and starts it again on the same ports. Registrations
    /// are kept in memory only, so they are lost.
    pub fn restart(&mut self) {
        self.stop();
        let mut last_error = String::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        // The ports may stay busy for a moment while the old processes exit.
        while Instant::now() < deadline {
            match self.launch() {
                Ok(()) => return,
                Err(e) => last_error = e,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "Kamailio did not restart on ports {}/{}: {last_error}\n--- log ---\n{}",
            self.udp_tcp_port,
            self.tls_port,
            self.log()
        );
    }

    /// Stops Kamailio (all its processes); does nothing when it is not
    /// running.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let pgid = child.id();
        signal_group(pgid, "TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut exited = false;
        let mut gone = false;
        while Instant::now() < deadline {
            if !exited {
                exited = matches!(child.try_wait(), Ok(Some(_)));
            }
            // Once our child is reaped, an empty group means every Kamailio
            // process is gone.
            if exited && !signal_group(pgid, "0") {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !gone {
            signal_group(pgid, "KILL");
        }
        // std does not signal a child it has already reaped.
        let _ = child.kill();
        let _ = child.wait();
        self.append_log("--- kamailio stopped by the test harness ---\n");
    }

    /// The UDP and TCP port (the same number).
    pub fn udp_tcp_port(&self) -> u16 {
        self.udp_tcp_port
    }

    /// The TLS port.
    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// The port for `transport` (`udp`, `tcp` or `tls`).
    pub fn port(&self, transport: &str) -> u16 {
        if transport.eq_ignore_ascii_case("tls") { self.tls_port } else { self.udp_tcp_port }
    }

    /// The PEM file of the CA that signed Kamailio's certificate (valid for
    /// `127.0.0.1` and `localhost`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// An outbound proxy setting value reaching Kamailio over `transport`
    /// (`udp`, `tcp` or `tls`), e.g. `127.0.0.1:40000;transport=tcp`.
    pub fn proxy(&self, transport: &str) -> String {
        let transport = transport.to_ascii_lowercase();
        format!("127.0.0.1:{};transport={transport}", self.port(&transport))
    }

    /// Everything Kamailio logged so far (across restarts), for assertion
    /// messages.
    pub fn log(&self) -> String {
        fs::read(self.log_path()).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    /// How long the last start took, until Kamailio answered.
    pub fn startup_time(&self) -> Duration {
        self.started
    }

    /// The location table as `kamcmd ul.dump` shows it (empty when kamcmd
    /// fails).
    pub fn ul_dump(&self) -> String {
        let socket = format!("unix:{}", self.dir.join("kamailio_ctl").display());
        Command::new("timeout")
            .args(["10", "kamcmd", "-s", &socket, "ul.dump"])
            .stdin(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/kamailio.cfg")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("kamailio.log")
    }

    fn append_log(&self, text: &str) {
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(self.log_path()) {
            let _ = f.write_all(text.as_bytes());
        }
    }

    /// The `-A` definitions for the configuration's placeholders.
    fn defines(&self) -> Vec<String> {
        let dir = self.dir.display();
        let defines = [
            format!("SIP_PORT={}", self.udp_tcp_port),
            format!("TLS_PORT={}", self.tls_port),
            format!("DBURL=\"text://{dir}/db\""),
            format!("CTLSOCK=\"unix:{dir}/kamailio_ctl\""),
            format!("TLSCFG=\"{dir}/tls.cfg\""),
        ];
        defines.into_iter().flat_map(|d| ["-A".to_owned(), d]).collect()
    }

    /// `kamailio -c`: the configuration parses and every module loads.
    fn check_config(&self) {
        let output = Command::new(&self.binary)
            .arg("-c")
            .arg("-f")
            .arg(Self::config())
            .args(self.defines())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()));
        if !output.status.success() {
            panic!(
                "`kamailio -c` rejects {}:\n{}{}",
                Self::config().display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// Starts the server on the chosen ports and waits until it answers.
    fn launch(&mut self) -> Result<(), String> {
        let begin = Instant::now();
        self.append_log(&format!(
            "--- starting kamailio on udp/tcp {} and tls {} ---\n",
            self.udp_tcp_port, self.tls_port
        ));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("cannot open the log: {e}"))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("timeout")
            .arg("600")
            .arg(&self.binary)
            .args(["-DD", "-E", "-m", "64", "-M", "8", "-f"])
            .arg(Self::config())
            .arg("-Y")
            .arg(&self.dir)
            .args(self.defines())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run timeout {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        match self.wait_ready() {
            Ok(()) => {
                self.started = begin.elapsed();
                Ok(())
            }
            Err(e) => {
                self.stop();
                Err(e)
            }
        }
    }

    /// Waits until Kamailio answers an OPTIONS over UDP and then over TCP
    /// (or has exited). The TCP answer shows that the TCP main process runs
    /// its loop: it is forked last, and a SIGTERM that arrives before it
    /// set up its handlers is lost (Kamailio then waits for it for a minute).
    fn wait_ready(&mut self) -> Result<(), String> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| e.to_string())?;
        let local_port = socket.local_addr().map_err(|e| e.to_string())?.port();
        socket.set_read_timeout(Some(Duration::from_millis(100))).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut n = 1;
        let mut udp_ready = false;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("kamailio exited with {status}"));
            }
            if !udp_ready {
                let probe = options_probe("UDP", local_port, self.udp_tcp_port, n);
                let _ = socket.send_to(probe.as_bytes(), (Ipv4Addr::LOCALHOST, self.udp_tcp_port));
                let mut buf = [0u8; 4096];
                udp_ready = matches!(socket.recv_from(&mut buf), Ok((len, _)) if buf[..len].starts_with(b"SIP/2.0 "));
            } else if self.tcp_answers(n) {
                return Ok(());
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
            n += 1;
        }
        Err(format!(
            "no answer to OPTIONS on {} 127.0.0.1:{} within {READY_TIMEOUT:?}",
            if udp_ready { "tcp" } else { "udp" },
            self.udp_tcp_port
        ))
    }

    /// True when an OPTIONS over TCP gets a SIP response.
    fn tcp_answers(&self, n: u32) -> bool {
        let Ok(mut stream) =
            TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, self.udp_tcp_port).into(), Duration::from_secs(1))
        else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let local_port = stream.local_addr().map(|a| a.port()).unwrap_or_default();
        if stream.write_all(options_probe("TCP", local_port, self.udp_tcp_port, n).as_bytes()).is_err() {
            return false;
        }
        let mut buf = [0u8; 8];
        stream.read_exact(&mut buf).is_ok() && &buf == b"SIP/2.0 "
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking()
            && let Some(tempdir) = self.tempdir.take()
        {
            // Keep the directory (log, db, certificates) for a post-mortem.
            eprintln!("Kamailio's files (log: kamailio.log) kept in {}", tempdir.keep().display());
        }
    }
}
