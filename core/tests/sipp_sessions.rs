//! INVITE sessions against SIPp (scenarios in `tests/peers/sipp/`): sipp
//! calls an account of the running application, which rings, answers and
//! is hung up on (`uac_invite.xml`); the application calls sipp, which
//! rings, answers with early media (183 with SDP), then re-INVITEs with a
//! changed codec that the application accepts, and the application hangs
//! up (`uas_invite.xml`). SDP bodies are carried as they are. Then early
//! media: sipp answers 183 with SDP and streams a 440 Hz tone over RTP for
//! 2 s before its 200 (`uas_early_media.xml`); the offered AudioStream
//! starts on the 183 and records the tone before the call is answered.

#[path = "support/app.rs"]
mod app;

#[path = "support/sipp.rs"]
mod sipp;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sipp::{Sipp, scenario};
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::notification::{Notification, NotificationCenter, NotificationRecorder};
use sipsimple_core::session::{Session, SessionState};
use sipsimple_core::sip::engine::Engine;
use sipsimple_core::sip::transport::TransportKind;
use sipsimple_core::{Account, Handle, SIPApplication, Value};

const T: Duration = Duration::from_secs(15);
const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n";
const PCMA_ANSWER: &[u8] = b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

static APP: Mutex<()> = Mutex::new(());

/// The application with UDP and one enabled, unregistered account `user`.
fn start(user: &str) -> (Arc<NotificationRecorder>, Arc<Account>) {
    let recorder = NotificationRecorder::new();
    NotificationCenter::default_center().add_observer(recorder.clone(), None, None);
    app::start_with_settings(&recorder, &[("sip.transport_list", Value::from("udp"))]);
    (recorder, app::unregistered_account(&format!("{user}@127.0.0.1")))
}

fn stop(recorder: &NotificationRecorder) {
    SIPApplication::instance().stop().unwrap();
    recorder.wait_for("SIPApplicationDidEnd", T).expect("DidEnd");
    let _ = NotificationCenter::default_center().remove_observer(recorder, None, None);
}

fn from(recorder: &NotificationRecorder, name: &str, sender: Handle) -> Notification {
    let sender = Value::Object(sender);
    recorder
        .wait_until(T, |seen| seen.iter().find(|n| n.name == name && n.sender == sender).cloned())
        .unwrap_or_else(|| panic!("no {name}; got {:?}", recorder.names()))
}

#[test]
fn sipp_calls_an_account_that_rings_answers_and_is_hung_up_on() {
    let _app = APP.lock().unwrap_or_else(PoisonError::into_inner);
    let (recorder, _bob) = start("bob");
    let mut engine = Engine::current().unwrap().local_address(TransportKind::Udp).unwrap();
    engine.set_ip(Ipv4Addr::LOCALHOST.into());
    let options = sipp::Options { service: Some("bob".into()), ..sipp::Options::default() };
    let mut caller = Sipp::uac_with(&scenario("uac_invite.xml"), engine, options);

    let incoming = recorder
        .wait_until(T, |seen| seen.iter().find(|n| n.name == "SIPSessionNewIncoming").cloned())
        .unwrap_or_else(|| panic!("no call: {}", caller.logs()));
    let session = handle::resolve::<Session>(incoming.sender.as_object().unwrap(), ObjectKind::Session).unwrap();
    assert!(String::from_utf8_lossy(&session.remote_sdp()).contains("PCMU/8000"));
    assert_eq!(session.remote_user_agent().as_deref(), Some("sipp-libsipsimple-tests"));
    session.send_ring_indication().unwrap();
    session.accept(SDP.to_vec()).unwrap();
    let sender = Value::Object(session.handle());
    recorder
        .wait_until(T, |seen| seen.iter().find(|n| n.name == "SIPSessionDidStart" && n.sender == sender).cloned())
        .unwrap_or_else(|| panic!("not started: {:?}\n{}", recorder.names(), caller.logs()));
    let ended = from(&recorder, "SIPSessionDidEnd", session.handle());
    assert_eq!(ended.data.get("originator"), Some(&Value::from("remote")));
    caller.wait(T).unwrap_or_else(|e| panic!("sipp as caller: {e}"));
    stop(&recorder);
}

#[test]
fn an_account_calls_sipp_with_early_media_and_a_codec_changing_reinvite() {
    let _app = APP.lock().unwrap_or_else(PoisonError::into_inner);
    let (recorder, alice) = start("alice");
    let mut callee = Sipp::uas(&scenario("uas_invite.xml"), &[]);
    let target: SocketAddr = callee.address();

    let call = Session::new(&alice);
    call.connect(&format!("sip:sipp@{target}"), SDP.to_vec(), None).unwrap();
    from(&recorder, "SIPSessionGotRingIndication", call.handle());
    let early = recorder
        .wait_until(T, |seen| {
            seen.iter()
                .find(|n| n.name == "SIPSessionGotProvisionalResponse" && n.data.get("code") == Some(&Value::Int(183)))
                .cloned()
        })
        .expect("the 183");
    assert_eq!(early.data.get("reason"), Some(&Value::from("Session Progress")));
    from(&recorder, "SIPSessionDidStart", call.handle());
    assert!(String::from_utf8_lossy(&call.remote_sdp()).contains("RTP/AVP 0"));

    // sipp's re-INVITE changes the codec to PCMA: accept it.
    from(&recorder, "SIPSessionGotProposal", call.handle());
    assert!(String::from_utf8_lossy(&call.remote_sdp()).contains("PCMA/8000"));
    call.accept_proposal(PCMA_ANSWER.to_vec()).unwrap();
    let processed = recorder
        .wait_until(T, |seen| {
            seen.iter()
                .filter(|n| {
                    n.name == "SIPSessionDidProcessTransaction"
                        && n.data.get("originator") == Some(&Value::from("remote"))
                })
                .find(|n| n.data.get("ack_received") == Some(&Value::Bool(true)))
                .cloned()
        })
        .unwrap_or_else(|| panic!("the re-INVITE's ACK: {:?}\n{}", recorder.names(), callee.logs()));
    assert_eq!(processed.data.get("method"), Some(&Value::from("INVITE")));
    assert_eq!(call.state(), SessionState::Connected);

    call.end().unwrap();
    from(&recorder, "SIPSessionDidEnd", call.handle());
    callee.wait(T).unwrap_or_else(|e| panic!("sipp as callee: {e}"));
    stop(&recorder);
}

/// A µ-law WAV file (format 7, 8 kHz, mono) of `samples`, as sipp's
/// `rtp_stream` plays it.
fn write_ulaw_wav(path: &std::path::Path, samples: &[i16]) {
    use sipsimple_core::audio::codec::ulaw_encode;
    let data: Vec<u8> = samples.iter().map(|&s| ulaw_encode(s)).collect();
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(4 + 26 + 8 + data.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&18u32.to_le_bytes());
    for (value, width) in [(7u32, 2), (1, 2), (8000, 4), (8000, 4), (1, 2), (8, 2), (0, 2)] {
        wav.extend_from_slice(&value.to_le_bytes()[..width]);
    }
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data.len() as u32).to_le_bytes());
    wav.extend_from_slice(&data);
    std::fs::write(path, wav).unwrap();
}

#[test]
fn early_media_from_sipp_plays_before_the_answer() {
    use sipsimple_core::audio::analysis::{dominant_frequency, read_wav, rms, sine};
    use sipsimple_core::streams::{AudioStream, MediaStream};

    let _app = APP.lock().unwrap_or_else(PoisonError::into_inner);
    let (recorder, alice) = start("alice");
    alice.settings().set("rtp.audio_codec_list", Value::List(vec![Value::from("PCMU")])).unwrap();
    alice.settings().set("rtp.encryption.enabled", Value::Bool(false)).unwrap();
    alice.save().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tone = dir.path().join("tone.wav");
    write_ulaw_wav(&tone, &sine(440.0, 12000.0, 8000, 16000));
    let text = std::fs::read_to_string(scenario("uas_early_media.xml")).unwrap();
    let early_scenario = dir.path().join("uas_early_media.xml");
    std::fs::write(&early_scenario, text.replace("@TONE@", tone.to_str().unwrap())).unwrap();
    let media_port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let options = sipp::Options { args: vec!["-mp".into(), media_port.to_string()], ..Default::default() };
    let mut callee = Sipp::uas_with(&early_scenario, options);

    let stream = AudioStream::new(&alice);
    let call = Session::new(&alice);
    let offered: Vec<Arc<dyn MediaStream>> = vec![stream.clone()];
    call.connect_with_streams(&format!("sip:sipp@{}", callee.address()), offered, None).unwrap();
    recorder
        .wait_until(T, |seen| {
            seen.iter()
                .find(|n| n.name == "SIPSessionGotProvisionalResponse" && n.data.get("code") == Some(&Value::Int(183)))
                .cloned()
        })
        .unwrap_or_else(|| panic!("no 183: {:?}\n{}", recorder.names(), callee.logs()));
    let recording = dir.path().join("early.wav");
    from(&recorder, "MediaStreamDidStart", stream.handle());
    stream.start_recording(&recording).unwrap();
    assert_eq!(call.state(), SessionState::Connecting, "not answered yet");

    from(&recorder, "SIPSessionDidStart", call.handle());
    let received_before_answer = stream.statistics().rtp.packets_received;
    stream.stop_recording().unwrap();
    assert_eq!(call.streams().len(), 1);
    assert_eq!(stream.codec(), Some("PCMU"));
    call.end().unwrap();
    from(&recorder, "SIPSessionDidEnd", call.handle());
    callee.wait(T).unwrap_or_else(|e| panic!("sipp: {e}"));

    let (rate, _, samples) = read_wav(&recording).unwrap();
    let frame = (rate / 50) as usize;
    let loud: Vec<i16> =
        samples.chunks(frame).filter(|c| c.len() == frame && rms(c) > 1000.0).flatten().copied().collect();
    let arrived = loud.len() as f64 / f64::from(rate);
    let frequency = dominant_frequency(&loud, rate).unwrap_or(0.0);
    println!(
        "early media: {received_before_answer} packets before the answer, {frequency:.2} Hz for {arrived:.3} s of 2 s"
    );
    assert!(received_before_answer >= 90, "{received_before_answer} packets");
    assert!((frequency - 440.0).abs() <= 8.8, "{frequency} Hz");
    assert!(arrived >= 1.8, "{arrived} s");
    stop(&recorder);
}
