//! The SIP message parser against the RFC 4475 torture messages
//! (`fixtures/rfc4475/`, expectations in `MANIFEST.tsv`), round trips
//! through the owned message and the serializer, stream framing of the
//! corpus, and a no-panic run over random bytes and mutated messages.

use std::path::{Path, PathBuf};

use sipsimple_core::sip::message::{
    Framing, Limits, Message, MessageRef, Method, ParseError, RequestPolicy, StartLine, check_request_with,
    check_response, frame, parse, split,
};

const BENCH_INVITE: &[u8] = include_bytes!("../benches/fixtures/invite-918.sip");

#[derive(Debug)]
struct Case {
    file: String,
    section: String,
    parser: String,
    behaviour: String,
    bytes: Vec<u8>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rfc4475")
}

fn corpus() -> Vec<Case> {
    let manifest = std::fs::read_to_string(fixtures().join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let cases: Vec<Case> = manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "manifest row {l:?}");
            Case {
                file: cols[0].to_owned(),
                section: cols[1].to_owned(),
                parser: cols[2].to_owned(),
                behaviour: cols[3].to_owned(),
                bytes: std::fs::read(fixtures().join(cols[0])).expect("fixture"),
            }
        })
        .collect();
    assert_eq!(cases.len(), 49, "the RFC 4475 corpus has 49 messages");
    cases
}

/// The user agent the manifest's answers assume: it understands SDP and
/// the bodies of instant messages, and supports no extension.
fn ua_policy() -> RequestPolicy {
    RequestPolicy {
        accepted_content_types: Some(
            ["application/sdp", "multipart/mixed", "text/plain", "message/cpim", "message/sipfrag"]
                .map(String::from)
                .to_vec(),
        ),
        ..RequestPolicy::default()
    }
}

/// The status code the manifest expects from a user agent: the first
/// three-digit code in the last column, with two readings of the RFC text:
/// esc02 ("process normally") has an unknown method, which RFC 4475
/// §3.1.1.5 says an endpoint rejects with 501; regaut01 names the 401 of a
/// registrar, while a user agent processes it.
fn expected_code(case: &Case) -> Option<u16> {
    match case.file.as_str() {
        "esc02.dat" => return Some(501),
        "regaut01.dat" => return None,
        _ => {}
    }
    case.behaviour
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 3)
        .and_then(|w| w.parse().ok())
        .filter(|c| (100..700).contains(c))
}

fn is_response(bytes: &[u8]) -> bool {
    bytes.starts_with(b"SIP/")
}

#[test]
fn parse_and_reject_as_the_manifest_says() {
    let mut parsed = 0;
    let mut rejected = 0;
    for case in corpus() {
        let result = parse(&case.bytes);
        match case.parser.as_str() {
            "parse" => {
                let m = result.unwrap_or_else(|e| panic!("{} ({}) must parse: {e}", case.file, case.section));
                assert!(m.len() <= case.bytes.len());
                parsed += 1;
            }
            "reject" => {
                let e = match result {
                    Ok(_) => panic!("{} ({}) must be rejected", case.file, case.section),
                    Err(e) => e,
                };
                assert!(!e.to_string().is_empty());
                if !is_response(&case.bytes) {
                    assert_eq!(
                        Some(e.status_code()),
                        expected_code(&case),
                        "{}: answer to the parse error {e}",
                        case.file
                    );
                }
                rejected += 1;
            }
            "either" => {
                if let Err(e) = result {
                    assert_eq!(e.status_code(), 400, "{}: {e}", case.file);
                }
            }
            other => panic!("unknown parser column {other:?}"),
        }
    }
    assert_eq!((parsed, rejected), (30, 15));
}

#[test]
fn specific_rejection_reasons() {
    let reason = |file: &str| {
        let bytes = std::fs::read(fixtures().join(file)).expect("fixture");
        parse(&bytes).err().map(|e| e.to_string()).unwrap_or_default()
    };
    assert!(reason("badvers.dat").contains("version"));
    assert!(reason("clerr.dat").contains("Content-Length 9999"));
    assert!(reason("ncl.dat").contains("Content-Length"));
    assert!(reason("quotbal.dat").contains("quoted string"));
    assert!(reason("mismatch01.dat").contains("CSeq method INVITE"));
    assert!(reason("mismatch02.dat").contains("NEWMETHOD"));
    assert!(reason("bigcode.dat").contains("status code"));
    assert!(reason("baddn.dat").contains("From"));
    assert!(reason("scalar02.dat").contains("CSeq"));
    assert!(reason("badinv01.dat").contains("Via"));
    for file in ["ltgtruri.dat", "lwsruri.dat", "lwsstart.dat", "trws.dat"] {
        assert!(reason(file).contains("start line"), "{file}: {}", reason(file));
    }
    let bytes = std::fs::read(fixtures().join("badvers.dat")).expect("fixture");
    assert!(matches!(parse(&bytes), Err(ParseError::Version { .. })));
}

#[test]
fn user_agent_answers_as_the_manifest_says() {
    let policy = ua_policy();
    let mut checked = 0;
    for case in corpus() {
        let Ok(m) = parse(&case.bytes) else { continue };
        if !m.is_request() {
            assert!(check_response(&m).is_ok(), "{}: a well-formed response", case.file);
            continue;
        }
        let outcome = check_request_with(&m, &policy).map_err(|r| r.code).err();
        match case.parser.as_str() {
            "parse" => {
                assert_eq!(outcome, expected_code(&case), "{} ({}): {}", case.file, case.section, case.behaviour)
            }
            _ => assert!(outcome.is_none() || outcome == Some(400), "{}: {outcome:?}", case.file),
        }
        checked += 1;
    }
    assert_eq!(checked, 31);
}

#[test]
fn rejections_carry_the_headers_the_rfc_asks_for() {
    let policy = ua_policy();
    let rejection = |file: &str| {
        let bytes = std::fs::read(fixtures().join(file)).expect("fixture");
        let m = parse(&bytes).expect("parses");
        let r = check_request_with(&m, &policy).expect_err("rejected");
        let response = r.response(&m).with_to_tag("uas-tag");
        (r, response.to_bytes())
    };
    let (r, bytes) = rejection("intmeth.dat");
    assert_eq!(r.code, 501);
    assert!(r.headers.iter().any(|(n, v)| *n == "Allow" && v.contains("INVITE")));
    let response = parse(&bytes).expect("our 501 parses");
    assert_eq!(response.status(), Some(501));
    assert_eq!(response.to_tag(), Some("uas-tag"));
    assert_eq!(
        response.cseq().map(|c| c.method.clone()),
        Some(Method::Extension("!interesting-Method0123456789_*+`.%indeed'~".into()))
    );
    assert!(response.header("Allow").is_some());

    let (r, bytes) = rejection("bext01.dat");
    assert_eq!(r.code, 420);
    let response = parse(&bytes).expect("our 420 parses");
    assert_eq!(response.header("Unsupported"), Some("nothingSupportsThis, nothingSupportsThisEither"));
    assert_eq!(response.top_via().and_then(|v| v.branch().map(str::to_owned)).as_deref(), Some("z9hG4bKkdjuw"));

    let (r, bytes) = rejection("invut.dat");
    assert_eq!(r.code, 415);
    let response = parse(&bytes).expect("our 415 parses");
    assert!(response.header("Accept").is_some_and(|a| a.contains("application/sdp")));

    let (r, _) = rejection("unkscm.dat");
    assert_eq!(r.code, 416);
    let (r, _) = rejection("insuf.dat");
    assert_eq!(r.code, 400);
    assert!(r.detail.contains("missing"));
    let (r, _) = rejection("multi01.dat");
    assert!(r.detail.contains("more than one"));
}

#[test]
fn torture_values_decode() {
    let read = |file: &str| std::fs::read(fixtures().join(file)).expect("fixture");
    let wsinv = read("wsinv.dat");
    let m = parse(&wsinv).expect("wsinv");
    assert_eq!(m.to_tag(), Some("1918181833n"));
    assert_eq!(m.from().and_then(|f| f.display_name().map(|d| d.into_owned())).as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(m.from_tag(), Some("98asjd8"));
    assert_eq!(m.max_forwards(), Some(68));
    assert_eq!(m.cseq_parts(), Some((9, "INVITE")));
    let vias: Vec<_> = m.vias().map(|v| (v.host().to_owned(), v.branch().map(str::to_owned))).collect();
    assert_eq!(
        vias,
        vec![
            ("192.0.2.2".to_owned(), Some("390skdjuw".to_owned())),
            ("spindle.example.com".to_owned(), Some("z9hG4bK9ikj8".to_owned())),
            ("192.168.255.111".to_owned(), Some("z9hG4bK30239".to_owned())),
        ]
    );
    let contact = m.contact().expect("contact");
    assert_eq!(contact.display_name().as_deref(), Some("Quoted string \"\""));
    assert_eq!(contact.param("newparam"), Some("newvalue"));
    assert_eq!(contact.q(), Some(0.33));
    assert_eq!(m.header("NewFangledHeader"), Some("newfangled value\r\n continued newfangled value"));
    assert_eq!(m.header("UnknownHeaderWithUnusualValue"), Some(";;,,;;,;"));
    assert_eq!(m.header("subject"), Some(""));
    assert_eq!(m.routes().next().map(|r| r.uri().lr()), Some(true));
    assert_eq!(m.body().len(), 150);

    let esc02 = read("esc02.dat");
    let m = parse(&esc02).expect("esc02");
    assert_eq!(m.method(), Some(&Method::Extension("RE%47IST%45R".into())));
    assert_eq!(m.contacts().count(), 2);
    assert_eq!(m.header("C%6Fntact"), Some("<sip:alias2@host2.example.com>"));
    assert_eq!(m.to().and_then(|t| t.display_name().map(|d| d.into_owned())).as_deref(), Some("%Z%45"));

    let escnull = read("escnull.dat");
    let m = parse(&escnull).expect("escnull");
    let users: Vec<_> = m.contacts().map(|c| c.uri().user().map(|u| u.into_owned())).collect();
    assert_eq!(users, vec![Some("\0".to_owned()), Some("\0\0".to_owned())]);

    let esc01 = read("esc01.dat");
    let m = parse(&esc01).expect("esc01");
    assert_eq!(m.uri().and_then(|u| u.user().map(|u| u.into_owned())).as_deref(), Some("sips:user@example.com"));
    assert_eq!(m.to().and_then(|t| t.uri().user().map(|u| u.into_owned())).as_deref(), Some("user"));
    assert_eq!(m.contact().and_then(|c| c.uri().user().map(|u| u.into_owned())).as_deref(), Some("caller"));

    let longreq = read("longreq.dat");
    let m = parse(&longreq).expect("longreq");
    assert_eq!(m.vias().count(), 34);
    assert_eq!(m.top_via().map(|v| v.host().to_owned()).as_deref(), Some("sip33.example.com"));

    let dblreq = read("dblreq.dat");
    let m = parse(&dblreq).expect("dblreq");
    assert_eq!(m.method(), Some(&Method::Register));
    assert!(m.len() < dblreq.len());

    let cparam01 = read("cparam01.dat");
    let m = parse(&cparam01).expect("cparam01");
    let c = m.contact().expect("contact");
    assert!(c.params().contains("unknownparam") && c.uri().params().is_empty());
    let cparam02 = read("cparam02.dat");
    let m = parse(&cparam02).expect("cparam02");
    let c = m.contact().expect("contact");
    assert!(c.params().is_empty() && c.uri().params().contains("unknownparam"));

    let unreason = read("unreason.dat");
    let m = parse(&unreason).expect("unreason");
    assert_eq!(m.status(), Some(200));
    assert!(m.reason().is_some_and(|r| r.starts_with("= 2**3 * 5**2")));
    let noreason = read("noreason.dat");
    assert_eq!(parse(&noreason).expect("noreason").reason(), Some(""));

    let badbranch = read("badbranch.dat");
    let m = parse(&badbranch).expect("badbranch");
    let v = m.top_via().expect("via");
    assert_eq!((v.branch(), v.rfc3261_branch()), (Some("z9hG4bK"), None));
}

/// The typed view of a message that must survive a round trip.
#[derive(Debug, PartialEq)]
struct Typed {
    start: StartLine<'static>,
    vias: Vec<String>,
    top_via: Option<String>,
    from: Option<String>,
    to: Option<String>,
    call_id: Option<String>,
    cseq: Option<String>,
    max_forwards: Option<u8>,
    contacts: Vec<String>,
    routes: Vec<String>,
    record_routes: Vec<String>,
    content_type: Option<String>,
    expires: Option<u32>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn typed(m: &MessageRef<'_>) -> Typed {
    Typed {
        start: m.start_line().clone().into_owned(),
        vias: m.vias().map(|v| v.to_string()).collect(),
        top_via: m.top_via().map(|v| v.to_string()),
        from: m.from().map(|a| a.to_string()),
        to: m.to().map(|a| a.to_string()),
        call_id: m.call_id().map(str::to_owned),
        cseq: m.cseq().map(|c| c.to_string()),
        max_forwards: m.max_forwards(),
        contacts: m.contacts().map(|c| c.to_string()).collect(),
        routes: m.routes().map(|c| c.to_string()).collect(),
        record_routes: m.record_routes().map(|c| c.to_string()).collect(),
        content_type: m.content_type().map(|c| c.to_string()),
        expires: m.expires(),
        headers: m
            .headers()
            .iter()
            .filter(|h| !h.is("Content-Length"))
            .map(|h| (h.name().to_owned(), h.unfolded_value().into_owned()))
            .collect(),
        body: m.body().to_vec(),
    }
}

/// parse → to_owned → encode → parse gives the same typed values, and the
/// typed values compare equal to the decoded ones too.
fn assert_round_trip(name: &str, bytes: &[u8]) {
    let first = parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let owned: Message = first.to_owned();
    let encoded = owned.to_bytes();
    let second = parse(&encoded).unwrap_or_else(|e| panic!("{name}: re-parse failed: {e}"));
    assert_eq!(typed(&first), typed(&second), "{name}");
    assert_eq!(first.top_via(), second.top_via(), "{name}");
    assert_eq!(first.from(), second.from(), "{name}");
    assert_eq!(first.to(), second.to(), "{name}");
    assert_eq!(first.cseq(), second.cseq(), "{name}");
    assert_eq!(first.contact(), second.contact(), "{name}");
    assert_eq!(first.content_type(), second.content_type(), "{name}");
    assert_eq!(second.content_length(), Some(second.body().len()), "{name}");
    // The owned message answers the same typed questions.
    assert_eq!(owned.top_via().as_ref(), first.top_via(), "{name}");
    assert_eq!(owned.from().as_ref(), first.from(), "{name}");
    assert_eq!(owned.to().as_ref(), first.to(), "{name}");
    assert_eq!(owned.call_id(), first.call_id(), "{name}");
    assert_eq!(owned.cseq().as_ref(), first.cseq(), "{name}");
    assert_eq!(owned.max_forwards(), first.max_forwards(), "{name}");
    assert_eq!(owned.contacts().collect::<Vec<_>>(), first.contacts().collect::<Vec<_>>(), "{name}");
    assert_eq!(owned.from_tag(), first.from_tag(), "{name}");
    assert_eq!(owned.to_tag(), first.to_tag(), "{name}");
    assert_eq!(owned.top_via_branch(), first.top_via_branch(), "{name}");
    // Encoding is stable.
    assert_eq!(second.to_owned().to_bytes(), encoded, "{name}");
    // Splitting then validating gives the same message.
    let raw = split(bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(raw.headers(), first.headers(), "{name}");
    let validated = raw.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(typed(&validated), typed(&first), "{name}");
}

#[test]
fn round_trips() {
    for case in corpus() {
        if parse(&case.bytes).is_ok() {
            assert_round_trip(&case.file, &case.bytes);
        }
    }
    assert_round_trip("invite-918.sip", BENCH_INVITE);
    // The bench INVITE encodes back byte for byte.
    assert_eq!(parse(BENCH_INVITE).expect("bench invite").to_owned().to_bytes(), BENCH_INVITE);
}

#[test]
fn stream_framing_of_the_corpus() {
    let limits = Limits::default();
    for case in corpus() {
        let Ok(m) = parse(&case.bytes) else { continue };
        if m.content_length().is_none() {
            continue; // without Content-Length a stream message has no body
        }
        let lengths: Vec<&str> = m.header_all("Content-Length").collect();
        if lengths.iter().any(|l| *l != lengths[0]) {
            // mcl01: conflicting lengths cannot frame a stream.
            assert!(matches!(frame(&case.bytes, &limits), Framing::Error(_)), "{}", case.file);
            continue;
        }
        let len = m.len();
        // As one stream: a ping, the message, then more bytes.
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(&case.bytes[..len]);
        stream.extend_from_slice(b"OPTIONS sip:next@example.com SIP/2.0\r\n");
        assert_eq!(frame(&stream, &limits), Framing::KeepAlive { len: 4 }, "{}", case.file);
        let rest = &stream[4..];
        assert_eq!(frame(rest, &limits), Framing::Complete { len }, "{}", case.file);
        let again = parse(&rest[..len]).expect("framed message parses");
        assert_eq!(typed(&again), typed(&m), "{}", case.file);
        for cut in [1, len / 2, len - 1] {
            assert_eq!(frame(&rest[..cut], &limits), Framing::Incomplete, "{} cut at {cut}", case.file);
        }
    }
    // Over a stream, clerr's body never completes: the framer waits for it.
    let clerr = std::fs::read(fixtures().join("clerr.dat")).expect("fixture");
    assert_eq!(frame(&clerr, &limits), Framing::Incomplete);
    // ncl's negative length cannot be framed.
    let ncl = std::fs::read(fixtures().join("ncl.dat")).expect("fixture");
    assert!(matches!(frame(&ncl, &limits), Framing::Error(_)));
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[u8] = b":;,\"<>\r\n \t%\\@/=?[]*0123456789\x00\xff\xc3SIPsip";

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut m = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = m.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                m[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            1 => {
                let i = rng.below(len + 1);
                m.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below(8.min(len - i));
                m.drain(i..i + n);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below(40.min(len - i));
                let chunk = m[i..i + n].to_vec();
                let at = rng.below(len + 1);
                m.splice(at..at, chunk);
            }
            4 => m.truncate(rng.below(len + 1)),
            5 if len > 0 => {
                let i = rng.below(len);
                m[i] ^= 1 << rng.below(8);
            }
            _ => {
                let i = rng.below(len + 1);
                m.splice(i..i, b"\r\n ".iter().copied());
            }
        }
    }
    m
}

/// Everything a receiver may do with untrusted bytes; returns whether the
/// bytes parsed. A parsed message must re-encode into a message that
/// parses to the same typed values.
fn exercise(bytes: &[u8], policy: &RequestPolicy) -> bool {
    let limits = Limits::default();
    if let Framing::Complete { len } | Framing::KeepAlive { len } = frame(bytes, &limits) {
        assert!(len <= bytes.len());
    }
    if let Ok(raw) = split(bytes, &limits) {
        let _ = (raw.header("via"), raw.header_values("contact").count(), raw.to_owned().to_bytes());
        let _ = raw.validate().map(|m| typed(&m));
    }
    let Ok(m) = parse(bytes) else { return false };
    let t = typed(&m);
    let _ = (m.from_tag(), m.to_tag(), m.top_via_branch(), m.cseq_parts(), m.is_contact_wildcard());
    if m.is_request() {
        if let Err(r) = check_request_with(&m, policy) {
            let _ = r.response(&m).with_to_tag("t").to_bytes();
        }
    } else {
        let _ = check_response(&m);
    }
    let encoded = m.to_owned().to_bytes();
    match parse(&encoded) {
        Ok(again) => assert_eq!(typed(&again), t, "re-encoding changed {:?}", String::from_utf8_lossy(bytes)),
        Err(e) => panic!("re-encoding of {:?} does not parse: {e}", String::from_utf8_lossy(bytes)),
    }
    true
}

#[test]
fn no_panic_on_random_and_mutated_input() {
    let policy = ua_policy();
    let mut seeds: Vec<Vec<u8>> = corpus().into_iter().map(|c| c.bytes).collect();
    seeds.push(BENCH_INVITE.to_vec());
    // SIP_FUZZ_SEED and SIP_FUZZ_ITERATIONS allow longer local runs.
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let mut rng = Rng(env("SIP_FUZZ_SEED").unwrap_or(0x5157_5349_4d50_4c45) | 1);
    let iterations = env("SIP_FUZZ_ITERATIONS").unwrap_or(300_000) as usize;
    let mut parsed = 0;
    for i in 0..iterations {
        let input = if i % 10 == 0 {
            let n = rng.below(300);
            (0..n).map(|_| rng.next() as u8).collect::<Vec<u8>>()
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed)
        };
        if exercise(&input, &policy) {
            parsed += 1;
        }
    }
    // The mutations keep a good share of the inputs well formed, so the
    // accepting paths are exercised as much as the rejecting ones.
    assert!(parsed > iterations / 10, "only {parsed} of {iterations} inputs parsed");
}
