//! SIP message parser and serializer throughput (messages per second).
//!
//! `invite/typed` is the figure compared with other stacks: parse the
//! 918-byte INVITE of `fixtures/invite-918.sip` and read the top Via, From,
//! To, CSeq, Contact, Call-ID and Max-Forwards. `invite/split` only splits
//! the start line and header lines (no header value checked); `invite/serialize` writes an owned
//! message into a reused buffer. The REGISTER 200 OK figures cover a
//! typical response.
//!
//! Run: `cargo bench -p sipsimple-core --bench sip_parse`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sipsimple_core::sip::message::{Limits, Message, MessageRef, parse, split};

const INVITE: &[u8] = include_bytes!("fixtures/invite-918.sip");

const REGISTER_OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport=5060;received=192.0.2.10\r\n\
From: <sip:alice@atlanta.example.com>;tag=a73kszlfl\r\n\
To: <sip:alice@atlanta.example.com>;tag=37GkEhwl6\r\n\
Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.10\r\n\
CSeq: 2 REGISTER\r\n\
Contact: <sip:alice@192.0.2.10:5060;transport=udp>;expires=3600\r\n\
Contact: <sip:alice@198.51.100.7:5060>;expires=1200\r\n\
Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n\
Server: ExampleRegistrar/2.1\r\n\
Content-Length: 0\r\n\
\r\n";

fn typed_access(m: &MessageRef<'_>) {
    black_box(m.top_via());
    black_box(m.from());
    black_box(m.to());
    black_box(m.cseq());
    black_box(m.contact());
    black_box(m.call_id());
    black_box(m.max_forwards());
}

fn bench_message(c: &mut Criterion, name: &str, bytes: &'static [u8]) {
    let limits = Limits::default();
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    group.bench_function("typed", |b| {
        b.iter(|| {
            if let Ok(m) = parse(black_box(bytes)) {
                typed_access(&m);
            }
        })
    });
    group.bench_function("split", |b| b.iter(|| black_box(split(black_box(bytes), &limits).is_ok())));
    let owned = Message::parse(bytes).unwrap_or_else(|e| panic!("{name} fixture does not parse: {e}"));
    let mut out = Vec::with_capacity(2048);
    group.bench_function("serialize", |b| {
        b.iter(|| {
            out.clear();
            black_box(&owned).encode(&mut out);
            black_box(out.len());
        })
    });
    group.bench_function("to_owned", |b| {
        let parsed = parse(bytes).unwrap_or_else(|e| panic!("{name} fixture does not parse: {e}"));
        b.iter(|| black_box(black_box(&parsed).to_owned()))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_message(c, "invite", INVITE);
    bench_message(c, "register_200", REGISTER_OK);
}

criterion_group!(sip_parse, benches);
criterion_main!(sip_parse);
