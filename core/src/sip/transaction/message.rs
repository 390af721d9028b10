//! What the transaction layer needs to know about a SIP message.

use std::borrow::Cow;

/// The RFC 3261 magic cookie that starts every branch parameter created by
/// an RFC 3261 element (§8.1.1.7). Requests whose top Via branch lacks it
/// are matched with the RFC 2543 rules (§17.2.3).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// The view of a SIP message the transaction machines need: matching fields,
/// encoding, and the two messages a transaction builds itself (the ACK for a
/// non-2xx final response and the 100 Trying).
///
/// Accessors return `None` when the message lacks the field or it does not
/// parse; the machines and the layer never panic on such messages, they
/// ignore them or report [`TransactionError::MissingField`](super::TransactionError::MissingField).
/// Methods compare case-sensitively, as RFC 3261 §7.1 requires; hosts in
/// sent-by compare case-insensitively.
pub trait TransactionMessage: Clone {
    /// `true` for a request, `false` for a response.
    fn is_request(&self) -> bool;

    /// The method of the request line (`INVITE`, `ACK`, an extension method…);
    /// `None` for a response.
    fn method(&self) -> Option<&str>;

    /// The status code of a response; `None` for a request.
    fn status_code(&self) -> Option<u16>;

    /// The Request-URI of a request, as text (RFC 2543 matching compares it
    /// textually).
    fn request_uri(&self) -> Option<Cow<'_, str>>;

    /// The sequence number of the CSeq header.
    fn cseq_number(&self) -> Option<u32>;

    /// The method of the CSeq header.
    fn cseq_method(&self) -> Option<&str>;

    /// The `branch` parameter of the topmost Via header.
    fn top_via_branch(&self) -> Option<&str>;

    /// The sent-by (`host[:port]`) of the topmost Via header, as text.
    fn top_via_sent_by(&self) -> Option<Cow<'_, str>>;

    /// The Call-ID.
    fn call_id(&self) -> Option<&str>;

    /// The `tag` parameter of the From header.
    #[allow(clippy::wrong_self_convention)] // the From header's tag, not a conversion
    fn from_tag(&self) -> Option<&str>;

    /// The `tag` parameter of the To header.
    fn to_tag(&self) -> Option<&str>;

    /// The message as it goes on the wire.
    fn to_bytes(&self) -> Vec<u8>;

    /// Called on an INVITE request with a 300–699 response to it: the ACK the
    /// client transaction sends (RFC 3261 §17.1.1.3): the INVITE's
    /// Request-URI, Call-ID, From, CSeq number and Route headers, CSeq method
    /// `ACK`, the To header of the response (with its tag), a single Via equal
    /// to the INVITE's top Via, no body. `None` if it cannot be built.
    fn build_ack(&self, response: &Self) -> Option<Self>;

    /// Called on a request: a response to it with the given status and reason
    /// phrase (RFC 3261 §8.2.6: Via, From, To, Call-ID and CSeq copied, and a
    /// Timestamp if present). The server INVITE transaction uses it for
    /// `100 Trying`. `None` if it cannot be built.
    fn build_response(&self, status: u16, reason: &str) -> Option<Self>;

    /// Whether the top Via branch starts with [`MAGIC_COOKIE`] (the request
    /// was sent by an RFC 3261 element).
    fn has_magic_cookie(&self) -> bool {
        self.top_via_branch().is_some_and(|branch| branch.starts_with(MAGIC_COOKIE))
    }
}

/// A new branch parameter: [`MAGIC_COOKIE`] followed by 22 random
/// alphanumeric characters (about 130 bits), unique in space and time as
/// RFC 3261 §8.1.1.7 requires. Callable from any thread.
pub fn new_branch() -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    let mut branch = String::with_capacity(MAGIC_COOKIE.len() + 22);
    branch.push_str(MAGIC_COOKIE);
    branch.extend(rand::rng().sample_iter(Alphanumeric).take(22).map(char::from));
    branch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_branch_has_cookie_and_is_unique() {
        let a = new_branch();
        let b = new_branch();
        assert!(a.starts_with(MAGIC_COOKIE));
        assert_eq!(a.len(), MAGIC_COOKIE.len() + 22);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
