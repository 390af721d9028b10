//! Chat calls through the running application: alice calls bob offering a
//! `ChatStream`, the stream registry proposes a `ChatStream` to bob for the
//! MSRP m-line and bob accepts it. Then:
//!
//! - a message alice sent before the call started arrives first;
//! - 100 messages each way arrive once and in order, wrapped in CPIM (the
//!   sender and recipient are the session identities), and every one is
//!   reported delivered to its sender;
//! - a composing indication arrives with its state and refresh;
//! - hanging up ends both streams.

#[path = "support/app.rs"]
mod app;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sipsimple_core::Value;
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::msrp::iscomposing::ComposingState;
use sipsimple_core::notification::Notification;
use sipsimple_core::session::{Session, SessionState};
use sipsimple_core::streams::{ChatMessageOptions, ChatStream, MediaStream};

const T: Duration = Duration::from_secs(10);
const MESSAGES: usize = 100;

static APP: Mutex<()> = Mutex::new(());

type Running = app::TwoAccounts;

fn start() -> Running {
    let run = app::two_accounts(&APP);
    for account in [&run.alice, &run.bob] {
        account.settings().set("msrp.transport", Value::from("tcp")).unwrap();
        account.save().unwrap();
    }
    run
}

impl Running {
    fn from(&self, name: &str, sender: sipsimple_core::Handle, n: usize) -> Notification {
        let sender = Value::Object(sender);
        self.recorder
            .wait_until(T, |seen| seen.iter().filter(|x| x.name == name && x.sender == sender).nth(n - 1).cloned())
            .unwrap_or_else(|| panic!("no {name} #{n}; got {:?}", self.recorder.names()))
    }

    /// Every `name` notification from `sender` so far, in order.
    fn all_from(&self, name: &str, sender: sipsimple_core::Handle) -> Vec<Notification> {
        let sender = Value::Object(sender);
        self.recorder.all().into_iter().filter(|x| x.name == name && x.sender == sender).collect()
    }

    fn incoming(&self) -> Arc<Session> {
        let got = self.recorder.wait_for("SIPSessionNewIncoming", T).expect("SIPSessionNewIncoming");
        handle::resolve::<Session>(got.sender.as_object().unwrap(), ObjectKind::Session).unwrap()
    }
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
fn chat_messages_flow_both_ways_in_order_and_are_delivered() {
    let run = start();

    let alice_stream = ChatStream::new(&run.alice);
    let early_id = alice_stream.send_message("before the call", "text/plain", ChatMessageOptions::default()).unwrap();
    let call = Session::new(&run.alice);
    let offered: Vec<Arc<dyn MediaStream>> = vec![alice_stream.clone()];
    call.connect_with_streams(&run.bob_uri(), offered, None).unwrap();

    let incoming = run.incoming();
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
        assert_eq!(stream.cpim_enabled(), Some(true));
    }

    let mut alice_ids = vec![early_id];
    let mut bob_ids = Vec::new();
    for i in 0..MESSAGES {
        alice_ids.push(alice_stream.send_message(format!("alice {i}"), "text/plain", Default::default()).unwrap());
        bob_ids.push(bob_stream.send_message(format!("bob {i}"), "text/plain", Default::default()).unwrap());
    }
    alice_stream.send_composing_indication(ComposingState::Active, Some(60), None).unwrap();

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

    // Once and in order, with the CPIM identities.
    assert_eq!(contents(&run, &bob_stream), expected_at_bob);
    assert_eq!(contents(&run, &alice_stream), expected_at_alice);
    let first = run.from("ChatStreamGotMessage", bob_stream.handle(), 1);
    let message = first.data.get("message").unwrap();
    assert_eq!(field(message, "content_type").as_str(), Some("text/plain"));
    assert_eq!(uri_of(&field(message, "sender")), "sip:alice@127.0.0.1");
    assert!(matches!(field(message, "timestamp"), Value::Timestamp(_)));

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
