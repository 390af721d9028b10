//! The main demo: starts the middleware with a file storage, prints every
//! notification as it arrives, creates and saves an account, changes a
//! setting, sends a SIP MESSAGE over loopback to its own engine,
//! stops, restarts and finds the account again; then alice calls bob (two
//! accounts of the same application, over loopback) with an audio stream,
//! plays a 440 Hz WAV file into the call, and bob records it; last, alice
//! and bob chat over MSRP and alice sends bob a file.
//!
//! Run: `cargo run -p sipsimple-core --example demo [-- <storage directory>]`.

use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::audio::analysis::{dominant_frequency, read_wav, sine, write_wav};
use sipsimple_core::audio::{WavePlayer, WavePlayerOptions, shared};
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::msrp::file_selector::FileSelector;
use sipsimple_core::notification::{Notification, NotificationRecorder};
use sipsimple_core::paging::PagingMessage;
use sipsimple_core::session::Session;
use sipsimple_core::sip::engine::Engine;
use sipsimple_core::sip::transport::TransportKind;
use sipsimple_core::streams::{AudioEngine, AudioStream, ChatStream, FileTransferStream, MediaStream};
use sipsimple_core::{
    Account, AccountManager, FileStorage, NotificationCenter, SIPApplication, SIPSimpleSettings, Value,
};

const WAIT: Duration = Duration::from_secs(10);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = match std::env::args().nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("sipsimple-demo-{}", std::process::id())),
    };
    let center = NotificationCenter::default_center();
    center.add_observer(
        Arc::new(|n: &Notification| {
            let mut data = n.data.to_json();
            if let Some(d) = data.as_object_mut() {
                d.remove("timestamp");
            }
            println!("  {:<45} sender={:?} data={}", n.name, n.sender, data);
        }),
        None,
        None,
    );
    let events = NotificationRecorder::new();
    center.add_observer(events.clone(), None, None);
    let app = SIPApplication::instance();

    println!("starting with FileStorage({})", directory.display());
    app.start(Arc::new(FileStorage::new(&directory)))?;
    events.wait_for("SIPApplicationDidStart", WAIT).ok_or("no SIPApplicationDidStart")?;

    let account = Account::get_or_create("alice@example.com")?;
    account.settings().set("display_name", Value::from("Alice"))?;
    account.settings().set("auth.password", Value::from("secret"))?;
    account.save()?;
    account.settings().set("sip.register_interval", Value::Int(300))?;
    account.save()?;
    if let Err(e) = account.settings().set("sip.register_interval", Value::Int(-5)) {
        println!("refused as expected: {e}");
    }

    // Real SIP on loopback: a paging-mode MESSAGE from alice to the
    // application's own engine, which answers 200 and posts SIPEngineGotMessage.
    let engine = Engine::current().ok_or("the SIP engine is not running")?;
    let port = engine.local_address(TransportKind::Udp).ok_or("no UDP transport")?.port();
    account.settings().set("sip.outbound_proxy", Value::from(format!("127.0.0.1:{port};transport=udp")))?;
    account.save()?;
    PagingMessage::send(
        &account,
        &format!("sip:alice@127.0.0.1:{port}"),
        "text/plain",
        b"Hello from the demo".to_vec(),
    )?;
    events.wait_for("SIPEngineGotMessage", WAIT).ok_or("the MESSAGE did not arrive")?;
    events.wait_for("SIPMessageDidSucceed", WAIT).ok_or("the MESSAGE was not accepted")?;

    events.clear();
    app.stop()?;
    events.wait_for("SIPApplicationDidEnd", WAIT).ok_or("no SIPApplicationDidEnd")?;

    println!("restarting");
    app.start(Arc::new(FileStorage::new(&directory)))?;
    events.wait_for("SIPApplicationDidStart", WAIT).ok_or("no SIPApplicationDidStart")?;
    let again = AccountManager::instance().get_account("alice@example.com")?;
    println!("found {} again: register_interval = {:?}", again.id(), again.settings().get("sip.register_interval")?);
    println!("configuration file:\n{}", std::fs::read_to_string(directory.join("config"))?);
    audio_call(&events, &directory)?;
    events.clear();
    chat_and_file(&events, &directory)?;
    events.clear();
    app.stop()?;
    events.wait_for("SIPApplicationDidEnd", WAIT).ok_or("no SIPApplicationDidEnd")?;
    Ok(())
}

/// Alice calls bob with an audio stream; a 1 s 440 Hz WAV plays into the
/// call and bob records what arrives.
fn audio_call(events: &NotificationRecorder, directory: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let account = |id: &str| -> Result<Arc<Account>, Box<dyn std::error::Error>> {
        let a = Account::get_or_create(id)?;
        a.settings().set("sip.register", Value::Bool(false))?;
        a.settings().set("sip.outbound_proxy", Value::Null)?;
        a.settings().set("enabled", Value::Bool(true))?;
        a.save()?;
        Ok(a)
    };
    let (alice, bob) = (account("alice@example.com")?, account("bob@127.0.0.1")?);
    let port = Engine::current().ok_or("no engine")?.local_address(TransportKind::Udp).ok_or("no UDP")?.port();
    let bob_uri = format!("sip:{}@127.0.0.1:{port}", bob.contact().username);

    println!("alice calls {bob_uri} with an audio stream");
    let alice_stream = AudioStream::new(&alice);
    let call = Session::new(&alice);
    call.connect_with_streams(&bob_uri, vec![alice_stream.clone() as Arc<dyn MediaStream>], None)?;
    let incoming = events.wait_for("SIPSessionNewIncoming", WAIT).ok_or("bob got no call")?;
    let incoming = handle::resolve::<Session>(incoming.sender.as_object().ok_or("no sender")?, ObjectKind::Session)?;
    let proposed = incoming.proposed_streams();
    let bob_stream = proposed
        .first()
        .ok_or("no stream proposed")?
        .clone()
        .as_any()
        .downcast::<AudioStream>()
        .map_err(|_| "not audio")?;
    incoming.accept_streams(&proposed)?;
    events.wait_for("SIPSessionDidStart", WAIT).ok_or("the call did not start")?;

    let rate = AudioEngine::instance().sample_rate().ok_or("the voice mixer does not run")?;
    let wav = directory.join("tone-440.wav");
    write_wav(&wav, rate, &sine(440.0, 12000.0, rate, rate as usize))?;
    let recording = directory.join("bob-received.wav");
    bob_stream.start_recording(&recording)?;
    let engine = AudioEngine::instance();
    let player = shared(WavePlayer::new(&wav, rate, WavePlayerOptions::default())?);
    let player_slot = engine.with_mixer(|m| m.add_port(player.clone()))?;
    let stream_slot = alice_stream.slot().ok_or("alice's stream has no slot")?;
    engine.with_mixer(|m| m.connect_slots(player_slot, stream_slot))??;
    player.lock().map_err(|_| "player lock")?.start()?;
    // Play to the end, then give the last packets time to arrive.
    let deadline = std::time::Instant::now() + WAIT;
    while player.lock().map_err(|_| "player lock")?.is_active() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    engine.with_mixer(|m| m.remove_slot(player_slot))??;
    call.end()?;
    events.wait_for("SIPSessionDidEnd", WAIT).ok_or("the call did not end")?;
    events.wait_for("AudioStreamDidStopRecordingAudio", WAIT).ok_or("the recording did not stop")?;

    let (recorded_rate, _, samples) = read_wav(&recording)?;
    let frequency = dominant_frequency(&samples, recorded_rate).unwrap_or(0.0);
    println!(
        "bob recorded {:.2} s of audio at {:.1} Hz ({}, codec {:?}) into {}",
        samples.len() as f64 / f64::from(recorded_rate),
        frequency,
        if bob_stream.srtp_active() { "SRTP" } else { "RTP" },
        bob_stream.codec(),
        recording.display()
    );
    Ok(())
}

/// Alice calls bob with a chat stream over MSRP (TCP on loopback); they
/// exchange messages, alice says she is typing.
fn chat_and_file(events: &NotificationRecorder, directory: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let alice = Account::get_or_create("alice@example.com")?;
    let bob = Account::get_or_create("bob@127.0.0.1")?;
    for account in [&alice, &bob] {
        account.settings().set("msrp.transport", Value::from("tcp"))?;
        account.save()?;
    }
    let port = Engine::current().ok_or("no engine")?.local_address(TransportKind::Udp).ok_or("no UDP")?.port();
    let bob_uri = format!("sip:{}@127.0.0.1:{port}", bob.contact().username);

    println!("alice calls {bob_uri} with a chat stream");
    let alice_chat = ChatStream::new(&alice);
    alice_chat.send_message("Hi Bob, this waited for the call to start", "text/plain", Default::default())?;
    let call = Session::new(&alice);
    call.connect_with_streams(&bob_uri, vec![alice_chat.clone() as Arc<dyn MediaStream>], None)?;
    let incoming = events.wait_for("SIPSessionNewIncoming", WAIT).ok_or("bob got no call")?;
    let incoming = handle::resolve::<Session>(incoming.sender.as_object().ok_or("no sender")?, ObjectKind::Session)?;
    let proposed = incoming.proposed_streams();
    let bob_chat = proposed
        .first()
        .ok_or("no stream proposed")?
        .clone()
        .as_any()
        .downcast::<ChatStream>()
        .map_err(|_| "not chat")?;
    incoming.accept_streams(&proposed)?;
    events.wait_for("SIPSessionDidStart", WAIT).ok_or("the call did not start")?;
    wait_for_from(events, "MediaStreamDidStart", bob_chat.handle())?;
    alice_chat.send_composing_indication(sipsimple_core::msrp::iscomposing::ComposingState::Active, Some(60), None)?;
    bob_chat.send_message("Hello Alice!", "text/plain", Default::default())?;
    for stream in [&alice_chat, &bob_chat] {
        let got = wait_for_from(events, "ChatStreamGotMessage", stream.handle())?;
        let message = got.data.get("message").and_then(Value::as_map).ok_or("no message")?;
        println!(
            "{} got {:?} from {}",
            if Arc::ptr_eq(stream, &alice_chat) { "alice" } else { "bob" },
            message.get("content").and_then(Value::as_str).unwrap_or_default(),
            message
                .get("sender")
                .and_then(Value::as_map)
                .and_then(|s| s.get("uri"))
                .and_then(Value::as_str)
                .unwrap_or("?"),
        );
        wait_for_from(events, "ChatStreamDidDeliverMessage", stream.handle())?;
    }
    call.end()?;
    wait_for_from(events, "SIPSessionDidEnd", incoming.handle())?;

    let file = directory.join("holiday.bin");
    let content: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(&file, &content)?;
    let downloads = directory.join("downloads");
    std::fs::create_dir_all(&downloads)?;
    SIPSimpleSettings::instance()
        .settings()
        .set("file_transfer.directory", Value::from(downloads.to_string_lossy().into_owned()))?;
    let selector = FileSelector::for_file(&file, Some("application/octet-stream"), true)?;
    println!("alice sends bob {} ({} bytes, {})", file.display(), content.len(), selector.sdp_repr());
    let sending = FileTransferStream::new(&alice, selector, &file);
    let call = Session::new(&alice);
    call.connect_with_streams(&bob_uri, vec![sending.clone() as Arc<dyn MediaStream>], None)?;
    let incoming = events
        .wait_until(WAIT, |seen| seen.iter().filter(|n| n.name == "SIPSessionNewIncoming").nth(1).cloned())
        .ok_or("bob got no second call")?;
    let incoming = handle::resolve::<Session>(incoming.sender.as_object().ok_or("no sender")?, ObjectKind::Session)?;
    let proposed = incoming.proposed_streams();
    let receiving = proposed
        .first()
        .ok_or("no stream proposed")?
        .clone()
        .as_any()
        .downcast::<FileTransferStream>()
        .map_err(|_| "not a file transfer")?;
    incoming.accept_streams(&proposed)?;
    wait_for_from(events, "FileTransferStreamDidFinish", receiving.handle())?;
    wait_for_from(events, "FileTransferStreamDidFinish", sending.handle())?;
    let chunks = events.all().iter().filter(|n| n.name == "FileTransferStreamGotChunk").count();
    let saved = receiving.file_path().ok_or("no received file")?;
    let same = std::fs::read(&saved)? == content;
    println!("bob got {} in {chunks} chunks, hash checked, identical: {same}", saved.display());
    call.end()?;
    wait_for_from(events, "SIPSessionDidEnd", call.handle())?;
    if !same {
        return Err("the received file differs".into());
    }
    Ok(())
}

/// The first `name` notification from `sender`.
fn wait_for_from(
    events: &NotificationRecorder,
    name: &str,
    sender: sipsimple_core::Handle,
) -> Result<Notification, Box<dyn std::error::Error>> {
    let sender = Value::Object(sender);
    events
        .wait_until(WAIT, |seen| seen.iter().find(|n| n.name == name && n.sender == sender).cloned())
        .ok_or_else(|| format!("no {name}").into())
}
