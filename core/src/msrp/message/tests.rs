//! Parser and serializer tests: the examples of RFC 4975 §10 and RFC 4976,
//! round trips, every split of a stream, a 1 MB chunk fed in small pieces,
//! each malformed case, and a seeded mutation loop.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// The example text with each LF turned into CRLF.
fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

fn uri(text: &str) -> MsrpUri {
    MsrpUri::parse(text).unwrap()
}

fn uris(text: &str) -> Vec<MsrpUri> {
    text.split(' ').map(uri).collect()
}

/// Parses a whole stream fed in one piece.
fn parse_all(bytes: &[u8]) -> Vec<Frame> {
    let mut parser = FrameParser::default();
    parser.feed(bytes);
    let mut frames = Vec::new();
    while let Some(frame) = parser.next_frame().unwrap() {
        frames.push(frame);
    }
    assert!(parser.is_idle());
    frames
}

/// Drains a [`Parser`]'s events into frames; returns the errors met.
fn drain_events(
    parser: &mut Parser,
    current: &mut Option<(Head, Vec<u8>)>,
    frames: &mut Vec<Frame>,
) -> Vec<ParseError> {
    let mut errors = Vec::new();
    loop {
        match parser.next_event() {
            Ok(None) => return errors,
            Ok(Some(Event::Head(head))) => {
                assert!(current.is_none(), "a head inside a frame");
                *current = Some((*head, Vec::new()));
            }
            Ok(Some(Event::Body(bytes))) => {
                assert!(!bytes.is_empty());
                current.as_mut().expect("body outside a frame").1.extend_from_slice(bytes);
            }
            Ok(Some(Event::End(continuation))) => {
                let (head, body) = current.take().expect("end outside a frame");
                frames.push(Frame { head, body, continuation });
            }
            Err(error) => {
                // The frame in progress, if any, is dropped.
                *current = None;
                let fatal = error.is_fatal();
                errors.push(error);
                if fatal {
                    return errors;
                }
            }
        }
    }
}

/// Feeds `pieces` one after the other to both parsers and checks that the
/// event parser and the frame parser agree.
fn parse_pieces<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Vec<Frame> {
    let mut events = Parser::default();
    let mut frames_parser = FrameParser::default();
    let mut current = None;
    let mut from_events = Vec::new();
    let mut from_frames = Vec::new();
    for piece in pieces {
        events.feed(piece);
        assert!(drain_events(&mut events, &mut current, &mut from_events).is_empty());
        frames_parser.feed(piece);
        while let Some(frame) = frames_parser.next_frame().unwrap() {
            from_frames.push(frame);
        }
    }
    assert!(events.is_idle() && frames_parser.is_idle());
    assert_eq!(from_events, from_frames);
    from_frames
}

// RFC 4975 §4: the first example.
const RFC4975_4_SEND: &str = "MSRP a786hjs2 SEND
To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp
From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp
Message-ID: 87652491
Byte-Range: 1-25/25
Content-Type: text/plain

Hey Bob, are you there?
-------a786hjs2$
";

const RFC4975_4_OK: &str = "MSRP a786hjs2 200 OK
To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp
From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp
-------a786hjs2$
";

// RFC 4975 §10.1: basic IM session.
const RFC4975_10_1: &str = "MSRP d93kswow SEND
To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp
From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp
Message-ID: 12339sdqwer
Byte-Range: 1-16/16
Content-Type: text/plain

Hi, I'm Alice!
-------d93kswow$
MSRP d93kswow 200 OK
To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp
From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp
-------d93kswow$
MSRP dkei38sd SEND
To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp
From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp
Message-ID: 456
Byte-Range: 1-21/21
Content-Type: text/plain

Hi, Alice! I'm Bob!
-------dkei38sd$
MSRP dkei38sd 200 OK
To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp
From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp
-------dkei38sd$
";

// RFC 4975 §10.2: message with XHTML content.
const RFC4975_10_2: &str = r#"MSRP dsdfoe38sd SEND
To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp
From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp
Message-ID: 456
Byte-Range: 1-374/374
Content-Type: application/xhtml+xml

<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"
 "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<title>FY2005 Results</title>
</head>
<body>
<p>See the results in <a
href="http://sales.example.com/2005/">http://sales.example.com/2005/</a>.</p>
</body>
</html>
-------dsdfoe38sd$
"#;

// RFC 4975 §10.3 (chunked message, as in §4): one message in two chunks.
const RFC4975_CHUNKED: &str = "MSRP dkei38sd SEND
To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp
From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp
Message-ID: 4564dpWd
Byte-Range: 1-*/8
Content-Type: text/plain

abcd
-------dkei38sd+
MSRP dkei38ia SEND
To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp
From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp
Message-ID: 4564dpWd
Byte-Range: 5-8/8
Content-Type: text/plain

EFGH
-------dkei38ia$
";

// RFC 4975 §10.4: system message, no reports wanted.
const RFC4975_10_4: &str = "MSRP d93kswow SEND
To-Path: msrp://alicepc.example.com:8888/9di4eae923wzd;tcp
From-Path: msrp://example.com:7777/iau39soe2843z;tcp
Message-ID: 12339sdqwer
Byte-Range: 1-37/37
Success-Report: no
Failure-Report: no
Content-Type: text/plain

This conference will end in 5 minutes
-------d93kswow$
";

// RFC 4975 §10.5: positive report.
const RFC4975_10_5: &str = r#"MSRP d93kswow SEND
To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp
From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp
Message-ID: 12339sdqwer
Byte-Range: 1-106/106
Success-Report: yes
Failure-Report: no
Content-Type: text/html

<html><body>
<p>Here is that important link...
<a href="http://www.example.com/foobar">foobar</a>
</p>
</body></html>
-------d93kswow$
MSRP dkei38sd REPORT
To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp
From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp
Message-ID: 12339sdqwer
Byte-Range: 1-106/106
Status: 000 200 OK
-------dkei38sd$
"#;

// RFC 4976: AUTH to a relay, digest challenge, then success with Use-Path.
const RFC4976_AUTH: &str = r#"MSRP 49fh AUTH
To-Path: msrps://alice@intra.example.com;tcp
From-Path: msrps://alice.example.com:9892/98cjs;tcp
-------49fh$
MSRP 49fh 401 Unauthorized
To-Path: msrps://alice.example.com:9892/98cjs;tcp
From-Path: msrps://alice@intra.example.com;tcp
WWW-Authenticate: Digest realm="intra.example.com", qop="auth", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"
-------49fh$
MSRP 49fi AUTH
To-Path: msrps://alice@intra.example.com;tcp
From-Path: msrps://alice.example.com:9892/98cjs;tcp
Authorization: Digest username="Alice", realm="intra.example.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1"
-------49fi$
MSRP 49fi 200 OK
To-Path: msrps://alice.example.com:9892/98cjs;tcp
From-Path: msrps://alice@intra.example.com;tcp
Use-Path: msrps://relay.example.com:2855/hjdhfsdf;tcp
Expires: 900
-------49fi$
"#;

const ALL_EXAMPLES: [&str; 8] = [
    RFC4975_4_SEND,
    RFC4975_4_OK,
    RFC4975_10_1,
    RFC4975_10_2,
    RFC4975_CHUNKED,
    RFC4975_10_4,
    RFC4975_10_5,
    RFC4976_AUTH,
];

/// Every example, then a binary chunk whose body holds CRs, LFs and
/// partial end-lines.
fn example_stream() -> Vec<u8> {
    let mut stream: Vec<u8> = ALL_EXAMPLES.iter().flat_map(|text| crlf(text)).collect();
    let mut head = Head::send(
        uris("msrp://bob.example.com:8888/9di4eae923wzd;tcp"),
        uris("msrp://alicepc.example.com:7777/iau39soe2843z;tcp"),
        "binary1",
        "application/octet-stream",
    );
    head.transaction_id = "tid7".into();
    head.headers.byte_range = Some(ByteRange { start: 1, end: None, total: None });
    let body = b"\r\n\r\n-------\r\n-------tid\r\n-------tid7x\r\n-------tid7\r\r\n------".to_vec();
    Frame::new(head, body, Continuation::More).encode(&mut stream).unwrap();
    stream
}

#[test]
fn rfc4975_section4_send_and_response() {
    let frames = parse_all(&[crlf(RFC4975_4_SEND), crlf(RFC4975_4_OK)].concat());
    let [send, ok] = &frames[..] else { panic!("{frames:?}") };
    assert_eq!(send.head.transaction_id, "a786hjs2");
    assert_eq!(send.head.method(), Some(&Method::Send));
    assert_eq!(send.head.headers.to_path, uris("msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"));
    assert_eq!(send.head.headers.from_path, uris("msrp://atlanta.example.com:7654/jshA7weztas;tcp"));
    assert_eq!(send.head.headers.message_id.as_deref(), Some("87652491"));
    assert_eq!(send.head.headers.byte_range, Some(ByteRange::whole(25)));
    assert_eq!(send.head.headers.content_type.as_deref(), Some("text/plain"));
    assert_eq!(send.body, b"Hey Bob, are you there?");
    assert_eq!(send.continuation, Continuation::Complete);
    assert_eq!(ok.head.kind, Kind::Response { code: 200, comment: Some("OK".into()) });
    assert!(ok.body.is_empty());
    // The response builder gives the RFC's response.
    assert_eq!(send.head.response(200, Some("OK")).as_ref(), Some(&ok.head));
}

#[test]
fn rfc4975_basic_im_session() {
    let frames = parse_all(&crlf(RFC4975_10_1));
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[0].body, b"Hi, I'm Alice!");
    assert_eq!(frames[2].body, b"Hi, Alice! I'm Bob!");
    assert_eq!(frames[2].head.headers.message_id.as_deref(), Some("456"));
    for (request, response) in [(&frames[0], &frames[1]), (&frames[2], &frames[3])] {
        assert_eq!(request.head.response(200, Some("OK")).as_ref(), Some(&response.head));
        assert!(!request.head.success_report_wanted());
        assert!(request.head.failure_report_wanted(481));
    }
}

#[test]
fn rfc4975_xhtml_and_chunked_messages() {
    let [xhtml] = &parse_all(&crlf(RFC4975_10_2))[..] else { panic!() };
    assert_eq!(xhtml.head.headers.content_type.as_deref(), Some("application/xhtml+xml"));
    assert!(xhtml.body.starts_with(b"<?xml version=\"1.0\""));
    assert!(xhtml.body.ends_with(b"</body>\r\n</html>"));

    let [first, last] = &parse_all(&crlf(RFC4975_CHUNKED))[..] else { panic!() };
    assert_eq!(first.head.headers.byte_range, Some(ByteRange { start: 1, end: None, total: Some(8) }));
    assert_eq!(first.continuation, Continuation::More);
    assert_eq!(last.head.headers.byte_range, Some(ByteRange { start: 5, end: Some(8), total: Some(8) }));
    assert_eq!(last.continuation, Continuation::Complete);
    assert_eq!([&first.body[..], &last.body[..]].concat(), b"abcdEFGH");
    assert_eq!(first.head.headers.message_id, last.head.headers.message_id);
}

#[test]
fn rfc4975_system_message_takes_no_response() {
    let [send] = &parse_all(&crlf(RFC4975_10_4))[..] else { panic!() };
    assert_eq!(send.body, b"This conference will end in 5 minutes");
    assert_eq!(send.head.headers.failure_report, Some(FailureReport::No));
    assert_eq!(send.head.response(200, Some("OK")), None);
    assert_eq!(send.head.response(400, Some("Bad Request")), None);
    assert!(!send.head.success_report_wanted());
    assert!(!send.head.failure_report_wanted(400));
}

#[test]
fn rfc4975_positive_report() {
    let [send, report] = &parse_all(&crlf(RFC4975_10_5))[..] else { panic!() };
    assert!(send.head.success_report_wanted());
    assert!(!send.head.failure_report_wanted(400));
    assert_eq!(send.head.response(200, Some("OK")), None, "Failure-Report: no");
    assert_eq!(report.head.method(), Some(&Method::Report));
    assert_eq!(report.head.headers.status, Some(Status { code: 200, comment: Some("OK".into()) }));
    assert_eq!(report.head.response(200, None), None, "REPORTs are not answered");

    let mut built = send.head.report(Status::new(200), send.head.headers.byte_range.unwrap()).unwrap();
    assert_ne!(built.transaction_id, send.head.transaction_id);
    built.transaction_id = report.head.transaction_id.clone();
    assert_eq!(built, report.head);
    let chunk_report = send.head.chunk_report(50, Status::new(200)).unwrap();
    assert_eq!(chunk_report.headers.byte_range, Some(ByteRange { start: 1, end: Some(50), total: Some(106) }));
}

#[test]
fn rfc4976_auth_exchange() {
    let frames = parse_all(&crlf(RFC4976_AUTH));
    let [auth, challenge, auth2, ok] = &frames[..] else { panic!() };
    assert_eq!(auth.head.method(), Some(&Method::Auth));
    assert_eq!(auth.head.headers.to_path[0].userinfo.as_deref(), Some("alice"));
    assert_eq!(challenge.head.code(), Some(401));
    assert!(challenge.head.headers.www_authenticate.as_deref().unwrap().starts_with("Digest realm="));
    assert!(auth2.head.headers.authorization.as_deref().unwrap().contains("cnonce=\"0a4f113b\""));
    assert_eq!(ok.head.headers.use_path, uris("msrps://relay.example.com:2855/hjdhfsdf;tcp"));
    assert_eq!(ok.head.headers.expires, Some(900));
    let mut built = auth.head.response(401, Some("Unauthorized")).unwrap();
    built.headers.www_authenticate = challenge.head.headers.www_authenticate.clone();
    assert_eq!(built, challenge.head);
}

#[test]
fn examples_round_trip_byte_for_byte() {
    for text in ALL_EXAMPLES {
        let bytes = crlf(text);
        let frames = parse_all(&bytes);
        let mut encoded = Vec::new();
        for frame in &frames {
            frame.encode(&mut encoded).unwrap();
        }
        assert_eq!(String::from_utf8_lossy(&encoded), String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn built_frames_round_trip() {
    let mut head = Head::send(
        uris("msrps://relay.example.com:2855/r1;tcp msrps://[2001:db8::2]:2855/b;tcp"),
        uris("msrps://a.example.com:2855/a;tcp"),
        &new_message_id(),
        "message/cpim",
    );
    head.headers.success_report = Some(SuccessReport::Yes);
    head.headers.failure_report = Some(FailureReport::Partial);
    head.headers.other.push(Header { name: "Content-Disposition".into(), value: "render".into() });
    head.headers.other.push(Header { name: "X-Extension".into(), value: "ÿ unicode ✓".into() });
    let body: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let chunks: Vec<Frame> = head.chunks(&body, 2048).unwrap().collect();
    assert_eq!(chunks.len(), 3);
    let mut stream = Vec::new();
    for chunk in &chunks {
        chunk.encode(&mut stream).unwrap();
    }
    assert_eq!(parse_all(&stream), chunks);

    let mut nickname = Head::request(Method::Nickname, head.headers.to_path.clone(), head.headers.from_path.clone());
    nickname.headers.use_nickname = Some("Alice ✓".into());
    let mut other = Head::request(
        Method::Other("FILE_OFFSET".into()),
        vec![uri("msrp://b:1/x;tcp")],
        vec![uri("msrp://a:1/y;tcp")],
    );
    other.headers.message_id = Some("m1".into());
    let response = Head { kind: Kind::Response { code: 501, comment: None }, ..other.clone() };
    let frames = vec![
        Frame::new(nickname, vec![], Continuation::Complete),
        Frame::new(other, vec![], Continuation::Complete),
        Frame::new(response, vec![], Continuation::Complete),
    ];
    let mut stream = Vec::new();
    for frame in &frames {
        frame.encode(&mut stream).unwrap();
    }
    assert_eq!(parse_all(&stream), frames);
}

#[test]
fn every_split_point_of_a_stream() {
    let stream = example_stream();
    let expected = parse_all(&stream);
    assert_eq!(expected.len(), 17);
    assert_eq!(
        expected.last().unwrap().body,
        b"\r\n\r\n-------\r\n-------tid\r\n-------tid7x\r\n-------tid7\r\r\n------"
    );
    for split in 0..=stream.len() {
        let (a, b) = stream.split_at(split);
        assert_eq!(parse_pieces([a, b]), expected, "split at {split}");
    }
    assert_eq!(parse_pieces(stream.chunks(1)), expected);
    assert_eq!(parse_pieces(stream.chunks(7)), expected);
}

#[test]
fn empty_bodies_and_stray_crlfs() {
    // A Content-Type with an empty body, with and without the CRLF that
    // should precede the end-line, and CRLFs between frames.
    let text = "\r\nMSRP abcd SEND\r\nTo-Path: msrp://b:1/x;tcp\r\nFrom-Path: msrp://a:1/y;tcp\r\nMessage-ID: m\r\nContent-Type: text/plain\r\n\r\n\r\n-------abcd$\r\n\r\n\
                MSRP efgh SEND\r\nTo-Path: msrp://b:1/x;tcp\r\nFrom-Path: msrp://a:1/y;tcp\r\nMessage-ID: m\r\nContent-Type: text/plain\r\n\r\n-------efgh+\r\n";
    let frames = parse_pieces(text.as_bytes().chunks(1));
    assert_eq!(frames.len(), 2);
    assert!(frames.iter().all(|f| f.body.is_empty()));
    assert_eq!(frames[1].continuation, Continuation::More);
    assert_eq!(parse_pieces([text.as_bytes()]), frames);
}

/// A 1 MB body holding bytes that look like parts of its end-line.
fn tricky_megabyte(transaction_id: &str) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(4975);
    let mut body = Vec::with_capacity(1 << 20);
    let decoys = [
        format!("\r\n-------{}", &transaction_id[..3]),
        format!("\r\n-------{}X", transaction_id),
        "\r\n------".to_owned(),
        "\r\r\n\r\n".to_owned(),
        format!("-------{}\r", &transaction_id[..transaction_id.len() - 1]),
    ];
    while body.len() < (1 << 20) {
        if rng.random_ratio(1, 64) {
            body.extend_from_slice(decoys[rng.random_range(0..decoys.len())].as_bytes());
        } else {
            body.push(rng.random());
        }
    }
    body.truncate(1 << 20);
    body
}

#[test]
fn megabyte_chunk_fed_in_small_pieces() {
    let transaction_id = "k3j4h5g6";
    let body = tricky_megabyte(transaction_id);
    let mut head =
        Head::send(vec![uri("msrp://b:1/x;tcp")], vec![uri("msrp://a:1/y;tcp")], "big", "application/octet-stream");
    head.transaction_id = transaction_id.into();
    head.headers.byte_range = Some(ByteRange::whole(body.len() as u64));
    let frame = Frame::new(head, body, Continuation::Complete);
    let bytes = frame.to_bytes().unwrap();

    for piece_size in [1, 4096] {
        // Events: the body streams out, never more than what arrived plus
        // the few bytes held back as a possible end-line.
        let mut parser = Parser::new(Limits { max_body: usize::MAX, ..Limits::default() });
        let mut body = Vec::new();
        let mut ends = 0;
        for piece in bytes.chunks(piece_size) {
            parser.feed(piece);
            while let Some(event) = parser.next_event().unwrap() {
                match event {
                    Event::Head(head) => assert_eq!(*head, frame.head),
                    Event::Body(bytes) => {
                        assert!(bytes.len() <= piece_size + 2 + 7 + transaction_id.len());
                        body.extend_from_slice(bytes);
                    }
                    Event::End(continuation) => {
                        assert_eq!(continuation, Continuation::Complete);
                        ends += 1;
                    }
                }
            }
            // At most a header line, or a possible end-line.
            assert!(parser.buffered() <= 64);
        }
        assert_eq!(ends, 1);
        assert!(body == frame.body, "body differs with {piece_size}-byte pieces");

        let mut frames = FrameParser::new(Limits { max_body: 2 << 20, ..Limits::default() });
        let mut parsed = Vec::new();
        for piece in bytes.chunks(piece_size) {
            frames.feed(piece);
            while let Some(frame) = frames.next_frame().unwrap() {
                parsed.push(frame);
            }
        }
        assert!(parsed == [frame.clone()], "frame differs with {piece_size}-byte pieces");
    }
}

fn send_text(transaction_id: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "MSRP {transaction_id} SEND\r\nTo-Path: msrp://b.example.com:2855/bs;tcp\r\nFrom-Path: msrp://r.example.com:2855/rs;tcp msrp://a.example.com:2855/as;tcp\r\nMessage-ID: m1\r\n{extra_headers}Content-Type: text/plain\r\n\r\n{body}\r\n-------{transaction_id}$\r\n"
    )
}

const NEXT: &str = "MSRP next1 200 OK\r\nTo-Path: msrp://a:1/y;tcp\r\nFrom-Path: msrp://b:1/x;tcp\r\n-------next1$\r\n";

/// Parses `bad` followed by a good frame; returns the error and whether the
/// good frame still came out.
fn parse_bad(bad: &str) -> (ParseError, bool) {
    let mut parser = FrameParser::default();
    parser.feed(format!("{bad}{NEXT}").as_bytes());
    let error = parser.next_frame().expect_err("the bad frame is rejected");
    let next = parser.next_frame();
    if error.is_fatal() {
        assert!(parser.is_failed());
        assert_eq!(next.as_ref().err(), Some(&error), "a failed parser repeats its error");
        parser.feed(NEXT.as_bytes());
        assert_eq!(parser.next_frame().err(), Some(error.clone()));
        return (error, false);
    }
    let next = next.unwrap().expect("the frame after the bad one");
    assert_eq!(next.head.transaction_id, "next1");
    (error, true)
}

#[test]
fn malformed_start_lines_are_fatal() {
    for (line, reason) in [
        ("HTTP/1.1 200 OK", "does not start with \"MSRP \""),
        ("MSRP abc SEND", "invalid transaction id"),
        ("MSRP .abcd SEND", "invalid transaction id"),
        ("MSRP abcd", "no method or status code"),
        ("MSRP abcd send", "invalid method"),
        ("MSRP abcd SEND extra", "invalid method"),
        ("MSRP abcd 20 OK", "invalid status code"),
        ("MSRP abcd 2000", "invalid status code"),
        ("MSRP abcd \u{0} ", "invalid method"),
    ] {
        let (error, _) = parse_bad(&format!("{line}\r\nTo-Path: msrp://b:1/x;tcp\r\n"));
        assert_eq!(error.kind(), &ErrorKind::StartLine { reason }, "{line}");
        assert!(error.head().is_none());
        assert_eq!(error.response(), None);
    }
    let (error, _) = parse_bad("MSRP ab\u{ff}cd SEND\r\n");
    assert!(matches!(error.kind(), ErrorKind::StartLine { .. }));
    let mut parser = FrameParser::default();
    parser.feed(b"MSRP abcd SEND\r\n\xff\xfe");
    parser.feed(b"\r\n");
    assert!(parser.next_frame().is_ok_and(|f| f.is_none()) || parser.is_failed());
}

#[test]
fn bad_end_lines_are_fatal() {
    let head = "MSRP abcd SEND\r\nTo-Path: msrp://b:1/x;tcp\r\nFrom-Path: msrp://a:1/y;tcp\r\nMessage-ID: m\r\n";
    for (tail, reason) in [
        ("-------abce$\r\n", "the transaction id does not match the start line"),
        ("-------abcd\r\n", "the transaction id does not match the start line"),
        ("-------abcd!\r\n", "no continuation flag"),
        ("Content-Type: a/b\r\n\r\nbody\r\n-------abcd$x\r\n", "the continuation flag is not followed by CRLF"),
        ("Content-Type: a/b\r\n\r\nbody\r\n-------abcd+\rx", "the continuation flag is not followed by CRLF"),
    ] {
        let (error, _) = parse_bad(&format!("{head}{tail}"));
        assert_eq!(error.kind(), &ErrorKind::EndLine { reason }, "{tail:?}");
    }
    // An end-line for another transaction inside a body is body data.
    let frames = parse_all(format!("{head}Content-Type: a/b\r\n\r\nx\r\n-------wxyz$\r\n-------abcd#\r\n").as_bytes());
    assert_eq!(frames[0].body, b"x\r\n-------wxyz$");
    assert_eq!(frames[0].continuation, Continuation::Aborted);
}

#[test]
fn bad_byte_ranges_get_400() {
    for (range, reason) in [
        ("1-26/25", "end is beyond the total"),
        ("30-*/25", "start is beyond the total"),
        ("10-5/25", "start is after end"),
        ("0-5/25", "start is 0"),
    ] {
        let (error, recovered) = parse_bad(&send_text("abcd", &format!("Byte-Range: {range}\r\n"), "hello"));
        assert!(recovered);
        assert_eq!(error.kind(), &ErrorKind::ByteRange { reason }, "{range}");
        assert_eq!(error.status_code(), 400);
        let response = error.response().expect("a 400 response");
        assert_eq!(response.transaction_id, "abcd");
        assert_eq!(response.kind, Kind::Response { code: 400, comment: Some("Bad Request".into()) });
        // §7.2: back to the previous hop only, from this hop.
        assert_eq!(response.headers.to_path, uris("msrp://r.example.com:2855/rs;tcp"));
        assert_eq!(response.headers.from_path, uris("msrp://b.example.com:2855/bs;tcp"));
    }
}

#[test]
fn byte_ranges_at_the_end_of_u64_do_not_overflow() {
    let max = u64::MAX;
    assert_eq!(ByteRange::parse(&format!("1-{max}/*")).unwrap().len(), Some(max));
    assert_eq!(ByteRange::parse(&format!("{max}-{max}/{max}")).unwrap().len(), Some(1));
    assert_eq!(ByteRange::parse("1-18446744073709551616/*"), Err("number too large"));
    // A frame whose Byte-Range ends there is gathered like any other.
    for range in [format!("{max}-{max}/*"), format!("1-{max}/{max}")] {
        let frame = Frame::parse(send_text("abcd", &format!("Byte-Range: {range}\r\n"), "x").as_bytes()).unwrap();
        assert_eq!(frame.body, b"x", "{range}");
    }
}

#[test]
fn a_claimed_byte_range_reserves_little_memory() {
    // A REPORT carries a Byte-Range but no body: nothing is reserved.
    let report = "MSRP abcd REPORT\r\nTo-Path: msrp://b:1/x;tcp\r\nFrom-Path: msrp://a:1/y;tcp\r\n\
                  Message-ID: m\r\nByte-Range: 1-4000000/4000000\r\nStatus: 000 200 OK\r\n-------abcd$\r\n";
    assert_eq!(Frame::parse(report.as_bytes()).unwrap().body.capacity(), 0);
    // A chunk claiming 4 MB with one byte reserves a bounded amount.
    let frame = Frame::parse(send_text("abcd", "Byte-Range: 1-4000000/4000000\r\n", "x").as_bytes()).unwrap();
    assert_eq!(frame.body, b"x");
    assert!(frame.body.capacity() <= 64 * 1024, "{}", frame.body.capacity());
}

#[test]
fn missing_headers_get_400() {
    let (error, recovered) = parse_bad(
        "MSRP abcd SEND\r\nTo-Path: msrp://b:1/x;tcp\r\nFrom-Path: msrp://a:1/y;tcp\r\nContent-Type: a/b\r\n\r\nhi\r\n-------abcd$\r\n",
    );
    assert!(recovered);
    assert_eq!(error.kind(), &ErrorKind::MissingHeader { name: "Message-ID" });
    assert_eq!(error.response().unwrap().code(), Some(400));

    let (error, _) = parse_bad("MSRP abcd SEND\r\nFrom-Path: msrp://a:1/y;tcp\r\nMessage-ID: m\r\n-------abcd$\r\n");
    assert_eq!(error.kind(), &ErrorKind::MissingHeader { name: "To-Path" });
    assert_eq!(error.response(), None, "no To-Path: no hop to answer from");

    let (error, _) = parse_bad("MSRP abcd SEND\r\nTo-Path: msrp://b:1/x;tcp\r\nMessage-ID: m\r\n-------abcd$\r\n");
    assert_eq!(error.kind(), &ErrorKind::MissingHeader { name: "From-Path" });

    let (error, _) = parse_bad(
        "MSRP abcd REPORT\r\nTo-Path: msrp://b:1/x;tcp\r\nFrom-Path: msrp://a:1/y;tcp\r\nMessage-ID: m\r\n-------abcd$\r\n",
    );
    assert_eq!(error.kind(), &ErrorKind::MissingHeader { name: "Status" });
    assert_eq!(error.response(), None, "REPORTs are not answered");

    let (error, recovered) = parse_bad(&send_text("abcd", "To-Path: msrp://c:1/z;tcp\r\n", "x"));
    assert!(recovered);
    assert_eq!(error.kind(), &ErrorKind::Header { name: "To-Path", reason: "appears more than once" });
    let (error, _) = parse_bad(&send_text("abcd", "Garbage line\r\n", "x"));
    assert_eq!(error.kind(), &ErrorKind::HeaderLine { reason: "no colon" });
    let (error, _) = parse_bad(&send_text("abcd", "Use-Path: sip:relay\r\n", "x"));
    assert_eq!(error.kind(), &ErrorKind::Header { name: "Use-Path", reason: "not a list of MSRP URIs" });
}

#[test]
fn long_lines_and_many_headers_are_fatal() {
    let limits = Limits::default();
    let long = format!("X-Long: {}\r\n", "a".repeat(limits.max_line));
    let (error, _) = parse_bad(&send_text("abcd", &long, "x"));
    assert_eq!(error.kind(), &ErrorKind::LineTooLong { limit: limits.max_line });
    let response = error.response().expect("the head read so far allows a 400");
    assert_eq!(response.transaction_id, "abcd");

    let many: String = (0..limits.max_headers).map(|i| format!("X-H{i}: v\r\n")).collect();
    let (error, _) = parse_bad(&send_text("abcd", &many, "x"));
    assert_eq!(error.kind(), &ErrorKind::TooManyHeaders { limit: limits.max_headers });

    // A line without end is refused as soon as it passes the limit.
    let mut parser = Parser::new(Limits { max_line: 100, ..Limits::default() });
    parser.feed(&[b'M'; 101]);
    assert!(parser.next_event().is_ok_and(|e| e.is_none()));
    parser.feed(b"M");
    assert_eq!(parser.next_event().unwrap_err().kind(), &ErrorKind::LineTooLong { limit: 100 });
    assert!(parser.is_failed());
}

#[test]
fn oversized_body_gets_413_and_the_stream_goes_on() {
    let limits = Limits { max_body: 1000, ..Limits::default() };
    let big = send_text("abcd", "Byte-Range: 1-1500/1500\r\n", &"z".repeat(1500));
    let fits = send_text("efgh", "", &"y".repeat(1000));
    let stream = format!("{big}{fits}{NEXT}");
    for piece_size in [1, 100, stream.len()] {
        let mut parser = FrameParser::new(limits);
        let mut frames = Vec::new();
        let mut errors = Vec::new();
        for piece in stream.as_bytes().chunks(piece_size) {
            parser.feed(piece);
            loop {
                match parser.next_frame() {
                    Ok(Some(frame)) => frames.push(frame),
                    Ok(None) => break,
                    Err(error) => errors.push(error),
                }
            }
        }
        let [error] = &errors[..] else { panic!("{errors:?}") };
        assert_eq!(error.kind(), &ErrorKind::BodyTooLarge { limit: 1000 });
        assert!(!error.is_fatal());
        let response = error.response().unwrap();
        assert_eq!((response.transaction_id.as_str(), response.code()), ("abcd", Some(413)));
        let ids: Vec<&str> = frames.iter().map(|f| f.head.transaction_id.as_str()).collect();
        assert_eq!(ids, ["efgh", "next1"]);
        assert_eq!(frames[0].body.len(), 1000);
    }

    // The event parser reports it too, after the head it already gave.
    let mut parser = Parser::new(limits);
    parser.feed(big.as_bytes());
    assert!(matches!(parser.next_event(), Ok(Some(Event::Head(_)))));
    let error = parser.next_event().unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::BodyTooLarge { limit: 1000 });
    assert!(error.head().is_none());
    assert!(parser.next_event().unwrap().is_none());
    assert!(parser.is_idle());
}

#[test]
fn unknown_methods_are_kept_for_501() {
    let text = "MSRP abcd FOO\r\nTo-Path: msrp://b:1/x;tcp\r\nFrom-Path: msrp://r:1/r;tcp msrp://a:1/y;tcp\r\n-------abcd$\r\n";
    let [frame] = &parse_all(text.as_bytes())[..] else { panic!() };
    assert_eq!(frame.head.method(), Some(&Method::Other("FOO".into())));
    let response = frame.head.response(501, Some(reason_phrase(501))).unwrap();
    // Not a SEND: the response goes back along the whole From-Path.
    assert_eq!(response.headers.to_path, frame.head.headers.from_path);
}

#[test]
fn failure_report_partial_answers_only_errors() {
    let text = send_text("abcd", "Failure-Report: partial\r\n", "x");
    let [frame] = &parse_all(text.as_bytes())[..] else { panic!() };
    assert_eq!(frame.head.response(200, Some("OK")), None);
    assert!(frame.head.response(481, None).is_some());
    assert!(frame.head.failure_report_wanted(481));
    assert!(!frame.head.failure_report_wanted(200));
}

#[test]
fn one_shot_parse_of_a_truncated_frame() {
    let bytes = crlf(RFC4975_4_SEND);
    assert!(Frame::parse(&bytes).is_ok());
    assert_eq!(Frame::parse(&bytes[..bytes.len() - 1]).unwrap_err().kind(), &ErrorKind::Truncated);
}

/// Random byte changes, insertions, deletions and truncations of a valid
/// stream, fed in random pieces: no panic, no endless loop, and a fatal
/// error is final.
#[test]
fn mutated_streams_never_panic() {
    let stream = example_stream();
    let mut rng = StdRng::seed_from_u64(0x4975_4976);
    let limits = Limits { max_line: 512, max_headers: 16, max_body: 256 };
    for _ in 0..20_000 {
        let mut bytes = stream.clone();
        for _ in 0..rng.random_range(1..=4) {
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..6) {
                0 => bytes[at] = rng.random(),
                1 => bytes[at] = b"\r\n-$+# :/;"[rng.random_range(0..10)],
                2 => {
                    bytes.remove(at);
                }
                3 => bytes.insert(at, rng.random()),
                4 => bytes.truncate(at),
                _ => bytes.splice(at..at, b"\r\n-------".iter().copied()).for_each(drop),
            }
            if bytes.is_empty() {
                break;
            }
        }
        let mut events = Parser::new(limits);
        let mut frames = FrameParser::new(limits);
        let mut current = None;
        let mut out = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len().min(300));
            let (piece, tail) = rest.split_at(n);
            rest = tail;
            events.feed(piece);
            let errors = drain_events(&mut events, &mut current, &mut out);
            if errors.last().is_some_and(ParseError::is_fatal) {
                assert!(events.is_failed());
            }
            frames.feed(piece);
            for _ in 0..=bytes.len() {
                match frames.next_frame() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(error) if error.is_fatal() => {
                        assert!(frames.is_failed());
                        break;
                    }
                    Err(error) => {
                        let _ = error.response();
                    }
                }
            }
        }
    }
}
