//! Chat calls through the running application: alice calls bob offering a
//! `ChatStream`, the stream registry proposes a `ChatStream` to bob for the
//! MSRP m-line and bob accepts it. Then:
//!
//! - a message alice sent before the call started arrives first;
//! - 1,000 messages each way arrive once and in order, and every one is
//!   reported delivered to its sender: over TCP and TLS, wrapped in CPIM
//!   (the sender and recipient are the session identities) and plain (when
//!   bob's stream does not accept CPIM);
//! - composing indications arrive both ways with their state and refresh;
//! - hanging up ends both streams.

#[path = "support/app.rs"]
mod app;

use std::sync::{Arc, Mutex};

use sipsimple_core::Value;
use sipsimple_core::msrp::iscomposing::ComposingState;
use sipsimple_core::session::{Session, SessionState};
use sipsimple_core::streams::{AudioStream, ChatMessageOptions, ChatStream, MediaStream};

const MESSAGES: usize = 1000;

static APP: Mutex<()> = Mutex::new(());

type Running = app::TwoAccounts;

fn start(transport: &str) -> Running {
    let run = app::two_accounts(&APP);
    for account in [&run.alice, &run.bob] {
        account.settings().set("msrp.transport", Value::from(transport)).unwrap();
        account.save().unwrap();
    }
    // Each side presents the self-signed certificate of its process.
    let settings = sipsimple_core::settings::SIPSimpleSettings::instance();
    settings.settings().set("tls.verify_server", Value::from(false)).unwrap();
    run
}

fn field(message: &Value, name: &str) -> Value {
    message.as_map().and_then(|m| m.get(name)).cloned().unwrap_or(Value::Null)
}

/// The `content` of each `ChatStreamGotMessage` a stream posted.
fn contents(run: &Running, stream: &ChatStream) -> Vec<String> {
    run.all_from("ChatStreamGotMessage", stream.handle())
        .iter()
        .map(|n| field(n.data.get("message").unwrap(), "content").as_str().unwrap_or_default().to_owned())
        .collect()
}

fn uri_of(identity: &Value) -> String {
    field(identity, "uri").as_str().unwrap_or_default().to_owned()
}

#[test]
fn chat_over_tcp_with_cpim() {
    chat_messages_flow_both_ways_in_order_and_are_delivered("tcp", true);
}

#[test]
fn chat_over_tls_with_cpim() {
    chat_messages_flow_both_ways_in_order_and_are_delivered("tls", true);
}

#[test]
fn plain_chat_over_tcp() {
    chat_messages_flow_both_ways_in_order_and_are_delivered("tcp", false);
}

#[test]
fn plain_chat_over_tls() {
    chat_messages_flow_both_ways_in_order_and_are_delivered("tls", false);
}

fn chat_messages_flow_both_ways_in_order_and_are_delivered(transport: &str, cpim: bool) {
    let run = start(transport);

    let alice_stream = if cpim {
        ChatStream::new(&run.alice)
    } else {
        // Alice's stream takes no CPIM, so the session goes plain.
        ChatStream::with_accept_types(
            &run.alice,
            vec!["text/*".into(), "application/im-iscomposing+xml".into()],
            Vec::new(),
        )
    };
    let early_id = alice_stream.send_message("before the call", "text/plain", ChatMessageOptions::default()).unwrap();
    let call = Session::new(&run.alice);
    let offered: Vec<Arc<dyn MediaStream>> = vec![alice_stream.clone()];
    call.connect_with_streams(&run.bob_uri(), offered, None).unwrap();

    let incoming = run.incoming(1);
    let proposed = incoming.proposed_streams();
    assert_eq!(proposed.len(), 1, "one chat stream proposed");
    assert_eq!(proposed[0].stream_type(), "chat");
    let bob_stream = proposed[0].clone().as_any().downcast::<ChatStream>().expect("a ChatStream");
    incoming.accept_streams(&proposed).unwrap();

    run.from("SIPSessionDidStart", call.handle(), 1);
    run.from("SIPSessionDidStart", incoming.handle(), 1);
    for stream in [&alice_stream, &bob_stream] {
        run.from("MediaStreamDidInitialize", stream.handle(), 1);
        run.from("MediaStreamDidStart", stream.handle(), 1);
        assert_eq!(stream.cpim_enabled(), Some(cpim));
        let scheme = if transport == "tls" { "msrps://" } else { "msrp://" };
        assert!(stream.local_uri().unwrap().starts_with(scheme), "{:?}", stream.local_uri());
    }

    let mut alice_ids = vec![early_id];
    let mut bob_ids = Vec::new();
    for i in 0..MESSAGES {
        alice_ids.push(alice_stream.send_message(format!("alice {i}"), "text/plain", Default::default()).unwrap());
        bob_ids.push(bob_stream.send_message(format!("bob {i}"), "text/plain", Default::default()).unwrap());
    }
    alice_stream.send_composing_indication(ComposingState::Active, Some(60), None).unwrap();
    bob_stream.send_composing_indication(ComposingState::Idle, None, None).unwrap();

    // Everything arrives: wait for the last message each way.
    run.from("ChatStreamGotMessage", bob_stream.handle(), MESSAGES + 1);
    run.from("ChatStreamGotMessage", alice_stream.handle(), MESSAGES);
    let expected_at_bob: Vec<String> =
        std::iter::once("before the call".to_owned()).chain((0..MESSAGES).map(|i| format!("alice {i}"))).collect();
    let expected_at_alice: Vec<String> = (0..MESSAGES).map(|i| format!("bob {i}")).collect();

    // Each sender learns that every message was delivered.
    run.from("ChatStreamDidDeliverMessage", alice_stream.handle(), MESSAGES + 1);
    run.from("ChatStreamDidDeliverMessage", bob_stream.handle(), MESSAGES);
    for (stream, ids) in [(&alice_stream, &alice_ids), (&bob_stream, &bob_ids)] {
        let mut delivered: Vec<String> = run
            .all_from("ChatStreamDidDeliverMessage", stream.handle())
            .iter()
            .map(|n| {
                assert_eq!(n.data.get("code"), Some(&Value::Int(200)));
                n.data.get("message_id").and_then(Value::as_str).unwrap().to_owned()
            })
            .collect();
        delivered.sort();
        let mut ids = ids.clone();
        ids.sort();
        assert_eq!(delivered, ids);
        assert!(run.all_from("ChatStreamDidNotDeliverMessage", stream.handle()).is_empty());
    }

    let composing = run.from("ChatStreamGotComposingIndication", bob_stream.handle(), 1);
    assert_eq!(composing.data.get("state").and_then(Value::as_str), Some("active"));
    assert_eq!(composing.data.get("refresh"), Some(&Value::Int(60)));
    assert_eq!(uri_of(composing.data.get("sender").unwrap()), "sip:alice@127.0.0.1");
    let composing = run.from("ChatStreamGotComposingIndication", alice_stream.handle(), 1);
    assert_eq!(composing.data.get("state").and_then(Value::as_str), Some("idle"));

    // Once and in order, with the CPIM identities.
    assert_eq!(contents(&run, &bob_stream), expected_at_bob);
    assert_eq!(contents(&run, &alice_stream), expected_at_alice);
    let first = run.from("ChatStreamGotMessage", bob_stream.handle(), 1);
    let message = first.data.get("message").unwrap();
    assert_eq!(field(message, "content_type").as_str(), Some("text/plain"));
    assert_eq!(uri_of(&field(message, "sender")), "sip:alice@127.0.0.1");
    if cpim {
        assert!(matches!(field(message, "timestamp"), Value::Timestamp(_)));
    } else {
        assert_eq!(field(message, "timestamp"), Value::Null);
    }

    call.end().unwrap();
    run.from("SIPSessionDidEnd", incoming.handle(), 1);
    run.from("SIPSessionDidEnd", call.handle(), 1);
    for stream in [&alice_stream, &bob_stream] {
        run.from("MediaStreamWillEnd", stream.handle(), 1);
        run.from("MediaStreamDidEnd", stream.handle(), 1);
        assert!(run.all_from("MediaStreamDidFail", stream.handle()).is_empty());
    }
    assert_eq!((call.state(), incoming.state()), (SessionState::Terminated, SessionState::Terminated));
    assert!(alice_stream.send_message("too late", "text/plain", Default::default()).is_err());
    run.stop();
}

/// An audio call gets a chat stream by re-INVITE, chat flows, the chat
/// stream is removed again and the audio stream stays.
#[test]
fn chat_is_added_to_an_audio_call_and_removed_again() {
    let run = start("tcp");
    let alice_audio = AudioStream::new(&run.alice);
    let call = Session::new(&run.alice);
    let offered: Vec<Arc<dyn MediaStream>> = vec![alice_audio.clone()];
    call.connect_with_streams(&run.bob_uri(), offered, None).unwrap();
    let incoming = run.incoming(1);
    incoming.accept_streams(&incoming.proposed_streams()).unwrap();
    run.from("SIPSessionDidStart", call.handle(), 1);
    run.from("SIPSessionDidStart", incoming.handle(), 1);

    // Alice proposes chat; bob takes it.
    let alice_chat = ChatStream::new(&run.alice);
    assert!(alice_chat.set_local_nickname("Alice").is_err(), "not started yet");
    let queued = alice_chat.send_message("queued before the proposal", "text/plain", Default::default()).unwrap();
    let alice_chat_dyn: Arc<dyn MediaStream> = alice_chat.clone();
    call.add_stream(alice_chat_dyn.clone()).unwrap();
    run.from("SIPSessionGotProposal", incoming.handle(), 1);
    let proposed = incoming.proposed_streams();
    assert_eq!(proposed.iter().map(|s| s.stream_type()).collect::<Vec<_>>(), ["chat"]);
    let bob_chat = proposed[0].clone().as_any().downcast::<ChatStream>().expect("a ChatStream");
    incoming.accept_proposal_streams(&proposed).unwrap();
    let added = run.from("SIPSessionDidRenegotiateStreams", call.handle(), 1);
    assert_eq!(added.data.get("action").and_then(Value::as_str), Some("add"));
    run.from("SIPSessionDidRenegotiateStreams", incoming.handle(), 1);
    assert_eq!((call.streams().len(), incoming.streams().len()), (2, 2));

    run.from("MediaStreamDidStart", bob_chat.handle(), 1);
    // Bob is no conference: he refuses nicknames.
    alice_chat.set_local_nickname("Alice \"A\"").unwrap();
    let refused = run.from("ChatStreamDidNotSetNickname", alice_chat.handle(), 1);
    assert_eq!(refused.data.get("code"), Some(&Value::Int(501)));
    assert_eq!(refused.data.get("nickname").and_then(Value::as_str), Some("Alice \"A\""));
    bob_chat.send_message("hello alice", "text/plain", Default::default()).unwrap();
    run.from("ChatStreamGotMessage", bob_chat.handle(), 1);
    run.from("ChatStreamGotMessage", alice_chat.handle(), 1);
    assert_eq!(contents(&run, &bob_chat), ["queued before the proposal"]);
    assert_eq!(contents(&run, &alice_chat), ["hello alice"]);
    let delivered = run.from("ChatStreamDidDeliverMessage", alice_chat.handle(), 1);
    assert_eq!(delivered.data.get("message_id").and_then(Value::as_str), Some(queued.as_str()));

    // Alice removes the chat again: both chat streams end, audio stays.
    call.remove_stream(&alice_chat_dyn).unwrap();
    let removed = run.from("SIPSessionDidRenegotiateStreams", incoming.handle(), 2);
    assert_eq!(removed.data.get("action").and_then(Value::as_str), Some("remove"));
    for stream in [&alice_chat, &bob_chat] {
        run.from("MediaStreamDidEnd", stream.handle(), 1);
        assert!(run.all_from("MediaStreamDidFail", stream.handle()).is_empty());
    }
    assert_eq!((call.streams().len(), incoming.streams().len()), (1, 1));
    assert_eq!(call.streams()[0].stream_type(), "audio");
    assert_eq!(call.state(), SessionState::Connected);
    call.end().unwrap();
    run.from("SIPSessionDidEnd", incoming.handle(), 1);
    run.stop();
}
