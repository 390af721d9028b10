//! A baresip user agent for integration tests: one account on a free
//! 127.0.0.1 port, answering by itself or not, sending a tone from a WAV
//! file (its `aufile` source) and writing what it sends and receives to WAV
//! files (its `sndfile` filter). The configuration is
//! `tests/peers/baresip/config.template`; this module fills in its
//! placeholders.
//!
//! Include it from a test file with
//! `#[path = "support/baresip.rs"] mod baresip;` and use [`Baresip::start`]
//! (or [`Baresip::start_or_skip`]). Every instance has its own temporary
//! directory and free ports. baresip is driven through its `ctrl_tcp`
//! module: netstring-framed JSON commands (`dial`, `hangup`, `quit`) and
//! events (`CALL_INCOMING`, `CALL_ESTABLISHED`, `CALL_CLOSED`, ...).
//!
//! baresip comes from Debian's `baresip-core` package; when it is missing
//! the harness installs it with apt-get. baresip runs in its own process
//! group under `timeout 600` and the whole group is killed on drop.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::fs;
use std::io::{BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// How long baresip may take to open its control port after it is started.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a control command may take to be answered.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// The directory of baresip's modules in Debian's package.
const MODULE_DIR: &str = "/usr/lib/baresip/modules";
/// Length of the tone WAV file baresip plays (its `aufile` source stops at
/// the end of the file).
const TONE_SECONDS: u32 = 60;

// ---------------------------------------------------------------------------
// Installation

fn find_baresip() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    dirs.extend(["/usr/bin", "/usr/local/bin"].map(PathBuf::from));
    let modules = ["aufile.so", "ctrl_tcp.so", "g711.so", "sndfile.so"];
    dirs.into_iter()
        .map(|d| d.join("baresip"))
        .find(|p| p.is_file())
        .filter(|_| modules.iter().all(|m| Path::new(MODULE_DIR).join(m).is_file()))
}

/// The baresip binary, installed from Debian's `baresip-core` package if
/// needed; an error saying what was tried when that is impossible.
pub fn baresip_binary() -> Result<PathBuf, String> {
    if let Some(p) = find_baresip() {
        return Ok(p);
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
    let install = ["install", "-y", "--no-install-recommends", "baresip-core"];
    if !apt(&install) {
        let _ = apt(&["update"]);
        let _ = apt(&install);
    }
    find_baresip().ok_or_else(|| {
        "baresip (with its aufile, ctrl_tcp, g711 and sndfile modules) is needed for these tests and could \
         not be installed (tried `apt-get install -y --no-install-recommends baresip-core`)"
            .to_owned()
    })
}

/// Whether baresip's module `name` (e.g. `opus`, `srtp`) is installed.
pub fn has_module(name: &str) -> bool {
    Path::new(MODULE_DIR).join(format!("{name}.so")).is_file()
}

// ---------------------------------------------------------------------------
// Ports and files

/// A port on 127.0.0.1 free for both UDP and TCP (baresip listens on both).
fn free_udp_tcp_port() -> u16 {
    for _ in 0..100 {
        let Ok(udp) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)) else { continue };
        let Ok(addr) = udp.local_addr() else { continue };
        if TcpListener::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}

/// A TCP port on 127.0.0.1 free now.
fn free_tcp_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free TCP port on 127.0.0.1")
}

/// A range of 40 UDP ports starting at a port free now (baresip picks its
/// RTP and RTCP ports at random in it, and tries another pair when one is
/// taken).
fn rtp_port_range() -> (u16, u16) {
    for _ in 0..100 {
        let port = free_udp_tcp_port();
        if port < 65000 {
            return (port, port + 39);
        }
    }
    panic!("no RTP port range on 127.0.0.1");
}

/// Writes a 48 kHz stereo 16-bit WAV file of a `frequency` Hz sine, the
/// format baresip's `aufile` source needs with this configuration.
pub fn write_tone_wav(path: &Path, frequency: f64, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create the tone WAV file");
    for i in 0..48000 * seconds {
        let v = (8000.0 * (2.0 * std::f64::consts::PI * frequency * f64::from(i) / 48000.0).sin()) as i16;
        writer.write_sample(v).expect("write a sample");
        writer.write_sample(v).expect("write a sample");
    }
    writer.finalize().expect("finish the tone WAV file");
}

/// Sends `signal` to every process of group `pgid`; false when there is
/// none left.
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
// Options

/// How a baresip instance is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// The user part of its account (`sip:<user>@127.0.0.1:<port>`).
    pub user: String,
    /// Answers incoming calls by itself (`answermode=auto`) or waits for
    /// an `accept` command (`answermode=manual`).
    pub auto_answer: bool,
    /// The frequency of the tone it sends, in Hz.
    pub tone: f64,
    /// `mediaenc` of the account: `srtp` (SDES, optional), `srtp-mand`
    /// (SDES, RTP/SAVP required) or none.
    pub media_encryption: Option<String>,
    /// `audio_codecs` of the account (e.g. `PCMU`), all codecs if none.
    pub audio_codecs: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options { user: "bob".into(), auto_answer: true, tone: 440.0, media_encryption: None, audio_codecs: None }
    }
}

// ---------------------------------------------------------------------------
// The control connection

/// Messages read from the control connection: responses and events.
#[derive(Default)]
struct Inbox {
    messages: Mutex<VecDeque<Json>>,
    arrived: Condvar,
}

/// Frames `payload` as a netstring.
fn netstring(payload: &[u8]) -> Vec<u8> {
    let mut out = format!("{}:", payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out.push(b',');
    out
}

/// Reads netstrings from `stream` into `inbox` until the connection ends.
fn read_control(stream: TcpStream, inbox: Arc<Inbox>) {
    let mut reader = BufReader::new(stream);
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(colon) = buffer.iter().position(|&b| b == b':') {
            let Some(len) = std::str::from_utf8(&buffer[..colon]).ok().and_then(|s| s.parse::<usize>().ok()) else {
                return;
            };
            if buffer.len() < colon + 1 + len + 1 {
                break;
            }
            let payload: Vec<u8> = buffer[colon + 1..colon + 1 + len].to_vec();
            buffer.drain(..colon + 1 + len + 1);
            if let Ok(message) = serde_json::from_slice::<Json>(&payload) {
                inbox.messages.lock().unwrap().push_back(message);
                inbox.arrived.notify_all();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The user agent

/// A running baresip (see the module documentation); killed on drop.
pub struct Baresip {
    /// Removed on drop unless the test panicked.
    tempdir: Option<tempfile::TempDir>,
    dir: PathBuf,
    options: Options,
    sip_port: u16,
    control_port: u16,
    child: Option<Child>,
    control: Option<TcpStream>,
    inbox: Arc<Inbox>,
    /// Every message received, for assertion messages.
    seen: Vec<Json>,
    next_token: u32,
}

impl Baresip {
    /// Starts baresip with `options`, or returns `None` after printing why
    /// when baresip cannot be installed here. Under CI (`CI` set) a missing
    /// baresip is a failure, not a skip.
    pub fn start_or_skip(options: Options) -> Option<Baresip> {
        match baresip_binary() {
            Ok(binary) => Some(Baresip::start_with(binary, options)),
            Err(why) if std::env::var_os("CI").is_some() => panic!("{why}"),
            Err(why) => {
                eprintln!("SKIPPED: {why}");
                None
            }
        }
    }

    /// Starts baresip with `options`; panics (with its log) when it cannot.
    pub fn start(options: Options) -> Baresip {
        let binary = baresip_binary().unwrap_or_else(|why| panic!("{why}"));
        Baresip::start_with(binary, options)
    }

    fn start_with(binary: PathBuf, options: Options) -> Baresip {
        let tempdir = tempfile::Builder::new().prefix("sipsimple-baresip-").tempdir().expect("a temporary directory");
        let dir = tempdir.path().to_owned();
        let wav = dir.join("tone.wav");
        write_tone_wav(&wav, options.tone, TONE_SECONDS);
        let mut baresip = Baresip {
            tempdir: Some(tempdir),
            dir,
            options,
            sip_port: 0,
            control_port: 0,
            child: None,
            control: None,
            inbox: Arc::new(Inbox::default()),
            seen: Vec::new(),
            next_token: 1,
        };
        // Another process may take a port between choosing and binding it:
        // then try other ones.
        let mut last_error = String::new();
        for _ in 0..5 {
            baresip.sip_port = free_udp_tcp_port();
            baresip.control_port = free_tcp_port();
            baresip.write_config(&wav);
            match baresip.launch(&binary) {
                Ok(()) => return baresip,
                Err(e) => {
                    last_error = e;
                    baresip.kill();
                }
            }
        }
        panic!("baresip did not start: {last_error}\n--- log ---\n{}", baresip.log());
    }

    fn write_config(&self, wav: &Path) {
        let template =
            fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/baresip/config.template"))
                .expect("tests/peers/baresip/config.template");
        let (first, last) = rtp_port_range();
        let config = template
            .replace("@SIP_PORT@", &self.sip_port.to_string())
            .replace("@CTRL_PORT@", &self.control_port.to_string())
            .replace("@RTP_PORTS@", &format!("{first}-{last}"))
            .replace("@NAME@", &self.options.user)
            .replace("@WAV@", &wav.display().to_string())
            .replace("@DIR@", &self.dir.display().to_string());
        fs::write(self.dir.join("config"), config).expect("write baresip's config");
        let mut account = format!(
            "<sip:{}@127.0.0.1:{}>;regint=0;pubint=0;answermode={}",
            self.options.user,
            self.sip_port,
            if self.options.auto_answer { "auto" } else { "manual" }
        );
        if let Some(encryption) = &self.options.media_encryption {
            account.push_str(&format!(";mediaenc={encryption}"));
        }
        if let Some(codecs) = &self.options.audio_codecs {
            account.push_str(&format!(";audio_codecs={codecs}"));
        }
        fs::write(self.dir.join("accounts"), account + "\n").expect("write baresip's accounts");
        fs::write(self.dir.join("contacts"), "").expect("write baresip's contacts");
    }

    fn launch(&mut self, binary: &Path) -> Result<(), String> {
        let log = fs::File::create(self.log_path()).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("timeout")
            .args(["-k", "5", "600"])
            .arg(binary)
            .arg("-s")
            .arg("-f")
            .arg(&self.dir)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("baresip exited with {status}"));
            }
            if let Ok(stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.control_port)) {
                let reader = stream.try_clone().map_err(|e| e.to_string())?;
                let inbox = self.inbox.clone();
                std::thread::spawn(move || read_control(reader, inbox));
                self.control = Some(stream);
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("the control port {} did not open within {READY_TIMEOUT:?}", self.control_port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The control port opens before the SIP listener is sure to be up:
        // wait for the log line that says all is ready.
        while !self.log().contains("baresip is ready") {
            if Instant::now() > deadline {
                return Err("baresip did not say it is ready".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The SIP URI of its account, e.g. `sip:bob@127.0.0.1:40000`.
    pub fn uri(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.options.user, self.sip_port)
    }

    /// The SIP port (UDP and TCP) on 127.0.0.1.
    pub fn sip_port(&self) -> u16 {
        self.sip_port
    }

    /// Its working directory (configuration, log, audio dumps).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sends a control command and waits for its response; `Err` with the
    /// response (or the timeout) when it did not succeed.
    pub fn command(&mut self, command: &str, params: &str) -> Result<Json, String> {
        let token = self.next_token.to_string();
        self.next_token += 1;
        let message = serde_json::json!({ "command": command, "params": params, "token": token });
        let stream = self.control.as_mut().ok_or("no control connection")?;
        stream.write_all(&netstring(message.to_string().as_bytes())).map_err(|e| format!("{command}: {e}"))?;
        let response = self
            .wait_message(COMMAND_TIMEOUT, |m| {
                m.get("response").is_some() && m.get("token") == Some(&Json::from(token.clone()))
            })
            .ok_or_else(|| format!("no response to {command} {params} within {COMMAND_TIMEOUT:?}"))?;
        if response.get("ok") == Some(&Json::Bool(true)) {
            Ok(response)
        } else {
            Err(format!("{command} {params} failed: {response}"))
        }
    }

    /// Waits for an event of `kind` (e.g. `CALL_ESTABLISHED`) received since
    /// the last one of that kind was taken; `None` on timeout.
    pub fn wait_event(&mut self, kind: &str, timeout: Duration) -> Option<Json> {
        self.wait_message(timeout, |m| {
            m.get("event") == Some(&Json::Bool(true)) && m.get("type").and_then(Json::as_str) == Some(kind)
        })
    }

    /// Like [`wait_event`](Self::wait_event), but panics with the messages
    /// seen so far and the log on timeout.
    pub fn expect_event(&mut self, kind: &str, timeout: Duration) -> Json {
        self.wait_event(kind, timeout).unwrap_or_else(|| {
            panic!("baresip: no {kind} event within {timeout:?}; seen {:?}\n--- log ---\n{}", self.seen, self.log())
        })
    }

    /// Takes the first queued message matching `wanted`, waiting up to
    /// `timeout`; the messages before it stay queued.
    fn wait_message(&mut self, timeout: Duration, wanted: impl Fn(&Json) -> bool) -> Option<Json> {
        let deadline = Instant::now() + timeout;
        let inbox = self.inbox.clone();
        let mut messages = inbox.messages.lock().unwrap();
        loop {
            if let Some(i) = messages.iter().position(&wanted) {
                let message = messages.remove(i)?;
                self.seen.push(message.clone());
                return Some(message);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            messages = inbox.arrived.wait_timeout(messages, deadline - now).unwrap().0;
        }
    }

    /// Calls `uri`.
    pub fn dial(&mut self, uri: &str) -> Result<Json, String> {
        self.command("dial", uri)
    }

    /// Answers the incoming call.
    pub fn accept(&mut self) -> Result<Json, String> {
        self.command("accept", "")
    }

    /// Hangs up the current call.
    pub fn hangup(&mut self) -> Result<Json, String> {
        self.command("hangup", "")
    }

    /// The WAV files the `sndfile` filter wrote for what baresip decoded
    /// (`dump-*-dec.wav`), oldest first.
    pub fn received_audio_files(&self) -> Vec<PathBuf> {
        self.dump_files("-dec.wav")
    }

    /// The WAV files the `sndfile` filter wrote for what baresip encoded
    /// (`dump-*-enc.wav`), oldest first.
    pub fn sent_audio_files(&self) -> Vec<PathBuf> {
        self.dump_files("-enc.wav")
    }

    fn dump_files(&self, suffix: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("dump-") && n.ends_with(suffix))
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort_by_key(|p| fs::metadata(p).and_then(|m| m.modified()).ok());
        files
    }

    /// Everything baresip logged so far (with the SIP trace).
    pub fn log(&self) -> String {
        fs::read(self.log_path()).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("baresip.log")
    }

    /// Asks baresip to quit, then kills its process group.
    pub fn stop(&mut self) {
        if self.child.is_none() {
            return;
        }
        if self.control.is_some() {
            let _ = self.command("quit", "");
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && matches!(child.try_wait(), Ok(Some(_)))
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    fn kill(&mut self) {
        if let Some(stream) = self.control.take() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        if let Some(mut child) = self.child.take() {
            signal_group(child.id(), "KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking()
            && let Some(tempdir) = self.tempdir.take()
        {
            eprintln!("baresip's files are kept in {}", tempdir.keep().display());
        }
    }
}
