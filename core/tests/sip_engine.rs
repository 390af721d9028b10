//! The SIP engine on loopback: OPTIONS and MESSAGE between two engines over
//! UDP and TCP, rejections with the right status, traces, and a paging-mode
//! MESSAGE sent from an account of the running application.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::notification::{NotificationCenter, NotificationRecorder};
use sipsimple_core::paging::PagingMessage;
use sipsimple_core::sip::engine::{Destination, Engine, EngineConfig, RequestEvent, ResponseEvent};
use sipsimple_core::sip::message::{Message, Method, Uri};
use sipsimple_core::sip::transport::{TransportConfig, TransportKind};
use sipsimple_core::{Account, MemoryStorage, SIPApplication, SIPSimpleSettings, Value};

const T: Duration = Duration::from_secs(10);

async fn engine(trace: bool) -> Engine {
    let config = EngineConfig {
        transports: TransportConfig {
            kinds: vec![TransportKind::Udp, TransportKind::Tcp],
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ..TransportConfig::default()
        },
        trace_sip: trace,
        ..EngineConfig::default()
    };
    Engine::start(config).await.expect("engine starts").0
}

fn request(method: Method, to: SocketAddr, content_type: Option<&str>, body: &str) -> Message {
    let uri = Uri::parse(&format!("sip:bob@{to}")).unwrap().into_owned();
    let m = Message::request(method.clone(), uri.clone())
        .header("From", "<sip:alice@127.0.0.1>;tag=abc")
        .header("To", format!("<{uri}>"))
        .header("Call-ID", format!("{:x}", rand_id()))
        .header("CSeq", format!("1 {method}"));
    match content_type {
        Some(t) => m.with_body(t, body.as_bytes().to_vec()),
        None => m,
    }
}

fn rand_id() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

async fn final_response(engine: &Engine, request: Message, destination: Destination) -> Message {
    let mut events = engine.send_request(request, destination).unwrap();
    loop {
        match tokio::time::timeout(T, events.recv()).await.expect("no response").expect("engine running") {
            ResponseEvent::Final(m) => return m,
            ResponseEvent::Provisional(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engines_exchange_options_and_message_over_udp_and_tcp() {
    let recorder = NotificationRecorder::new();
    let a = engine(true).await;
    let b = engine(false).await;
    NotificationCenter::default_center().add_observer(recorder.clone(), None, Some(Value::Object(b.handle())));
    NotificationCenter::default_center().add_observer(
        recorder.clone(),
        Some("SIPEngineSIPTrace"),
        Some(Value::Object(a.handle())),
    );
    for kind in [TransportKind::Udp, TransportKind::Tcp] {
        let to = b.local_address(kind).unwrap();
        let destination = Destination { transport: kind, address: to, tls_name: None };

        let options = final_response(&a, request(Method::Options, to, None, ""), destination.clone()).await;
        assert_eq!(options.status(), Some(200), "{kind}");
        assert!(options.header_value("Allow").unwrap().contains("MESSAGE"));

        recorder.clear();
        let body = format!("hello over {kind}");
        let ok = final_response(&a, request(Method::Message, to, Some("text/plain"), &body), destination.clone()).await;
        assert_eq!(ok.status(), Some(200));
        assert!(ok.to_tag().is_some(), "the UAS adds a To tag");
        let got = recorder.wait_for("SIPEngineGotMessage", T).expect("SIPEngineGotMessage");
        assert_eq!(got.data.get("body"), Some(&Value::from(body.as_str())));
        assert_eq!(got.data.get("content_type"), Some(&Value::from("text/plain")));
        assert!(got.data.get("from_header").and_then(Value::as_str).unwrap().contains("alice@127.0.0.1"));

        let unsupported = request(Method::Message, to, Some("application/x-unknown"), "?");
        let refused = final_response(&a, unsupported, destination.clone()).await;
        assert_eq!(refused.status(), Some(415));
        assert!(refused.header_value("Accept").unwrap().contains("text/plain"));

        let invite = final_response(&a, request(Method::Invite, to, None, ""), destination.clone()).await;
        assert_eq!(invite.status(), Some(501), "sessions are not served yet");
        let foo = final_response(&a, request(Method::Extension("FOO".into()), to, None, ""), destination).await;
        assert_eq!(foo.status(), Some(501));
        assert!(foo.header_value("Allow").is_some());
    }
    // A's traces show what it sent and received; B traces nothing.
    let traces: Vec<_> = recorder.all().into_iter().filter(|n| n.name == "SIPEngineSIPTrace").collect();
    assert!(traces.iter().any(|n| n.data.get("received") == Some(&Value::Bool(false))));
    assert!(traces.iter().any(|n| n.data.get("received") == Some(&Value::Bool(true))));
    assert!(traces.iter().all(|n| n.sender == Value::Object(a.handle())));
    a.stop();
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_to_nobody_times_out_as_408() {
    let a = engine(false).await;
    // A TCP port that is bound but never listens (held for the whole
    // test, so no other engine can take it): connecting is refused at once,
    // and the transport failure comes back as 503.
    let silent = tokio::net::TcpSocket::new_v4().unwrap();
    silent.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let to = silent.local_addr().unwrap();
    let destination = Destination { transport: TransportKind::Tcp, address: to, tls_name: None };
    let response = final_response(&a, request(Method::Options, to, None, ""), destination).await;
    assert_eq!(response.status(), Some(503));
    a.stop();
}

#[test]
fn the_application_sends_a_paging_message_from_an_account() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let peer = runtime.block_on(engine(false));
    let peer_udp = peer.local_address(TransportKind::Udp).unwrap();
    let recorder = NotificationRecorder::new();
    let center = NotificationCenter::default_center();
    center.add_observer(recorder.clone(), None, None);
    let peer_recorder = NotificationRecorder::new();
    center.add_observer(peer_recorder.clone(), Some("SIPEngineGotMessage"), Some(Value::Object(peer.handle())));

    let app = SIPApplication::instance();
    SIPSimpleSettings::instance().settings().set("sip.transport_list", Value::from("udp, tcp")).unwrap();
    app.start(Arc::new(MemoryStorage::new())).unwrap();
    recorder.wait_for("SIPApplicationDidStart", T).expect("DidStart");
    assert!(Engine::current().is_some(), "SIPApplication starts the engine");

    let alice = Account::get_or_create("alice@127.0.0.1").unwrap();
    alice.settings().set("sip.outbound_proxy", Value::from(format!("{peer_udp};transport=udp"))).unwrap();
    alice.save().unwrap();

    let message =
        PagingMessage::send(&alice, &format!("sip:bob@{peer_udp}"), "text/plain", b"hi bob".to_vec()).unwrap();
    let done = recorder.wait_for("SIPMessageDidSucceed", T).expect("SIPMessageDidSucceed");
    assert_eq!(done.sender, Value::Object(message.handle()));
    assert_eq!(done.data.get("code"), Some(&Value::Int(200)));
    let got = peer_recorder.wait_for("SIPEngineGotMessage", T).expect("the peer got it");
    assert_eq!(got.data.get("body"), Some(&Value::from("hi bob")));

    let refused =
        PagingMessage::send(&alice, &format!("sip:bob@{peer_udp}"), "application/x-nope", b"?".to_vec()).unwrap();
    let failed = recorder.wait_for("SIPMessageDidFail", T).expect("SIPMessageDidFail");
    assert_eq!(failed.sender, Value::Object(refused.handle()));
    assert_eq!(failed.data.get("code"), Some(&Value::Int(415)));

    recorder.clear();
    app.stop().unwrap();
    recorder.wait_for("SIPApplicationDidEnd", T).expect("DidEnd");
    assert!(Engine::current().is_none());
    peer.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_log_is_posted_up_to_the_configured_level() {
    let recorder = NotificationRecorder::new();
    let center = NotificationCenter::default_center();
    let config = EngineConfig {
        transports: TransportConfig {
            kinds: vec![TransportKind::Udp],
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ..TransportConfig::default()
        },
        log_level: 4,
        ..EngineConfig::default()
    };
    center.add_observer(recorder.clone(), Some("SIPEngineLog"), None);
    let engine = Engine::start(config).await.expect("engine starts").0;
    let sender = Value::Object(engine.handle());
    let udp = engine.local_address(TransportKind::Udp).unwrap();
    let started =
        recorder.wait_until(T, |seen| seen.iter().find(|n| n.sender == sender).cloned()).expect("a log line at start");
    assert_eq!(started.data.get("level"), Some(&Value::Int(3)));
    assert!(started.data.get("message").and_then(Value::as_str).unwrap().contains(&format!("udp {udp}")));

    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(b"NOT SIP AT ALL\r\n\r\n", udp).await.unwrap();
    let refused = recorder
        .wait_until(T, |seen| {
            seen.iter()
                .find(|n| {
                    n.sender == sender
                        && n.data.get("message").and_then(Value::as_str).is_some_and(|m| m.contains("unparseable"))
                })
                .cloned()
        })
        .expect("the refusal is logged");
    assert_eq!(refused.data.get("level"), Some(&Value::Int(4)));
    engine.stop();
    recorder
        .wait_until(T, |seen| {
            seen.iter()
                .any(|n| n.sender == sender && n.data.get("message") == Some(&Value::from("SIP engine stopped")))
                .then_some(())
        })
        .expect("the stop is logged");
    let _ = center.remove_observer(&*recorder, Some("SIPEngineLog"), None);
}

/// Waits for the next request event.
async fn next_request(rx: &mut tokio::sync::mpsc::UnboundedReceiver<RequestEvent>) -> RequestEvent {
    tokio::time::timeout(T, rx.recv()).await.expect("a request event in time").expect("the engine runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_serves_invite_with_ack_and_cancel() {
    let (caller, callee) = (engine(false).await, engine(false).await);
    let mut served = callee.serve(&[Method::Invite, Method::Bye]).unwrap();
    let to = callee.local_address(TransportKind::Udp).unwrap();
    let destination = Destination { transport: TransportKind::Udp, address: to, tls_name: None };

    // INVITE → 180 → 200, then the ACK for the 2xx arrives as its own event.
    let invite = request(Method::Invite, to, Some("application/sdp"), "v=0\r\n");
    let mut responses = caller.send_request(invite, destination.clone()).unwrap();
    let RequestEvent::Request { transaction, request: got, .. } = next_request(&mut served).await else {
        panic!("expected the INVITE")
    };
    assert_eq!(got.method(), Some(&Method::Invite));
    callee.respond(transaction, Message::response_to(&got, 180, "Ringing").with_to_tag("callee")).unwrap();
    callee.respond(transaction, Message::response_to(&got, 200, "OK").with_to_tag("callee")).unwrap();
    let mut codes = vec![];
    while let Ok(Some(event)) = tokio::time::timeout(T, responses.recv()).await {
        match event {
            ResponseEvent::Provisional(m) => codes.push(m.status().unwrap()),
            ResponseEvent::Final(m) => {
                codes.push(m.status().unwrap());
                break;
            }
        }
    }
    assert!(codes.ends_with(&[180, 200]), "{codes:?}");
    let ack = Message::request(Method::Ack, got.uri().unwrap().clone())
        .header("From", got.header_value("From").unwrap())
        .header("To", format!("{};tag=callee", got.header_value("To").unwrap()))
        .header("Call-ID", got.call_id().unwrap())
        .header("CSeq", format!("{} ACK", got.cseq_parts().unwrap().0));
    caller.send_stateless(ack, destination.clone()).unwrap();
    let RequestEvent::Ack { request: ack, .. } = next_request(&mut served).await else { panic!("expected the ACK") };
    assert_eq!(ack.call_id(), got.call_id());

    // A served method no component handles any more falls back to 501; an
    // unserved one gets 501 with Allow listing what is served.
    let info = final_response(&caller, request(Method::Info, to, None, ""), destination.clone()).await;
    assert_eq!(info.status(), Some(501));
    assert!(info.header_value("Allow").unwrap().contains("INVITE"));

    // INVITE → 180, then CANCEL (same Via branch): the CANCEL gets 200 from
    // the engine, the component hears Cancelled and answers the INVITE 487.
    let via = caller.new_via(&destination).unwrap();
    let mut invite = request(Method::Invite, to, None, "");
    invite.headers_mut().insert(0, sipsimple_core::sip::message::Header::canonical("Via", via.clone()));
    let mut responses = caller.send_request(invite.clone(), destination.clone()).unwrap();
    let RequestEvent::Request { transaction, request: got, .. } = next_request(&mut served).await else {
        panic!("expected the second INVITE")
    };
    callee.respond(transaction, Message::response_to(&got, 180, "Ringing").with_to_tag("callee2")).unwrap();
    let cancel = Message::request(Method::Cancel, invite.uri().unwrap().clone())
        .header("Via", &via)
        .header("From", invite.header_value("From").unwrap())
        .header("To", invite.header_value("To").unwrap())
        .header("Call-ID", invite.call_id().unwrap())
        .header("CSeq", format!("{} CANCEL", invite.cseq_parts().unwrap().0));
    let cancelled = final_response(&caller, cancel, destination.clone()).await;
    assert_eq!(cancelled.status(), Some(200));
    let RequestEvent::Cancelled { transaction: which, .. } = next_request(&mut served).await else {
        panic!("expected Cancelled")
    };
    assert_eq!(which, transaction);
    callee.respond(transaction, Message::response_to(&got, 487, "Request Terminated").with_to_tag("callee2")).unwrap();
    let last = loop {
        match tokio::time::timeout(T, responses.recv()).await.expect("a response").expect("running") {
            ResponseEvent::Final(m) => break m,
            ResponseEvent::Provisional(_) => {}
        }
    };
    assert_eq!(last.status(), Some(487));
    caller.stop();
    callee.stop();
}
