//! A minimal SIP message implementing [`TransactionMessage`], for tests of
//! the transaction machines independent of the message parser. It encodes to
//! SIP text and decodes its own encoding back. Shared by the unit tests and
//! `core/tests/sip_transactions.rs`.
#![allow(dead_code)]

use std::borrow::Cow;

use super::TransactionMessage;

/// One Via: sent-by and optional branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestVia {
    pub sent_by: String,
    pub branch: Option<String>,
}

/// A request or a response with the fields transactions look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestMessage {
    /// `Some(method)` for a request.
    pub method: Option<String>,
    pub uri: String,
    pub status: u16,
    pub reason: String,
    pub vias: Vec<TestVia>,
    pub call_id: String,
    pub from_tag: Option<String>,
    pub to_tag: Option<String>,
    pub cseq: u32,
    pub cseq_method: String,
}

impl TestMessage {
    /// A request from `client.example.com` with the given branch.
    pub fn request(method: &str, branch: &str) -> TestMessage {
        TestMessage {
            method: Some(method.to_owned()),
            uri: "sip:bob@example.com".to_owned(),
            status: 0,
            reason: String::new(),
            vias: vec![TestVia { sent_by: "client.example.com:5060".to_owned(), branch: Some(branch.to_owned()) }],
            call_id: "call-1@client.example.com".to_owned(),
            from_tag: Some("from-1".to_owned()),
            to_tag: None,
            cseq: 1,
            cseq_method: method.to_owned(),
        }
    }

    /// A response to this request; final responses get the To tag `to-1`
    /// unless the request had one.
    pub fn response(&self, status: u16) -> TestMessage {
        let mut response = self.build_response(status, "Test").unwrap_or_else(|| self.clone());
        if status > 100 && response.to_tag.is_none() {
            response.to_tag = Some("to-1".to_owned());
        }
        response
    }

    pub fn with_branch(mut self, branch: Option<&str>) -> TestMessage {
        if let Some(via) = self.vias.first_mut() {
            via.branch = branch.map(str::to_owned);
        }
        self
    }

    pub fn with_sent_by(mut self, sent_by: &str) -> TestMessage {
        if let Some(via) = self.vias.first_mut() {
            via.sent_by = sent_by.to_owned();
        }
        self
    }

    pub fn with_method(mut self, method: &str) -> TestMessage {
        self.method = Some(method.to_owned());
        self.cseq_method = method.to_owned();
        self
    }

    pub fn with_to_tag(mut self, tag: Option<&str>) -> TestMessage {
        self.to_tag = tag.map(str::to_owned);
        self
    }

    pub fn with_cseq(mut self, cseq: u32) -> TestMessage {
        self.cseq = cseq;
        self
    }

    pub fn with_call_id(mut self, call_id: &str) -> TestMessage {
        self.call_id = call_id.to_owned();
        self
    }

    pub fn with_uri(mut self, uri: &str) -> TestMessage {
        self.uri = uri.to_owned();
        self
    }

    /// The CANCEL for this request (RFC 3261 §9.1): same Request-URI,
    /// Call-ID, From, To, CSeq number and top Via; method CANCEL.
    pub fn cancel(&self) -> TestMessage {
        let mut cancel = self.clone().with_method("CANCEL");
        cancel.vias.truncate(1);
        cancel
    }

    /// Decodes the text [`TransactionMessage::to_bytes`] produces.
    pub fn decode(bytes: &[u8]) -> Option<TestMessage> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.split("\r\n");
        let start = lines.next()?;
        let mut message = TestMessage {
            method: None,
            uri: String::new(),
            status: 0,
            reason: String::new(),
            vias: Vec::new(),
            call_id: String::new(),
            from_tag: None,
            to_tag: None,
            cseq: 0,
            cseq_method: String::new(),
        };
        if let Some(rest) = start.strip_prefix("SIP/2.0 ") {
            let (code, reason) = rest.split_once(' ')?;
            message.status = code.parse().ok()?;
            message.reason = reason.to_owned();
        } else {
            let mut parts = start.split(' ');
            message.method = Some(parts.next()?.to_owned());
            message.uri = parts.next()?.to_owned();
        }
        for line in lines.take_while(|l| !l.is_empty()) {
            let (name, value) = line.split_once(": ")?;
            match name {
                "Via" => {
                    let value = value.strip_prefix("SIP/2.0/UDP ")?;
                    let (sent_by, branch) = match value.split_once(";branch=") {
                        Some((s, b)) => (s, Some(b.to_owned())),
                        None => (value, None),
                    };
                    message.vias.push(TestVia { sent_by: sent_by.to_owned(), branch });
                }
                "From" => message.from_tag = value.split_once(";tag=").map(|(_, t)| t.to_owned()),
                "To" => message.to_tag = value.split_once(";tag=").map(|(_, t)| t.to_owned()),
                "Call-ID" => message.call_id = value.to_owned(),
                "CSeq" => {
                    let (n, m) = value.split_once(' ')?;
                    message.cseq = n.parse().ok()?;
                    message.cseq_method = m.to_owned();
                }
                _ => {}
            }
        }
        Some(message)
    }
}

impl TransactionMessage for TestMessage {
    fn is_request(&self) -> bool {
        self.method.is_some()
    }

    fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    fn status_code(&self) -> Option<u16> {
        if self.method.is_some() { None } else { Some(self.status) }
    }

    fn request_uri(&self) -> Option<Cow<'_, str>> {
        self.method.as_ref().map(|_| Cow::Borrowed(self.uri.as_str()))
    }

    fn cseq_number(&self) -> Option<u32> {
        Some(self.cseq)
    }

    fn cseq_method(&self) -> Option<&str> {
        Some(&self.cseq_method)
    }

    fn top_via_branch(&self) -> Option<&str> {
        self.vias.first()?.branch.as_deref()
    }

    fn top_via_sent_by(&self) -> Option<Cow<'_, str>> {
        self.vias.first().map(|via| Cow::Borrowed(via.sent_by.as_str()))
    }

    fn call_id(&self) -> Option<&str> {
        Some(&self.call_id)
    }

    fn from_tag(&self) -> Option<&str> {
        self.from_tag.as_deref()
    }

    fn to_tag(&self) -> Option<&str> {
        self.to_tag.as_deref()
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut text = match &self.method {
            Some(method) => format!("{method} {} SIP/2.0\r\n", self.uri),
            None => format!("SIP/2.0 {} {}\r\n", self.status, self.reason),
        };
        for via in &self.vias {
            text.push_str("Via: SIP/2.0/UDP ");
            text.push_str(&via.sent_by);
            if let Some(branch) = &via.branch {
                text.push_str(";branch=");
                text.push_str(branch);
            }
            text.push_str("\r\n");
        }
        text.push_str("From: <sip:alice@example.com>");
        if let Some(tag) = &self.from_tag {
            text.push_str(";tag=");
            text.push_str(tag);
        }
        text.push_str("\r\nTo: <sip:bob@example.com>");
        if let Some(tag) = &self.to_tag {
            text.push_str(";tag=");
            text.push_str(tag);
        }
        text.push_str(&format!(
            "\r\nCall-ID: {}\r\nCSeq: {} {}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            self.call_id, self.cseq, self.cseq_method
        ));
        text.into_bytes()
    }

    fn build_ack(&self, response: &Self) -> Option<Self> {
        let mut ack = self.clone().with_method("ACK");
        ack.vias.truncate(1);
        ack.to_tag = response.to_tag.clone();
        Some(ack)
    }

    fn build_response(&self, status: u16, reason: &str) -> Option<Self> {
        let mut response = self.clone();
        response.method = None;
        response.uri = String::new();
        response.status = status;
        response.reason = reason.to_owned();
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let request = TestMessage::request("INVITE", "z9hG4bKabc").with_to_tag(Some("t"));
        assert_eq!(TestMessage::decode(&request.to_bytes()), Some(request.clone()));
        let response = request.response(486);
        assert_eq!(TestMessage::decode(&response.to_bytes()), Some(response));
        let old = TestMessage::request("OPTIONS", "x").with_branch(None);
        assert_eq!(TestMessage::decode(&old.to_bytes()), Some(old));
    }
}
