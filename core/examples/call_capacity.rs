//! Call capacity: how many simultaneous G.711 (PCMU) calls two instances of
//! the library carry in real time on this machine without losing audio.
//!
//! The core is a process singleton (one SIPApplication, one voice mixer per
//! process), so the measurement uses two processes, as two real endpoints
//! would be: this program (the caller) starts itself a second time as the
//! callee (environment variable `SIPSIMPLE_CAPACITY_CALLEE=1`), which
//! answers every call and is driven over its stdin/stdout. Each side plays
//! a tone into every stream through its voice mixer (32 kHz, the default),
//! so every call encodes, sends, receives, jitter-buffers, decodes and
//! mixes audio both ways, on loopback UDP.
//!
//! The number of calls rises level by level (10, 20, 40, 80, 120, 160, ...).
//! At each level, once every call is up and a second of warm-up passed, both
//! sides take a snapshot, wait the measurement window (5 s), take another
//! and compare, per side:
//!
//! - packets sent and received (summed over the calls), and RTP loss
//!   (RFC 3550 expected minus received), jitter-buffer frames lost
//!   (missing when due), discarded (excess delay) and late, and underruns;
//! - the voice mixer's ticks: counted by a probe port in the mixer, against
//!   the window's 250 20 ms frames, and *overruns* (a tick starting more than
//!   40 ms after the previous one, i.e. a frame late);
//! - the CPU time the process used (user + system) as a share of one core.
//!
//! A level passes when neither side lost, discarded, or played late any
//! frame, no jitter buffer ran empty (an underrun is a gap in the audio),
//! no tick overran, and the mixers ticked in real time (within two
//! ticks of 250). The highest passing level is reported; the ramp stops at
//! the first failing level (or at `--max`).
//!
//! Run: `cargo run --release -p sipsimple-core --example call_capacity [-- --max N --window SECONDS]`
//! (`--levels 40,60,80` instead of the ramp).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sipsimple_core::audio::analysis::sine;
use sipsimple_core::audio::{AudioPort, SlotId, shared};
use sipsimple_core::notification::NotificationRecorder;
use sipsimple_core::session::{Session, SessionManager, SessionState};
use sipsimple_core::sip::engine::Engine;
use sipsimple_core::sip::transport::TransportKind;
use sipsimple_core::streams::{AudioEngine, AudioStream, MediaStream};
use sipsimple_core::{Account, MemoryStorage, NotificationCenter, SIPApplication, SIPSimpleSettings, Value};

/// Set in the callee's environment.
const CALLEE_ENV: &str = "SIPSIMPLE_CAPACITY_CALLEE";
const WAIT: Duration = Duration::from_secs(10);
const FRAME: Duration = Duration::from_millis(20);
/// A tick more than this after the previous one is an overrun.
const OVERRUN: Duration = Duration::from_millis(40);

type Error = Box<dyn std::error::Error>;

// ---------------------------------------------------------------------------
// Ports in the voice mixer

/// Plays a looped 440 Hz tone into every stream it is connected to.
struct TonePort {
    tone: Vec<i16>,
    position: usize,
}

impl AudioPort for TonePort {
    fn get_frame(&mut self, frame: &mut [i16]) -> bool {
        for sample in frame.iter_mut() {
            *sample = self.tone[self.position];
            self.position = (self.position + 1) % self.tone.len();
        }
        true
    }

    fn put_frame(&mut self, _frame: &[i16]) {}
}

/// Counts the mixer's ticks and the ones that came late.
#[derive(Default)]
struct TickProbe {
    last: Option<Instant>,
    counters: Arc<TickCounters>,
}

#[derive(Default)]
struct TickCounters {
    ticks: AtomicU64,
    overruns: AtomicU64,
    /// The longest interval between two ticks, in µs.
    longest_us: AtomicU64,
}

impl AudioPort for TickProbe {
    fn get_frame(&mut self, _frame: &mut [i16]) -> bool {
        let now = Instant::now();
        if let Some(last) = self.last.replace(now) {
            let interval = now - last;
            if interval > OVERRUN {
                self.counters.overruns.fetch_add(1, Ordering::Relaxed);
            }
            self.counters.longest_us.fetch_max(interval.as_micros() as u64, Ordering::Relaxed);
        }
        self.counters.ticks.fetch_add(1, Ordering::Relaxed);
        false
    }

    fn put_frame(&mut self, _frame: &[i16]) {}
}

/// The tone and the probe in this process's voice mixer.
struct MixerPorts {
    tone_slot: SlotId,
    ticks: Arc<TickCounters>,
    /// Streams (by slot) the tone already feeds.
    fed: Mutex<Vec<SlotId>>,
}

impl MixerPorts {
    fn install() -> Result<MixerPorts, Error> {
        let engine = AudioEngine::instance();
        let rate = engine.sample_rate().ok_or("the voice mixer does not run")?;
        let tone = shared(TonePort { tone: sine(440.0, 8000.0, rate, rate as usize), position: 0 });
        let probe = TickProbe::default();
        let ticks = probe.counters.clone();
        let tone_slot = engine.with_mixer(|m| m.add_port(tone))?;
        engine.with_mixer(|m| m.add_port(shared(probe)))?;
        Ok(MixerPorts { tone_slot, ticks, fed: Mutex::new(Vec::new()) })
    }

    /// Connects the tone to `stream` (once).
    fn feed(&self, stream: &AudioStream) -> Result<bool, Error> {
        let Some(slot) = stream.slot() else { return Ok(false) };
        let mut fed = self.fed.lock().unwrap();
        if !fed.contains(&slot) {
            AudioEngine::instance().with_mixer(|m| m.connect_slots(self.tone_slot, slot))??;
            fed.push(slot);
        }
        Ok(true)
    }

    fn forget(&self) {
        self.fed.lock().unwrap().clear();
    }
}

// ---------------------------------------------------------------------------
// Measurements

/// Counters summed over the streams of one process, and its clocks.
#[derive(Clone, Copy, Debug, Default)]
struct Snapshot {
    calls: u64,
    sent: u64,
    received: u64,
    rtp_lost: u64,
    jitter_lost: u64,
    discarded: u64,
    late: u64,
    underruns: u64,
    ticks: u64,
    overruns: u64,
    longest_tick_us: u64,
    cpu_ms: u64,
    at_us: u64,
}

impl Snapshot {
    fn encode(&self) -> String {
        [
            self.calls,
            self.sent,
            self.received,
            self.rtp_lost,
            self.jitter_lost,
            self.discarded,
            self.late,
            self.underruns,
            self.ticks,
            self.overruns,
            self.longest_tick_us,
            self.cpu_ms,
            self.at_us,
        ]
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
    }

    fn decode(line: &str) -> Option<Snapshot> {
        let v: Vec<u64> = line.split_whitespace().map(|x| x.parse().ok()).collect::<Option<_>>()?;
        let [
            calls,
            sent,
            received,
            rtp_lost,
            jitter_lost,
            discarded,
            late,
            underruns,
            ticks,
            overruns,
            longest_tick_us,
            cpu_ms,
            at_us,
        ] = v[..]
        else {
            return None;
        };
        Some(Snapshot {
            calls,
            sent,
            received,
            rtp_lost,
            jitter_lost,
            discarded,
            late,
            underruns,
            ticks,
            overruns,
            longest_tick_us,
            cpu_ms,
            at_us,
        })
    }

    /// What changed from `before` to `self` (the longest tick is the
    /// window's own, kept by resetting it at the first snapshot).
    fn since(&self, before: &Snapshot) -> Snapshot {
        Snapshot {
            calls: self.calls,
            sent: self.sent - before.sent,
            received: self.received - before.received,
            rtp_lost: self.rtp_lost - before.rtp_lost,
            jitter_lost: self.jitter_lost - before.jitter_lost,
            discarded: self.discarded - before.discarded,
            late: self.late - before.late,
            underruns: self.underruns - before.underruns,
            ticks: self.ticks - before.ticks,
            overruns: self.overruns - before.overruns,
            longest_tick_us: self.longest_tick_us,
            cpu_ms: self.cpu_ms - before.cpu_ms,
            at_us: self.at_us - before.at_us,
        }
    }
}

/// CPU time (user + system) this process used, in ms.
fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the
    // 14th field of the line, stime the 15th, in clock ticks (100 a second).
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * 10
}

/// The audio streams of the connected sessions.
fn connected_streams() -> Vec<Arc<AudioStream>> {
    SessionManager::instance()
        .sessions()
        .into_iter()
        .filter(|s| s.state() == SessionState::Connected)
        .flat_map(|s| s.streams())
        .filter_map(|s| s.as_any().downcast::<AudioStream>().ok())
        .collect()
}

fn snapshot(ports: &MixerPorts, epoch: Instant, reset_longest: bool) -> Snapshot {
    let mut s = Snapshot::default();
    for stream in connected_streams() {
        let st = stream.statistics();
        s.calls += 1;
        s.sent += st.rtp.packets_sent;
        s.received += st.rtp.packets_received;
        s.rtp_lost += st.rtp.packets_lost;
        s.jitter_lost += st.jitter.lost;
        s.discarded += st.jitter.discarded;
        s.late += st.jitter.late;
        s.underruns += st.jitter.underruns;
    }
    s.ticks = ports.ticks.ticks.load(Ordering::Relaxed);
    s.overruns = ports.ticks.overruns.load(Ordering::Relaxed);
    s.longest_tick_us = if reset_longest {
        ports.ticks.longest_us.swap(0, Ordering::Relaxed)
    } else {
        ports.ticks.longest_us.load(Ordering::Relaxed)
    };
    s.cpu_ms = cpu_ms();
    s.at_us = epoch.elapsed().as_micros() as u64;
    s
}

// ---------------------------------------------------------------------------
// Application set-up

/// Starts the application with `settings` saved, and one unregistered
/// account `id` using PCMU without SRTP.
fn start_application(settings: &[(&str, Value)], id: &str) -> Result<(Arc<NotificationRecorder>, Arc<Account>), Error> {
    let recorder = NotificationRecorder::new();
    NotificationCenter::default_center().add_observer(recorder.clone(), None, None);
    let app = SIPApplication::instance();
    let storage = Arc::new(MemoryStorage::new());
    // Settings the engine reads at start: save them, then start again.
    app.start(storage.clone())?;
    recorder.wait_for("SIPApplicationDidStart", WAIT).ok_or("no SIPApplicationDidStart")?;
    let global = SIPSimpleSettings::instance();
    for (path, value) in settings {
        global.settings().set(path, value.clone())?;
    }
    global.settings().save()?;
    app.stop()?;
    recorder.wait_for("SIPApplicationDidEnd", WAIT).ok_or("no SIPApplicationDidEnd")?;
    recorder.clear();
    app.start(storage)?;
    recorder.wait_for("SIPApplicationDidStart", WAIT).ok_or("no SIPApplicationDidStart")?;
    let account = Account::get_or_create(id)?;
    account.settings().set("sip.register", Value::Bool(false))?;
    account.settings().set("enabled", Value::Bool(true))?;
    account.settings().set("rtp.encryption.enabled", Value::Bool(false))?;
    account.save()?;
    Ok((recorder, account))
}

fn settings(rtp_ports: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("sip.transport_list", Value::from("udp")),
        ("rtp.audio_codec_list", Value::List(vec![Value::from("PCMU")])),
        ("rtp.port_range", Value::from(rtp_ports)),
    ]
}

fn stop_application(recorder: &NotificationRecorder) {
    if SIPApplication::instance().stop().is_ok() {
        let _ = recorder.wait_for("SIPApplicationDidEnd", WAIT);
    }
}

// ---------------------------------------------------------------------------
// The callee

/// Answers every call, feeds the tone into every stream; reads commands on
/// stdin (`snapshot`, `reset`, `quit`), answers on stdout.
fn callee() -> Result<(), Error> {
    let (recorder, _account) = start_application(&settings("30000-39998"), "callee@127.0.0.1")?;
    let ports = MixerPorts::install()?;
    let port = Engine::current().ok_or("no engine")?.local_address(TransportKind::Udp).ok_or("no UDP listener")?.port();
    let epoch = Instant::now();
    println!("READY {port}");
    std::io::stdout().flush()?;

    let (commands_tx, commands) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if commands_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut answered: Vec<Arc<Session>> = Vec::new();
    loop {
        for session in SessionManager::instance().sessions() {
            if session.state() == SessionState::Incoming && !answered.iter().any(|s| Arc::ptr_eq(s, &session)) {
                let proposed = session.proposed_streams();
                session.accept_streams(&proposed)?;
                answered.push(session);
            }
        }
        answered.retain(|s| s.state() != SessionState::Terminated);
        for stream in connected_streams() {
            ports.feed(&stream)?;
        }
        match commands.recv_timeout(Duration::from_millis(5)) {
            Ok(command) => match command.trim() {
                "snapshot" => println!("SNAPSHOT {}", snapshot(&ports, epoch, false).encode()),
                "reset" => println!("SNAPSHOT {}", snapshot(&ports, epoch, true).encode()),
                "forget" => {
                    ports.forget();
                    println!("OK");
                }
                "quit" => break,
                other => println!("ERROR unknown command {other}"),
            },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        std::io::stdout().flush()?;
    }
    stop_application(&recorder);
    Ok(())
}

// ---------------------------------------------------------------------------
// The caller

struct Callee {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Callee {
    fn spawn() -> Result<(Callee, u16), Error> {
        let mut child = Command::new(std::env::current_exe()?)
            .env(CALLEE_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut callee = Callee { child, stdin, stdout };
        let ready = callee.read_line()?;
        let port = ready.strip_prefix("READY ").ok_or_else(|| format!("callee said {ready:?}"))?.trim().parse()?;
        Ok((callee, port))
    }

    fn read_line(&mut self) -> Result<String, Error> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err("the callee exited".into());
        }
        Ok(line.trim_end().to_owned())
    }

    fn ask(&mut self, command: &str) -> Result<String, Error> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        self.read_line()
    }

    fn snapshot(&mut self, reset: bool) -> Result<Snapshot, Error> {
        let line = self.ask(if reset { "reset" } else { "snapshot" })?;
        line.strip_prefix("SNAPSHOT ").and_then(Snapshot::decode).ok_or_else(|| format!("callee said {line:?}").into())
    }
}

struct Options {
    levels: Vec<u64>,
    window: Duration,
}

fn options() -> Result<Options, Error> {
    let mut max = 400;
    let mut window = Duration::from_secs(5);
    let mut given: Option<Vec<u64>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max" => max = args.next().ok_or("--max N")?.parse()?,
            "--levels" => {
                let list = args.next().ok_or("--levels N,N,...")?;
                given = Some(list.split(',').map(|n| n.trim().parse()).collect::<Result<_, _>>()?);
            }
            "--window" => window = Duration::from_secs_f64(args.next().ok_or("--window SECONDS")?.parse()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if let Some(levels) = given {
        return Ok(Options { levels, window });
    }
    let mut levels: Vec<u64> = vec![10, 20, 40, 80];
    while levels.last().is_some_and(|&l| l < max) {
        let last = *levels.last().unwrap_or(&80);
        levels.push(last + 40);
    }
    levels.retain(|&l| l <= max);
    Ok(Options { levels, window })
}

/// One level's result.
struct Level {
    calls: u64,
    caller: Snapshot,
    callee: Snapshot,
    setup: Duration,
}

impl Level {
    fn side_ok(s: &Snapshot, window: Duration) -> bool {
        let expected = window.as_millis() as u64 / FRAME.as_millis() as u64;
        s.rtp_lost == 0
            && s.jitter_lost == 0
            && s.discarded == 0
            && s.late == 0
            && s.underruns == 0
            && s.overruns == 0
            && s.ticks + 2 >= expected
    }

    fn ok(&self, window: Duration) -> bool {
        self.caller.calls == self.calls
            && self.callee.calls == self.calls
            && Level::side_ok(&self.caller, window)
            && Level::side_ok(&self.callee, window)
    }
}

fn print_side(name: &str, s: &Snapshot, other: &Snapshot) {
    let seconds = s.at_us as f64 / 1e6;
    println!(
        "    {name:<6} calls {:>4}  sent {:>7} recv {:>7} (peer sent {:>7}, {:>6.2}%)  rtp-lost {} jb-lost {} discarded {} late {} underruns {}  ticks {} overruns {} longest {:.1} ms  cpu {:.0}% of a core",
        s.calls,
        s.sent,
        s.received,
        other.sent,
        if other.sent > 0 { 100.0 * s.received as f64 / other.sent as f64 } else { 0.0 },
        s.rtp_lost,
        s.jitter_lost,
        s.discarded,
        s.late,
        s.underruns,
        s.ticks,
        s.overruns,
        s.longest_tick_us as f64 / 1000.0,
        100.0 * s.cpu_ms as f64 / 1000.0 / seconds.max(1e-3),
    );
}

/// The caller's side of a run: the callee process, our account, our
/// mixer ports.
struct Caller {
    callee: Callee,
    recorder: Arc<NotificationRecorder>,
    account: Arc<Account>,
    ports: MixerPorts,
    uri: String,
    window: Duration,
    epoch: Instant,
}

impl Caller {
    /// Places `calls` calls, measures, hangs up.
    fn run_level(&mut self, calls: u64) -> Result<Level, Error> {
        let Caller { callee, recorder, account, ports, uri, window, epoch } = self;
        let (uri, window, epoch) = (uri.as_str(), *window, *epoch);
        recorder.clear();
        let began = Instant::now();
        let mut sessions = Vec::new();
        for _ in 0..calls {
            let stream = AudioStream::new(account);
            let session = Session::new(account);
            session.connect_with_streams(uri, vec![stream as Arc<dyn MediaStream>], None)?;
            sessions.push(session);
            // About 200 call attempts a second.
            std::thread::sleep(Duration::from_millis(5));
        }
        let deadline = Instant::now() + Duration::from_secs(30) + Duration::from_millis(100 * calls);
        loop {
            let connected = sessions.iter().filter(|s| s.state() == SessionState::Connected).count() as u64;
            if connected == calls {
                break;
            }
            if sessions.iter().any(|s| s.state() == SessionState::Terminated) || Instant::now() > deadline {
                let names = recorder.names();
                let failed = names.iter().filter(|n| *n == "SIPSessionDidFail").count();
                return Err(format!("only {connected} of {calls} calls connected ({failed} failed)").into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let setup = began.elapsed();
        for stream in connected_streams() {
            ports.feed(&stream)?;
        }
        std::thread::sleep(Duration::from_secs(1));
        let caller_before = snapshot(ports, epoch, true);
        let callee_before = callee.snapshot(true)?;
        std::thread::sleep(window);
        let caller_after = snapshot(ports, epoch, false);
        let callee_after = callee.snapshot(false)?;

        for session in &sessions {
            session.end()?;
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while sessions.iter().any(|s| s.state() != SessionState::Terminated) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        ports.forget();
        callee.ask("forget")?;
        // The callee's sessions end on our BYEs.
        let deadline = Instant::now() + Duration::from_secs(10);
        while callee.snapshot(false)?.calls > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Level {
            calls,
            caller: caller_after.since(&caller_before),
            callee: callee_after.since(&callee_before),
            setup,
        })
    }
}

fn caller() -> Result<(), Error> {
    let options = options()?;
    let (callee, port) = Callee::spawn()?;
    let (recorder, account) = start_application(&settings("20000-29998"), "caller@127.0.0.1")?;
    let ports = MixerPorts::install()?;
    let rate = AudioEngine::instance().sample_rate().unwrap_or(0);
    let uri = format!("sip:callee@127.0.0.1:{port}");
    let mut caller = Caller { callee, recorder, account, ports, uri, window: options.window, epoch: Instant::now() };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "call capacity: PCMU, no SRTP, {rate} Hz voice mixers, a tone both ways in every call, two processes on {cores} cores, {:?} windows",
        options.window
    );
    let mut best = None;
    for &calls in &options.levels {
        let level = match caller.run_level(calls) {
            Ok(level) => level,
            Err(e) => {
                println!("  {calls:>4} calls: FAILED to set up: {e}");
                break;
            }
        };
        let ok = level.ok(options.window);
        println!(
            "  {calls:>4} calls (set up in {:.1} s): {}",
            level.setup.as_secs_f64(),
            if ok { "no loss" } else { "LOSS or overrun" }
        );
        print_side("caller", &level.caller, &level.callee);
        print_side("callee", &level.callee, &level.caller);
        if !ok {
            break;
        }
        best = Some(calls);
    }
    match best {
        Some(calls) => println!("highest level without loss: {calls} simultaneous calls"),
        None => println!("no level passed"),
    }
    let _ = caller.callee.ask("quit");
    let _ = caller.callee.child.wait();
    stop_application(&caller.recorder);
    Ok(())
}

fn main() -> Result<(), Error> {
    if std::env::var_os(CALLEE_ENV).is_some() { callee() } else { caller() }
}
