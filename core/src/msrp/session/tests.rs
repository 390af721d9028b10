//! Two endpoints wired back to back on a simulated clock.

use std::time::{Duration, Instant};

use super::*;
use crate::msrp::message::{Frame, Scheme};

/// A small deterministic generator (xorshift64*), so that failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn alice_uri() -> MsrpUri {
    MsrpUri::new(Scheme::Msrp, "127.0.0.1", 2855, "alice1234")
}

fn bob_uri() -> MsrpUri {
    MsrpUri::new(Scheme::Msrp, "127.0.0.1", 2856, "bob5678")
}

/// Alice and Bob on one connection.
struct Pair {
    alice: MsrpSession,
    bob: MsrpSession,
    now: Instant,
    rng: Rng,
    alice_events: Vec<MsrpEvent>,
    bob_events: Vec<MsrpEvent>,
}

impl Pair {
    fn new(alice: MsrpSessionConfig, bob: MsrpSessionConfig) -> Pair {
        Pair {
            alice: MsrpSession::new(vec![alice_uri()], vec![bob_uri()], alice),
            bob: MsrpSession::new(vec![bob_uri()], vec![alice_uri()], bob),
            now: Instant::now(),
            rng: Rng(0x5eed_1234_abcd_0001),
            alice_events: Vec::new(),
            bob_events: Vec::new(),
        }
    }

    fn default() -> Pair {
        Pair::new(MsrpSessionConfig::default(), MsrpSessionConfig::default())
    }

    /// Moves bytes both ways, cut at random places, until both sides are
    /// quiet; `drop_bob_to_alice` loses everything Bob writes.
    fn pump_with(&mut self, drop_bob_to_alice: bool) {
        loop {
            let mut moved = false;
            while let Some(bytes) = self.alice.poll_transmit() {
                feed_split(&mut self.bob, self.now, &bytes, &mut self.rng);
                moved = true;
            }
            while let Some(bytes) = self.bob.poll_transmit() {
                if !drop_bob_to_alice {
                    feed_split(&mut self.alice, self.now, &bytes, &mut self.rng);
                }
                moved = true;
            }
            if !moved {
                break;
            }
        }
        self.drain();
    }

    fn pump(&mut self) {
        self.pump_with(false);
    }

    fn drain(&mut self) {
        while let Some(event) = self.alice.poll_event() {
            self.alice_events.push(event);
        }
        while let Some(event) = self.bob.poll_event() {
            self.bob_events.push(event);
        }
    }
}

fn feed_split(session: &mut MsrpSession, now: Instant, bytes: &[u8], rng: &mut Rng) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len().min(3000));
        session.handle_bytes(now, &rest[..n]);
        rest = &rest[n..];
    }
}

fn received(events: &[MsrpEvent]) -> Vec<(String, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            MsrpEvent::MessageReceived { message_id, body, .. } => Some((message_id.clone(), body.clone())),
            _ => None,
        })
        .collect()
}

fn delivered(events: &[MsrpEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            MsrpEvent::MessageDelivered { message_id } => Some(message_id.clone()),
            _ => None,
        })
        .collect()
}

fn not_delivered(events: &[MsrpEvent]) -> Vec<(String, u16)> {
    events
        .iter()
        .filter_map(|e| match e {
            MsrpEvent::MessageNotDelivered { message_id, code, .. } => Some((message_id.clone(), *code)),
            _ => None,
        })
        .collect()
}

fn chunks_of(session: &mut MsrpSession) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| session.poll_transmit()).collect()
}

#[test]
fn chat_message_both_ways_with_success_reports() {
    let mut pair = Pair::default();
    let now = pair.now;
    let to_bob =
        pair.alice.send_message(now, None, "text/plain", b"Hello Bob".to_vec(), true, FailureReport::Yes).unwrap();
    let to_alice =
        pair.bob.send_message(now, Some("m-42"), "text/plain", b"Hi Alice".to_vec(), true, FailureReport::Yes).unwrap();
    assert_eq!(to_alice, "m-42");
    pair.pump();
    assert_eq!(received(&pair.bob_events), [(to_bob.clone(), b"Hello Bob".to_vec())]);
    assert_eq!(received(&pair.alice_events), [(to_alice.clone(), b"Hi Alice".to_vec())]);
    assert_eq!(delivered(&pair.alice_events), [to_bob]);
    assert_eq!(delivered(&pair.bob_events), [to_alice]);
    assert!(pair.bob_events.iter().any(|e| matches!(e,
        MsrpEvent::MessageReceived { content_type: Some(t), size: 9, streamed: false, .. } if t == "text/plain")));
    assert!(not_delivered(&pair.alice_events).is_empty());
    assert_eq!(pair.alice.poll_timeout(), None);
}

#[test]
fn delivery_waits_for_the_success_report() {
    let mut pair = Pair::default();
    let id = pair
        .alice
        .send_message(pair.now, None, "text/plain", b"0123456789".to_vec(), true, FailureReport::Yes)
        .unwrap();
    let chunk = pair.alice.poll_transmit().unwrap();
    let send = Frame::parse(&chunk).unwrap().head;
    let ok = send.response(200, Some("OK")).unwrap();
    let mut bytes = Vec::new();
    Frame::new(ok, Vec::new(), Continuation::Complete).encode(&mut bytes).unwrap();
    pair.alice.handle_bytes(pair.now, &bytes);
    pair.drain();
    assert!(delivered(&pair.alice_events).is_empty(), "a 200 alone does not deliver when a report was asked for");
    for range in
        [ByteRange { start: 6, end: Some(10), total: Some(10) }, ByteRange { start: 1, end: Some(5), total: Some(10) }]
    {
        assert!(delivered(&pair.alice_events).is_empty());
        let report = send.report(Status::new(200), range).unwrap();
        let bytes = Frame::new(report, Vec::new(), Continuation::Complete).to_bytes().unwrap();
        pair.alice.handle_bytes(pair.now, &bytes);
        pair.drain();
    }
    assert_eq!(delivered(&pair.alice_events), [id]);
}

#[test]
fn a_megabyte_is_chunked_and_reassembled() {
    let mut pair = Pair::default();
    let body = Rng(7).bytes(1024 * 1024);
    let id = pair
        .alice
        .send_message(pair.now, None, "application/octet-stream", body.clone(), true, FailureReport::Yes)
        .unwrap();
    pair.pump();
    assert_eq!(received(&pair.bob_events), [(id.clone(), body)]);
    let chunks = pair.bob_events.iter().filter(|e| matches!(e, MsrpEvent::ChunkReceived { .. })).count();
    assert_eq!(chunks, 16);
    assert_eq!(delivered(&pair.alice_events), [id]);
}

#[test]
fn chunks_delivered_out_of_order_are_reassembled() {
    let config = MsrpSessionConfig { max_chunk_size: 1000, ..MsrpSessionConfig::default() };
    let mut pair = Pair::new(config, MsrpSessionConfig::default());
    let body = Rng(9).bytes(10_500);
    let id = pair.alice.send_message(pair.now, None, "text/plain", body.clone(), true, FailureReport::Yes).unwrap();
    let mut chunks = chunks_of(&mut pair.alice);
    assert_eq!(chunks.len(), 11);
    chunks.reverse();
    chunks.swap(3, 7);
    for (i, chunk) in chunks.iter().enumerate() {
        pair.bob.handle_bytes(pair.now, chunk);
        pair.drain();
        assert_eq!(received(&pair.bob_events).len(), usize::from(i == chunks.len() - 1), "chunk {i}");
    }
    assert_eq!(received(&pair.bob_events), [(id.clone(), body)]);
    pair.pump();
    assert_eq!(delivered(&pair.alice_events), [id]);
}

#[test]
fn a_hundred_messages_arrive_in_order_exactly_once() {
    let mut pair = Pair::default();
    let mut expected = Vec::new();
    for i in 0..100 {
        let body = format!("message number {i}").into_bytes();
        let id = pair
            .alice
            .send_message(pair.now, None, "text/plain", body.clone(), i % 2 == 0, FailureReport::Yes)
            .unwrap();
        expected.push((id, body));
    }
    pair.pump();
    assert_eq!(received(&pair.bob_events), expected);
    let ids: Vec<String> = expected.into_iter().map(|(id, _)| id).collect();
    let mut got = delivered(&pair.alice_events);
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn a_lost_response_fails_the_message_with_408_after_30_seconds() {
    let mut pair = Pair::default();
    let start = pair.now;
    let id =
        pair.alice.send_message(start, None, "text/plain", b"anyone?".to_vec(), false, FailureReport::Yes).unwrap();
    pair.pump_with(true);
    assert_eq!(received(&pair.bob_events).len(), 1);
    assert_eq!(pair.alice.poll_timeout(), Some(start + Duration::from_secs(30)));
    pair.alice.handle_timeout(start + Duration::from_secs(29));
    pair.drain();
    assert!(pair.alice_events.is_empty());
    pair.alice.handle_timeout(start + Duration::from_secs(30));
    pair.drain();
    assert_eq!(not_delivered(&pair.alice_events), [(id, 408)]);
    assert_eq!(pair.alice.poll_timeout(), None);
}

#[test]
fn a_wrong_to_path_is_answered_481_and_fails_the_message() {
    let mut pair = Pair::default();
    let stranger = MsrpUri::new(Scheme::Msrp, "127.0.0.1", 2856, "someoneelse");
    pair.alice = MsrpSession::new(vec![alice_uri()], vec![stranger], MsrpSessionConfig::default());
    let id = pair.alice.send_message(pair.now, None, "text/plain", b"hi".to_vec(), true, FailureReport::Yes).unwrap();
    pair.pump();
    assert_eq!(not_delivered(&pair.alice_events), [(id, 481)]);
    assert!(received(&pair.bob_events).is_empty());
}

#[test]
fn an_unknown_method_is_answered_501() {
    let mut pair = Pair::default();
    let request = format!(
        "MSRP tx77abcd FROBNICATE\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------tx77abcd$\r\n",
        bob_uri(),
        alice_uri()
    );
    pair.bob.handle_bytes(pair.now, request.as_bytes());
    let response = Frame::parse(&pair.bob.poll_transmit().expect("a response")).unwrap();
    assert_eq!(response.head.transaction_id, "tx77abcd");
    assert_eq!(response.head.code(), Some(501));
    assert_eq!(response.head.headers.to_path, [alice_uri()]);
    assert!(!pair.bob.is_closed());
}

#[test]
fn an_aborted_message_is_reported_and_not_delivered() {
    let config = MsrpSessionConfig { max_chunk_size: 100, ..MsrpSessionConfig::default() };
    let mut pair = Pair::new(config, MsrpSessionConfig::default());
    let id = pair.alice.send_message(pair.now, None, "text/plain", vec![b'x'; 1000], true, FailureReport::Yes).unwrap();
    let first = pair.alice.poll_transmit().unwrap();
    pair.bob.handle_bytes(pair.now, &first);
    assert!(pair.alice.abort(&id));
    assert!(!pair.alice.abort(&id));
    let abort = pair.alice.poll_transmit().unwrap();
    assert_eq!(Frame::parse(&abort).unwrap().continuation, Continuation::Aborted);
    assert!(pair.alice.poll_transmit().is_none());
    pair.bob.handle_bytes(pair.now, &abort);
    pair.pump();
    assert!(pair.bob_events.contains(&MsrpEvent::MessageAborted { message_id: id.clone() }));
    assert!(received(&pair.bob_events).is_empty());
    assert!(delivered(&pair.alice_events).is_empty());
    assert_eq!(pair.alice.poll_timeout(), None);
}

#[test]
fn a_failure_report_means_not_delivered() {
    let mut pair = Pair::default();
    let id = pair.alice.send_message(pair.now, None, "text/plain", b"hi".to_vec(), true, FailureReport::Yes).unwrap();
    let send = Frame::parse(&pair.alice.poll_transmit().unwrap()).unwrap().head;
    let ok = Frame::new(send.response(200, None).unwrap(), Vec::new(), Continuation::Complete).to_bytes().unwrap();
    let status = Status { code: 415, comment: Some("Unsupported Media Type".into()) };
    let report = send.report(status, ByteRange::whole(2)).unwrap();
    let report = Frame::new(report, Vec::new(), Continuation::Complete).to_bytes().unwrap();
    pair.alice.handle_bytes(pair.now, &ok);
    pair.alice.handle_bytes(pair.now, &report);
    pair.drain();
    assert_eq!(not_delivered(&pair.alice_events), [(id, 415)]);
    assert!(delivered(&pair.alice_events).is_empty());
    assert!(pair.alice.poll_transmit().is_none(), "REPORTs are not answered");
}

#[test]
fn a_message_too_large_is_refused_with_413() {
    let bob = MsrpSessionConfig { max_message_size: 1000, ..MsrpSessionConfig::default() };
    let mut pair = Pair::new(MsrpSessionConfig::default(), bob);
    let id =
        pair.alice.send_message(pair.now, None, "text/plain", vec![b'y'; 5000], false, FailureReport::Yes).unwrap();
    pair.pump();
    assert_eq!(not_delivered(&pair.alice_events), [(id.clone(), 413)]);
    assert!(pair.bob_events.contains(&MsrpEvent::MessageRefused { message_id: id, code: 413 }));
    assert!(received(&pair.bob_events).is_empty());
}

#[test]
fn streamed_messages_come_as_chunk_data() {
    let alice = MsrpSessionConfig { max_chunk_size: 4096, ..MsrpSessionConfig::default() };
    let bob = MsrpSessionConfig {
        max_message_size: 1000,
        body_delivery: BodyDelivery::StreamContentTypes(vec!["application/octet-stream".into()]),
        ..MsrpSessionConfig::default()
    };
    let mut pair = Pair::new(alice, bob);
    let body = Rng(3).bytes(200_000);
    let file = pair
        .alice
        .send_message(pair.now, None, "application/octet-stream; x=1", body.clone(), true, FailureReport::Yes)
        .unwrap();
    let chat = pair
        .alice
        .send_message(pair.now, None, "text/plain", b"and a chat".to_vec(), false, FailureReport::Yes)
        .unwrap();
    pair.pump();
    let mut rebuilt = vec![0u8; body.len()];
    let mut pieces = 0;
    for event in &pair.bob_events {
        if let MsrpEvent::ChunkData { message_id, offset, data } = event {
            assert_eq!(message_id, &file);
            rebuilt[*offset as usize..*offset as usize + data.len()].copy_from_slice(data);
            pieces += 1;
        }
    }
    assert!(pieces >= 49);
    assert_eq!(rebuilt, body);
    assert!(pair.bob_events.iter().any(|e| matches!(e,
        MsrpEvent::MessageReceived { message_id, body, size: 200_000, streamed: true, .. }
            if message_id == &file && body.is_empty())));
    let last_progress = pair.bob_events.iter().rev().find_map(|e| match e {
        MsrpEvent::ChunkReceived { message_id, byte_range, total } if message_id == &file => {
            Some((*byte_range, *total))
        }
        _ => None,
    });
    assert_eq!(last_progress.map(|(r, t)| (r.end, t)), Some((Some(200_000), Some(200_000))));
    // The chat message is not held up by the file: its chunk goes between
    // the file's.
    assert_eq!(received(&pair.bob_events), [(chat.clone(), b"and a chat".to_vec()), (file.clone(), Vec::new())]);
    let chat_at = pair
        .bob_events
        .iter()
        .position(|e| matches!(e, MsrpEvent::MessageReceived { message_id, .. } if message_id == &chat));
    let file_at = pair
        .bob_events
        .iter()
        .position(|e| matches!(e, MsrpEvent::MessageReceived { message_id, .. } if message_id == &file));
    assert!(chat_at < file_at, "the chat message arrives while the file is being sent");
    assert_eq!(delivered(&pair.alice_events), [chat, file]);
}

#[test]
fn a_broken_stream_closes_the_session_and_fails_pending_messages() {
    let mut pair = Pair::default();
    let id = pair.alice.send_message(pair.now, None, "text/plain", b"hi".to_vec(), false, FailureReport::Yes).unwrap();
    let _ = chunks_of(&mut pair.alice);
    pair.alice.handle_bytes(pair.now, b"HTTP/1.1 200 OK\r\n\r\n");
    pair.drain();
    assert!(pair.alice.is_closed());
    assert_eq!(not_delivered(&pair.alice_events), [(id, 408)]);
    assert!(matches!(pair.alice_events.last(), Some(MsrpEvent::Closed { .. })));
}

#[test]
fn too_many_partial_messages_are_refused() {
    let bob_config = MsrpSessionConfig { max_incoming_messages: 2, ..MsrpSessionConfig::default() };
    let mut bob = MsrpSession::new(vec![bob_uri()], vec![alice_uri()], bob_config);
    let now = Instant::now();
    let mut codes = Vec::new();
    for _ in 0..3 {
        // Separate senders, so that the three messages are all in progress.
        let config = MsrpSessionConfig { max_chunk_size: 10, ..MsrpSessionConfig::default() };
        let mut alice = MsrpSession::new(vec![alice_uri()], vec![bob_uri()], config);
        alice.send_message(now, None, "text/plain", vec![b'z'; 30], false, FailureReport::Yes).unwrap();
        bob.handle_bytes(now, &alice.poll_transmit().unwrap());
        codes.push(Frame::parse(&bob.poll_transmit().unwrap()).unwrap().head.code());
    }
    assert_eq!(codes, [Some(200), Some(200), Some(413)]);
}

#[test]
fn a_message_growing_too_large_gets_a_413_and_a_failure_report() {
    let config = MsrpSessionConfig { max_message_size: 1000, ..MsrpSessionConfig::default() };
    let mut bob = MsrpSession::new(vec![bob_uri()], vec![alice_uri()], config);
    let now = Instant::now();
    let template = Head::send(vec![bob_uri()], vec![alice_uri()], "grow1", "text/plain");
    let mut frames = Vec::new();
    for (start, continuation) in [(1u64, Continuation::More), (601, Continuation::Complete)] {
        let mut head = template.clone();
        head.transaction_id = format!("tid{start}x");
        head.headers.byte_range = Some(ByteRange { start, end: Some(start + 599), total: None });
        frames.push(Frame::new(head, vec![b'g'; 600], continuation));
    }
    bob.handle_bytes(now, &frames[0].to_bytes().unwrap());
    let first = Frame::parse(&bob.poll_transmit().unwrap()).unwrap();
    assert_eq!(first.head.code(), Some(200));
    bob.handle_bytes(now, &frames[1].to_bytes().unwrap());
    let second = Frame::parse(&bob.poll_transmit().unwrap()).unwrap();
    assert_eq!((second.head.transaction_id.as_str(), second.head.code()), ("tid601x", Some(413)));
    let report = Frame::parse(&bob.poll_transmit().unwrap()).unwrap();
    assert_eq!(report.head.method(), Some(&Method::Report));
    assert_eq!(report.head.headers.status.as_ref().map(|s| s.code), Some(413));
    assert_eq!(report.head.headers.message_id.as_deref(), Some("grow1"));
    assert_eq!(report.head.headers.to_path, [alice_uri()]);
    assert!(bob.poll_transmit().is_none());
    let mut events = Vec::new();
    while let Some(event) = bob.poll_event() {
        events.push(event);
    }
    assert_eq!(events.last(), Some(&MsrpEvent::MessageRefused { message_id: "grow1".into(), code: 413 }));
    assert!(received(&events).is_empty());
}

#[test]
fn mutated_input_never_panics() {
    let mut pair = Pair::new(
        MsrpSessionConfig { max_chunk_size: 300, ..MsrpSessionConfig::default() },
        MsrpSessionConfig::default(),
    );
    for i in 0..5 {
        let body = Rng(i + 1).bytes(700);
        pair.alice.send_message(pair.now, None, "text/plain", body, i % 2 == 0, FailureReport::Yes).unwrap();
    }
    let mut stream: Vec<u8> = chunks_of(&mut pair.alice).concat();
    let mut bob = MsrpSession::new(vec![bob_uri()], vec![alice_uri()], MsrpSessionConfig::default());
    bob.handle_bytes(pair.now, &stream);
    let answers: Vec<u8> = chunks_of(&mut bob).concat();
    stream.extend_from_slice(&answers);
    let mut rng = Rng(0xdead_beef);
    for round in 0..1500 {
        let mut bytes = stream.clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(bytes.len());
            match rng.below(5) {
                0 => bytes[at] = rng.next() as u8,
                1 => bytes[at] ^= 1 << rng.below(8),
                2 => {
                    bytes.remove(at);
                }
                3 => bytes.insert(at, *b"\r\n-$#+: 0".get(rng.below(9)).unwrap_or(&b'x')),
                _ => bytes.truncate(at.max(1)),
            }
        }
        let config = MsrpSessionConfig {
            max_message_size: 2000,
            body_delivery: if round % 2 == 0 { BodyDelivery::Reassemble } else { BodyDelivery::Stream },
            ..MsrpSessionConfig::default()
        };
        let mut session = MsrpSession::new(vec![bob_uri()], vec![alice_uri()], config);
        session.send_message(pair.now, None, "text/plain", b"pending".to_vec(), true, FailureReport::Yes).unwrap();
        let _ = session.poll_transmit();
        feed_split(&mut session, pair.now, &bytes, &mut rng);
        while session.poll_transmit().is_some() {}
        while session.poll_event().is_some() {}
        session.handle_timeout(pair.now + Duration::from_secs(60));
        while session.poll_event().is_some() {}
    }
}

fn streamed(range: std::ops::Range<u64>, total: u64) -> StreamedMessage {
    StreamedMessage {
        message_id: None,
        content_type: "application/octet-stream".into(),
        range,
        total,
        headers: vec![Header { name: "Content-Disposition".into(), value: "attachment; filename=\"a.bin\"".into() }],
        success_report: true,
        failure_report: FailureReport::Yes,
    }
}

fn streaming_pair() -> Pair {
    let alice = MsrpSessionConfig { max_chunk_size: 1000, ..MsrpSessionConfig::default() };
    let bob = MsrpSessionConfig { body_delivery: BodyDelivery::Stream, ..MsrpSessionConfig::default() };
    Pair::new(alice, bob)
}

/// Gives Alice's streamed message its bytes in pieces of 700 as she asks
/// for them, moving bytes between the two after each piece.
fn feed_streamed(pair: &mut Pair, id: &str, body: &[u8], mut at: usize) {
    let mut pushes = 0;
    while let Some(wanted) = pair.alice.body_wanted(id) {
        assert!(wanted <= 2000, "at most two chunks are held: {wanted}");
        if wanted == 0 || at == body.len() {
            break;
        }
        let end = body.len().min(at + wanted.min(700));
        assert!(pair.alice.push_body(id, body[at..end].to_vec()));
        at = end;
        pushes += 1;
        pair.pump();
        assert!(pushes < 10_000);
    }
    pair.pump();
}

fn rebuilt(events: &[MsrpEvent], id: &str, size: usize) -> (Vec<u8>, u64) {
    let mut bytes = vec![0u8; size];
    let mut first = u64::MAX;
    for event in events {
        if let MsrpEvent::ChunkData { message_id, offset, data } = event
            && message_id == id
        {
            first = first.min(*offset);
            bytes[*offset as usize..*offset as usize + data.len()].copy_from_slice(data);
        }
    }
    (bytes, first)
}

fn progress(events: &[MsrpEvent], id: &str) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            MsrpEvent::ChunkDelivered { message_id, delivered, .. } if message_id == id => Some(*delivered),
            _ => None,
        })
        .collect()
}

#[test]
fn a_streamed_message_is_cut_from_the_bytes_given_and_reports_progress_per_chunk() {
    let mut pair = streaming_pair();
    let body = Rng(11).bytes(10_000);
    let id = pair.alice.send_streamed(pair.now, streamed(0..10_000, 10_000)).unwrap();
    // Nothing is written before bytes are given.
    assert!(pair.alice.poll_transmit().is_none());
    assert_eq!(pair.alice.body_wanted(&id), Some(2000));
    feed_streamed(&mut pair, &id, &body, 0);

    let (bytes, first) = rebuilt(&pair.bob_events, &id, body.len());
    assert_eq!(bytes, body);
    assert_eq!(first, 0);
    assert!(pair.bob_events.iter().any(|e| matches!(e,
        MsrpEvent::MessageReceived { message_id, size: 10_000, streamed: true, headers, .. }
            if message_id == &id && headers.iter().any(|h| h.name == "Content-Disposition"))));
    // One success REPORT per chunk: ten progress steps, growing, to the end.
    let steps = progress(&pair.alice_events, &id);
    assert_eq!(steps, (1..=10).map(|i| i * 1000).collect::<Vec<u64>>());
    assert_eq!(delivered(&pair.alice_events), std::slice::from_ref(&id));
    assert_eq!(pair.alice.body_wanted(&id), None);
    assert!(!pair.alice.push_body(&id, vec![1]));
}

#[test]
fn a_resumed_message_sends_its_range_and_completes() {
    let mut pair = streaming_pair();
    let body = Rng(12).bytes(10_000);
    let id = pair.alice.send_streamed(pair.now, streamed(4321..10_000, 10_000)).unwrap();
    feed_streamed(&mut pair, &id, &body[4321..], 0);
    let (bytes, first) = rebuilt(&pair.bob_events, &id, body.len());
    assert_eq!(first, 4321);
    assert_eq!(bytes[4321..], body[4321..]);
    assert!(pair.bob_events.iter().any(|e| matches!(e,
        MsrpEvent::MessageReceived { message_id, size: 10_000, .. } if message_id == &id)));
    assert_eq!(progress(&pair.alice_events, &id).last(), Some(&10_000));
    assert_eq!(delivered(&pair.alice_events), [id]);
    assert_eq!(
        pair.alice.send_streamed(pair.now, streamed(std::ops::Range { start: 5, end: 4 }, 10)),
        Err(SendError::Range),
        "a range ending before it starts"
    );
    assert_eq!(pair.alice.send_streamed(pair.now, streamed(0..11, 10)), Err(SendError::Range));
}

#[test]
fn without_success_reports_the_responses_give_progress() {
    let mut pair = streaming_pair();
    let body = Rng(13).bytes(5000);
    let id = pair
        .alice
        .send_streamed(pair.now, StreamedMessage { success_report: false, ..streamed(0..5000, 5000) })
        .unwrap();
    feed_streamed(&mut pair, &id, &body, 0);
    assert_eq!(progress(&pair.alice_events, &id), [1000, 2000, 3000, 4000, 5000]);
    assert_eq!(delivered(&pair.alice_events), [id]);
}

#[test]
fn a_failed_streamed_message_is_aborted_and_not_delivered() {
    let mut pair = streaming_pair();
    let body = Rng(14).bytes(3000);
    let id = pair.alice.send_streamed(pair.now, streamed(0..10_000, 10_000)).unwrap();
    feed_streamed(&mut pair, &id, &body, 0);
    pair.alice.fail_message(&id, 500, "the file cannot be read");
    pair.pump();
    assert_eq!(not_delivered(&pair.alice_events), [(id.clone(), 500)]);
    assert!(pair.bob_events.iter().any(|e| matches!(e, MsrpEvent::MessageAborted { message_id } if message_id == &id)));
    assert!(!pair.alice.is_sending(&id));
}

#[test]
fn a_request_gets_its_response_or_408() {
    let mut pair = Pair::default();
    let mut nickname = Head::request(Method::Nickname, Vec::new(), Vec::new());
    nickname.headers.use_nickname = Some("Alice".into());
    let tid = pair.alice.send_request(pair.now, nickname.clone(), None).unwrap();
    assert_eq!(tid, nickname.transaction_id);
    pair.pump();
    // Bob's session implements no NICKNAME: 501, with the paths filled in.
    let response = pair.alice_events.iter().find_map(|e| match e {
        MsrpEvent::ResponseReceived { transaction_id, code, head, .. } if transaction_id == &tid => {
            Some((*code, head.headers.from_path.clone()))
        }
        _ => None,
    });
    assert_eq!(response, Some((501, vec![bob_uri()])));
    assert_eq!(
        pair.alice.send_request(pair.now, Head::request(Method::Send, vec![], vec![]), None),
        Err(SendError::NotARequest)
    );

    // No answer: 408 after the transaction timeout.
    let tid = pair.alice.send_request(pair.now, Head::request(Method::Nickname, vec![], vec![]), None).unwrap();
    pair.pump_with(true);
    pair.alice.handle_timeout(pair.now + Duration::from_secs(29));
    assert!(pair.alice.poll_event().is_none());
    pair.alice.handle_timeout(pair.now + Duration::from_secs(31));
    assert!(matches!(pair.alice.poll_event(),
        Some(MsrpEvent::ResponseReceived { transaction_id, code: 408, .. }) if transaction_id == tid));

    // The connection closes first: 408 too.
    let body = Some(("text/plain".to_owned(), b"-------abcd1234$".to_vec()));
    let mut request = Head::request(Method::Other("FOO".into()), vec![], vec![]);
    request.transaction_id = "abcd1234".into();
    let tid = pair.alice.send_request(pair.now, request, body).unwrap();
    assert_ne!(tid, "abcd1234", "a transaction id found in the body is replaced");
    pair.alice.handle_connection_lost();
    assert!(matches!(pair.alice.poll_event(),
        Some(MsrpEvent::ResponseReceived { transaction_id, code: 408, .. }) if transaction_id == tid));
    assert!(matches!(pair.alice.poll_event(), Some(MsrpEvent::Closed { .. })));
}

#[test]
fn messages_leave_in_the_order_they_were_queued_while_earlier_ones_are_confirmed() {
    // Alice writes one chunk at a time while Bob's responses and reports
    // arrive in between, so messages leave the queue as others are sent:
    // the round robin must not skip the next queued message.
    let mut pair = Pair::default();
    let now = pair.now;
    let mut sent = Vec::new();
    for i in 0..40 {
        let body = format!("message {i}").into_bytes();
        let id = pair.alice.send_message(now, None, "text/plain", body, i % 3 == 0, FailureReport::Yes).unwrap();
        sent.push(id);
    }
    while let Some(bytes) = pair.alice.poll_transmit() {
        feed_split(&mut pair.bob, now, &bytes, &mut pair.rng);
        while let Some(bytes) = pair.bob.poll_transmit() {
            feed_split(&mut pair.alice, now, &bytes, &mut pair.rng);
        }
    }
    pair.pump();
    let order: Vec<String> = received(&pair.bob_events).into_iter().map(|(id, _)| id).collect();
    assert_eq!(order, sent);
}

#[test]
fn a_message_of_a_type_not_accepted_is_refused_with_415() {
    let bob = MsrpSessionConfig { accept_types: vec!["text/*".into(), "message/cpim".into()], ..Default::default() };
    let mut pair = Pair::new(MsrpSessionConfig::default(), bob);
    let now = pair.now;
    let refused = pair.alice.send_message(now, None, "image/png", b"png".to_vec(), false, FailureReport::Yes).unwrap();
    let taken = pair.alice.send_message(now, None, "text/plain", b"hi".to_vec(), false, FailureReport::Yes).unwrap();
    pair.pump();
    assert_eq!(not_delivered(&pair.alice_events), [(refused, 415)]);
    assert_eq!(delivered(&pair.alice_events), std::slice::from_ref(&taken));
    assert_eq!(received(&pair.bob_events), [(taken, b"hi".to_vec())]);
    let config = MsrpSessionConfig { accept_types: vec!["*".into()], ..Default::default() };
    assert!(config.accepts(Some("application/x-anything")) && config.accepts(None));
}
