//! Desktop sharing calls through the running application: alice calls bob
//! offering a `DesktopSharingStream`, the stream registry proposes one to
//! bob for the `m=application` MSRP m-line (with an internal handler of the
//! role alice's `a=rfbsetup` asks for) and bob accepts it. Then:
//!
//! - external handlers: alice's server handler connects to a fake VNC
//!   server (a TCP listener of the test), bob's viewer handler accepts the
//!   test's fake VNC viewer; the server's greeting and 5 MB of
//!   pseudo-random bytes arrive unchanged at the viewer, and 1 MB from the
//!   viewer arrives unchanged at the server;
//! - internal handlers: what one side `send`s arrives, in order, as
//!   `DesktopSharingStreamGotData` of the other side's handler (data sent
//!   before the call started included);
//! - an external server handler that cannot connect posts
//!   `DesktopSharingHandlerDidFail` (`connecting`), its stream fails and
//!   the call ends.

#[path = "support/app.rs"]
mod app;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sipsimple_core::Value;
use sipsimple_core::sdp::SessionDescription;
use sipsimple_core::session::{Session, SessionState};
use sipsimple_core::streams::{
    DesktopSharingHandler, DesktopSharingHandlerKind, DesktopSharingStream, MediaStream, MediaStreamRegistry,
};

const T: Duration = Duration::from_secs(20);
const GREETING: &[u8] = b"RFB 003.008\n";
const SERVER_BYTES: usize = 5 * 1024 * 1024;
const VIEWER_BYTES: usize = 1024 * 1024;

static APP: Mutex<()> = Mutex::new(());

type Running = app::TwoAccounts;

/// The application with alice and bob using MSRP over `transport`
/// (`tcp` or `tls`).
fn start_with(transport: &str) -> Running {
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

fn start() -> Running {
    start_with("tcp")
}

impl Running {
    /// alice calls bob with `stream`; bob is offered one desktop sharing
    /// stream, which is returned with bob's session (not accepted yet).
    fn call(&self, stream: &Arc<DesktopSharingStream>) -> (Arc<Session>, Arc<Session>, Arc<DesktopSharingStream>) {
        let call = Session::new(&self.alice);
        let offered: Vec<Arc<dyn MediaStream>> = vec![stream.clone()];
        call.connect_with_streams(&self.bob_uri(), offered, None).unwrap();
        let incoming = self.incoming(1);
        let proposed = incoming.proposed_streams();
        assert_eq!(proposed.len(), 1, "one desktop sharing stream proposed");
        assert_eq!(proposed[0].stream_type(), "desktop-sharing");
        let bob_stream =
            proposed[0].clone().as_any().downcast::<DesktopSharingStream>().expect("a DesktopSharingStream");
        (call, incoming, bob_stream)
    }

    fn started(&self, call: &Session, incoming: &Session, streams: [&Arc<DesktopSharingStream>; 2]) {
        self.from("SIPSessionDidStart", call.handle(), 1);
        self.from("SIPSessionDidStart", incoming.handle(), 1);
        for stream in streams {
            self.from("MediaStreamDidStart", stream.handle(), 1);
        }
    }

    fn hang_up(&self, call: &Session, incoming: &Session, streams: [&Arc<DesktopSharingStream>; 2]) {
        call.end().unwrap();
        self.from("SIPSessionDidEnd", incoming.handle(), 1);
        self.from("SIPSessionDidEnd", call.handle(), 1);
        for stream in streams {
            self.from("MediaStreamDidEnd", stream.handle(), 1);
            let failed = self.all_from("MediaStreamDidFail", stream.handle());
            assert!(failed.is_empty(), "no stream failed: {:?}", failed.iter().map(|n| &n.data).collect::<Vec<_>>());
            let failed = self.all_from("DesktopSharingHandlerDidFail", stream.handler().handle());
            assert!(failed.is_empty(), "no handler failed: {:?}", failed.iter().map(|n| &n.data).collect::<Vec<_>>());
        }
        assert_eq!((call.state(), incoming.state()), (SessionState::Terminated, SessionState::Terminated));
    }
}

/// `len` pseudo-random bytes (xorshift64*), the same for the same seed.
fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Reads exactly `len` bytes (or what came before EOF, an error or the
/// read timeout).
fn read_up_to(socket: &mut TcpStream, len: usize) -> Vec<u8> {
    socket.set_read_timeout(Some(T)).unwrap();
    let mut got = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match socket.read(&mut got[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    got.truncate(filled);
    got
}

/// A fake VNC server: accepts one connection, sends `to_send` while
/// reading `expect` bytes, and returns what it read with the connection
/// (still open: closing it would make the handler fail).
fn fake_vnc_server(listener: TcpListener, to_send: Vec<u8>, expect: usize) -> JoinHandle<(Vec<u8>, TcpStream)> {
    std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        let (mut socket, _) = listener.accept().expect("the server handler connects");
        let mut writer = socket.try_clone().unwrap();
        let sending = std::thread::spawn(move || writer.write_all(&to_send).map(|_| writer));
        let received = read_up_to(&mut socket, expect);
        let writer = sending.join().unwrap().expect("the server's bytes are written");
        (received, writer)
    })
}

/// The first difference between two byte strings, for a readable failure.
fn assert_same_bytes(got: &[u8], expected: &[u8], what: &str) {
    if got != expected {
        let at = got.iter().zip(expected).position(|(a, b)| a != b).unwrap_or(got.len().min(expected.len()));
        panic!("{what}: got {} bytes, expected {}; first difference at byte {at}", got.len(), expected.len());
    }
}

#[test]
fn external_handlers_bridge_vnc_programs_and_rfb_bytes_arrive_unchanged() {
    external_handlers_bridge_vnc_programs("tcp", ViewerConnects::BeforeTheStart);
}

#[test]
fn external_handlers_bridge_vnc_programs_over_msrp_tls() {
    external_handlers_bridge_vnc_programs("tls", ViewerConnects::AfterTheStart);
}

/// When the fake VNC viewer connects to bob's viewer handler.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ViewerConnects {
    /// Before the call is accepted (the handler listens from its creation).
    BeforeTheStart,
    /// Once the stream started, as a viewer launched then would.
    AfterTheStart,
}

fn external_handlers_bridge_vnc_programs(transport: &str, viewer_connects: ViewerConnects) {
    let run = start_with(transport);

    // The fake VNC server alice shares her screen with.
    let vnc_server = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_port = vnc_server.local_addr().unwrap().port();
    let mut from_server = GREETING.to_vec();
    from_server.extend(pseudo_random(0x5eed, SERVER_BYTES));
    let mut from_viewer = b"RFB 003.008\n".to_vec();
    from_viewer.extend(pseudo_random(0xbeef, VIEWER_BYTES));
    let server = fake_vnc_server(vnc_server, from_server.clone(), from_viewer.len());

    let alice_handler =
        DesktopSharingHandler::external_server("127.0.0.1", server_port, Duration::from_secs(5)).unwrap();
    assert_eq!(alice_handler.handler_type(), "passive");
    let alice_stream = DesktopSharingStream::new(&run.alice, alice_handler.clone()).unwrap();
    assert!(DesktopSharingStream::new(&run.alice, alice_handler.clone()).is_err(), "a handler serves one stream");
    let (call, incoming, bob_stream) = run.call(&alice_stream);

    // alice's rfbsetup is passive: bob is offered the viewer side.
    assert_eq!(bob_stream.handler().kind(), DesktopSharingHandlerKind::InternalViewer);
    let wrong_role = DesktopSharingHandler::external_server("127.0.0.1", server_port, Duration::from_secs(5)).unwrap();
    assert!(bob_stream.set_handler(wrong_role).is_err(), "a server cannot answer a server");
    let bob_handler = DesktopSharingHandler::external_viewer("127.0.0.1", 0, Duration::from_secs(10)).unwrap();
    bob_stream.set_handler(bob_handler.clone()).unwrap();
    assert_eq!(bob_stream.handler().handle(), bob_handler.handle());
    let (host, port) = bob_handler.address().expect("the viewer handler listens");

    // The fake VNC viewer connects before the call starts (the handler
    // listens from its creation) or once it started, and talks once it is
    // bridged.
    let early =
        (viewer_connects == ViewerConnects::BeforeTheStart).then(|| TcpStream::connect((host.as_str(), port)).unwrap());
    incoming.accept_streams(&incoming.proposed_streams()).unwrap();
    run.started(&call, &incoming, [&alice_stream, &bob_stream]);
    let mut viewer = early.unwrap_or_else(|| TcpStream::connect((host.as_str(), port)).unwrap());
    let scheme = if transport == "tls" { "msrps://" } else { "msrp://" };
    for stream in [&alice_stream, &bob_stream] {
        let uri = stream.local_uri().unwrap();
        assert!(uri.starts_with(scheme), "{uri} over {transport}");
    }

    let mut viewer_writer = viewer.try_clone().unwrap();
    let viewer_bytes = from_viewer.clone();
    let viewer_sending = std::thread::spawn(move || viewer_writer.write_all(&viewer_bytes));
    let at_viewer = read_up_to(&mut viewer, from_server.len());
    viewer_sending.join().unwrap().expect("the viewer's bytes are written");
    let (at_server, server_connection) = server.join().unwrap();
    assert_same_bytes(&at_viewer, &from_server, "server to viewer");
    assert_same_bytes(&at_server, &from_viewer, "viewer to server");

    run.hang_up(&call, &incoming, [&alice_stream, &bob_stream]);
    // The handler closed the viewer's connection when its stream ended.
    viewer.set_read_timeout(Some(T)).unwrap();
    assert_eq!(viewer.read(&mut [0u8; 16]).unwrap_or(0), 0, "the viewer connection is closed");
    let mut server_connection = server_connection;
    server_connection.set_read_timeout(Some(T)).unwrap();
    assert_eq!(server_connection.read(&mut [0u8; 16]).unwrap_or(0), 0, "the server connection is closed");
    let _ = viewer.shutdown(Shutdown::Both);
    run.stop();
}

/// The concatenated `data` of the `DesktopSharingStreamGotData` a handler
/// posted.
fn got_data(run: &Running, handler: &DesktopSharingHandler) -> Vec<u8> {
    run.all_from("DesktopSharingStreamGotData", handler.handle())
        .iter()
        .flat_map(|n| n.data.get("data").and_then(Value::as_bytes).expect("data is bytes").to_vec())
        .collect()
}

/// Waits until a handler got `len` bytes of RFB data, and returns them.
fn wait_for_data(run: &Running, handler: &DesktopSharingHandler, len: usize) -> Vec<u8> {
    let sender = Value::Object(handler.handle());
    run.recorder.wait_until(T, |seen| {
        let total: usize = seen
            .iter()
            .filter(|n| n.name == "DesktopSharingStreamGotData" && n.sender == sender)
            .filter_map(|n| n.data.get("data").and_then(Value::as_bytes).map(<[u8]>::len))
            .sum();
        (total >= len).then_some(())
    });
    got_data(run, handler)
}

#[test]
fn internal_handlers_pass_rfb_data_to_the_application() {
    let run = start();
    assert!(MediaStreamRegistry::instance().types().iter().any(|t| t.type_name == "desktop-sharing"));

    let alice_viewer = DesktopSharingHandler::internal_viewer();
    let alice_stream = DesktopSharingStream::new(&run.alice, alice_viewer.clone()).unwrap();
    // Queued until the stream starts.
    alice_viewer.send(GREETING.to_vec()).unwrap();
    let (call, incoming, bob_stream) = run.call(&alice_stream);

    // alice's rfbsetup is active: bob gets an internal server by default.
    let bob_server = bob_stream.handler();
    assert_eq!(bob_server.kind(), DesktopSharingHandlerKind::InternalServer);
    assert_eq!(bob_server.stream(), Some(bob_stream.handle()));
    assert!(
        bob_stream.set_handler(DesktopSharingHandler::internal_viewer()).is_err(),
        "a viewer cannot answer a viewer"
    );
    incoming.accept_streams(&incoming.proposed_streams()).unwrap();
    run.started(&call, &incoming, [&alice_stream, &bob_stream]);
    assert!(bob_stream.set_handler(DesktopSharingHandler::internal_server()).is_err(), "too late once started");

    bob_server.send(GREETING.to_vec()).unwrap();
    let mut from_server = GREETING.to_vec();
    let mut from_viewer = GREETING.to_vec();
    for i in 0..50u64 {
        let to_viewer = pseudo_random(i + 1, 1000 + i as usize * 97);
        let to_server = pseudo_random(i + 1000, 10 + i as usize);
        bob_server.send(to_viewer.clone()).unwrap();
        alice_viewer.send(to_server.clone()).unwrap();
        from_server.extend(to_viewer);
        from_viewer.extend(to_server);
    }
    // Larger than an MSRP message: split, in order.
    let big = pseudo_random(7, 3_000_000);
    bob_server.send(big.clone()).unwrap();
    from_server.extend(big);

    assert_same_bytes(&wait_for_data(&run, &alice_viewer, from_server.len()), &from_server, "server to viewer");
    assert_same_bytes(&wait_for_data(&run, &bob_server, from_viewer.len()), &from_viewer, "viewer to server");
    // From the handler, at most 1 MiB each.
    let got = run.all_from("DesktopSharingStreamGotData", alice_viewer.handle());
    assert!(got.len() >= 3, "3 MB come in several messages");
    assert!(got.iter().all(|n| n.data.get("data").and_then(Value::as_bytes).unwrap().len() <= 1024 * 1024));
    assert!(run.all_from("DesktopSharingStreamGotData", alice_stream.handle()).is_empty());

    run.hang_up(&call, &incoming, [&alice_stream, &bob_stream]);
    assert!(alice_viewer.send(b"too late".to_vec()).is_err());
    run.stop();
}

#[test]
fn a_server_handler_that_cannot_connect_fails_its_stream() {
    let run = start();

    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let alice_handler = DesktopSharingHandler::external_server("127.0.0.1", port, Duration::from_secs(3)).unwrap();
    let alice_stream = DesktopSharingStream::new(&run.alice, alice_handler.clone()).unwrap();
    let (call, incoming, bob_stream) = run.call(&alice_stream);
    incoming.accept_streams(&incoming.proposed_streams()).unwrap();

    let failed = run.from("DesktopSharingHandlerDidFail", alice_handler.handle(), 1);
    assert_eq!(failed.data.get("context").and_then(Value::as_str), Some("connecting"));
    assert!(!failed.data.get("reason").and_then(Value::as_str).unwrap_or_default().is_empty());
    assert!(failed.data.get("failure").and_then(Value::as_str).is_some());
    let stream_failed = run.from("MediaStreamDidFail", alice_stream.handle(), 1);
    assert_eq!(
        stream_failed.data.get("reason"),
        failed.data.get("reason"),
        "the stream fails with the handler's reason"
    );

    // Its only stream failed: the call ends on both sides.
    run.from("SIPSessionDidEnd", call.handle(), 1);
    run.from("SIPSessionDidEnd", incoming.handle(), 1);
    run.from("MediaStreamDidEnd", bob_stream.handle(), 1);
    assert_eq!(run.all_from("DesktopSharingHandlerDidFail", alice_handler.handle()).len(), 1, "posted once");
    run.stop();
}

#[test]
fn a_viewer_handler_nobody_connects_to_fails_after_its_timeout() {
    let run = start();

    let alice_handler = DesktopSharingHandler::external_viewer("127.0.0.1", 0, Duration::from_millis(300)).unwrap();
    let (host, port) = alice_handler.address().unwrap();
    let alice_stream = DesktopSharingStream::new(&run.alice, alice_handler.clone()).unwrap();
    let (call, incoming, bob_stream) = run.call(&alice_stream);
    assert_eq!(bob_stream.handler().kind(), DesktopSharingHandlerKind::InternalServer);
    incoming.accept_streams(&incoming.proposed_streams()).unwrap();

    let failed = run.from("DesktopSharingHandlerDidFail", alice_handler.handle(), 1);
    assert_eq!(failed.data.get("context").and_then(Value::as_str), Some("connecting"));
    assert_eq!(failed.data.get("failure").and_then(Value::as_str), Some("TimedOut"));
    run.from("MediaStreamDidFail", alice_stream.handle(), 1);
    run.from("SIPSessionDidEnd", call.handle(), 1);
    run.from("SIPSessionDidEnd", incoming.handle(), 1);
    // It accepts one connection, and none after giving up.
    assert!(TcpStream::connect((host.as_str(), port)).is_err(), "the viewer listener is closed");
    run.stop();
}

#[test]
fn a_vnc_server_closing_its_connection_fails_the_stream() {
    let run = start();

    let vnc_server = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_port = vnc_server.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = vnc_server.accept().expect("the server handler connects");
        socket.write_all(GREETING).unwrap();
        // The viewer's answer arrives, then the server goes away.
        read_up_to(&mut socket, GREETING.len())
    });
    let alice_handler =
        DesktopSharingHandler::external_server("127.0.0.1", server_port, Duration::from_secs(3)).unwrap();
    let alice_stream = DesktopSharingStream::new(&run.alice, alice_handler.clone()).unwrap();
    let (call, incoming, bob_stream) = run.call(&alice_stream);
    let bob_viewer = bob_stream.handler();
    assert_eq!(bob_viewer.kind(), DesktopSharingHandlerKind::InternalViewer);
    incoming.accept_streams(&incoming.proposed_streams()).unwrap();

    assert_eq!(wait_for_data(&run, &bob_viewer, GREETING.len()), GREETING);
    bob_viewer.send(GREETING.to_vec()).unwrap();
    assert_eq!(server.join().unwrap(), GREETING);

    let failed = run.from("DesktopSharingHandlerDidFail", alice_handler.handle(), 1);
    assert_eq!(failed.data.get("context").and_then(Value::as_str), Some("reading"));
    assert_eq!(failed.data.get("reason").and_then(Value::as_str), Some("connection to the VNC server was closed"));
    run.from("MediaStreamDidFail", alice_stream.handle(), 1);
    run.from("SIPSessionDidEnd", call.handle(), 1);
    run.from("SIPSessionDidEnd", incoming.handle(), 1);
    run.stop();
}

/// An offer with one m-line of `media_type` and `protocol`, formats
/// `formats` and the attribute lines `attributes`.
fn offer(media_type: &str, protocol: &str, formats: &str, attributes: &[&str]) -> SessionDescription {
    let scheme = if protocol.contains("TLS") { "msrps" } else { "msrp" };
    let mut text = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm={media_type} 2855 {protocol} {formats}\r\n\
         a=path:{scheme}://127.0.0.1:2855/abcd;tcp\r\n"
    );
    for attribute in attributes {
        text.push_str(&format!("a={attribute}\r\n"));
    }
    text.parse().expect("a valid SDP")
}

#[test]
fn offers_are_taken_by_accept_types_and_answered_in_the_other_rfb_role() {
    let run = start();
    let kind_for = |sdp: &SessionDescription| {
        let stream = DesktopSharingStream::new_from_sdp(&run.alice, sdp, 0).expect("accepted").expect("a stream");
        assert_eq!(stream.stream_type(), "desktop-sharing");
        stream.as_any().downcast::<DesktopSharingStream>().unwrap().handler().kind()
    };
    let rfb = "accept-types:application/x-rfb";
    let passive = offer("application", "TCP/MSRP", "*", &[rfb, "rfbsetup:passive"]);
    assert_eq!(kind_for(&passive), DesktopSharingHandlerKind::InternalViewer);
    let active = offer("application", "TCP/TLS/MSRP", "*", &[rfb, "rfbsetup:active", "setup:actpass"]);
    assert_eq!(kind_for(&active), DesktopSharingHandlerKind::InternalServer);
    let no_role = offer("application", "TCP/MSRP", "*", &["accept-types:text/plain application/x-rfb"]);
    assert_eq!(kind_for(&no_role), DesktopSharingHandlerKind::InternalServer, "active when absent");

    // Desktop sharing m-lines that cannot be answered.
    let unknown_role = offer("application", "TCP/MSRP", "*", &[rfb, "rfbsetup:both"]);
    assert!(DesktopSharingStream::new_from_sdp(&run.alice, &unknown_role, 0).is_err());
    let formats = offer("application", "TCP/MSRP", "0", &[rfb]);
    assert!(DesktopSharingStream::new_from_sdp(&run.alice, &formats, 0).is_err());

    // Other m-lines are not desktop sharing.
    for other in [
        offer("application", "TCP/MSRP", "*", &["accept-types:text/plain"]),
        offer("message", "TCP/MSRP", "*", &[rfb]),
        offer("application", "RTP/AVP", "0", &[rfb]),
    ] {
        assert!(DesktopSharingStream::new_from_sdp(&run.alice, &other, 0).unwrap().is_none());
    }

    // The registry picks the desktop sharing type for it.
    let stream = MediaStreamRegistry::instance().stream_for(&run.alice, &passive, 0).unwrap().expect("a stream");
    assert_eq!(stream.stream_type(), "desktop-sharing");
    run.stop();
}
