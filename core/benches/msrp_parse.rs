//! MSRP parser throughput: frames per second and MB/s.
//!
//! `chat_2k` is a 2 KB chat SEND (CPIM-sized text with the usual headers);
//! `file_64k` is a 64 KB file chunk of binary data. For each, `frame`
//! parses whole frames with `FrameParser` (the body gathered into the
//! frame), `events` streams them with `Parser` (body pieces borrowed, as a
//! file transfer writes them to disk), and `encode` writes a frame into a
//! reused buffer. Each iteration feeds one frame's bytes in one piece.
//!
//! Run: `cargo bench -p sipsimple-core --bench msrp_parse`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sipsimple_core::msrp::message::{
    ByteRange, Continuation, Event, FailureReport, Frame, FrameParser, Head, Limits, MsrpUri, Parser, SuccessReport,
};

fn frame(body_len: usize, content_type: &str) -> Frame {
    let uri = |text: &str| MsrpUri::parse(text).expect("valid URI");
    let mut head = Head::send(
        vec![uri("msrps://192.168.1.6:2855/zxdv5yq2hwamlnw0;tcp")],
        vec![uri("msrps://192.168.1.9:2855/7a8f3c2d1e0b9a88;tcp")],
        "a3b8d1b60b3b4b1a",
        content_type,
    );
    head.headers.byte_range = Some(ByteRange::whole(body_len as u64));
    head.headers.success_report = Some(SuccessReport::Yes);
    head.headers.failure_report = Some(FailureReport::Partial);
    // Deterministic bytes: text for chat, every byte value for files.
    let body: Vec<u8> = if content_type.starts_with("message/") {
        b"Hello Bob, how are you? ".iter().copied().cycle().take(body_len).collect()
    } else {
        (0..body_len).map(|i| (i * 7 + i / 251) as u8).collect()
    };
    head.transaction_id = sipsimple_core::msrp::message::transaction_id_for(&body);
    Frame::new(head, body, Continuation::Complete)
}

fn bench_frame(c: &mut Criterion, name: &str, frame: &Frame) {
    let bytes = frame.to_bytes().expect("encodable frame");
    let limits = Limits { max_body: usize::MAX, ..Limits::default() };
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    let mut frames = FrameParser::new(limits);
    group.bench_function("frame", |b| {
        b.iter(|| {
            frames.feed(black_box(&bytes));
            black_box(frames.next_frame().expect("valid frame").expect("complete frame"));
        })
    });
    let mut parser = Parser::new(limits);
    group.bench_function("events", |b| {
        b.iter(|| {
            parser.feed(black_box(&bytes));
            let mut body = 0;
            while let Some(event) = parser.next_event().expect("valid frame") {
                match event {
                    Event::Head(head) => {
                        black_box(head);
                    }
                    Event::Body(piece) => body += black_box(piece).len(),
                    Event::End(flag) => {
                        black_box(flag);
                    }
                }
            }
            black_box(body);
        })
    });
    let mut out = Vec::with_capacity(bytes.len() + 64);
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(frame).encode(&mut out).expect("encodable frame");
            black_box(out.len());
        })
    });
    group.finish();
}

fn msrp_parse(c: &mut Criterion) {
    bench_frame(c, "chat_2k", &frame(2048, "message/cpim"));
    bench_frame(c, "file_64k", &frame(64 * 1024, "application/octet-stream"));
}

criterion_group!(benches, msrp_parse);
criterion_main!(benches);
