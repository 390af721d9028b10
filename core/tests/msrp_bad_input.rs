//! Bad input from an MSRP peer (RFC 4975): each malformed frame gets its
//! response (400, 413, 481, 501) or a clean close, never a panic, and a
//! valid message after a recoverable error still arrives. Oversized chunks
//! and messages are refused without the memory they claim being allocated.
//!
//! The session endpoint is tested sans-IO where the wire adds nothing; the
//! same frames then go over a real loopback TCP connection to a passive
//! [`MsrpConnection`] behind an [`MsrpListener`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sipsimple_core::msrp::message::{Frame, FrameParser, Kind, Limits, MsrpUri, Scheme};
use sipsimple_core::msrp::sdp::ConnectionRole;
use sipsimple_core::msrp::session::{BodyDelivery, MsrpEvent, MsrpSession, MsrpSessionConfig};
use sipsimple_core::msrp::transport::{MsrpConnectOptions, MsrpConnection, MsrpListener};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Handle;

// ---------------------------------------------------------------------------
// Allocation watch: the largest single allocation, per thread (exact, for
// the sans-IO tests) and process-wide (coarse, for the connection tests,
// whose session runs on the runtime's threads).

struct WatchingAllocator;

thread_local! {
    static LARGEST_ON_THREAD: Cell<usize> = const { Cell::new(0) };
}
static LARGEST_ANYWHERE: AtomicUsize = AtomicUsize::new(0);

fn note_allocation(size: usize) {
    let _ = LARGEST_ON_THREAD.try_with(|largest| largest.set(largest.get().max(size)));
    LARGEST_ANYWHERE.fetch_max(size, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping neither allocates nor touches the memory.
unsafe impl GlobalAlloc for WatchingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation(new_size);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: WatchingAllocator = WatchingAllocator;

/// Runs `f` and returns its result with the largest single allocation it
/// made on this thread.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST_ON_THREAD.with(|largest| largest.set(0));
    let result = f();
    (result, LARGEST_ON_THREAD.with(Cell::get))
}

/// No test of this file legitimately allocates this much at once.
const HUGE_ALLOCATION: usize = 256 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Frames.

const BOB: &str = "msrp://127.0.0.1:2855/bobsession42;tcp";
const ALICE: &str = "msrp://127.0.0.1:2856/alicesession7;tcp";

fn uri(text: &str) -> MsrpUri {
    MsrpUri::parse(text).expect("a valid MSRP URI")
}

/// A SEND from Alice to `to` with the given transaction id, extra header
/// lines (each ending in CRLF), body and end-line flag.
fn send_to(to: &str, transaction_id: &str, headers: &str, body: &[u8], flag: char) -> Vec<u8> {
    let mut out = format!(
        "MSRP {transaction_id} SEND\r\nTo-Path: {to}\r\nFrom-Path: {ALICE}\r\n{headers}Content-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(body);
    out.extend_from_slice(format!("\r\n-------{transaction_id}{flag}\r\n").as_bytes());
    out
}

/// A SEND to Bob.
fn send(transaction_id: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    send_to(BOB, transaction_id, headers, body, '$')
}

/// A whole valid message in one chunk.
fn valid_message(transaction_id: &str, message_id: &str, text: &str) -> Vec<u8> {
    let len = text.len();
    send(transaction_id, &format!("Message-ID: {message_id}\r\nByte-Range: 1-{len}/{len}\r\n"), text.as_bytes())
}

/// `Byte-Range` beyond the total.
fn range_beyond_total() -> Vec<u8> {
    send("range001", "Message-ID: badrange\r\nByte-Range: 1-26/25\r\n", b"hello")
}

/// A chunk without Message-ID.
fn no_message_id() -> Vec<u8> {
    send("nomsgid1", "Byte-Range: 1-5/5\r\n", b"hello")
}

/// A method nobody implements.
fn unknown_method() -> Vec<u8> {
    format!("MSRP unknown1 FROBNICATE\r\nTo-Path: {BOB}\r\nFrom-Path: {ALICE}\r\n-------unknown1$\r\n").into_bytes()
}

/// A SEND for a session that is not Bob's.
fn wrong_to_path() -> Vec<u8> {
    send_to(
        "msrp://127.0.0.1:2855/someoneelse;tcp",
        "wrongto1",
        "Message-ID: wrongto\r\nByte-Range: 1-5/5\r\n",
        b"hello",
        '$',
    )
}

/// The first chunk of a message that claims 10 GB.
fn ten_gigabytes_claimed() -> Vec<u8> {
    send_to(BOB, "huge0001", "Message-ID: hugemsg\r\nByte-Range: 1-*/10000000000\r\n", &[b'x'; 1000], '+')
}

/// One chunk carrying more bytes than the size limit, without saying so.
fn oversized_chunk(len: usize) -> Vec<u8> {
    send("bigchunk", "Message-ID: bigmsg\r\nByte-Range: 1-*/*\r\n", &vec![b'z'; len])
}

// ---------------------------------------------------------------------------
// Sans-IO.

fn session(config: MsrpSessionConfig) -> MsrpSession {
    MsrpSession::new(vec![uri(BOB)], vec![uri(ALICE)], config)
}

/// What the session wrote and reported after reading `bytes`.
struct Outcome {
    written: Vec<Frame>,
    events: Vec<MsrpEvent>,
}

impl Outcome {
    /// The response with this transaction id, if one was written.
    fn response(&self, transaction_id: &str) -> Option<(u16, Option<String>)> {
        self.written.iter().find(|f| f.head.transaction_id == transaction_id).and_then(|f| match &f.head.kind {
            Kind::Response { code, comment } => Some((*code, comment.clone())),
            Kind::Request(_) => None,
        })
    }

    fn code(&self, transaction_id: &str) -> Option<u16> {
        self.response(transaction_id).map(|(code, _)| code)
    }

    fn received(&self) -> Vec<(String, Vec<u8>)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                MsrpEvent::MessageReceived { message_id, body, .. } => Some((message_id.clone(), body.clone())),
                _ => None,
            })
            .collect()
    }

    fn closed(&self) -> bool {
        self.events.iter().any(|e| matches!(e, MsrpEvent::Closed { .. }))
    }
}

/// Feeds `bytes` (in pieces of `piece` bytes) and collects the output;
/// every frame written must parse.
fn feed(session: &mut MsrpSession, bytes: &[u8], piece: usize) -> Outcome {
    let now = Instant::now();
    let mut written = Vec::new();
    let mut events = Vec::new();
    for chunk in bytes.chunks(piece.max(1)) {
        session.handle_bytes(now, chunk);
        while let Some(out) = session.poll_transmit() {
            written.push(Frame::parse(&out).expect("the session writes valid frames"));
        }
        while let Some(event) = session.poll_event() {
            events.push(event);
        }
    }
    Outcome { written, events }
}

/// Each recoverable malformed frame, the code it gets and its transaction id.
fn recoverable_cases() -> Vec<(&'static str, Vec<u8>, &'static str, u16)> {
    vec![
        ("Byte-Range beyond the total", range_beyond_total(), "range001", 400),
        ("chunk without Message-ID", no_message_id(), "nomsgid1", 400),
        ("unknown method", unknown_method(), "unknown1", 501),
        ("wrong To-Path", wrong_to_path(), "wrongto1", 481),
    ]
}

#[test]
fn each_malformed_frame_gets_its_response_and_the_next_message_arrives() {
    for (what, frame, transaction_id, code) in recoverable_cases() {
        for piece in [1, 7, usize::MAX] {
            let mut bob = session(MsrpSessionConfig::default());
            let mut stream = frame.clone();
            stream.extend_from_slice(&valid_message("good0001", "goodmsg", "still here"));
            let outcome = feed(&mut bob, &stream, piece);
            assert_eq!(outcome.code(transaction_id), Some(code), "{what} (pieces of {piece})");
            assert_eq!(outcome.code("good0001"), Some(200), "{what}: the next message is answered");
            assert_eq!(outcome.received(), [("goodmsg".to_owned(), b"still here".to_vec())], "{what}");
            assert!(!outcome.closed(), "{what}: the session stays open");
            // The error response goes back to the previous hop, from Bob.
            let response = outcome.written.iter().find(|f| f.head.transaction_id == transaction_id).unwrap();
            assert_eq!(response.head.headers.to_path, [uri(ALICE)], "{what}");
            assert!(!outcome.events.iter().any(|e| matches!(e, MsrpEvent::MessageReceived { message_id, .. }
                if message_id != "goodmsg")));
        }
    }
}

#[test]
fn a_bad_end_line_closes_the_session() {
    let bad_end_lines: [(&str, Vec<u8>); 4] = [
        (
            "the end-line of another transaction after the headers",
            format!(
                "MSRP badend01 SEND\r\nTo-Path: {BOB}\r\nFrom-Path: {ALICE}\r\nMessage-ID: m1\r\n-------other123$\r\n"
            )
            .into_bytes(),
        ),
        (
            "no continuation flag",
            format!(
                "MSRP badend02 SEND\r\nTo-Path: {BOB}\r\nFrom-Path: {ALICE}\r\nMessage-ID: m1\r\n-------badend02\r\n"
            )
            .into_bytes(),
        ),
        ("a flag not followed by CRLF", {
            let mut frame = send("badend03", "Message-ID: m3\r\n", b"body");
            let at = frame.len() - 2;
            frame[at] = b'X';
            frame
        }),
        ("garbage instead of a start line", b"HTTP/1.1 200 OK\r\n\r\n".to_vec()),
    ];
    for (what, frame) in bad_end_lines {
        for piece in [1, usize::MAX] {
            let mut bob = session(MsrpSessionConfig::default());
            let mut stream = frame.clone();
            stream.extend_from_slice(&valid_message("good0001", "goodmsg", "lost"));
            let outcome = feed(&mut bob, &stream, piece);
            assert!(outcome.closed(), "{what}: the session closes");
            assert!(bob.is_closed(), "{what}");
            assert!(outcome.received().is_empty(), "{what}: nothing is read after the bad frame");
            assert_eq!(outcome.code("good0001"), None, "{what}");
            // Whatever comes later is ignored.
            let later = feed(&mut bob, &valid_message("good0002", "later", "x"), usize::MAX);
            assert!(later.written.is_empty() && later.events.is_empty(), "{what}");
        }
    }
}

#[test]
fn a_ten_gigabyte_message_is_refused_with_413_without_allocating_it() {
    let config = MsrpSessionConfig { max_message_size: 1024 * 1024, ..MsrpSessionConfig::default() };
    let mut bob = session(config);
    let mut stream = ten_gigabytes_claimed();
    stream.extend_from_slice(&valid_message("good0001", "goodmsg", "small"));
    let (outcome, largest) = largest_allocation(|| feed(&mut bob, &stream, 4096));
    assert_eq!(outcome.code("huge0001"), Some(413));
    assert_eq!(outcome.response("huge0001").and_then(|(_, c)| c).as_deref(), Some("Message Too Large"));
    assert!(
        outcome.events.iter().any(|e| matches!(e, MsrpEvent::MessageRefused { message_id, code: 413 }
            if message_id == "hugemsg")),
        "{:?}",
        outcome.events
    );
    assert_eq!(outcome.received(), [("goodmsg".to_owned(), b"small".to_vec())]);
    assert!(largest < 64 * 1024, "a 10 GB claim made the session allocate {largest} bytes at once");

    // Its later chunks get 413 as well and are not kept.
    let next =
        send_to(BOB, "huge0002", "Message-ID: hugemsg\r\nByte-Range: 1001-2000/10000000000\r\n", &[b'x'; 1000], '+');
    let (outcome, largest) = largest_allocation(|| feed(&mut bob, &next, usize::MAX));
    assert_eq!(outcome.code("huge0002"), Some(413));
    assert!(largest < 64 * 1024, "{largest}");
}

#[test]
fn a_chunk_larger_than_the_limit_is_refused_with_413_while_it_streams_in() {
    let limit = 64 * 1024;
    let config = MsrpSessionConfig { max_message_size: limit as u64, ..MsrpSessionConfig::default() };
    let mut bob = session(config);
    let mut stream = oversized_chunk(16 * limit);
    stream.extend_from_slice(&valid_message("good0001", "goodmsg", "after the big one"));
    let (outcome, largest) = largest_allocation(|| feed(&mut bob, &stream, 8192));
    assert_eq!(outcome.code("bigchunk"), Some(413));
    assert_eq!(outcome.received(), [("goodmsg".to_owned(), b"after the big one".to_vec())]);
    assert!(largest <= 2 * limit, "a chunk of {} bytes made the session allocate {largest} at once", 16 * limit);
}

#[test]
fn a_chunk_that_runs_past_its_own_byte_range_is_refused() {
    // The first chunk says nothing of the total; the second says 20 but
    // carries bytes 11 to 21.
    let mut bob = session(MsrpSessionConfig::default());
    let mut stream = send_to(BOB, "part0001", "Message-ID: twoparts\r\n", b"abcdefghij", '+');
    stream.extend_from_slice(&send("part0002", "Message-ID: twoparts\r\nByte-Range: 11-20/20\r\n", b"klmnopqrstu"));
    stream.extend_from_slice(&valid_message("good0001", "goodmsg", "ok"));
    let outcome = feed(&mut bob, &stream, usize::MAX);
    assert_eq!(outcome.code("part0001"), Some(200));
    assert_eq!(outcome.code("part0002"), Some(400), "{:?}", outcome.events);
    assert_eq!(outcome.received(), [("goodmsg".to_owned(), b"ok".to_vec())]);
    for event in &outcome.events {
        if let MsrpEvent::ChunkReceived { byte_range, .. } = event {
            assert!(byte_range.check().is_ok(), "an impossible range reported: {byte_range}");
        }
    }
}

#[test]
fn a_chunk_far_into_a_message_costs_the_memory_it_carries_not_its_offset() {
    // Each message says 16 MiB and sends two bytes near its end: the
    // receiver must not hold 16 MiB for each of them.
    let mut bob = session(MsrpSessionConfig::default());
    let mut stream = Vec::new();
    for i in 0..32 {
        stream.extend_from_slice(&send_to(
            BOB,
            &format!("sparse{i:03}"),
            &format!("Message-ID: sparse{i}\r\nByte-Range: 16777000-16777001/16777216\r\n"),
            b"xy",
            '+',
        ));
    }
    let (outcome, largest) = largest_allocation(|| feed(&mut bob, &stream, usize::MAX));
    assert_eq!(outcome.code("sparse000"), Some(200));
    assert_eq!(outcome.code("sparse031"), Some(200));
    assert!(largest < 64 * 1024, "two bytes at 16 MB made the session allocate {largest} bytes at once");

    // Chunks out of order still make the message.
    let mut bob = session(MsrpSessionConfig::default());
    let mut stream = send("late0002", "Message-ID: shuffled\r\nByte-Range: 11-20/20\r\n", b"klmnopqrst");
    stream.extend_from_slice(&send_to(
        BOB,
        "late0001",
        "Message-ID: shuffled\r\nByte-Range: 1-10/20\r\n",
        b"abcdefghij",
        '+',
    ));
    let outcome = feed(&mut bob, &stream, 3);
    assert_eq!(outcome.received(), [("shuffled".to_owned(), b"abcdefghijklmnopqrst".to_vec())]);
}

#[test]
fn positions_at_the_end_of_u64_do_not_panic() {
    let max = u64::MAX;
    for body_delivery in [BodyDelivery::Reassemble, BodyDelivery::Stream] {
        let config = MsrpSessionConfig { body_delivery: body_delivery.clone(), ..MsrpSessionConfig::default() };
        let mut bob = session(config);
        let mut stream = Vec::new();
        for (i, range) in
            [format!("{max}-*/*"), format!("{max}-{max}/*"), format!("{max}-{max}/{max}"), format!("{}-*/*", max - 1)]
                .iter()
                .enumerate()
        {
            stream.extend_from_slice(&send_to(
                BOB,
                &format!("edge{i:04}"),
                &format!("Message-ID: edge{i}\r\nByte-Range: {range}\r\n"),
                b"xyz",
                '$',
            ));
        }
        stream.extend_from_slice(&valid_message("good0001", "goodmsg", "fine"));
        let outcome = feed(&mut bob, &stream, usize::MAX);
        assert!(!outcome.closed(), "{body_delivery:?}");
        for i in 0..4 {
            let code = outcome.code(&format!("edge{i:04}"));
            assert!(matches!(code, Some(400 | 413)), "{body_delivery:?} edge{i}: {code:?}");
        }
        let received: Vec<String> = outcome.received().into_iter().map(|(id, _)| id).collect();
        assert_eq!(received, ["goodmsg"], "{body_delivery:?}");
    }
}

// ---------------------------------------------------------------------------
// Over TCP.

const WAIT: Duration = Duration::from_secs(20);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

/// Bob waits on a listener (passive); the test is the peer, on a raw socket.
struct Passive {
    _listener: MsrpListener,
    connection: MsrpConnection,
    events: sipsimple_core::msrp::transport::MsrpEventReceiver,
    bob: String,
    address: SocketAddr,
}

fn passive_bob(config: MsrpSessionConfig) -> Passive {
    let runtime = Handle::current();
    let listener = MsrpListener::bind(&runtime, loopback(), None).expect("listen");
    let address = listener.local_addr();
    let bob = MsrpUri::new(Scheme::Msrp, "127.0.0.1", address.port(), "bobsession42");
    let (connection, events) = MsrpConnection::connect(
        &runtime,
        vec![bob.clone()],
        vec![uri(ALICE)],
        ConnectionRole::Passive,
        MsrpConnectOptions { listener: Some(listener.clone()), session: config, ..MsrpConnectOptions::default() },
    )
    .expect("bob waits");
    Passive { _listener: listener, connection, events, bob: bob.to_string(), address }
}

/// Rewrites the To-Path of the frames built for [`BOB`] to Bob's real URI.
fn to_bob(frame: &[u8], bob: &str) -> Vec<u8> {
    let needle = format!("To-Path: {BOB}");
    let with = format!("To-Path: {bob}");
    let text = frame.to_vec();
    match text.windows(needle.len()).position(|w| w == needle.as_bytes()) {
        Some(at) => [&text[..at], with.as_bytes(), &text[at + needle.len()..]].concat(),
        None => text,
    }
}

/// Reads frames from the socket until one with each transaction id came;
/// returns their codes in order of `transaction_ids`.
async fn read_responses(socket: &mut TcpStream, parser: &mut FrameParser, transaction_ids: &[&str]) -> Vec<u16> {
    let mut codes: Vec<Option<u16>> = vec![None; transaction_ids.len()];
    let mut buffer = vec![0u8; 16 * 1024];
    while codes.iter().any(Option::is_none) {
        while let Some(frame) = parser.next_frame().expect("Bob writes valid frames") {
            if let (Some(at), Kind::Response { code, .. }) =
                (transaction_ids.iter().position(|id| *id == frame.head.transaction_id), &frame.head.kind)
            {
                codes[at] = Some(*code);
            }
        }
        if codes.iter().all(Option::is_some) {
            break;
        }
        let n = tokio::time::timeout(WAIT, socket.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("responses in time; still missing {transaction_ids:?} {codes:?}"))
            .expect("read");
        assert!(n > 0, "Bob closed the connection; codes so far {codes:?}");
        parser.feed(&buffer[..n]);
    }
    codes.into_iter().map(|c| c.unwrap_or_default()).collect()
}

async fn next_event(events: &mut sipsimple_core::msrp::transport::MsrpEventReceiver) -> Option<MsrpEvent> {
    tokio::time::timeout(WAIT, events.recv()).await.expect("an MSRP event in time")
}

/// Waits for the message `message_id`; every other event must be progress.
async fn expect_message(events: &mut sipsimple_core::msrp::transport::MsrpEventReceiver, message_id: &str) -> Vec<u8> {
    loop {
        match next_event(events).await.expect("the connection is still running") {
            MsrpEvent::MessageReceived { message_id: id, body, .. } if id == message_id => return body,
            MsrpEvent::ChunkReceived { .. } | MsrpEvent::MessageRefused { .. } | MsrpEvent::MessageReceived { .. } => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
}

/// Opens the peer's connection with a valid first message (the listener
/// routes a connection by its first request).
async fn connect_peer(bob: &mut Passive) -> (TcpStream, FrameParser) {
    let mut socket = TcpStream::connect(bob.address).await.expect("connect");
    socket.write_all(&to_bob(&valid_message("hello001", "hellomsg", "hello"), &bob.bob)).await.expect("write");
    let mut parser = FrameParser::new(Limits::default());
    assert_eq!(read_responses(&mut socket, &mut parser, &["hello001"]).await, [200]);
    assert_eq!(expect_message(&mut bob.events, "hellomsg").await, b"hello");
    (socket, parser)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_over_tcp_get_their_responses_and_the_connection_goes_on() {
    let limit = 64 * 1024;
    let mut bob = passive_bob(MsrpSessionConfig { max_message_size: limit as u64, ..MsrpSessionConfig::default() });
    let (mut socket, mut parser) = connect_peer(&mut bob).await;

    let mut cases = recoverable_cases();
    cases.push(("10 GB claimed", ten_gigabytes_claimed(), "huge0001", 413));
    cases.push(("oversized chunk", oversized_chunk(16 * limit), "bigchunk", 413));
    for (i, (what, frame, transaction_id, code)) in cases.into_iter().enumerate() {
        socket.write_all(&to_bob(&frame, &bob.bob)).await.expect("write");
        let good_transaction = format!("good{i:04}");
        let good_message = format!("goodmsg{i}");
        socket
            .write_all(&to_bob(&valid_message(&good_transaction, &good_message, what), &bob.bob))
            .await
            .expect("write");
        let codes = read_responses(&mut socket, &mut parser, &[transaction_id, &good_transaction]).await;
        assert_eq!(codes, [code, 200], "{what}");
        assert_eq!(expect_message(&mut bob.events, &good_message).await, what.as_bytes(), "{what}");
    }
    let largest = LARGEST_ANYWHERE.load(Ordering::Relaxed);
    assert!(largest < HUGE_ALLOCATION, "an allocation of {largest} bytes");

    // Bob can still send.
    let id = bob.connection.send_message("text/plain", b"bye".to_vec(), false).expect("queued");
    let mut buffer = vec![0u8; 4096];
    let frame = loop {
        if let Some(frame) = parser.next_frame().expect("valid frames") {
            break frame;
        }
        let n =
            tokio::time::timeout(WAIT, socket.read(&mut buffer)).await.expect("Bob's message in time").expect("read");
        assert!(n > 0, "closed");
        parser.feed(&buffer[..n]);
    };
    assert_eq!(frame.head.headers.message_id.as_deref(), Some(id.as_str()));
    assert_eq!(frame.body, b"bye");
    bob.connection.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_end_line_over_tcp_closes_the_connection_cleanly() {
    let mut bob = passive_bob(MsrpSessionConfig::default());
    let (mut socket, _parser) = connect_peer(&mut bob).await;
    let bad = format!(
        "MSRP badend01 SEND\r\nTo-Path: {}\r\nFrom-Path: {ALICE}\r\nMessage-ID: m1\r\n-------other123$\r\n",
        bob.bob
    );
    socket.write_all(bad.as_bytes()).await.expect("write");
    // Bob closes the socket...
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, socket.read_to_end(&mut rest)).await.expect("Bob closes in time").expect("read");
    // ...and his connection ends with Closed: the task did not die on the way.
    let mut closed = false;
    while let Some(event) = next_event(&mut bob.events).await {
        match event {
            MsrpEvent::Closed { reason } => {
                assert!(!closed, "closed twice");
                assert!(reason.contains("end-line") || reason.contains("closed"), "{reason}");
                closed = true;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(closed, "the events end with Closed");
    assert!(bob.connection.send_message("text/plain", b"late".to_vec(), false).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_whose_first_frame_is_malformed_is_closed_and_the_session_still_waits() {
    let mut bob = passive_bob(MsrpSessionConfig::default());
    for first in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        to_bob(&no_message_id(), &bob.bob),
        to_bob(&range_beyond_total(), &bob.bob),
    ] {
        let mut socket = TcpStream::connect(bob.address).await.expect("connect");
        socket.write_all(&first).await.expect("write");
        let mut rest = Vec::new();
        tokio::time::timeout(WAIT, socket.read_to_end(&mut rest))
            .await
            .expect("the listener closes the connection in time")
            .expect("read");
        if !rest.is_empty() {
            // An answer is fine, as long as it is a valid error response.
            let frame = Frame::parse(&rest).expect("a valid response");
            assert!(matches!(frame.head.kind, Kind::Response { code: 400..=499, .. }), "{frame:?}");
        }
    }
    // The session still takes the right connection.
    let (_socket, _parser) = connect_peer(&mut bob).await;
    bob.connection.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_for_a_bound_session_gets_506() {
    let mut bob = passive_bob(MsrpSessionConfig::default());
    let (_socket, _parser) = connect_peer(&mut bob).await;
    // Another connection for the same session: refused, the first goes on.
    let mut second = TcpStream::connect(bob.address).await.expect("connect");
    second.write_all(&to_bob(&valid_message("again001", "againmsg", "again"), &bob.bob)).await.expect("write");
    let mut parser = FrameParser::new(Limits::default());
    assert_eq!(read_responses(&mut second, &mut parser, &["again001"]).await, [506]);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(WAIT, second.read_to_end(&mut rest)).await.expect("closed in time");
    assert!(closed.is_ok(), "the second connection is closed");
    let id = bob.connection.send_message("text/plain", b"still here".to_vec(), false).expect("send");
    assert!(!id.is_empty());
}
