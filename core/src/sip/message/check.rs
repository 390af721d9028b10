//! What a user agent server checks before processing a request (RFC 3261
//! §8.2), and the response it sends when a check fails.

use super::headers::HeaderKind;
use super::message::{HeaderFields, Message, reason_phrase};
use super::method::Method;
use super::parser::MessageRef;
use super::scan;
use super::values::MediaType;

/// What a user agent accepts; [`check_request_with`] answers from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestPolicy {
    /// Methods the UA implements. An extension method outside the list gets
    /// 501, a standard one 405; both with Allow. Default: every method of
    /// [`Method::STANDARD`].
    pub allowed_methods: Vec<Method>,
    /// Request-URI schemes served (others get 416). Default: `sip`, `sips`.
    pub uri_schemes: Vec<String>,
    /// Option tags supported; any other tag in Require gets 420 with
    /// Unsupported. Default: none.
    pub supported_extensions: Vec<String>,
    /// Body types understood (`type/subtype`); a body of another type gets
    /// 415 with Accept. `None` (the default) accepts every type.
    pub accepted_content_types: Option<Vec<String>>,
    /// Content codings understood besides `identity`; others get 415 with
    /// Accept-Encoding. Default: none.
    pub accepted_encodings: Vec<String>,
    /// The body type this UA answers INVITEs with; an INVITE whose Accept
    /// header excludes it gets 406. Default: `application/sdp`.
    pub answer_content_type: Option<String>,
    /// Proxy behaviour: reject a request with Max-Forwards 0 (other than
    /// OPTIONS) with 483. Default: false, a user agent processes it.
    pub reject_zero_max_forwards: bool,
}

impl Default for RequestPolicy {
    fn default() -> RequestPolicy {
        RequestPolicy {
            allowed_methods: Method::STANDARD.to_vec(),
            uri_schemes: vec!["sip".to_owned(), "sips".to_owned()],
            supported_extensions: Vec::new(),
            accepted_content_types: None,
            accepted_encodings: Vec::new(),
            answer_content_type: Some("application/sdp".to_owned()),
            reject_zero_max_forwards: false,
        }
    }
}

/// Why a request is refused: the status to answer with, a description for
/// logs, and the headers the response must carry (Allow, Unsupported,
/// Accept, Accept-Encoding). Never answer an ACK; drop it instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code} {reason}: {detail}")]
pub struct Rejection {
    /// The status code.
    pub code: u16,
    /// The standard reason phrase.
    pub reason: &'static str,
    /// What is wrong, for logs.
    pub detail: String,
    /// Headers to add to the response.
    pub headers: Vec<(&'static str, String)>,
}

impl Rejection {
    fn new(code: u16, detail: impl Into<String>) -> Rejection {
        Rejection { code, reason: reason_phrase(code), detail: detail.into(), headers: Vec::new() }
    }

    fn with(mut self, name: &'static str, value: String) -> Rejection {
        self.headers.push((name, value));
        self
    }

    /// The response to send: [`Message::response_to`] with this status and
    /// the extra headers. Add a To tag with [`Message::with_to_tag`].
    pub fn response(&self, request: &impl HeaderFields) -> Message {
        let mut response = Message::response_to(request, self.code, self.reason);
        for (name, value) in &self.headers {
            response.add_header(name, value);
        }
        response
    }
}

/// [`check_request_with`] with the default [`RequestPolicy`].
pub fn check_request(msg: &MessageRef<'_>) -> Result<(), Rejection> {
    check_request_with(msg, &RequestPolicy::default())
}

/// Checks a received request the way a user agent server must before
/// processing it (RFC 3261 §8.2), in the RFC's order:
///
/// 1. 400: missing Via, From, To, Call-ID or CSeq, or
///    more than one From, To, Call-ID, CSeq, Max-Forwards, Content-Length
///    or Content-Type header;
/// 2. 483 when the policy asks for it and Max-Forwards is 0;
/// 3. 501 (unknown method) or 405 (known, not allowed), with Allow;
/// 4. 416: Request-URI scheme not served;
/// 5. 420: Require names an unsupported extension (not for ACK and CANCEL),
///    with Unsupported;
/// 6. 415: body type or coding not understood, with Accept or
///    Accept-Encoding;
/// 7. 406: an INVITE whose Accept excludes the answer type.
///
/// A request that does not parse at all is answered from
/// [`ParseError::status_code`](super::ParseError::status_code).
pub fn check_request_with(msg: &MessageRef<'_>, policy: &RequestPolicy) -> Result<(), Rejection> {
    let Some(method) = msg.method() else {
        return Err(Rejection::new(400, "not a request"));
    };
    check_mandatory(msg)?;

    if policy.reject_zero_max_forwards && *method != Method::Options && msg.max_forwards() == Some(0) {
        return Err(Rejection::new(483, "Max-Forwards is 0"));
    }

    if !policy.allowed_methods.contains(method) {
        let allow = policy.allowed_methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        let code = if method.is_extension() { 501 } else { 405 };
        return Err(Rejection::new(code, format!("method {method} is not supported")).with("Allow", allow));
    }

    if let Some(uri) = msg.uri() {
        let scheme = uri.scheme();
        let scheme = scheme.as_str();
        if !policy.uri_schemes.iter().any(|s| scan::eq_ic(s, scheme)) {
            return Err(Rejection::new(416, format!("Request-URI scheme {scheme} is not supported")));
        }
    }

    if !matches!(method, Method::Ack | Method::Cancel) {
        let unsupported: Vec<&str> =
            msg.require().filter(|tag| !policy.supported_extensions.iter().any(|s| scan::eq_ic(s, tag))).collect();
        if !unsupported.is_empty() {
            let list = unsupported.join(", ");
            return Err(Rejection::new(420, format!("unsupported extensions: {list}")).with("Unsupported", list));
        }
    }

    if !msg.body().is_empty() {
        if let Some(accepted) = &policy.accepted_content_types {
            let understood = msg.content_type().is_some_and(|ct| accepted.iter().any(|a| ct.is(a)));
            if !understood {
                let what = msg.header("Content-Type").unwrap_or("(none)");
                return Err(Rejection::new(415, format!("body type {what} is not supported"))
                    .with("Accept", accepted.join(", ")));
            }
        }
        for coding in msg.header_values("Content-Encoding") {
            if !scan::eq_ic(coding, "identity") && !policy.accepted_encodings.iter().any(|e| scan::eq_ic(e, coding)) {
                let mut accepted = vec!["identity".to_owned()];
                accepted.extend(policy.accepted_encodings.iter().cloned());
                return Err(Rejection::new(415, format!("content coding {coding} is not supported"))
                    .with("Accept-Encoding", accepted.join(", ")));
            }
        }
    }

    if *method == Method::Invite
        && let Some(answer) = &policy.answer_content_type
        && msg.headers().iter().any(|h| h.kind() == HeaderKind::Accept)
    {
        let acceptable = msg.header_values("Accept").filter_map(|v| MediaType::parse(v).ok()).any(|r| r.covers(answer));
        if !acceptable {
            return Err(Rejection::new(406, format!("Accept excludes {answer}")));
        }
    }
    Ok(())
}

/// Checks a received response: Via, From, To, Call-ID and CSeq present
/// and not repeated. A response that fails is discarded (the rejection's
/// code is 400 only for logs).
pub fn check_response(msg: &MessageRef<'_>) -> Result<(), Rejection> {
    if msg.is_request() {
        return Err(Rejection::new(400, "not a response"));
    }
    check_mandatory(msg)
}

fn check_mandatory(msg: &MessageRef<'_>) -> Result<(), Rejection> {
    const SINGLE: [HeaderKind; 7] = [
        HeaderKind::From,
        HeaderKind::To,
        HeaderKind::CallId,
        HeaderKind::CSeq,
        HeaderKind::MaxForwards,
        HeaderKind::ContentLength,
        HeaderKind::ContentType,
    ];
    let mut counts = [0usize; SINGLE.len()];
    let mut via = false;
    for h in msg.headers() {
        if h.kind() == HeaderKind::Via {
            via = true;
        } else if let Some(i) = SINGLE.iter().position(|k| *k == h.kind()) {
            counts[i] += 1;
        }
    }
    if !via {
        return Err(Rejection::new(400, "missing Via header"));
    }
    for (kind, count) in SINGLE.iter().zip(counts) {
        if count > 1 {
            return Err(Rejection::new(400, format!("more than one {} header", kind.canonical_name())));
        }
        if count == 0 && SINGLE[..4].contains(kind) {
            return Err(Rejection::new(400, format!("missing {} header", kind.canonical_name())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::parse;

    fn req(extra: &str, body: &str) -> Vec<u8> {
        format!(
            "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n\
             To: <sip:bob@example.com>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n{extra}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn code(bytes: &[u8], policy: &RequestPolicy) -> Option<u16> {
        let m = parse(bytes).unwrap();
        check_request_with(&m, policy).err().map(|r| r.code)
    }

    #[test]
    fn each_rule() {
        let p = RequestPolicy::default();
        assert_eq!(code(&req("", ""), &p), None);
        assert_eq!(code(&req("To: <sip:x@y>\r\n", ""), &p), Some(400));
        assert_eq!(code(&req("Require: 100rel\r\n", ""), &p), Some(420));
        let with_100rel = RequestPolicy { supported_extensions: vec!["100rel".into()], ..RequestPolicy::default() };
        assert_eq!(code(&req("Require: 100rel\r\n", ""), &with_100rel), None);
        let strict =
            RequestPolicy { accepted_content_types: Some(vec!["application/sdp".into()]), ..RequestPolicy::default() };
        assert_eq!(code(&req("Content-Type: text/plain\r\n", "hi"), &strict), Some(415));
        assert_eq!(code(&req("Content-Type: Application/SDP\r\n", "v=0"), &strict), None);
        assert_eq!(code(&req("Content-Type: application/sdp\r\nContent-Encoding: gzip\r\n", "v=0"), &p), Some(415));
        assert_eq!(code(&req("Accept: text/plain\r\n", ""), &p), Some(406));
        assert_eq!(code(&req("Accept: application/*\r\n", ""), &p), None);
        let only_options = RequestPolicy { allowed_methods: vec![Method::Options], ..RequestPolicy::default() };
        let bytes = req("", "");
        let m = parse(&bytes).unwrap();
        let r = check_request_with(&m, &only_options).unwrap_err();
        assert_eq!((r.code, r.headers.clone()), (405, vec![("Allow", "OPTIONS".to_owned())]));
        let resp = r.response(&m).with_to_tag("x");
        assert_eq!(resp.status(), Some(405));
        assert_eq!(resp.header_value("Allow"), Some("OPTIONS"));
        let proxy = RequestPolicy { reject_zero_max_forwards: true, ..RequestPolicy::default() };
        let zero = String::from_utf8(req("", "")).unwrap().replace("Max-Forwards: 70", "Max-Forwards: 0");
        assert_eq!(code(zero.as_bytes(), &proxy), Some(483));
        assert_eq!(code(zero.as_bytes(), &p), None);
        let tel = String::from_utf8(req("", "")).unwrap().replace("INVITE sip:bob@example.com", "INVITE tel:+1555");
        assert_eq!(code(tel.as_bytes(), &p), Some(416));
    }

    #[test]
    fn responses() {
        let resp = parse(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n").unwrap();
        assert!(check_response(&resp).is_ok());
        assert!(check_request(&resp).is_err());
        let twice = parse(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCall-ID: y\r\nCSeq: 1 OPTIONS\r\n\r\n").unwrap();
        assert_eq!(check_response(&twice).map_err(|r| r.code), Err(400));
    }
}
