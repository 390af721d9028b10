//! Calls with real audio through the running application: alice calls bob,
//! both accounts of the same application on loopback, each side with an
//! `AudioStream` (offered by alice, proposed to bob by the stream registry
//! and accepted). A WavePlayer of a 2 s 440 Hz WAV file plays into alice's
//! stream; bob's stream records what it receives. After the call, the
//! recording must hold the tone (440 Hz ± 2%) for at least 90% of the
//! played duration.
//!
//! - PCMU without SRTP: the RTP payloads captured on the wire decode as
//!   G.711 to the 440 Hz tone;
//! - PCMU with SRTP required on both sides: `srtp_active` on both streams,
//!   every RTP packet carries the 10-byte tag, and the payloads on the wire
//!   are not the tone (they decode to noise with near 8 bits of entropy);
//! - Opus with optional SRTP (the default): the tone arrives, SRTP is used.
//! - an offer with no codec in common is refused with 488 and
//!   `SIPSessionDidFail` on both sides, a malformed one too.

#[path = "support/app.rs"]
mod app;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sipsimple_core::audio::analysis::{dominant_frequency, read_wav, rms, sine, tone_amplitude, write_wav};
use sipsimple_core::audio::codec::ulaw_decode;
use sipsimple_core::audio::{WavePlayer, WavePlayerOptions, shared};
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::notification::{Notification, NotificationCenter};
use sipsimple_core::rtp::session::PacketKind;
use sipsimple_core::session::{Session, SessionState};
use sipsimple_core::streams::{AudioEngine, AudioStream, MediaStream, TappedPacket};
use sipsimple_core::{SIPSimpleSettings, Value};

const T: Duration = Duration::from_secs(10);
const TONE: f64 = 440.0;
const PLAYED: Duration = Duration::from_secs(2);

static APP: Mutex<()> = Mutex::new(());

type Running = app::TwoAccounts;

fn start() -> Running {
    app::two_accounts(&APP)
}

impl Running {
    /// Codec list for everybody, SRTP policy per account.
    fn configure(&self, codecs: &[&str], key_negotiation: &str) {
        let list = Value::List(codecs.iter().map(|c| Value::from(*c)).collect());
        let s = SIPSimpleSettings::instance();
        s.settings().set("rtp.audio_codec_list", list).unwrap();
        s.settings().save().unwrap();
        for account in [&self.alice, &self.bob] {
            account.settings().set("rtp.audio_codec_list", Value::Null).unwrap();
            account.settings().set("rtp.encryption.key_negotiation", Value::from(key_negotiation)).unwrap();
            account.save().unwrap();
        }
    }

    /// Alice calls bob with PCMU (SRTP if both offer it): an established call.
    fn pcmu_call(&self) -> Call {
        self.configure(&["PCMU"], "opportunistic");
        establish(self, 1)
    }
}

fn text(n: &Notification, field: &str) -> String {
    n.data.get(field).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn handles(n: &Notification) -> Vec<sipsimple_core::Handle> {
    match n.data.get("streams") {
        Some(Value::List(items)) => items.iter().filter_map(Value::as_object).collect(),
        other => panic!("streams is {other:?}"),
    }
}

/// RTP packets alice sent, as captured on the wire.
type Wire = Arc<Mutex<Vec<Vec<u8>>>>;

struct Outcome {
    frequency: f64,
    arrived: Duration,
    alice: Arc<AudioStream>,
    bob: Arc<AudioStream>,
    wire: Vec<Vec<u8>>,
}

/// Shannon entropy of the bytes, in bits per byte.
fn entropy(bytes: &[u8]) -> f64 {
    let mut counts = [0u64; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| -(c as f64 / n) * (c as f64 / n).log2()).sum()
}

/// The 20 ms windows of `samples` that carry sound, concatenated.
fn loud_part(samples: &[i16], rate: u32) -> Vec<i16> {
    let frame = (rate / 50) as usize;
    samples.chunks(frame).filter(|c| c.len() == frame && rms(c) > 1000.0).flatten().copied().collect()
}

/// An established call with one audio stream each side.
struct Call {
    call: Arc<Session>,
    incoming: Arc<Session>,
    alice: Arc<AudioStream>,
    bob: Arc<AudioStream>,
    wire: Wire,
}

/// Alice calls bob with an AudioStream, bob accepts the proposed one; the
/// RTP alice sends is captured.
fn establish(run: &Running, n: usize) -> Call {
    let alice_stream = AudioStream::new(&run.alice);
    let wire: Wire = Arc::new(Mutex::new(Vec::new()));
    let captured = wire.clone();
    alice_stream.set_packet_tap(Some(Arc::new(move |p: &TappedPacket<'_>| {
        if p.sent && p.kind == PacketKind::Rtp {
            captured.lock().unwrap().push(p.data.to_vec());
        }
    })));
    let call = Session::new(&run.alice);
    let offered: Vec<Arc<dyn MediaStream>> = vec![alice_stream.clone()];
    call.connect_with_streams(&run.bob_uri(), offered, None).unwrap();
    let outgoing = run.from("SIPSessionNewOutgoing", call.handle(), 1);
    assert_eq!(handles(&outgoing), [alice_stream.handle()]);

    let incoming = run.incoming(n);
    let proposed = incoming.proposed_streams();
    assert_eq!(proposed.len(), 1, "one audio stream proposed");
    assert_eq!(proposed[0].stream_type(), "audio");
    let new_incoming = run.from("SIPSessionNewIncoming", incoming.handle(), 1);
    assert_eq!(handles(&new_incoming), [proposed[0].handle()]);
    let bob_stream = proposed[0].clone().as_any().downcast::<AudioStream>().expect("an AudioStream");
    incoming.accept_streams(&proposed).unwrap();

    let started = run.from("SIPSessionDidStart", call.handle(), 1);
    assert_eq!(handles(&started), [alice_stream.handle()]);
    let started = run.from("SIPSessionDidStart", incoming.handle(), 1);
    assert_eq!(handles(&started), [bob_stream.handle()]);
    for stream in [&alice_stream, &bob_stream] {
        run.from("MediaStreamDidInitialize", stream.handle(), 1);
        run.from("MediaStreamDidStart", stream.handle(), 1);
    }
    assert_eq!(call.streams().len(), 1);
    assert!(incoming.proposed_streams().is_empty());
    assert_eq!(alice_stream.codec(), bob_stream.codec());
    assert_eq!(alice_stream.remote_rtp_address_sdp().map(|a| a.port()), bob_stream.local_rtp_port());
    assert_eq!(bob_stream.remote_rtp_address_sdp().map(|a| a.port()), alice_stream.local_rtp_port());
    Call { call, incoming, alice: alice_stream, bob: bob_stream, wire }
}

impl Call {
    /// Alice hangs up; both sessions and streams end.
    fn hang_up(&self, run: &Running) {
        self.call.end().unwrap();
        let ended = run.from("SIPSessionDidEnd", self.incoming.handle(), 1);
        assert_eq!(text(&ended, "originator"), "remote");
        run.from("SIPSessionDidEnd", self.call.handle(), 1);
        for stream in [&self.alice, &self.bob] {
            run.from("MediaStreamWillEnd", stream.handle(), 1);
            run.from("MediaStreamDidEnd", stream.handle(), 1);
        }
        assert_eq!((self.call.state(), self.incoming.state()), (SessionState::Terminated, SessionState::Terminated));
    }
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

/// Alice calls bob; the WAV plays into alice's stream while bob's stream
/// records. Returns what bob recorded, analysed.
fn call_with_tone(run: &Running, dir: &Path) -> Outcome {
    let rate = AudioEngine::instance().sample_rate().expect("the voice mixer runs");
    let wav = dir.join("tone.wav");
    let tone = sine(TONE, 16000.0, rate, (rate as usize) * PLAYED.as_millis() as usize / 1000);
    write_wav(&wav, rate, &tone).unwrap();
    let c = establish(run, 1);
    let (alice_stream, bob_stream) = (c.alice.clone(), c.bob.clone());

    let recording = dir.join("received").join("bob.wav");
    bob_stream.start_recording(&recording).unwrap();
    let did = run.from("AudioStreamDidStartRecordingAudio", bob_stream.handle(), 1);
    assert!(text(&did, "filename").ends_with("bob.wav"));
    assert_eq!(bob_stream.recording_filename().as_deref(), Some(recording.as_path()));

    // The player feeds alice's stream through the voice mixer.
    let engine = AudioEngine::instance();
    let player = shared(WavePlayer::new(&wav, rate, WavePlayerOptions::default()).unwrap());
    let player_slot = engine.with_mixer(|m| m.add_port(player.clone())).unwrap();
    let stream_slot = alice_stream.slot().expect("alice's stream has a slot");
    engine.with_mixer(|m| m.connect_slots(player_slot, stream_slot)).unwrap().unwrap();
    player.lock().unwrap().start().unwrap();
    assert!(wait(|| !player.lock().unwrap().is_active()), "the player ended");
    // Everything sent until now (and two ticks more) is played out at bob.
    let sent = alice_stream.statistics().rtp.packets_sent + 2;
    assert!(wait(|| {
        let jitter = bob_stream.statistics().jitter;
        jitter.played + jitter.lost + jitter.discarded + jitter.other >= sent
    }));
    engine.with_mixer(|m| m.remove_slot(player_slot)).unwrap().unwrap();

    let received = bob_stream.statistics();
    assert!(received.rtp.packets_received >= 100, "{received:?}");
    assert_eq!(received.rtp.srtp_failures, 0, "{received:?}");
    assert_eq!(received.jitter.lost, 0, "{received:?}");
    assert_eq!(bob_stream.remote_rtp_address_received().map(|a| a.port()), alice_stream.local_rtp_port());

    c.hang_up(run);
    let stopped = run.from("AudioStreamDidStopRecordingAudio", bob_stream.handle(), 1);
    assert_eq!(text(&stopped, "filename"), text(&did, "filename"));
    assert!(bob_stream.recording_filename().is_none());

    let (recorded_rate, channels, samples) = read_wav(&recording).unwrap();
    assert_eq!((recorded_rate, channels), (rate, 1));
    let loud = loud_part(&samples, rate);
    let arrived = Duration::from_secs_f64(loud.len() as f64 / rate as f64);
    let frequency = dominant_frequency(&loud, rate).unwrap_or(0.0);
    let wire = c.wire.lock().unwrap().clone();
    Outcome { frequency, arrived, alice: alice_stream, bob: bob_stream, wire }
}

fn assert_tone_arrived(outcome: &Outcome, label: &str) {
    println!(
        "{label}: recorded {:.2} Hz for {:.3} s of {:.1} s played ({:.1}%)",
        outcome.frequency,
        outcome.arrived.as_secs_f64(),
        PLAYED.as_secs_f64(),
        100.0 * outcome.arrived.as_secs_f64() / PLAYED.as_secs_f64()
    );
    assert!((outcome.frequency - TONE).abs() <= TONE * 0.02, "{label}: {} Hz", outcome.frequency);
    assert!(outcome.arrived.as_secs_f64() >= 0.9 * PLAYED.as_secs_f64(), "{label}: {:?}", outcome.arrived);
    // Nothing beyond what was played (plus a frame of ramp either side).
    assert!(outcome.arrived <= PLAYED + Duration::from_millis(60), "{label}: {:?}", outcome.arrived);
}

/// The G.711 payloads alice sent, decoded: the tone in the clear, noise
/// under SRTP. Returns (440 Hz amplitude / rms, entropy of the payload bytes).
fn wire_analysis(wire: &[Vec<u8>], tag_len: usize) -> (f64, f64) {
    let payloads: Vec<&[u8]> = wire.iter().map(|p| &p[12..p.len() - tag_len]).collect();
    let bytes: Vec<u8> = payloads.iter().flat_map(|p| p.iter().copied()).collect();
    let pcm: Vec<i16> = bytes.iter().map(|&b| ulaw_decode(b)).collect();
    let loud = loud_part(&pcm, 8000);
    let part = if loud.len() > 8000 { &loud } else { &pcm };
    let share = tone_amplitude(part, 8000, TONE) / (rms(part) * std::f64::consts::SQRT_2).max(1.0);
    (share, entropy(&bytes))
}

#[test]
fn a_440_hz_tone_crosses_a_pcmu_call_in_the_clear_and_under_srtp() {
    let run = start();
    let dir = tempfile::tempdir().unwrap();

    run.configure(&["PCMU"], "opportunistic");
    for account in [&run.alice, &run.bob] {
        account.settings().set("rtp.encryption.enabled", Value::Bool(false)).unwrap();
        account.save().unwrap();
    }
    let clear = call_with_tone(&run, dir.path());
    assert_tone_arrived(&clear, "PCMU");
    assert_eq!(clear.alice.codec(), Some("PCMU"));
    assert_eq!(clear.bob.sample_rate(), Some(8000));
    assert!(!clear.alice.srtp_active() && !clear.bob.srtp_active());
    assert!(clear.wire.len() >= 100, "{} packets", clear.wire.len());
    assert!(clear.wire.iter().all(|p| p.len() == 12 + 160), "plain RTP: header and 160 bytes of PCMU");
    let (share, bits) = wire_analysis(&clear.wire, 0);
    println!("PCMU on the wire: the 440 Hz tone is {:.0}% of the signal; {bits:.2} bits/byte", share * 100.0);
    assert!(share > 0.9, "the clear payload is the tone: {share}");

    run.recorder.clear();
    run.configure(&["PCMU"], "sdes_mandatory");
    for account in [&run.alice, &run.bob] {
        account.settings().set("rtp.encryption.enabled", Value::Bool(true)).unwrap();
        account.save().unwrap();
    }
    let secure = call_with_tone(&run, dir.path());
    assert_tone_arrived(&secure, "PCMU over SRTP");
    assert!(secure.alice.srtp_active() && secure.bob.srtp_active(), "SRTP on both sides");
    assert!(secure.wire.iter().all(|p| p.len() == 12 + 160 + 10), "SRTP: header, payload, 80-bit tag");
    let (share, bits) = wire_analysis(&secure.wire, 10);
    println!("PCMU over SRTP on the wire: the 440 Hz tone is {:.1}% of the signal; {bits:.2} bits/byte", share * 100.0);
    assert!(share < 0.1, "the encrypted payload is not the tone: {share}");
    assert!(bits > 7.9, "encrypted payloads look random: {bits} bits/byte");
    assert!(bits - wire_analysis(&clear.wire, 0).1 > 1.0);
    run.stop();
}

#[test]
fn a_440_hz_tone_crosses_an_opus_call_with_optional_srtp() {
    let run = start();
    let dir = tempfile::tempdir().unwrap();
    run.configure(&["opus", "PCMU"], "opportunistic");
    for account in [&run.alice, &run.bob] {
        account.settings().set("rtp.encryption.enabled", Value::Bool(true)).unwrap();
        account.save().unwrap();
    }
    let outcome = call_with_tone(&run, dir.path());
    assert_tone_arrived(&outcome, "opus over SRTP");
    assert_eq!(outcome.alice.codec(), Some("opus"));
    assert_eq!(outcome.bob.sample_rate(), Some(48000));
    assert!(outcome.alice.srtp_active() && outcome.bob.srtp_active(), "optional SRTP is used when both offer it");
    run.stop();
}

#[test]
fn offers_without_a_common_codec_or_malformed_are_refused_with_488() {
    let run = start();
    // Alice offers PCMA only; bob accepts only PCMU.
    let alice_stream = AudioStream::new(&run.alice);
    run.alice.settings().set("rtp.audio_codec_list", Value::List(vec![Value::from("PCMA")])).unwrap();
    run.alice.save().unwrap();
    run.bob.settings().set("rtp.audio_codec_list", Value::List(vec![Value::from("PCMU")])).unwrap();
    run.bob.save().unwrap();
    let call = Session::new(&run.alice);
    call.connect_with_streams(&run.bob_uri(), vec![alice_stream.clone()], None).unwrap();
    let failed = run.from("SIPSessionDidFail", call.handle(), 1);
    assert_eq!(failed.data.get("code"), Some(&Value::Int(488)));
    assert_eq!(text(&failed, "originator"), "remote");
    run.from("MediaStreamDidEnd", alice_stream.handle(), 1);
    let refused = run
        .recorder
        .wait_until(T, |seen| {
            seen.iter().find(|x| x.name == "SIPSessionDidFail" && x.sender != Value::Object(call.handle())).cloned()
        })
        .expect("bob's session fails too");
    assert_eq!(refused.data.get("code"), Some(&Value::Int(488)));
    assert!(text(&refused, "failure_reason").contains("codec"), "{:?}", refused.data);
    assert!(!run.recorder.names().contains(&"SIPSessionNewIncoming".to_owned()));

    // A malformed offer (raw SDP through the same API).
    run.recorder.clear();
    let call = Session::new(&run.alice);
    call.connect(&run.bob_uri(), b"v=0\r\nthis is not SDP\r\n".to_vec(), None).unwrap();
    let failed = run.from("SIPSessionDidFail", call.handle(), 1);
    assert_eq!(failed.data.get("code"), Some(&Value::Int(488)));
    assert!(!run.recorder.names().contains(&"SIPSessionNewIncoming".to_owned()));
    run.stop();
}

#[test]
fn dtmf_digits_arrive_in_order_and_hold_is_seen_on_both_sides_over_srtp() {
    let run = start();
    run.configure(&["PCMU"], "sdes_mandatory");
    for account in [&run.alice, &run.bob] {
        account.settings().set("rtp.encryption.enabled", Value::Bool(true)).unwrap();
        account.save().unwrap();
    }
    let c = establish(&run, 1);
    assert!(c.alice.srtp_active() && c.bob.srtp_active());

    for digit in "159#*0AD".chars() {
        c.alice.send_dtmf(digit).unwrap();
    }
    assert!(c.alice.send_dtmf('x').is_err());
    let digits = run
        .recorder
        .wait_until(T, |seen| {
            let digits: String = seen
                .iter()
                .filter(|x| x.name == "AudioStreamGotDTMF" && x.sender == Value::Object(c.bob.handle()))
                .map(|x| text(x, "digit"))
                .collect();
            (digits.len() >= 8).then_some(digits)
        })
        .expect("eight digits");
    assert_eq!(digits, "159#*0AD");

    // Alice holds: alice's streams stop; bob's sees the remote hold.
    c.call.hold().unwrap();
    let held = run.from("SIPSessionDidChangeHoldState", c.call.handle(), 1);
    assert_eq!(text(&held, "originator"), "local");
    assert_eq!(held.data.get("on_hold"), Some(&Value::Bool(true)));
    assert_eq!(held.data.get("partial"), Some(&Value::Bool(false)));
    let held = run.from("SIPSessionDidChangeHoldState", c.incoming.handle(), 1);
    assert_eq!(text(&held, "originator"), "remote");
    assert_eq!(held.data.get("on_hold"), Some(&Value::Bool(true)));
    let stream_held = run.from("AudioStreamDidChangeHoldState", c.bob.handle(), 1);
    assert_eq!(text(&stream_held, "originator"), "remote");
    assert!(c.alice.on_hold_by_local() && c.bob.on_hold_by_remote());
    assert!(c.call.on_hold() && c.incoming.on_hold());
    assert!(c.call.local_sdp().windows(10).any(|w| w == b"a=sendonly"));
    assert!(c.incoming.local_sdp().windows(10).any(|w| w == b"a=recvonly"));
    // Nothing flows while held: neither side sends RTP (a tick in flight aside).
    std::thread::sleep(Duration::from_millis(60));
    let sent = |c: &Call| (c.alice.statistics().rtp.packets_sent, c.bob.statistics().rtp.packets_sent);
    let before = sent(&c);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sent(&c), before, "no RTP while on hold");

    c.call.unhold().unwrap();
    let unheld = run.from("SIPSessionDidChangeHoldState", c.call.handle(), 2);
    assert_eq!(unheld.data.get("on_hold"), Some(&Value::Bool(false)));
    let unheld = run.from("SIPSessionDidChangeHoldState", c.incoming.handle(), 2);
    assert_eq!(text(&unheld, "originator"), "remote");
    assert_eq!(unheld.data.get("on_hold"), Some(&Value::Bool(false)));
    assert!(!c.call.on_hold() && !c.incoming.on_hold());
    let received = c.bob.statistics().rtp.packets_received;
    assert!(wait(|| c.bob.statistics().rtp.packets_received > received + 10), "audio flows again");
    let received = c.alice.statistics().rtp.packets_received;
    assert!(wait(|| c.alice.statistics().rtp.packets_received > received + 10), "both ways");
    // The re-INVITEs kept the SRTP keys: nothing failed authentication.
    for stream in [&c.alice, &c.bob] {
        assert!(stream.srtp_active());
        assert_eq!(stream.statistics().rtp.srtp_failures, 0, "{:?}", stream.statistics());
    }
    assert!(!run.recorder.names().iter().any(|n| n == "SIPSessionGotProposal"), "hold is no stream proposal");

    c.hang_up(&run);
    run.stop();
}

fn stream_list(n: &Notification, field: &str) -> Vec<sipsimple_core::Handle> {
    match n.data.get(field) {
        Some(Value::List(items)) => items.iter().filter_map(Value::as_object).collect(),
        other => panic!("{field} is {other:?}"),
    }
}

#[test]
fn a_second_stream_is_added_by_reinvite_carries_audio_and_is_removed() {
    let run = start();
    let c = run.pcmu_call();

    // Alice adds a second audio stream: bob is asked.
    let second = AudioStream::new(&run.alice);
    let second_dyn: Arc<dyn MediaStream> = second.clone();
    c.call.add_stream(second_dyn.clone()).unwrap();
    assert_eq!(c.call.state(), SessionState::SendingProposal);
    let ours = run.from("SIPSessionGotProposal", c.call.handle(), 1);
    assert_eq!(text(&ours, "originator"), "local");
    assert_eq!(stream_list(&ours, "streams"), [second.handle()]);
    assert_eq!(c.call.proposed_streams().len(), 1);
    let theirs = run.from("SIPSessionGotProposal", c.incoming.handle(), 1);
    assert_eq!(text(&theirs, "originator"), "remote");
    let proposed = c.incoming.proposed_streams();
    assert_eq!(stream_list(&theirs, "streams"), [proposed[0].handle()]);
    assert_eq!(c.incoming.state(), SessionState::ReceivedProposal);
    let bob_second = proposed[0].clone().as_any().downcast::<AudioStream>().unwrap();
    c.incoming.accept_proposal_streams(&proposed).unwrap();

    let accepted = run.from("SIPSessionGotAcceptProposal", c.call.handle(), 1);
    assert_eq!(text(&accepted, "originator"), "local");
    assert_eq!(stream_list(&accepted, "streams"), [second.handle()]);
    assert_eq!(stream_list(&accepted, "proposed_streams"), [second.handle()]);
    let added = run.from("SIPSessionDidRenegotiateStreams", c.call.handle(), 1);
    assert_eq!((text(&added, "action"), stream_list(&added, "streams")), ("add".into(), vec![second.handle()]));
    let accepted = run.from("SIPSessionGotAcceptProposal", c.incoming.handle(), 1);
    assert_eq!(text(&accepted, "originator"), "remote");
    let added = run.from("SIPSessionDidRenegotiateStreams", c.incoming.handle(), 1);
    assert_eq!(stream_list(&added, "streams"), [bob_second.handle()]);
    assert_eq!((c.call.streams().len(), c.incoming.streams().len()), (2, 2));
    assert!(c.call.proposed_streams().is_empty() && c.incoming.proposed_streams().is_empty());
    assert_eq!(c.call.state(), SessionState::Connected);
    // Both m-lines are live in both SDPs, and RTP flows on the new stream both ways.
    let live = |sdp: Vec<u8>| String::from_utf8_lossy(&sdp).matches("m=audio ").filter(|m| !m.is_empty()).count();
    assert_eq!((live(c.call.local_sdp()), live(c.incoming.local_sdp())), (2, 2));
    assert_eq!(second.remote_rtp_address_sdp().map(|a| a.port()), bob_second.local_rtp_port());
    assert!(wait(|| bob_second.statistics().rtp.packets_received > 10), "RTP on the added stream");
    assert!(wait(|| second.statistics().rtp.packets_received > 10), "both ways");
    for digit in "42".chars() {
        second.send_dtmf(digit).unwrap();
    }
    let digits = run
        .recorder
        .wait_until(T, |seen| {
            let d: String = seen
                .iter()
                .filter(|x| x.name == "AudioStreamGotDTMF" && x.sender == Value::Object(bob_second.handle()))
                .map(|x| text(x, "digit"))
                .collect();
            (d.len() >= 2).then_some(d)
        })
        .expect("digits on the added stream");
    assert_eq!(digits, "42");

    // Bob removes it again: it ends on both sides, the first stream stays.
    let bob_second_dyn: Arc<dyn MediaStream> = bob_second.clone();
    c.incoming.remove_stream(&bob_second_dyn).unwrap();
    assert!(c.incoming.remove_stream(&bob_second_dyn).is_err(), "not active any more");
    let removed = run.from("SIPSessionDidRenegotiateStreams", c.call.handle(), 2);
    assert_eq!((text(&removed, "action"), stream_list(&removed, "streams")), ("remove".into(), vec![second.handle()]));
    let removed = run.from("SIPSessionDidRenegotiateStreams", c.incoming.handle(), 2);
    assert_eq!(text(&removed, "action"), "remove");
    for stream in [&second, &bob_second] {
        run.from("MediaStreamDidEnd", stream.handle(), 1);
    }
    assert_eq!((c.call.streams().len(), c.incoming.streams().len()), (1, 1));
    assert!(c.call.local_sdp().windows(9).any(|w| w == b"m=audio 0"), "the removed m-line stays, with port 0");
    let received = c.bob.statistics().rtp.packets_received;
    assert!(wait(|| c.bob.statistics().rtp.packets_received > received + 10), "the first stream still flows");
    assert_eq!(c.call.state(), SessionState::Connected);

    // Adding a stream that was used already is refused.
    assert!(c.call.add_stream(second_dyn).is_err());
    c.hang_up(&run);
    run.stop();
}

#[test]
fn a_refused_stream_proposal_ends_the_stream_and_hold_waits_for_an_idle_session() {
    let run = start();
    let c = run.pcmu_call();

    let second = AudioStream::new(&run.alice);
    c.call.add_stream(second.clone()).unwrap();
    run.from("SIPSessionGotProposal", c.incoming.handle(), 1);
    let proposed = c.incoming.proposed_streams();
    // Alice asks to hold while her proposal is pending: it waits.
    c.call.hold().unwrap();
    c.incoming.reject_proposal(488, None).unwrap();
    let refused = run.from("SIPSessionGotRejectProposal", c.call.handle(), 1);
    assert_eq!(text(&refused, "originator"), "local");
    assert_eq!(refused.data.get("code"), Some(&Value::Int(488)));
    assert_eq!(stream_list(&refused, "streams"), [second.handle()]);
    let refused = run.from("SIPSessionGotRejectProposal", c.incoming.handle(), 1);
    assert_eq!(text(&refused, "originator"), "remote");
    assert_eq!(stream_list(&refused, "streams"), [proposed[0].handle()]);
    run.from("MediaStreamDidEnd", second.handle(), 1);
    assert!(c.call.proposed_streams().is_empty() && c.incoming.proposed_streams().is_empty());
    assert_eq!(c.call.streams().len(), 1);

    // Then the deferred hold goes out.
    let held = run.from("SIPSessionDidChangeHoldState", c.call.handle(), 1);
    assert_eq!(held.data.get("on_hold"), Some(&Value::Bool(true)));
    let held = run.from("SIPSessionDidChangeHoldState", c.incoming.handle(), 1);
    assert_eq!(text(&held, "originator"), "remote");
    assert!(c.call.on_hold() && c.incoming.on_hold());
    assert!(!run.recorder.names().iter().any(|n| n == "SIPSessionDidRenegotiateStreams"));

    // A proposal cancelled before the answer: 487.
    let third = AudioStream::new(&run.alice);
    c.call.unhold().unwrap();
    run.from("SIPSessionDidChangeHoldState", c.call.handle(), 2);
    c.call.add_stream(third.clone()).unwrap();
    run.from("SIPSessionGotProposal", c.incoming.handle(), 2);
    c.call.cancel_proposal().unwrap();
    let cancelled = run.from("SIPSessionGotRejectProposal", c.call.handle(), 2);
    assert_eq!(cancelled.data.get("code"), Some(&Value::Int(487)));
    assert_eq!(stream_list(&cancelled, "streams"), [third.handle()]);
    run.from("MediaStreamDidEnd", third.handle(), 1);
    assert!(wait(|| c.incoming.state() == SessionState::Connected), "{:?}", c.incoming.state());

    let session_handle = c.call.handle();
    let stream_handle = c.alice.handle();
    c.hang_up(&run);
    // A call rejected just before the stop (its transaction timers still run).
    let busy = Session::new(&run.alice);
    busy.connect_with_streams(&run.bob_uri(), vec![AudioStream::new(&run.alice)], None).unwrap();
    run.incoming(2).reject(486, None).unwrap();
    run.from("SIPSessionDidFail", busy.handle(), 1);
    // After the application stops and starts again, the old handles are stale.
    assert!(handle::resolve::<Session>(session_handle, ObjectKind::Session).is_ok(), "kept after the end");
    assert!(handle::resolve::<Session>(busy.handle(), ObjectKind::Session).is_ok());
    run.stop();
    let run = start();
    for old in [session_handle, busy.handle()] {
        assert!(handle::resolve::<Session>(old, ObjectKind::Session).is_err());
    }
    assert!(handle::resolve::<AudioStream>(stream_handle, ObjectKind::AudioStream).is_err());
    run.stop();
}

#[test]
fn forged_packets_from_another_address_are_dropped_and_counted_and_never_latched() {
    let run = start();
    run.configure(&["PCMU"], "sdes_mandatory");
    for account in [&run.alice, &run.bob] {
        account.settings().set("rtp.encryption.enabled", Value::Bool(true)).unwrap();
        account.save().unwrap();
    }
    let c = establish(&run, 1);
    assert!(wait(|| c.bob.remote_rtp_address_received().is_some()), "bob latched onto alice");
    let bob_port = c.bob.local_rtp_port().unwrap();
    let attacker = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // Well-formed RTP headers (PCMU, a new SSRC) with a payload and a tag
    // that cannot authenticate, then plain garbage.
    for seq in 0u16..20 {
        let mut packet = vec![0x80, 0x00];
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        packet.extend_from_slice(&0x5eed_f00du32.to_be_bytes());
        packet.extend(std::iter::repeat_n(0xff, 160 + 10));
        attacker.send_to(&packet, ("127.0.0.1", bob_port)).unwrap();
    }
    attacker.send_to(b"not RTP at all", ("127.0.0.1", bob_port)).unwrap();
    assert!(
        wait(|| {
            let s = c.bob.statistics().rtp;
            s.srtp_failures + s.packets_discarded + s.malformed >= 21
        }),
        "{:?}",
        c.bob.statistics().rtp
    );
    let after = c.bob.statistics().rtp;
    println!(
        "forged: srtp_failures {}, discarded {}, malformed {}",
        after.srtp_failures, after.packets_discarded, after.malformed
    );
    assert_eq!(c.bob.remote_rtp_address_received().map(|a| a.port()), c.alice.local_rtp_port(), "still alice");
    let received = after.packets_received;
    assert!(wait(|| c.bob.statistics().rtp.packets_received > received + 10), "alice's audio still plays");
    assert!(after.srtp_failures >= 20, "every forged packet failed authentication: {after:?}");
    assert_eq!(c.alice.statistics().rtp.srtp_failures, 0);
    c.hang_up(&run);
    run.stop();
}

#[test]
fn a_stream_failing_during_the_call_is_removed_and_the_last_one_ends_the_session() {
    let run = start();
    let c = run.pcmu_call();
    let second = AudioStream::new(&run.alice);
    c.call.add_stream(second.clone()).unwrap();
    run.from("SIPSessionGotProposal", c.incoming.handle(), 1);
    c.incoming.accept_proposal_streams(&c.incoming.proposed_streams()).unwrap();
    run.from("SIPSessionDidRenegotiateStreams", c.call.handle(), 1);

    // The second stream's transport breaks (as its media task reports it).
    let center = NotificationCenter::default_center();
    let broken =
        sipsimple_core::notification::NotificationData::new().with("context", "media").with("reason", "socket closed");
    center.post_notification("MediaStreamDidFail", Value::Object(second.handle()), broken.clone());
    let removed = run.from("SIPSessionDidRenegotiateStreams", c.call.handle(), 2);
    assert_eq!((text(&removed, "action"), stream_list(&removed, "streams")), ("remove".into(), vec![second.handle()]));
    let removed = run.from("SIPSessionDidRenegotiateStreams", c.incoming.handle(), 2);
    assert_eq!(text(&removed, "action"), "remove");
    assert_eq!(c.call.streams().len(), 1);

    // Then the only one left breaks: the session ends.
    center.post_notification("MediaStreamDidFail", Value::Object(c.alice.handle()), broken);
    let ended = run.from("SIPSessionDidEnd", c.call.handle(), 1);
    assert_eq!(text(&ended, "originator"), "local");
    let ended = run.from("SIPSessionDidEnd", c.incoming.handle(), 1);
    assert_eq!(text(&ended, "originator"), "remote");
    run.stop();
}
