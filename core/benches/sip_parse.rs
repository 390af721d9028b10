//! SIP message parser and serializer throughput (messages per second).
//!
//! `invite/typed` is the figure compared with other stacks: parse the
//! 918-byte INVITE of `fixtures/invite-918.sip` and read the top Via, From,
//! To, CSeq, Contact, Call-ID and Max-Forwards. `invite/split` only splits
//! the start line and header lines (no header value checked); `invite/serialize` writes an owned
//! message into a reused buffer. The `register_200` group does the same for
//! the 764-byte REGISTER 200 OK of `fixtures/register-200.sip` (two Contact
//! bindings with `expires` and `+sip.instance`, Expires, Date, Server), plus
//! `register_200/bindings`: parse it and read what a registration client
//! reads (every Contact's URI, `expires` and `+sip.instance`, the Expires
//! header).
//!
//! Run: `cargo bench -p sipsimple-core --bench sip_parse`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sipsimple_core::sip::message::{Limits, Message, MessageRef, parse, split};

const INVITE: &[u8] = include_bytes!("fixtures/invite-918.sip");

/// A registrar's 200 OK to a REGISTER: two bindings with `expires` and
/// `+sip.instance` (RFC 5626), Expires, Date, Server.
const REGISTER_OK: &[u8] = include_bytes!("fixtures/register-200.sip");

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

/// What a registration client reads from a REGISTER 200 OK.
fn binding_access(m: &MessageRef<'_>) {
    black_box(m.call_id());
    black_box(m.cseq());
    for contact in m.contacts() {
        black_box(contact.uri());
        black_box(contact.expires());
        black_box(contact.param("+sip.instance"));
    }
    black_box(m.expires());
}

fn benches(c: &mut Criterion) {
    bench_message(c, "invite", INVITE);
    bench_message(c, "register_200", REGISTER_OK);
    let mut group = c.benchmark_group("register_200");
    group.throughput(Throughput::Elements(1));
    group.bench_function("bindings", |b| {
        b.iter(|| {
            if let Ok(m) = parse(black_box(REGISTER_OK)) {
                binding_access(&m);
            }
        })
    });
    group.finish();
}

criterion_group!(sip_parse, benches);
criterion_main!(sip_parse);
