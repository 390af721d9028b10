//! [`TransactionMessage`] for the project's owned SIP [`Message`].

use std::borrow::Cow;

use super::{MAGIC_COOKIE, TransactionMessage};
use crate::sip::message::{Message, Method};

impl TransactionMessage for Message {
    fn is_request(&self) -> bool {
        Message::is_request(self)
    }

    fn method(&self) -> Option<&str> {
        Message::method(self).map(Method::as_str)
    }

    fn status_code(&self) -> Option<u16> {
        self.status()
    }

    fn request_uri(&self) -> Option<Cow<'_, str>> {
        self.uri().map(|uri| Cow::Owned(uri.to_string()))
    }

    fn cseq_number(&self) -> Option<u32> {
        self.cseq_parts().map(|(number, _)| number)
    }

    fn cseq_method(&self) -> Option<&str> {
        self.cseq_parts().map(|(_, method)| method)
    }

    fn top_via_branch(&self) -> Option<&str> {
        Message::top_via_branch(self)
    }

    fn top_via_sent_by(&self) -> Option<Cow<'_, str>> {
        self.top_via().map(|via| Cow::Owned(via.sent_by().into_owned()))
    }

    fn call_id(&self) -> Option<&str> {
        Message::call_id(self)
    }

    fn from_tag(&self) -> Option<&str> {
        Message::from_tag(self)
    }

    fn to_tag(&self) -> Option<&str> {
        Message::to_tag(self)
    }

    fn to_bytes(&self) -> Vec<u8> {
        Message::to_bytes(self)
    }

    /// RFC 3261 §17.1.1.3: Request-URI, From, Call-ID and Route headers of
    /// the INVITE, its top Via alone, the To of the response, CSeq
    /// `<number> ACK`, the INVITE's Max-Forwards (70 if it had none), no body.
    fn build_ack(&self, response: &Self) -> Option<Self> {
        let headers = self.headers();
        let mut ack = Message::request(Method::Ack, self.uri()?.clone());
        ack.add_header("Via", headers.values("Via").next()?);
        ack.add_header("Max-Forwards", headers.get("Max-Forwards").unwrap_or("70"));
        for route in headers.get_all("Route") {
            ack.add_header("Route", route);
        }
        ack.add_header("From", headers.get("From")?);
        ack.add_header("To", response.headers().get("To")?);
        ack.add_header("Call-ID", headers.get("Call-ID")?);
        let (number, _) = self.cseq_parts()?;
        ack.add_header("CSeq", format_args!("{number} ACK"));
        Some(ack)
    }

    fn build_response(&self, status: u16, reason: &str) -> Option<Self> {
        self.is_request().then(|| Message::response_to(self, status, reason))
    }

    /// A branch made by an RFC 3261 element: the cookie and something after it.
    fn has_magic_cookie(&self) -> bool {
        Message::top_via_branch(self).is_some_and(|b| b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::{Event, LayerEvent, State, TimerConfig, TransactionLayer};
    use super::*;

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP pc33.Atlanta.example.com:5060;branch=z9hG4bK776asdhds\r\n\
        Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy\r\n\
        Max-Forwards: 69\r\n\
        Route: <sip:p1.example.com;lr>\r\n\
        Route: <sip:p2.example.com;lr>\r\n\
        To: Bob <sip:bob@biloxi.example.com>\r\n\
        From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
        CSeq: 314159 INVITE\r\n\
        Timestamp: 54\r\n\
        Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 4\r\n\
        \r\n\
        v=0\n";

    /// A retransmission of the same INVITE in compact form, with the sent-by
    /// host in other case: it must match the same transaction.
    const INVITE_COMPACT: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
        v: SIP/2.0/UDP PC33.atlanta.EXAMPLE.com:5060;branch=z9hG4bK776asdhds\r\n\
        v: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy\r\n\
        Max-Forwards: 69\r\n\
        t: Bob <sip:bob@biloxi.example.com>\r\n\
        f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
        i: a84b4c76e66710@pc33.atlanta.example.com\r\n\
        CSeq: 314159 INVITE\r\n\
        l: 0\r\n\
        \r\n";

    const OLD_OPTIONS: &str = "OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP old.example.com;branch=1234\r\n\
        Max-Forwards: 70\r\n\
        To: <sip:carol@chicago.example.com>\r\n\
        From: <sip:alice@atlanta.example.com>;tag=abc\r\n\
        Call-ID: old-1@old.example.com\r\n\
        CSeq: 7 OPTIONS\r\n\
        Content-Length: 0\r\n\
        \r\n";

    fn parse(text: &str) -> Message {
        match Message::parse(text.as_bytes()) {
            Ok(message) => message,
            Err(e) => panic!("test message does not parse: {e}"),
        }
    }

    #[test]
    fn accessors_read_a_parsed_request() {
        let m = &parse(INVITE);
        assert!(TransactionMessage::is_request(m));
        assert_eq!(TransactionMessage::method(m), Some("INVITE"));
        assert_eq!(TransactionMessage::status_code(m), None);
        assert_eq!(m.request_uri().as_deref(), Some("sip:bob@biloxi.example.com"));
        assert_eq!(m.cseq_number(), Some(314159));
        assert_eq!(m.cseq_method(), Some("INVITE"));
        assert_eq!(TransactionMessage::top_via_branch(m), Some("z9hG4bK776asdhds"));
        assert_eq!(m.top_via_sent_by().as_deref(), Some("pc33.Atlanta.example.com:5060"));
        assert_eq!(TransactionMessage::call_id(m), Some("a84b4c76e66710@pc33.atlanta.example.com"));
        assert_eq!(TransactionMessage::from_tag(m), Some("1928301774"));
        assert_eq!(TransactionMessage::to_tag(m), None);
        assert!(m.has_magic_cookie());
        assert!(!parse(OLD_OPTIONS).has_magic_cookie());
        assert_eq!(&parse(&String::from_utf8_lossy(&TransactionMessage::to_bytes(m))), m);
    }

    #[test]
    fn ack_for_a_non_2xx_final_response() {
        let invite = parse(INVITE);
        let busy = Message::response_to(&invite, 486, "").with_to_tag("8321234356");
        let busy = parse(&busy.to_string());
        assert_eq!(TransactionMessage::status_code(&busy), Some(486));
        let ack = invite.build_ack(&busy).expect("an ACK");
        let ack = parse(&ack.to_string());
        assert_eq!(TransactionMessage::method(&ack), Some("ACK"));
        assert_eq!(ack.request_uri(), invite.request_uri());
        assert_eq!(
            ack.headers().get_all("Via").collect::<Vec<_>>(),
            vec!["SIP/2.0/UDP pc33.Atlanta.example.com:5060;branch=z9hG4bK776asdhds"]
        );
        assert_eq!(
            ack.headers().get_all("Route").collect::<Vec<_>>(),
            vec!["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
        );
        assert_eq!(ack.headers().get("From"), invite.headers().get("From"));
        assert_eq!(TransactionMessage::to_tag(&ack), Some("8321234356"));
        assert_eq!(ack.cseq_parts(), Some((314159, "ACK")));
        assert_eq!(ack.headers().get("Max-Forwards"), Some("69"));
        assert_eq!(TransactionMessage::call_id(&ack), TransactionMessage::call_id(&invite));
        assert!(ack.body().is_empty());
        assert!(ack.headers().get("Contact").is_none());
    }

    #[test]
    fn trying_copies_the_rfc_8_2_6_fields() {
        let invite = parse(INVITE);
        let trying = invite.build_response(100, "Trying").expect("a response");
        let trying = parse(&trying.to_string());
        assert_eq!(TransactionMessage::status_code(&trying), Some(100));
        assert_eq!(trying.headers().get_all("Via").count(), 2);
        assert_eq!(trying.headers().get("Timestamp"), Some("54"));
        assert_eq!(trying.cseq_parts(), Some((314159, "INVITE")));
        assert!(trying.build_response(200, "OK").is_none(), "no response to a response");
    }

    fn roundtrip(bytes: &[u8]) -> Message {
        match Message::parse(bytes) {
            Ok(message) => message,
            Err(e) => panic!("sent bytes do not parse: {e}"),
        }
    }

    #[test]
    fn layers_exchange_real_messages() {
        let start = Instant::now();
        let mut client: TransactionLayer<Message, &str> = TransactionLayer::new(TimerConfig::default());
        let mut server: TransactionLayer<Message, &str> = TransactionLayer::new(TimerConfig::default());
        let invite = parse(INVITE);
        let client_id = client.start_client(start, invite, "server", false).unwrap();
        let sent = client.poll_transmit().unwrap();
        server.handle_message(start, roundtrip(&sent.bytes), "client", false).unwrap();
        let (server_id, request) = match server.poll_event() {
            Some(LayerEvent::NewRequest { id, request, cancels: None, source: "client" }) => (id, request),
            other => panic!("expected a new request, got {other:?}"),
        };
        // The compact-form retransmission (sent-by in other case) matches.
        server.handle_message(start + Duration::from_millis(100), parse(INVITE_COMPACT), "client", false).unwrap();
        assert_eq!(
            server.poll_event(),
            Some(LayerEvent::Transaction { id: server_id, event: Event::RetransmissionAbsorbed })
        );
        // 100 Trying after 200 ms.
        server.handle_timeout(start + Duration::from_millis(200));
        let trying = server.poll_transmit().unwrap();
        client.handle_message(start + Duration::from_millis(250), roundtrip(&trying.bytes), "server", false).unwrap();
        assert!(matches!(
            client.poll_event(),
            Some(LayerEvent::Transaction { event: Event::Provisional(r), .. }) if r.status() == Some(100)
        ));
        // CANCEL matches the INVITE's server transaction.
        let cancel = parse(&INVITE.replace("INVITE", "CANCEL"));
        server.handle_message(start + Duration::from_millis(300), cancel.clone(), "client", false).unwrap();
        let cancel_id = match server.poll_event() {
            Some(LayerEvent::NewRequest { id, cancels: Some(c), .. }) if c == server_id => id,
            other => panic!("expected the CANCEL to match, got {other:?}"),
        };
        server
            .send_response(start + Duration::from_millis(300), cancel_id, Message::response_to(&cancel, 200, ""))
            .unwrap();
        let terminated = Message::response_to(&request, 487, "").with_to_tag("srv");
        server.send_response(start + Duration::from_millis(300), server_id, terminated).unwrap();
        let sent: Vec<_> = std::iter::from_fn(|| server.poll_transmit()).collect();
        assert_eq!(sent.len(), 2);
        client.handle_message(start + Duration::from_millis(350), roundtrip(&sent[1].bytes), "server", false).unwrap();
        assert!(matches!(
            client.poll_event(),
            Some(LayerEvent::Transaction { id, event: Event::Final(r) }) if id == client_id && r.status() == Some(487)
        ));
        // The client transaction ACKs; the ACK confirms the server transaction.
        let ack = client.poll_transmit().unwrap();
        let ack = roundtrip(&ack.bytes);
        assert_eq!(TransactionMessage::method(&ack), Some("ACK"));
        server.handle_message(start + Duration::from_millis(400), ack, "client", false).unwrap();
        assert_eq!(server.state(server_id), Some(State::Confirmed));
        // The CANCEL's 200 reaches no client transaction here: stray.
        client.handle_message(start + Duration::from_millis(450), roundtrip(&sent[0].bytes), "server", false).unwrap();
        assert!(matches!(client.poll_event(), Some(LayerEvent::StrayResponse { .. })));
    }

    #[test]
    fn rfc_2543_request_is_matched_by_its_fields() {
        let now = Instant::now();
        let mut server: TransactionLayer<Message, &str> = TransactionLayer::new(TimerConfig::default());
        server.handle_message(now, parse(OLD_OPTIONS), "old", false).unwrap();
        let id = match server.poll_event() {
            Some(LayerEvent::NewRequest { id, .. }) => id,
            other => panic!("expected a new request, got {other:?}"),
        };
        server.handle_message(now, parse(OLD_OPTIONS), "old", false).unwrap();
        assert_eq!(server.poll_event(), Some(LayerEvent::Transaction { id, event: Event::RetransmissionAbsorbed }));
        let next = parse(&OLD_OPTIONS.replace("CSeq: 7", "CSeq: 8"));
        server.handle_message(now, next, "old", false).unwrap();
        assert!(matches!(server.poll_event(), Some(LayerEvent::NewRequest { id: other, .. }) if other != id));
    }
}
