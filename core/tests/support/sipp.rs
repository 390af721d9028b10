//! SIPp (Debian package `sip-tester`) driven from tests: a scenario run as a
//! server (UAS) on a free 127.0.0.1 port, or as a client (UAC) towards an
//! address, with its message and error logs collected for the failure
//! message.
//!
//! Include it with `#[path = "support/sipp.rs"] mod sipp;`. Scenarios live in
//! `tests/peers/sipp/` ([`scenario`]). sipp is installed with apt-get when
//! missing; the test panics with a clear message when that is impossible.
//! Every socket sipp opens is on loopback (`-i`, `-ci`, `-mi` 127.0.0.1 and
//! `-bind_local`), it never reads the terminal (`-nostdin`), and the process
//! group is killed when the [`Sipp`] is dropped.
//!
//! ```ignore
//! let uas = Sipp::uas(&scenario("uas_register_423.xml"), &[]);
//! // ... point the code under test at 127.0.0.1:uas.port() ...
//! uas.wait(Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
//! ```

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a UAS may take to bind its port.
const BIND_TIMEOUT: Duration = Duration::from_secs(10);

/// The path of a scenario in `tests/peers/sipp/`.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/sipp").join(name)
}

fn find_sipp() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(["/usr/bin", "/usr/local/bin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join("sipp")).find(|p| p.is_file())
}

/// The sipp binary, installed from Debian's `sip-tester` package if needed.
pub fn sipp_binary() -> PathBuf {
    if let Some(p) = find_sipp() {
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
    let install = ["install", "-y", "--no-install-recommends", "sip-tester"];
    if !apt(&install) {
        let _ = apt(&["update"]);
        let _ = apt(&install);
    }
    find_sipp().unwrap_or_else(|| {
        panic!(
            "sipp is needed for the SIPp tests and could not be installed \
             (tried `apt-get install -y --no-install-recommends sip-tester`); install it and run again"
        )
    })
}

/// The transport sipp uses: one socket for all calls (`-t u1` / `-t t1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP, `-t u1` (the default).
    Udp,
    /// TCP, `-t t1`.
    Tcp,
}

impl Transport {
    fn flag(self) -> &'static str {
        match self {
            Transport::Udp => "u1",
            Transport::Tcp => "t1",
        }
    }
}

/// How to run a scenario beyond the scenario file and, for a client, the
/// target.
#[derive(Clone, Debug)]
pub struct Options {
    /// `-s`: the user part of the Request-URI (`[service]`); sipp's default
    /// is `service`.
    pub service: Option<String>,
    /// `-m`: calls to run before exiting (for a UAS, calls to answer).
    pub calls: u32,
    /// `-t`: the transport.
    pub transport: Transport,
    /// `-timeout` (with `-timeout_error`): sipp gives up and fails after it.
    pub timeout: Duration,
    /// `-key name value`: values for `[name]` in the scenario.
    pub keys: Vec<(String, String)>,
    /// Further arguments, passed as they are.
    pub args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            service: None,
            calls: 1,
            transport: Transport::Udp,
            timeout: Duration::from_secs(30),
            keys: Vec::new(),
            args: Vec::new(),
        }
    }
}

impl Options {
    /// Default options with `keys`.
    pub fn with_keys(keys: &[(&str, &str)]) -> Options {
        Options { keys: keys.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(), ..Options::default() }
    }
}

/// A running sipp; killed (with its process group) on drop.
pub struct Sipp {
    child: Option<Child>,
    status: Option<ExitStatus>,
    port: u16,
    transport: Transport,
    scenario: PathBuf,
    dir: tempfile::TempDir,
}

impl Sipp {
    /// Runs `scenario` as a server on a free 127.0.0.1 UDP port, with the
    /// `-key` values `keys`, answering one call; returns once the port is
    /// bound.
    pub fn uas(scenario: &Path, keys: &[(&str, &str)]) -> Sipp {
        Sipp::uas_with(scenario, Options::with_keys(keys))
    }

    /// Runs `scenario` as a server with `options` on a free 127.0.0.1 port;
    /// returns once the port is bound (a port taken meanwhile by someone
    /// else is retried with another).
    pub fn uas_with(scenario: &Path, options: Options) -> Sipp {
        let mut last_error = String::new();
        for _ in 0..5 {
            let mut sipp = Sipp::spawn(scenario, None, &options);
            match sipp.wait_bound() {
                Ok(()) => return sipp,
                Err(e) => last_error = e,
            }
        }
        panic!("sipp did not start as a server for {}: {last_error}", scenario.display());
    }

    /// Runs `scenario` as a client towards `target` from a free 127.0.0.1
    /// UDP port, with the `-key` values `keys`, for one call.
    pub fn uac(scenario: &Path, target: SocketAddr, keys: &[(&str, &str)]) -> Sipp {
        Sipp::uac_with(scenario, target, Options::with_keys(keys))
    }

    /// Runs `scenario` as a client towards `target` with `options`.
    pub fn uac_with(scenario: &Path, target: SocketAddr, options: Options) -> Sipp {
        Sipp::spawn(scenario, Some(target), &options)
    }

    fn spawn(scenario: &Path, target: Option<SocketAddr>, options: &Options) -> Sipp {
        assert!(scenario.is_file(), "no sipp scenario at {}", scenario.display());
        let binary = sipp_binary();
        let dir = tempfile::Builder::new()
            .prefix("sipsimple-sipp-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a directory for sipp's logs: {e}"));
        let port = free_port(options.transport);
        let control_port = free_port(Transport::Udp);
        let mut command = Command::new(&binary);
        command.arg("-sf").arg(scenario);
        if let Some(target) = target {
            command.arg(target.to_string());
        }
        command
            .args(["-i", "127.0.0.1", "-bind_local", "-ci", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin"])
            .args(["-p", &port.to_string(), "-cp", &control_port.to_string()])
            .args(["-t", options.transport.flag()])
            .args(["-m", &options.calls.to_string()])
            .args(["-timeout", &format!("{}s", options.timeout.as_secs().max(1)), "-timeout_error"])
            .arg("-trace_msg")
            .arg("-message_file")
            .arg(dir.path().join("messages.log"))
            .arg("-trace_err")
            .arg("-error_file")
            .arg(dir.path().join("errors.log"))
            .arg("-trace_logs")
            .arg("-log_file")
            .arg(dir.path().join("actions.log"));
        if let Some(service) = &options.service {
            command.args(["-s", service]);
        }
        for (key, value) in &options.keys {
            command.args(["-key", key, value]);
        }
        command.args(&options.args);
        let stdout = std::fs::File::create(dir.path().join("stdout.log")).expect("sipp stdout log");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("sipp stderr log");
        let child = command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        Sipp {
            child: Some(child),
            status: None,
            port,
            transport: options.transport,
            scenario: scenario.to_owned(),
            dir,
        }
    }

    /// The local port of sipp's SIP socket (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// sipp's SIP address: 127.0.0.1:[`port`](Self::port).
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Waits until sipp exits, at most `timeout` (then kills it): `Ok` when
    /// it exited with status 0 (every call successful), otherwise an error
    /// with the exit status and sipp's logs.
    pub fn wait(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.try_status() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        match status {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(format!("sipp ({}) failed: {status}\n{}", self.scenario.display(), self.logs())),
            None => {
                self.kill();
                Err(format!(
                    "sipp ({}) did not finish within {timeout:?} and was killed\n{}",
                    self.scenario.display(),
                    self.logs()
                ))
            }
        }
    }

    /// sipp's message trace, error log, action log and output so far.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (title, file) in [
            ("messages", "messages.log"),
            ("errors", "errors.log"),
            ("<log> actions", "actions.log"),
            ("stderr", "stderr.log"),
        ] {
            let text = std::fs::read_to_string(self.dir.path().join(file)).unwrap_or_default();
            if !text.trim().is_empty() {
                out.push_str(&format!("----- sipp {title} -----\n{}\n", text.trim_end()));
            }
        }
        if out.is_empty() {
            out.push_str("(sipp logged nothing)\n");
        }
        out
    }

    fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            self.status = Some(status);
        }
        self.status
    }

    /// Waits until a server's port is bound (listening, for TCP); an error
    /// if sipp exits first or takes too long.
    fn wait_bound(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + BIND_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.try_status() {
                return Err(format!("sipp exited with {status} before binding its port\n{}", self.logs()));
            }
            if port_bound(self.transport, self.port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        Err(format!("sipp did not bind 127.0.0.1:{} within {BIND_TIMEOUT:?}\n{}", self.port, self.logs()))
    }

    /// Kills sipp's process group and reaps it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            if self.status.is_none() {
                // The group id is sipp's pid (process_group(0)); `kill` the
                // group, then the child itself in case the group is gone.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                let _ = child.kill();
            }
            if let Ok(status) = child.wait()
                && self.status.is_none()
            {
                self.status = Some(status);
            }
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A 127.0.0.1 port free for `transport` (and for UDP too, for TCP).
fn free_port(transport: Transport) -> u16 {
    for _ in 0..50 {
        let Ok(udp) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else { continue };
        let Ok(addr) = udp.local_addr() else { continue };
        if transport == Transport::Udp || TcpListener::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no free port on 127.0.0.1");
}

/// Whether 127.0.0.1:`port` (or the wildcard address) is bound by some
/// process: a UDP socket, or a listening TCP socket. Read from
/// `/proc/net/{udp,tcp}`, which does not disturb the port; where that is
/// unreadable, by trying to bind the port.
fn port_bound(transport: Transport, port: u16) -> bool {
    let table = match transport {
        Transport::Udp => "/proc/net/udp",
        Transport::Tcp => "/proc/net/tcp",
    };
    let Ok(text) = std::fs::read_to_string(table) else {
        return match transport {
            Transport::Udp => UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_err(),
            Transport::Tcp => TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err(),
        };
    };
    let wanted = [format!("0100007F:{port:04X}"), format!("00000000:{port:04X}")];
    text.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // sl local_address rem_address st ...; TCP state 0A = LISTEN.
        fields.len() > 3 && wanted.iter().any(|w| fields[1] == w) && (transport == Transport::Udp || fields[3] == "0A")
    })
}
