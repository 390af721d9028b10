//! Request methods (RFC 3261 §7.1, §25.1 `Method`).

use std::fmt;
use std::str::FromStr;

use super::error::ParseError;
use super::scan;

/// A SIP request method. Methods are case-sensitive: `invite` is an
/// extension method, not [`Method::Invite`]. Any `token` is a valid method.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// REGISTER (RFC 3261).
    Register,
    /// OPTIONS (RFC 3261).
    Options,
    /// MESSAGE (RFC 3428).
    Message,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// PUBLISH (RFC 3903).
    Publish,
    /// REFER (RFC 3515).
    Refer,
    /// INFO (RFC 6086).
    Info,
    /// UPDATE (RFC 3311).
    Update,
    /// PRACK (RFC 3262).
    Prack,
    /// Any other method, as written.
    Extension(String),
}

impl Method {
    /// Every method this module names, in a stable order (useful for Allow).
    pub const STANDARD: [Method; 14] = [
        Method::Invite,
        Method::Ack,
        Method::Bye,
        Method::Cancel,
        Method::Register,
        Method::Options,
        Method::Message,
        Method::Subscribe,
        Method::Notify,
        Method::Publish,
        Method::Refer,
        Method::Info,
        Method::Update,
        Method::Prack,
    ];

    /// The method named by `s`, which must be a non-empty `token`.
    pub fn parse(s: &str) -> Result<Method, ParseError> {
        if !scan::all(s.as_bytes(), scan::TOKEN) {
            return Err(ParseError::value("method", "not a token"));
        }
        Ok(Method::from_token(s))
    }

    /// The method named by an already validated token (no check).
    pub(crate) fn from_token(s: &str) -> Method {
        let b = s.as_bytes();
        let known = match (b.len(), b.first()) {
            (3, Some(b'A')) if b == b"ACK" => Some(Method::Ack),
            (3, Some(b'B')) if b == b"BYE" => Some(Method::Bye),
            (4, Some(b'I')) if b == b"INFO" => Some(Method::Info),
            (5, Some(b'P')) if b == b"PRACK" => Some(Method::Prack),
            (5, Some(b'R')) if b == b"REFER" => Some(Method::Refer),
            (6, Some(b'C')) if b == b"CANCEL" => Some(Method::Cancel),
            (6, Some(b'I')) if b == b"INVITE" => Some(Method::Invite),
            (6, Some(b'N')) if b == b"NOTIFY" => Some(Method::Notify),
            (6, Some(b'U')) if b == b"UPDATE" => Some(Method::Update),
            (7, Some(b'M')) if b == b"MESSAGE" => Some(Method::Message),
            (7, Some(b'O')) if b == b"OPTIONS" => Some(Method::Options),
            (7, Some(b'P')) if b == b"PUBLISH" => Some(Method::Publish),
            (8, Some(b'R')) if b == b"REGISTER" => Some(Method::Register),
            (9, Some(b'S')) if b == b"SUBSCRIBE" => Some(Method::Subscribe),
            _ => None,
        };
        known.unwrap_or_else(|| Method::Extension(s.to_owned()))
    }

    /// The method name as it goes on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Message => "MESSAGE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Publish => "PUBLISH",
            Method::Refer => "REFER",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Extension(s) => s,
        }
    }

    /// Whether this is an extension (unknown) method.
    pub fn is_extension(&self) -> bool {
        matches!(self, Method::Extension(_))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Method, ParseError> {
        Method::parse(s)
    }
}

impl PartialEq<str> for Method {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Method {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_extension() {
        for m in Method::STANDARD {
            assert_eq!(Method::parse(m.as_str()), Ok(m.clone()));
            assert!(!m.is_extension());
        }
        assert_eq!(Method::parse("invite"), Ok(Method::Extension("invite".into())));
        let odd = "!interesting-Method0123456789_*+`.%indeed'~";
        assert_eq!(Method::parse(odd).map(|m| m.to_string()), Ok(odd.to_owned()));
        assert!(Method::parse("RE%47IST%45R").is_ok_and(|m| m.is_extension()));
        assert!(Method::parse("").is_err());
        assert!(Method::parse("IN VITE").is_err());
        assert!(Method::parse("<INVITE>").is_err());
        assert_eq!(Method::Invite, "INVITE");
        assert_eq!("BYE".parse::<Method>(), Ok(Method::Bye));
    }
}
