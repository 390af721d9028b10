//! Server transaction throughput of the sans-IO
//! [`TransactionLayer`](sipsimple_core::sip::transaction::TransactionLayer)
//! (transactions per second).
//!
//! One element is one non-INVITE server transaction: a MESSAGE request
//! (each with its own Via branch) goes into `handle_message`, the
//! `NewRequest` event is answered 200 with `send_response`, the transmit
//! (the encoded response) and the events are drained, and due timers fire.
//! The requests are built outside the measured time.
//!
//! - `server_non_invite/udp`: unreliable transport. A transaction stays in
//!   Completed for Timer J (64·T1 = 32 s) to absorb retransmissions, and the
//!   simulated clock advances 1 ms per request, so the layer holds about
//!   32 000 live transactions in steady state (a server at 1 000 requests/s)
//!   and expires one per request.
//! - `server_non_invite/tcp`: reliable transport; Timer J is zero and the
//!   transaction ends as soon as the response is sent.
//! - `server_non_invite/udp_wire`: as `udp`, starting from the request's
//!   bytes: parse, transaction, response encoded — the whole sans-IO path of
//!   a datagram.
//!
//! Run: `cargo bench -p sipsimple-core --bench sip_transactions`.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sipsimple_core::sip::message::Message;
use sipsimple_core::sip::transaction::{LayerEvent, TimerConfig, TransactionLayer};

/// The request every element sends, with `{branch}` replaced.
const REQUEST: &str = "MESSAGE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch={branch};rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=49583\r\n\
To: <sip:bob@biloxi.example.com>\r\n\
Call-ID: asd88asd77a@192.0.2.10\r\n\
CSeq: 1 MESSAGE\r\n\
Content-Type: text/plain\r\n\
Content-Length: 18\r\n\
\r\n\
Watson, come here.";

fn request_text(n: u64) -> String {
    REQUEST.replace("{branch}", &format!("z9hG4bK-bench-{n:016x}"))
}

/// A transaction layer acting as a server, on a simulated clock.
struct Server {
    layer: TransactionLayer<Message, SocketAddr>,
    start: Instant,
    /// Simulated time since `start`.
    elapsed: Duration,
    /// How far the clock moves per request.
    step: Duration,
    source: SocketAddr,
    reliable: bool,
}

impl Server {
    fn new(reliable: bool) -> Server {
        Server {
            layer: TransactionLayer::new(TimerConfig::default()),
            start: Instant::now(),
            elapsed: Duration::ZERO,
            step: Duration::from_millis(1),
            source: SocketAddr::from(([192, 0, 2, 10], 5060)),
            reliable,
        }
    }

    /// One transaction: the request in, the 200 out, everything drained.
    fn serve(&mut self, request: Message) {
        self.elapsed += self.step;
        let now = self.start + self.elapsed;
        self.layer.handle_timeout(now);
        if self.layer.handle_message(now, request, self.source, self.reliable).is_err() {
            panic!("the layer refused a valid request");
        }
        while let Some(event) = self.layer.poll_event() {
            if let LayerEvent::NewRequest { id, request, .. } = event {
                let response = Message::response_to(&request, 200, "OK").with_to_tag("bench-srv");
                if self.layer.send_response(now, id, response).is_err() {
                    panic!("the layer refused the response");
                }
            }
        }
        while let Some(transmit) = self.layer.poll_transmit() {
            black_box(transmit.bytes.len());
        }
        black_box(self.layer.poll_timeout());
    }
}

fn benches(c: &mut Criterion) {
    let template = Message::parse(request_text(0).as_bytes()).expect("the bench request parses");
    let mut group = c.benchmark_group("server_non_invite");
    group.throughput(Throughput::Elements(1));

    for (name, reliable) in [("udp", false), ("tcp", true)] {
        let mut server = Server::new(reliable);
        let mut n = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    n += 1;
                    let mut request = template.clone();
                    request
                        .headers_mut()
                        .set("Via", format!("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-bench-{n:016x};rport"));
                    request
                },
                |request| server.serve(request),
                BatchSize::SmallInput,
            )
        });
        black_box(server.layer.len());
    }

    let mut server = Server::new(false);
    let mut n = 0u64;
    group.bench_function("udp_wire", |b| {
        b.iter_batched(
            || {
                n += 1;
                request_text(n).into_bytes()
            },
            |bytes| match Message::parse(&bytes) {
                Ok(request) => server.serve(request),
                Err(e) => panic!("the bench request does not parse: {e}"),
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(sip_transactions, benches);
criterion_main!(sip_transactions);
