//! Interoperability with baresip (a separate SIP user agent, see
//! `support/baresip.rs`), over loopback UDP with real audio both ways.
//!
//! - We call baresip, which answers by itself and plays a 440 Hz tone from
//!   a WAV file: our stream records the tone (440 Hz ± 2% for at least 90%
//!   of the recorded time), with PCMU, G.722 and Opus; we hang up.
//! - The same over SDES-SRTP (baresip's `mediaenc=srtp-mand`, our
//!   `sdes_mandatory`); baresip hangs up.
//! - baresip calls us (its `dial` control command) playing 660 Hz; we
//!   accept the proposed stream and play 440 Hz into it: each side hears
//!   the other's tone (baresip's received audio is read from its `sndfile`
//!   dump), packets flow both ways, baresip hangs up; and over SRTP, where
//!   we hang up.
//!
//! The tests skip (with a message) only when baresip cannot be installed
//! here; under CI that is a failure.

#[path = "support/app.rs"]
mod app;
#[path = "support/baresip.rs"]
mod baresip;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use baresip::{Baresip, Options};
use sipsimple_core::audio::analysis::{dominant_frequency, read_wav, rms, sine, write_wav};
use sipsimple_core::audio::{WavePlayer, WavePlayerOptions, shared};
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::notification::{Notification, NotificationCenter, NotificationRecorder};
use sipsimple_core::rtp::session::PacketKind;
use sipsimple_core::session::{Session, SessionState};
use sipsimple_core::sip::engine::Engine;
use sipsimple_core::sip::transport::TransportKind;
use sipsimple_core::streams::{AudioEngine, AudioStream, MediaStream, TappedPacket};
use sipsimple_core::{Account, SIPApplication, SIPSimpleSettings, Value};

const T: Duration = Duration::from_secs(10);
/// What baresip plays when we call it.
const BARESIP_TONE: f64 = 440.0;
/// What baresip plays when it calls us.
const BARESIP_CALLER_TONE: f64 = 660.0;
/// What we play when baresip calls us.
const OUR_TONE: f64 = 440.0;
/// How long we record (or play) in each call.
const LISTEN: Duration = Duration::from_secs(2);

static APP: Mutex<()> = Mutex::new(());

struct Running {
    recorder: Arc<NotificationRecorder>,
    alice: Arc<Account>,
    _lock: MutexGuard<'static, ()>,
}

/// Starts the application on UDP with one unregistered account, alice.
fn start() -> Running {
    let lock = APP.lock().unwrap_or_else(PoisonError::into_inner);
    let recorder = NotificationRecorder::new();
    NotificationCenter::default_center().add_observer(recorder.clone(), None, None);
    app::start_with_settings(&recorder, &[("sip.transport_list", Value::from("udp"))]);
    let alice = app::unregistered_account("alice@127.0.0.1");
    Running { recorder, alice, _lock: lock }
}

impl Running {
    /// Alice's URI at our UDP listener.
    fn alice_uri(&self) -> String {
        let port = Engine::current().unwrap().local_address(TransportKind::Udp).unwrap().port();
        format!("sip:{}@127.0.0.1:{port}", self.alice.contact().username)
    }

    /// The `n`th notification `name` from `sender`.
    fn from(&self, name: &str, sender: sipsimple_core::Handle, n: usize) -> Notification {
        let sender = Value::Object(sender);
        self.recorder
            .wait_until(T, |seen| seen.iter().filter(|x| x.name == name && x.sender == sender).nth(n - 1).cloned())
            .unwrap_or_else(|| panic!("no {name} #{n}; got {:?}", self.recorder.names()))
    }

    /// Our codec list and SRTP policy.
    fn configure(&self, codecs: &[&str], srtp: Option<&str>) {
        let list = Value::List(codecs.iter().map(|c| Value::from(*c)).collect());
        let s = SIPSimpleSettings::instance();
        s.settings().set("rtp.audio_codec_list", list).unwrap();
        s.settings().save().unwrap();
        let account = &self.alice;
        account.settings().set("rtp.audio_codec_list", Value::Null).unwrap();
        account.settings().set("rtp.encryption.enabled", Value::Bool(srtp.is_some())).unwrap();
        account.settings().set("rtp.encryption.key_negotiation", Value::from(srtp.unwrap_or("opportunistic"))).unwrap();
        account.save().unwrap();
    }

    fn stop(self) {
        SIPApplication::instance().stop().unwrap();
        self.recorder.wait_for("SIPApplicationDidEnd", T).expect("DidEnd");
        let _ = NotificationCenter::default_center().remove_observer(&*self.recorder, None, None);
    }
}

fn text(n: &Notification, field: &str) -> String {
    n.data.get(field).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Waits until `done` holds, polling every 20 ms; false on timeout.
fn wait(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + T;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The 20 ms windows of `samples` that carry sound, concatenated.
fn loud_part(samples: &[i16], rate: u32) -> Vec<i16> {
    let frame = (rate / 50) as usize;
    samples.chunks(frame).filter(|c| c.len() == frame && rms(c) > 500.0).flatten().copied().collect()
}

/// The tone heard in a recording: (dominant frequency, seconds of sound,
/// seconds recorded).
fn analyse(path: &Path) -> (f64, f64, f64) {
    // read_wav gives the first channel of a stereo file.
    let (rate, _, mono) = read_wav(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let loud = loud_part(&mono, rate);
    let frequency = dominant_frequency(&loud, rate).unwrap_or(0.0);
    (frequency, loud.len() as f64 / f64::from(rate), mono.len() as f64 / f64::from(rate))
}

fn assert_tone(label: &str, (frequency, sound, recorded): (f64, f64, f64), expected: f64, expected_seconds: f64) {
    println!(
        "{label}: {frequency:.1} Hz for {sound:.2} s of {recorded:.2} s recorded ({:.0}% of the {expected_seconds:.2} s expected)",
        100.0 * sound / expected_seconds
    );
    assert!((frequency - expected).abs() <= expected * 0.02, "{label}: {frequency} Hz, not {expected} Hz");
    assert!(sound >= 0.9 * expected_seconds, "{label}: only {sound:.2} s of {expected_seconds:.2} s arrived");
}

/// Records `stream` for [`LISTEN`] (counted in frames it played out) and
/// returns the analysis and the seconds the recording ran.
fn record(run: &Running, stream: &Arc<AudioStream>, path: &Path, n: usize) -> ((f64, f64, f64), f64) {
    stream.start_recording(path).unwrap();
    run.from("AudioStreamDidStartRecordingAudio", stream.handle(), n);
    let frames = LISTEN.as_millis() as u64 / 20;
    let played = |s: &AudioStream| {
        let j = s.statistics().jitter;
        j.played + j.lost
    };
    let first = played(stream);
    let began = Instant::now();
    assert!(wait(|| played(stream) >= first + frames), "{:?}", stream.statistics());
    stream.stop_recording().unwrap();
    let elapsed = began.elapsed().as_secs_f64();
    run.from("AudioStreamDidStopRecordingAudio", stream.handle(), n);
    (analyse(path), elapsed)
}

/// We call baresip with the stream and wait until the session started.
fn call(run: &Running, peer: &mut Baresip) -> (Arc<Session>, Arc<AudioStream>) {
    let stream = AudioStream::new(&run.alice);
    count_plain_pings(&stream);
    let session = Session::new(&run.alice);
    session.connect_with_streams(&peer.uri(), vec![stream.clone() as Arc<dyn MediaStream>], None).unwrap();
    let started = run
        .recorder
        .wait_until(T, |seen| {
            seen.iter()
                .find(|x| {
                    x.sender == Value::Object(session.handle())
                        && (x.name == "SIPSessionDidStart" || x.name == "SIPSessionDidFail")
                })
                .cloned()
        })
        .unwrap_or_else(|| panic!("the call did not start: {:?}\n{}", run.recorder.names(), peer.log()));
    assert_eq!(started.name, "SIPSessionDidStart", "{:?}\n{}", started.data, peer.log());
    peer.expect_event("CALL_ESTABLISHED", T);
    run.from("MediaStreamDidStart", stream.handle(), 1);
    assert_eq!(session.state(), SessionState::Connected);
    assert!(session.remote_user_agent().unwrap_or_default().to_lowercase().contains("baresip"));
    (session, stream)
}

/// baresip's RTCP APP "PING"/"PONG" packets received on each stream
/// (by stream handle).
static PLAIN_PINGS: Mutex<Vec<(sipsimple_core::Handle, u64)>> = Mutex::new(Vec::new());

/// Counts, on `stream`, the RTCP APP packets named `PING` that baresip 1.0
/// (libre) sends in the clear when its stream starts, also under SRTP:
/// they fail SRTCP authentication and are dropped, as they must be.
fn count_plain_pings(stream: &AudioStream) {
    let handle = stream.handle();
    PLAIN_PINGS.lock().unwrap().push((handle, 0));
    stream.set_packet_tap(Some(Arc::new(move |p: &TappedPacket<'_>| {
        let d = p.data;
        if !p.sent && p.kind == PacketKind::Rtcp && d.len() == 16 && d[1] == 204 && &d[8..12] == b"PING" {
            let mut counts = PLAIN_PINGS.lock().unwrap();
            if let Some(entry) = counts.iter_mut().find(|(h, _)| *h == handle) {
                entry.1 += 1;
            }
        }
    })));
}

fn plain_pings(stream: &AudioStream) -> u64 {
    PLAIN_PINGS.lock().unwrap().iter().find(|(h, _)| *h == stream.handle()).map_or(0, |(_, n)| *n)
}

/// Checks that RTP flowed both ways and that nothing failed SRTP
/// authentication but baresip's plain RTCP pings.
fn assert_rtp_both_ways(label: &str, stream: &AudioStream) {
    let s = stream.statistics();
    println!(
        "{label}: sent {} received {} packets, lost {}, jitter-buffer lost {} discarded {}",
        s.rtp.packets_sent, s.rtp.packets_received, s.rtp.packets_lost, s.jitter.lost, s.jitter.discarded
    );
    assert!(s.rtp.packets_sent >= 90, "{label}: {s:?}");
    assert!(s.rtp.packets_received >= 90, "{label}: {s:?}");
    let pings = if stream.srtp_active() { plain_pings(stream) } else { 0 };
    assert_eq!(s.rtp.srtp_failures, pings, "{label}: only baresip's {pings} plain RTCP pings may fail: {s:?}");
    assert_eq!(s.rtp.malformed, 0, "{label}: {s:?}");
}

/// We call baresip with `codecs`: its 440 Hz tone arrives; we hang up.
fn we_call_and_hang_up(run: &Running, peer: &mut Baresip, codec: &str, dir: &Path) {
    run.recorder.clear();
    run.configure(&[codec], None);
    let (session, stream) = call(run, peer);
    assert_eq!(stream.codec(), Some(codec));
    assert!(!stream.srtp_active());
    let (heard, elapsed) = record(run, &stream, &dir.join(format!("from-baresip-{codec}.wav")), 1);
    assert_tone(&format!("baresip -> us, {codec}"), heard, BARESIP_TONE, elapsed);
    assert_rtp_both_ways(codec, &stream);
    assert_eq!(stream.statistics().jitter.lost, 0, "{:?}", stream.statistics());

    session.end().unwrap();
    let ended = run.from("SIPSessionDidEnd", session.handle(), 1);
    assert_eq!(text(&ended, "originator"), "local");
    run.from("MediaStreamDidEnd", stream.handle(), 1);
    peer.expect_event("CALL_CLOSED", T);
}

#[test]
fn we_call_baresip_and_hear_its_tone_with_pcmu_and_opus_then_hang_up() {
    let Some(mut peer) = Baresip::start_or_skip(Options { tone: BARESIP_TONE, ..Options::default() }) else {
        return;
    };
    let run = start();
    let dir = tempfile::tempdir().unwrap();
    we_call_and_hang_up(&run, &mut peer, "PCMU", dir.path());
    we_call_and_hang_up(&run, &mut peer, "G722", dir.path());
    if baresip::has_module("opus") {
        we_call_and_hang_up(&run, &mut peer, "opus", dir.path());
    } else {
        println!("baresip has no opus module here: the Opus call is not tried");
    }
    run.stop();
}

#[test]
fn we_call_baresip_over_sdes_srtp_and_it_hangs_up() {
    if !baresip::has_module("srtp") {
        println!("SKIPPED: baresip has no srtp module here");
        return;
    }
    let options = Options { tone: BARESIP_TONE, media_encryption: Some("srtp-mand".into()), ..Options::default() };
    let Some(mut peer) = Baresip::start_or_skip(options) else { return };
    let run = start();
    let dir = tempfile::tempdir().unwrap();
    run.configure(&["PCMU"], Some("sdes_mandatory"));
    let (session, stream) = call(&run, &mut peer);
    assert_eq!(stream.codec(), Some("PCMU"));
    assert!(stream.srtp_active(), "SRTP is in use");
    assert!(session.local_sdp().windows(8).any(|w| w == b"RTP/SAVP"));
    assert!(session.remote_sdp().windows(8).any(|w| w == b"a=crypto"), "baresip answered with a key");
    let (heard, elapsed) = record(&run, &stream, &dir.path().join("from-baresip-srtp.wav"), 1);
    assert_tone("baresip -> us, PCMU over SRTP", heard, BARESIP_TONE, elapsed);
    assert_rtp_both_ways("PCMU over SRTP", &stream);

    peer.hangup().unwrap();
    let ended = run.from("SIPSessionDidEnd", session.handle(), 1);
    assert_eq!(text(&ended, "originator"), "remote");
    run.from("MediaStreamDidEnd", stream.handle(), 1);
    peer.expect_event("CALL_CLOSED", T);
    assert_eq!(session.state(), SessionState::Terminated);
    run.stop();
}

/// baresip calls alice; we accept the proposed stream.
fn baresip_calls(run: &Running, peer: &mut Baresip) -> (Arc<Session>, Arc<AudioStream>) {
    peer.dial(&run.alice_uri()).unwrap();
    let incoming = run
        .recorder
        .wait_until(T, |seen| seen.iter().find(|x| x.name == "SIPSessionNewIncoming").cloned())
        .unwrap_or_else(|| panic!("no SIPSessionNewIncoming: {:?}\n{}", run.recorder.names(), peer.log()));
    let session = handle::resolve::<Session>(incoming.sender.as_object().unwrap(), ObjectKind::Session).unwrap();
    assert_eq!(session.direction(), Some("incoming"));
    assert!(session.remote_identity().unwrap_or_default().contains("bob"), "{:?}", session.remote_identity());
    let proposed = session.proposed_streams();
    assert_eq!(proposed.len(), 1, "one audio stream proposed");
    assert_eq!(proposed[0].stream_type(), "audio");
    let stream = proposed[0].clone().as_any().downcast::<AudioStream>().expect("an AudioStream");
    count_plain_pings(&stream);
    session.send_ring_indication().unwrap();
    peer.expect_event("CALL_RINGING", T);
    session.accept_streams(&proposed).unwrap();
    run.from("SIPSessionDidStart", session.handle(), 1);
    peer.expect_event("CALL_ESTABLISHED", T);
    run.from("MediaStreamDidStart", stream.handle(), 1);
    (session, stream)
}

/// Plays [`OUR_TONE`] into `stream` through the voice mixer for
/// [`LISTEN`] (counted in packets the stream sent), then leaves the
/// player's slot playing on.
fn play_into(stream: &AudioStream, dir: &Path) -> u32 {
    let engine = AudioEngine::instance();
    let rate = engine.sample_rate().expect("the voice mixer runs");
    let wav = dir.join("our-tone.wav");
    write_wav(&wav, rate, &sine(OUR_TONE, 8000.0, rate, rate as usize * 30)).unwrap();
    let player = shared(WavePlayer::new(&wav, rate, WavePlayerOptions::default()).unwrap());
    let player_slot = engine.with_mixer(|m| m.add_port(player.clone())).unwrap();
    let stream_slot = stream.slot().expect("the stream has a slot");
    engine.with_mixer(|m| m.connect_slots(player_slot, stream_slot)).unwrap().unwrap();
    player.lock().unwrap().start().unwrap();
    let first = stream.statistics().rtp.packets_sent;
    let packets = LISTEN.as_millis() as u64 / 20;
    assert!(wait(|| stream.statistics().rtp.packets_sent >= first + packets), "{:?}", stream.statistics());
    player_slot
}

/// What baresip decoded during the call (its sndfile dump), once the file
/// is complete.
fn baresip_heard(peer: &Baresip) -> (f64, f64, f64) {
    let mut last = (0.0, 0.0, 0.0);
    let found = wait(|| {
        let Some(file) = peer.received_audio_files().pop() else { return false };
        if read_wav(&file).map(|(_, _, samples)| samples.is_empty()).unwrap_or(true) {
            return false;
        }
        last = analyse(&file);
        last.1 >= 0.9 * LISTEN.as_secs_f64()
    });
    assert!(found, "baresip's received-audio dump: {last:?} in {:?}\n{}", peer.received_audio_files(), peer.log());
    last
}

#[test]
fn baresip_calls_us_we_answer_and_both_hear_the_other_then_it_hangs_up() {
    let options = Options { tone: BARESIP_CALLER_TONE, auto_answer: false, ..Options::default() };
    let Some(mut peer) = Baresip::start_or_skip(options) else { return };
    let run = start();
    let dir = tempfile::tempdir().unwrap();
    let codecs: &[&str] = if baresip::has_module("opus") { &["opus", "PCMU"] } else { &["PCMU"] };
    run.configure(codecs, None);
    let (session, stream) = baresip_calls(&run, &mut peer);
    assert_eq!(stream.codec(), Some(codecs[0]), "baresip offers opus first");
    // The recording is of the conversation: listen before we play.
    let (heard, elapsed) = record(&run, &stream, &dir.path().join("from-baresip.wav"), 1);
    assert_tone(&format!("baresip -> us, {}", codecs[0]), heard, BARESIP_CALLER_TONE, elapsed);
    let player_slot = play_into(&stream, dir.path());
    assert_rtp_both_ways(codecs[0], &stream);

    peer.hangup().unwrap();
    let ended = run.from("SIPSessionDidEnd", session.handle(), 1);
    assert_eq!(text(&ended, "originator"), "remote");
    run.from("MediaStreamDidEnd", stream.handle(), 1);
    peer.expect_event("CALL_CLOSED", T);
    AudioEngine::instance().with_mixer(|m| m.remove_slot(player_slot)).unwrap().unwrap();
    let heard = baresip_heard(&peer);
    assert_tone(&format!("us -> baresip, {}", codecs[0]), heard, OUR_TONE, LISTEN.as_secs_f64());
    run.stop();
}

#[test]
fn baresip_calls_us_over_sdes_srtp_and_we_hang_up() {
    if !baresip::has_module("srtp") {
        println!("SKIPPED: baresip has no srtp module here");
        return;
    }
    let options = Options {
        tone: BARESIP_CALLER_TONE,
        auto_answer: false,
        media_encryption: Some("srtp-mand".into()),
        audio_codecs: Some("PCMU".into()),
        ..Options::default()
    };
    let Some(mut peer) = Baresip::start_or_skip(options) else { return };
    let run = start();
    let dir = tempfile::tempdir().unwrap();
    run.configure(&["PCMU"], Some("sdes_mandatory"));
    let (session, stream) = baresip_calls(&run, &mut peer);
    assert_eq!(stream.codec(), Some("PCMU"));
    assert!(stream.srtp_active(), "SRTP is in use");
    let (heard, elapsed) = record(&run, &stream, &dir.path().join("from-baresip-srtp.wav"), 1);
    assert_tone("baresip -> us, PCMU over SRTP", heard, BARESIP_CALLER_TONE, elapsed);
    let player_slot = play_into(&stream, dir.path());
    assert_rtp_both_ways("PCMU over SRTP (incoming)", &stream);

    session.end().unwrap();
    let ended = run.from("SIPSessionDidEnd", session.handle(), 1);
    assert_eq!(text(&ended, "originator"), "local");
    run.from("MediaStreamDidEnd", stream.handle(), 1);
    peer.expect_event("CALL_CLOSED", T);
    AudioEngine::instance().with_mixer(|m| m.remove_slot(player_slot)).unwrap().unwrap();
    let heard = baresip_heard(&peer);
    assert_tone("us -> baresip, PCMU over SRTP", heard, OUR_TONE, LISTEN.as_secs_f64());
    run.stop();
}
