//! MSRP input from a peer, in arbitrary splits: the incremental parser, the
//! frame parser and a whole session endpoint must never panic, must not
//! depend on how the bytes were split, and must only ever write
//! well-formed frames back.
//!
//! The split points and the settings are drawn from a hash of the input, so
//! that the seed corpus is plain MSRP and every crash replays exactly. The
//! token `TXID` in the input stands for the transaction id of the chunk the
//! session has in flight, so that responses to it can be fuzzed too; the
//! session's NICKNAME request is `fuzzreq1`.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sipsimple_core::msrp::message::{
    Continuation, Event, FailureReport, Frame, FrameParser, Head, Limits, Method, MsrpUri, ParseError, Parser,
};
use sipsimple_core::msrp::session::{BodyDelivery, MsrpEvent, MsrpSession, MsrpSessionConfig};

/// The local URI the seed frames are addressed to.
const LOCAL: &str = "msrp://127.0.0.1:2855/bobsession42;tcp";
/// The peer.
const REMOTE: &str = "msrp://127.0.0.1:2856/alicesession7;tcp";
/// The message the session sends while it reads the input.
const OUTGOING_ID: &str = "fuzzmsg1";
/// Its body.
const OUTGOING_BODY: &[u8] = b"hello from the fuzzer";
/// The transaction id of the NICKNAME request the session sends.
const REQUEST_ID: &str = "fuzzreq1";

/// SplitMix64, seeded from the input: deterministic splits and settings.
struct Draw(u64);

impl Draw {
    fn new(data: &[u8]) -> Draw {
        // FNV-1a.
        let seed =
            data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        Draw(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Cuts `data` into pieces of 1 to `max_piece` bytes.
    fn split<'a>(&mut self, data: &'a [u8]) -> Vec<&'a [u8]> {
        let max_piece = [1, 3, 17, 64, 1024][self.below(5) as usize];
        let mut pieces = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            let n = (1 + self.below(max_piece)).min(rest.len() as u64) as usize;
            let (piece, tail) = rest.split_at(n);
            pieces.push(piece);
            rest = tail;
        }
        pieces
    }
}

/// A parser event with the body pieces of one frame joined: what must not
/// depend on the split.
#[derive(Debug, PartialEq)]
enum Seen {
    Head(Box<Head>),
    Body(Vec<u8>),
    End(Continuation),
    Error(ParseError),
}

/// Drains `parser`, appending to `seen`. Checks the order of the events:
/// body and end only inside a frame, a head only between frames, and body
/// pieces never empty. Returns false after a fatal error.
fn drain(parser: &mut Parser, seen: &mut Vec<Seen>, in_frame: &mut bool) -> bool {
    loop {
        match parser.next_event() {
            Ok(None) => return true,
            Ok(Some(Event::Head(head))) => {
                assert!(!*in_frame, "a head inside a frame");
                *in_frame = true;
                seen.push(Seen::Head(head));
            }
            Ok(Some(Event::Body(bytes))) => {
                assert!(*in_frame, "a body outside a frame");
                assert!(!bytes.is_empty(), "an empty body piece");
                match seen.last_mut() {
                    Some(Seen::Body(body)) => body.extend_from_slice(bytes),
                    _ => seen.push(Seen::Body(bytes.to_vec())),
                }
            }
            Ok(Some(Event::End(continuation))) => {
                assert!(*in_frame, "an end outside a frame");
                *in_frame = false;
                seen.push(Seen::End(continuation));
            }
            Err(error) => {
                // The frame in progress is dropped: how much of its body
                // came before the error depends on the split.
                if *in_frame && matches!(seen.last(), Some(Seen::Body(_))) {
                    seen.pop();
                }
                *in_frame = false;
                let fatal = error.is_fatal();
                seen.push(Seen::Error(error));
                if fatal {
                    assert!(parser.is_failed());
                    return false;
                }
            }
        }
    }
}

fn parse_events(pieces: &[&[u8]], limits: Limits) -> (Vec<Seen>, bool) {
    let mut parser = Parser::new(limits);
    let mut seen = Vec::new();
    let mut in_frame = false;
    for piece in pieces {
        parser.feed(piece);
        if !drain(&mut parser, &mut seen, &mut in_frame) {
            break;
        }
    }
    (seen, parser.is_idle())
}

/// The parser gives the same events whatever the split.
fn check_parser(data: &[u8], draw: &mut Draw) {
    let limits = Limits {
        max_line: [16 * 1024, 200, 40][draw.below(3) as usize],
        max_headers: [64, 3][draw.below(2) as usize],
        max_body: [usize::MAX, 4 * 1024 * 1024, 10, 0][draw.below(4) as usize],
    };
    let (whole, whole_idle) = parse_events(&[data], limits);
    let pieces = draw.split(data);
    let (split, split_idle) = parse_events(&pieces, limits);
    assert_eq!(whole, split, "the events depend on the split");
    assert_eq!(whole_idle, split_idle);
}

/// Frames gathered by [`FrameParser`] encode and parse back to themselves.
fn check_frames(data: &[u8], draw: &mut Draw) {
    let limits = Limits { max_body: [4 * 1024 * 1024, 16][draw.below(2) as usize], ..Limits::default() };
    let mut parser = FrameParser::new(limits);
    for piece in draw.split(data) {
        parser.feed(piece);
        loop {
            match parser.next_frame() {
                Ok(Some(frame)) => {
                    if let Ok(bytes) = frame.to_bytes() {
                        let again = Frame::parse(&bytes).expect("an encoded frame parses");
                        assert_eq!(again, frame, "the frame changed in a round trip");
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    if error.is_fatal() {
                        assert!(parser.is_failed());
                        return;
                    }
                }
            }
        }
    }
}

/// Everything a session writes is one well-formed frame.
fn check_written(bytes: &[u8]) -> Frame {
    let mut parser = FrameParser::new(Limits { max_body: usize::MAX, ..Limits::default() });
    parser.feed(bytes);
    let frame = parser.next_frame().expect("written bytes parse").expect("a whole frame is written");
    assert!(parser.is_idle(), "more than one frame written at once");
    frame
}

#[derive(Default)]
struct Outcome {
    closed: usize,
    outgoing_done: usize,
    request_done: usize,
    delivered: u64,
}

fn drain_session(session: &mut MsrpSession, config: &MsrpSessionConfig, outcome: &mut Outcome) {
    while let Some(bytes) = session.poll_transmit() {
        check_written(&bytes);
    }
    while let Some(event) = session.poll_event() {
        match event {
            MsrpEvent::MessageReceived { body, size, streamed, .. } => {
                assert!(outcome.closed == 0, "a message after the close");
                if streamed {
                    assert!(body.is_empty());
                } else {
                    assert_eq!(body.len() as u64, size);
                    assert!(size <= config.max_message_size, "a message beyond the size limit");
                }
            }
            MsrpEvent::ChunkData { data, .. } => assert!(!data.is_empty(), "empty chunk data"),
            MsrpEvent::MessageDelivered { message_id } | MsrpEvent::MessageNotDelivered { message_id, .. } => {
                assert_eq!(message_id, OUTGOING_ID);
                outcome.outgoing_done += 1;
            }
            MsrpEvent::Closed { .. } => outcome.closed += 1,
            MsrpEvent::ChunkReceived { byte_range, total, .. } => {
                assert!(byte_range.check().is_ok(), "an invalid range reported: {byte_range}");
                if let (Some(total), Some(end)) = (total, byte_range.end) {
                    assert!(end <= total);
                }
            }
            MsrpEvent::ChunkDelivered { message_id, byte_range, delivered } => {
                assert_eq!(message_id, OUTGOING_ID);
                assert!(byte_range.check().is_ok(), "an invalid range reported: {byte_range}");
                assert!(delivered >= outcome.delivered, "delivered went back");
                assert!(delivered <= OUTGOING_BODY.len() as u64, "more delivered than sent");
                outcome.delivered = delivered;
            }
            MsrpEvent::ResponseReceived { transaction_id, .. } => {
                assert_eq!(transaction_id, REQUEST_ID);
                outcome.request_done += 1;
            }
            MsrpEvent::MessageAborted { .. } | MsrpEvent::MessageRefused { .. } => {}
        }
    }
}

/// A session endpoint reads the input while it sends a message of its own.
fn check_session(data: &[u8], draw: &mut Draw) {
    let config = MsrpSessionConfig {
        max_chunk_size: [64 * 1024, 4][draw.below(2) as usize],
        max_message_size: [16 * 1024 * 1024, 100, 0][draw.below(3) as usize],
        max_incoming_messages: [64, 1][draw.below(2) as usize],
        body_delivery: match draw.below(3) {
            0 => BodyDelivery::Reassemble,
            1 => BodyDelivery::Stream,
            _ => BodyDelivery::StreamContentTypes(vec!["application/octet-stream".to_owned()]),
        },
        ..MsrpSessionConfig::default()
    };
    let local = MsrpUri::parse(LOCAL).expect("local URI");
    let remote = MsrpUri::parse(REMOTE).expect("remote URI");
    let mut session = MsrpSession::new(vec![local], vec![remote], config.clone());
    let start = Instant::now();
    let failure_report = [FailureReport::Yes, FailureReport::Partial, FailureReport::No][draw.below(3) as usize];
    let id = session
        .send_message(start, Some(OUTGOING_ID), "text/plain", OUTGOING_BODY.to_vec(), true, failure_report)
        .expect("queued");
    assert_eq!(id, OUTGOING_ID);
    let mut nickname = Head::request(Method::Nickname, Vec::new(), Vec::new());
    nickname.transaction_id = REQUEST_ID.to_owned();
    nickname.headers.use_nickname = Some("\"fuzz\"".to_owned());
    let request_id = session.send_request(start, nickname, None).expect("request queued");
    assert_eq!(request_id, REQUEST_ID);
    let request = session.poll_transmit().expect("the request");
    assert_eq!(check_written(&request).head.transaction_id, REQUEST_ID);
    let mut outcome = Outcome::default();
    // The first chunk goes out: responses to it are `TXID` in the input.
    let first = session.poll_transmit().expect("the first chunk");
    let transaction_id = check_written(&first).head.transaction_id;
    let input = replace(data, b"TXID", transaction_id.as_bytes());
    for (i, piece) in draw.split(&input).into_iter().enumerate() {
        session.handle_bytes(start + Duration::from_millis(i as u64), piece);
        drain_session(&mut session, &config, &mut outcome);
    }
    session.handle_timeout(start + Duration::from_secs(3600));
    drain_session(&mut session, &config, &mut outcome);
    session.handle_connection_lost();
    drain_session(&mut session, &config, &mut outcome);
    assert!(session.is_closed());
    assert_eq!(outcome.closed, 1, "one Closed event");
    assert_eq!(outcome.outgoing_done, 1, "the sent message has exactly one outcome");
    assert_eq!(outcome.request_done, 1, "the request has exactly one response");
}

fn replace(data: &[u8], token: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = rest.windows(token.len()).position(|w| w == token) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + token.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    let mut draw = Draw::new(data);
    check_parser(data, &mut draw);
    check_frames(data, &mut draw);
    check_session(data, &mut draw);
});
