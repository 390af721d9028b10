//! SIP digest authentication, client side (RFC 2617, RFC 7616, RFC 8760).
//!
//! Sans-IO and independent of the message types: the caller takes the values
//! of the `WWW-Authenticate` (401) or `Proxy-Authenticate` (407) header
//! fields out of a response, parses them with [`Challenge::parse_all`], and
//! puts the strings returned by [`DigestClient::respond`] into
//! `Authorization` or `Proxy-Authorization` header fields of the retried
//! request (the same header family the challenge came in).
//!
//! Supported: the algorithms MD5, MD5-sess, SHA-256, SHA-256-sess,
//! SHA-512-256 and SHA-512-256-sess; qop `auth` and `auth-int`, and the
//! RFC 2069 form without qop that RFC 3261 allows; `stale`; `opaque`;
//! `userhash`. Nonce counts are written as 8 lowercase hexadecimal digits.
//!
//! ```
//! use sipsimple_core::account::Secret;
//! use sipsimple_core::sip::auth::{AuthError, Challenge, DigestClient};
//!
//! let mut client = DigestClient::new("alice", Secret::new("wonderland"));
//! // A REGISTER without credentials was answered 401 with these challenges.
//! let values = [
//!     r#"Digest realm="example.com", nonce="a1b2", algorithm=MD5, qop="auth""#,
//!     r#"Digest realm="example.com", nonce="c3d4", algorithm=SHA-256, qop="auth""#,
//! ];
//! let challenges = Challenge::parse_all(values)?;
//! for challenge in &challenges {
//!     // The SHA-256 challenge is chosen; the value goes into `Authorization`.
//!     let value = client.respond("REGISTER", "sip:example.com", b"", challenge)?;
//!     assert!(value.contains("algorithm=SHA-256"));
//! }
//! // The retried REGISTER is answered 401 again without `stale`: the
//! // password is wrong, so the registration stops retrying.
//! let again = Challenge::parse(r#"Digest realm="example.com", nonce="e5f6", algorithm=SHA-256"#)?;
//! assert!(client.is_credential_failure(&again));
//! assert!(matches!(
//!     client.respond("REGISTER", "sip:example.com", b"", &again),
//!     Err(AuthError::CredentialsRejected { .. })
//! ));
//! # Ok::<(), AuthError>(())
//! ```

use std::borrow::Cow;
use std::fmt;

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

use crate::account::{Credentials, Secret};

/// At most this many parameters are accepted in one challenge.
const MAX_PARAMS: usize = 64;
/// At most this many `stale=true` answers in a row to a nonce used once.
const MAX_STALE_IN_A_ROW: u32 = 3;
/// Server-supplied text quoted in errors is cut to this many characters.
const EXCERPT_CHARS: usize = 64;

/// Why a challenge could not be parsed or answered.
///
/// The messages quote at most a short excerpt of the server's text and never
/// contain the password, HA1 or a response digest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The header value is not a well-formed list of challenges.
    #[error("malformed authentication challenge: {0}")]
    Syntax(String),
    /// The header values hold no `Digest` challenge (the schemes found are listed).
    #[error("no Digest challenge (schemes offered: {0})")]
    NoDigestChallenge(String),
    /// A `Digest` challenge lacks a required parameter (`realm`, `nonce`).
    #[error("Digest challenge without the {0} parameter")]
    MissingParameter(&'static str),
    /// A `Digest` challenge has the same parameter twice.
    #[error("Digest challenge with the {0} parameter twice")]
    DuplicateParameter(String),
    /// The challenge asks for a digest algorithm this client does not implement.
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The challenge offers only quality-of-protection values this client does
    /// not implement.
    #[error("unsupported digest qop {0:?}")]
    UnsupportedQop(String),
    /// The server challenged again, without `stale=true`, a request that
    /// answered a fresh challenge of this realm: the credentials are wrong.
    /// Stop retrying until the credentials change.
    #[error("the credentials for realm {realm:?} were rejected")]
    CredentialsRejected {
        /// The realm whose credentials were rejected.
        realm: String,
    },
    /// The server keeps declaring fresh nonces of this realm stale.
    #[error("the server declared the nonces of realm {realm:?} stale too many times in a row")]
    TooManyStale {
        /// The realm concerned.
        realm: String,
    },
}

/// A digest algorithm (RFC 7616 §3.3, RFC 8760 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `MD5`: the default when a challenge names no algorithm.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256` (SHA-512/256).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
}

impl Algorithm {
    /// Parses an algorithm name, ignoring ASCII case; `None` if unknown.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
            Algorithm::Sha512_256,
            Algorithm::Sha512_256Sess,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }

    /// The name as written in the `algorithm` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    /// True for the `-sess` variants, whose HA1 also covers the nonce and cnonce.
    pub fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess)
    }

    /// The rank used to choose among challenges: higher is stronger. A `-sess`
    /// variant ranks with its hash function.
    pub fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => 3,
        }
    }

    /// The lowercase hexadecimal hash of `parts` joined with `:`.
    fn hash(self, parts: &[&[u8]]) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hash_hex::<Md5>(parts),
            Algorithm::Sha256 | Algorithm::Sha256Sess => hash_hex::<Sha256>(parts),
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => hash_hex::<Sha512_256>(parts),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A quality of protection (RFC 2617 §3.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Qop {
    /// `auth`: the request method and URI are protected.
    Auth,
    /// `auth-int`: the message body is protected as well.
    AuthInt,
}

impl Qop {
    /// Parses a qop value, ignoring ASCII case; `None` if unknown.
    pub fn from_name(name: &str) -> Option<Qop> {
        [Qop::Auth, Qop::AuthInt].into_iter().find(|q| q.as_str().eq_ignore_ascii_case(name))
    }

    /// The value as written in the `qop` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `Digest` challenge from a `WWW-Authenticate` or `Proxy-Authenticate`
/// header value. Values are unquoted and unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge {
    /// `realm`: the protection space; credentials are kept per realm.
    pub realm: String,
    /// `nonce`: the server's nonce.
    pub nonce: String,
    /// `opaque`: echoed unchanged in the answer.
    pub opaque: Option<String>,
    /// `stale=true`: the previous nonce expired but the credentials were good.
    pub stale: bool,
    /// `algorithm`: [`Algorithm::Md5`] when absent.
    pub algorithm: Algorithm,
    /// `qop`: the supported values offered, in the server's order (unknown
    /// ones dropped); empty when the challenge has no `qop` (RFC 2069 form).
    pub qop: Vec<Qop>,
    /// `domain`: the URIs of the protection space.
    pub domain: Vec<String>,
    /// `userhash=true`: the answer must carry a hashed user name (RFC 7616 §3.4.4).
    pub userhash: bool,
    /// `charset=UTF-8` was given (user name and password are always hashed as UTF-8).
    pub charset_utf8: bool,
}

impl Challenge {
    /// Parses one header value and returns the strongest supported `Digest`
    /// challenge in it (see [`Challenge::parse_all`] for the choice). The
    /// value may hold several challenges, of any schemes, separated by commas.
    pub fn parse(value: &str) -> Result<Challenge, AuthError> {
        let mut best: Option<Challenge> = None;
        for challenge in Self::parse_all([value])? {
            if best.as_ref().is_none_or(|b| challenge.algorithm.strength() > b.algorithm.strength()) {
                best = Some(challenge);
            }
        }
        best.ok_or_else(|| AuthError::NoDigestChallenge("none".into()))
    }

    /// Parses the values of all the `WWW-Authenticate` (or all the
    /// `Proxy-Authenticate`) header fields of one response and returns, for
    /// each realm, the strongest supported `Digest` challenge (RFC 8760:
    /// SHA-512-256 before SHA-256 before MD5; on a tie, the first offered),
    /// realms in the order they first appear. Every returned challenge must
    /// be answered in the retried request.
    ///
    /// Other schemes are skipped; so are `Digest` challenges with an unknown
    /// algorithm or qop, as long as another one is usable. A value that is
    /// not well formed is skipped as a whole. With no usable challenge, the
    /// first error met is returned ([`AuthError::NoDigestChallenge`] if there
    /// was none).
    pub fn parse_all<'v, I>(values: I) -> Result<Vec<Challenge>, AuthError>
    where
        I: IntoIterator<Item = &'v str>,
    {
        let mut chosen: Vec<Challenge> = Vec::new();
        let mut first_error: Option<AuthError> = None;
        let mut schemes: Vec<String> = Vec::new();
        for value in values {
            let raw = match parse_raw(value) {
                Ok(raw) => raw,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            for r in raw {
                if !r.scheme.eq_ignore_ascii_case("Digest") {
                    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(r.scheme)) && schemes.len() < 8 {
                        schemes.push(excerpt(r.scheme));
                    }
                    continue;
                }
                match Challenge::from_raw(&r) {
                    Ok(challenge) => match chosen.iter_mut().find(|c| c.realm == challenge.realm) {
                        Some(c) if challenge.algorithm.strength() > c.algorithm.strength() => *c = challenge,
                        Some(_) => {}
                        None => chosen.push(challenge),
                    },
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        if !chosen.is_empty() {
            return Ok(chosen);
        }
        Err(first_error.unwrap_or_else(|| {
            AuthError::NoDigestChallenge(if schemes.is_empty() { "none".into() } else { schemes.join(", ") })
        }))
    }

    fn from_raw(raw: &RawChallenge<'_>) -> Result<Challenge, AuthError> {
        for (i, (name, _)) in raw.params.iter().enumerate() {
            if raw.params[..i].iter().any(|(other, _)| other.eq_ignore_ascii_case(name)) {
                return Err(AuthError::DuplicateParameter(excerpt(name)));
            }
        }
        let param = |key: &str| raw.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_ref());
        let realm = param("realm").ok_or(AuthError::MissingParameter("realm"))?;
        let nonce = param("nonce").ok_or(AuthError::MissingParameter("nonce"))?;
        let algorithm = match param("algorithm") {
            None => Algorithm::Md5,
            Some(name) => {
                Algorithm::from_name(name.trim()).ok_or_else(|| AuthError::UnsupportedAlgorithm(excerpt(name)))?
            }
        };
        let mut qop = Vec::new();
        if let Some(list) = param("qop").filter(|l| !l.trim().is_empty()) {
            for q in list.split(',').filter_map(|q| Qop::from_name(q.trim())) {
                if !qop.contains(&q) {
                    qop.push(q);
                }
            }
            if qop.is_empty() {
                return Err(AuthError::UnsupportedQop(excerpt(list)));
            }
        }
        let is_true = |key: &str| param(key).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        Ok(Challenge {
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            opaque: param("opaque").map(str::to_owned),
            stale: is_true("stale"),
            algorithm,
            qop,
            domain: param("domain").map(|d| d.split_whitespace().map(str::to_owned).collect()).unwrap_or_default(),
            userhash: is_true("userhash"),
            charset_utf8: param("charset").is_some_and(|c| c.trim().eq_ignore_ascii_case("UTF-8")),
        })
    }
}

/// The answers to the challenges of one realm.
#[derive(Clone)]
struct RealmState {
    /// The challenge last answered; its nonce is the current one.
    challenge: Challenge,
    /// How many answers used the current nonce (the last `nc` sent).
    nc: u32,
    /// An answer was produced since the last [`DigestClient::request_ended`].
    pending: bool,
    /// `stale=true` challenges in a row that followed the first use of a nonce.
    stale_in_a_row: u32,
}

/// The digest client of one registration or one dialog: holds the
/// credentials, the current challenge of each realm and its nonce count.
///
/// Plain data, owned by its registration or dialog and used from the thread
/// that drives it; nothing is posted. The password is never printed:
/// `Debug` shows the user name and the realms only.
///
/// Use: for each challenge of a 401/407 response (from
/// [`Challenge::parse_all`]), call [`DigestClient::respond`] and add the
/// value to the retried request; it fails with
/// [`AuthError::CredentialsRejected`] when the credentials were just
/// refused, so the caller stops retrying. When a request that carried
/// credentials ends other than with a 401/407, call
/// [`DigestClient::request_ended`]. Later requests may carry credentials at once
/// ([`DigestClient::challenge`] then [`DigestClient::authorize`]), reusing
/// the nonce with the next nonce count.
#[derive(Clone)]
pub struct DigestClient {
    username: String,
    password: Secret,
    qop_preference: Qop,
    realms: Vec<(String, RealmState)>,
}

impl fmt::Debug for DigestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestClient")
            .field("username", &self.username)
            .field("password", &self.password)
            .field("qop_preference", &self.qop_preference)
            .field("realms", &self.realms.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

impl DigestClient {
    /// A client for `username` and `password` with no challenge yet, which
    /// prefers qop `auth` when `auth` and `auth-int` are both offered.
    pub fn new(username: impl Into<String>, password: Secret) -> Self {
        DigestClient { username: username.into(), password, qop_preference: Qop::Auth, realms: Vec::new() }
    }

    /// A client for an account's credentials (`Account::credentials()`).
    pub fn from_credentials(credentials: &Credentials) -> Self {
        Self::new(credentials.username.clone(), credentials.password.clone())
    }

    /// The user name the answers are made for.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Replaces the credentials (the account's password or user name
    /// changed) and forgets every challenge, so a registration that stopped
    /// on [`AuthError::CredentialsRejected`] may try again.
    pub fn set_credentials(&mut self, username: impl Into<String>, password: Secret) {
        self.username = username.into();
        self.password = password;
        self.realms.clear();
    }

    /// The qop chosen when a challenge offers both `auth` and `auth-int`
    /// (default `auth`). A challenge that offers only one gets that one.
    pub fn set_qop_preference(&mut self, qop: Qop) {
        self.qop_preference = qop;
    }

    /// The qop chosen when both are offered.
    pub fn qop_preference(&self) -> Qop {
        self.qop_preference
    }

    /// The realms that have a current challenge, in the order first seen.
    pub fn realms(&self) -> impl Iterator<Item = &str> {
        self.realms.iter().map(|(r, _)| r.as_str())
    }

    /// The current challenge of `realm`, to answer it again on a new request
    /// with [`DigestClient::authorize`] (the nonce count goes up).
    pub fn challenge(&self, realm: &str) -> Option<&Challenge> {
        self.state(realm).map(|s| &s.challenge)
    }

    /// Forgets the challenge of `realm`; true if there was one.
    pub fn forget(&mut self, realm: &str) -> bool {
        let before = self.realms.len();
        self.realms.retain(|(r, _)| r != realm);
        self.realms.len() != before
    }

    /// Call when a request that carried the answers ended other than with a
    /// 401/407: a final response (the credentials were good), a timeout or a
    /// transport error. The next challenge of these realms is then not
    /// counted as a rejection, even if that request carries no credentials.
    pub fn request_ended(&mut self) {
        for (_, state) in &mut self.realms {
            state.pending = false;
            state.stale_in_a_row = 0;
        }
    }

    /// True when `challenge`, received in answer to the last request, means
    /// the credentials are wrong: it is not `stale`, its realm was answered
    /// since the last [`DigestClient::request_ended`], and that answer either used
    /// the same nonce or was the first use of a fresh nonce. (A server may
    /// send a new nonce with each rejection; a challenge that follows a reuse
    /// of an older nonce is a new nonce to try, not a rejection.)
    pub fn is_credential_failure(&self, challenge: &Challenge) -> bool {
        match self.state(&challenge.realm) {
            Some(state) if state.pending && !challenge.stale => {
                state.challenge.nonce == challenge.nonce || state.nc <= 1
            }
            _ => false,
        }
    }

    /// Answers a challenge received in a 401/407 response: checks
    /// [`DigestClient::is_credential_failure`] (then
    /// [`AuthError::CredentialsRejected`]) and guards against a server that
    /// declares every fresh nonce stale ([`AuthError::TooManyStale`]), then
    /// returns [`DigestClient::authorize`]'s value. `stale=true` restarts
    /// with the new nonce and is never a credential failure.
    pub fn respond(
        &mut self,
        method: &str,
        uri: &str,
        body: &[u8],
        challenge: &Challenge,
    ) -> Result<String, AuthError> {
        if self.is_credential_failure(challenge) {
            return Err(AuthError::CredentialsRejected { realm: challenge.realm.clone() });
        }
        if let Some(state) = self.state_mut(&challenge.realm) {
            if challenge.stale && state.pending && state.nc <= 1 {
                state.stale_in_a_row += 1;
                if state.stale_in_a_row > MAX_STALE_IN_A_ROW {
                    return Err(AuthError::TooManyStale { realm: challenge.realm.clone() });
                }
            } else {
                state.stale_in_a_row = 0;
            }
        }
        Ok(self.authorize(method, uri, body, challenge))
    }

    /// The `Authorization` / `Proxy-Authorization` header value answering
    /// `challenge` for a request with this `method`, Request-URI `uri` and
    /// `body` (hashed only for qop `auth-int`). It becomes the realm's
    /// current challenge; using the same nonce again increments the nonce
    /// count, a new nonce restarts it at 1. A fresh random `cnonce` is used
    /// each time. Control characters that a quoted string cannot hold (all but
    /// tab) are left out of the `uri` and user name in the header value.
    pub fn authorize(&mut self, method: &str, uri: &str, body: &[u8], challenge: &Challenge) -> String {
        let cnonce = hex(&rand::random::<[u8; 16]>());
        self.authorize_with_cnonce(method, uri, body, challenge, &cnonce)
    }

    fn authorize_with_cnonce(
        &mut self,
        method: &str,
        uri: &str,
        body: &[u8],
        challenge: &Challenge,
        cnonce: &str,
    ) -> String {
        let nc = match self.state_mut(&challenge.realm) {
            Some(state) => {
                let nc = if state.challenge.nonce == challenge.nonce { state.nc.saturating_add(1) } else { 1 };
                let stale_in_a_row = state.stale_in_a_row;
                *state = RealmState { challenge: challenge.clone(), nc, pending: true, stale_in_a_row };
                nc
            }
            None => {
                let state = RealmState { challenge: challenge.clone(), nc: 1, pending: true, stale_in_a_row: 0 };
                self.realms.push((challenge.realm.clone(), state));
                1
            }
        };
        let qop = if challenge.qop.contains(&self.qop_preference) {
            Some(self.qop_preference)
        } else {
            challenge.qop.first().copied()
        };
        let nc_text = format!("{nc:08x}");
        let alg = challenge.algorithm;
        let response = {
            let realm = challenge.realm.as_bytes();
            let nonce = challenge.nonce.as_bytes();
            let mut ha1 = alg.hash(&[self.username.as_bytes(), realm, self.password.expose().as_bytes()]);
            if alg.is_session() {
                ha1 = alg.hash(&[ha1.as_bytes(), nonce, cnonce.as_bytes()]);
            }
            let ha2 = match qop {
                Some(Qop::AuthInt) => alg.hash(&[method.as_bytes(), uri.as_bytes(), alg.hash(&[body]).as_bytes()]),
                _ => alg.hash(&[method.as_bytes(), uri.as_bytes()]),
            };
            match qop {
                Some(q) => alg.hash(&[
                    ha1.as_bytes(),
                    nonce,
                    nc_text.as_bytes(),
                    cnonce.as_bytes(),
                    q.as_str().as_bytes(),
                    ha2.as_bytes(),
                ]),
                None => alg.hash(&[ha1.as_bytes(), nonce, ha2.as_bytes()]),
            }
        };

        let mut out = String::with_capacity(256);
        out.push_str("Digest ");
        if challenge.userhash {
            let hashed = alg.hash(&[self.username.as_bytes(), challenge.realm.as_bytes()]);
            push_quoted(&mut out, "username", &hashed);
        } else {
            push_quoted(&mut out, "username", &self.username);
        }
        out.push_str(", ");
        push_quoted(&mut out, "realm", &challenge.realm);
        out.push_str(", ");
        push_quoted(&mut out, "nonce", &challenge.nonce);
        out.push_str(", ");
        push_quoted(&mut out, "uri", uri);
        out.push_str(", ");
        push_quoted(&mut out, "response", &response);
        out.push_str(", algorithm=");
        out.push_str(alg.as_str());
        if qop.is_some() || alg.is_session() {
            out.push_str(", ");
            push_quoted(&mut out, "cnonce", cnonce);
        }
        if let Some(opaque) = &challenge.opaque {
            out.push_str(", ");
            push_quoted(&mut out, "opaque", opaque);
        }
        if let Some(q) = qop {
            out.push_str(", qop=");
            out.push_str(q.as_str());
            out.push_str(", nc=");
            out.push_str(&nc_text);
        }
        if challenge.userhash {
            out.push_str(", userhash=true");
        }
        out
    }

    fn state(&self, realm: &str) -> Option<&RealmState> {
        self.realms.iter().find(|(r, _)| r == realm).map(|(_, s)| s)
    }

    fn state_mut(&mut self, realm: &str) -> Option<&mut RealmState> {
        self.realms.iter_mut().find(|(r, _)| r == realm).map(|(_, s)| s)
    }
}

/// Lowercase hexadecimal.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn hash_hex<D: Digest>(parts: &[&[u8]]) -> String {
    let mut d = D::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            d.update(b":");
        }
        d.update(part);
    }
    hex(&d.finalize())
}

/// Appends `name="value"`, escaping `"` and `\` and leaving out the control
/// characters a quoted string cannot hold (all but tab).
fn push_quoted(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out.push('"');
}

/// At most [`EXCERPT_CHARS`] characters of server text, for error messages.
fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(EXCERPT_CHARS).filter(|c| !c.is_control()).collect();
    if s.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// A challenge of any scheme, as written.
struct RawChallenge<'a> {
    scheme: &'a str,
    params: Vec<(&'a str, Cow<'a, str>)>,
}

/// Splits a header value into challenges (RFC 7235 §4.1 / RFC 3261 §25.1):
/// `scheme` followed by comma-separated `name=value` parameters, where the
/// value is a token or a quoted string; a token68 (other schemes) is kept as
/// a parameter with an empty value. Whitespace (including line breaks) may
/// appear between any two elements; missing commas between parameters are
/// tolerated.
fn parse_raw(value: &str) -> Result<Vec<RawChallenge<'_>>, AuthError> {
    let mut cursor = Cursor { text: value, pos: 0 };
    let mut out: Vec<RawChallenge<'_>> = Vec::new();
    loop {
        cursor.skip(|b| is_ws(b) || b == b',');
        let Some(next) = cursor.peek() else { break };
        let at = cursor.pos;
        let word = cursor.word();
        if word.is_empty() {
            return Err(AuthError::Syntax(format!("unexpected {:?} at offset {at}", char::from(next))));
        }
        cursor.skip(is_ws);
        if cursor.peek() != Some(b'=') {
            out.push(RawChallenge { scheme: word, params: Vec::new() });
            continue;
        }
        cursor.pos += 1;
        let Some(current) = out.last_mut() else {
            return Err(AuthError::Syntax(format!("parameter {:?} before any scheme", excerpt(word))));
        };
        if current.params.len() >= MAX_PARAMS {
            return Err(AuthError::Syntax("too many parameters".into()));
        }
        cursor.skip(is_ws);
        let param_value = if cursor.peek() == Some(b'"') {
            cursor.quoted()?
        } else {
            let token = cursor.word();
            // token68 padding, e.g. `Negotiate abc==`.
            cursor.skip(|b| b == b'=');
            Cow::Borrowed(token)
        };
        current.params.push((word, param_value));
    }
    Ok(out)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip(&mut self, pred: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
    }

    /// A run of bytes other than whitespace, `,`, `=`, `"` and control
    /// characters (a token, or a token68 without its padding).
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        self.skip(|b| !matches!(b, b',' | b'=' | b'"') && !is_ws(b) && !b.is_ascii_control());
        // Both ends sit next to ASCII bytes or at the ends, so on char boundaries.
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// A quoted string starting at the current `"`, with quoted pairs resolved.
    fn quoted(&mut self) -> Result<Cow<'a, str>, AuthError> {
        let bytes = self.text.as_bytes();
        self.pos += 1;
        let start = self.pos;
        let mut unescaped: Option<Vec<u8>> = None;
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err(AuthError::Syntax("unterminated quoted string".into()));
            };
            match b {
                b'"' => {
                    let end = self.pos;
                    self.pos += 1;
                    return match unescaped {
                        None => self
                            .text
                            .get(start..end)
                            .map(Cow::Borrowed)
                            .ok_or_else(|| AuthError::Syntax("invalid quoted string".into())),
                        Some(buf) => String::from_utf8(buf)
                            .map(Cow::Owned)
                            .map_err(|_| AuthError::Syntax("invalid quoted string".into())),
                    };
                }
                b'\\' => {
                    let Some(&escaped) = bytes.get(self.pos + 1) else {
                        return Err(AuthError::Syntax("unterminated quoted string".into()));
                    };
                    if escaped.is_ascii_control() && escaped != b'\t' {
                        return Err(AuthError::Syntax("control character in a quoted string".into()));
                    }
                    unescaped.get_or_insert_with(|| bytes[start..self.pos].to_vec()).push(escaped);
                    self.pos += 2;
                }
                b if b.is_ascii_control() && b != b'\t' => {
                    return Err(AuthError::Syntax("control character in a quoted string".into()));
                }
                b => {
                    if let Some(buf) = unescaped.as_mut() {
                        buf.push(b);
                    }
                    self.pos += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The parameters of an `Authorization` value, parsed back.
    fn params(value: &str) -> Vec<(String, String)> {
        let raw = parse_raw(value).expect("well-formed header value");
        assert_eq!(raw.len(), 1, "one credentials item in {value:?}");
        assert_eq!(raw[0].scheme, "Digest");
        raw[0].params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    fn param(value: &str, name: &str) -> Option<String> {
        params(value).into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    const RFC2617_CHALLENGE: &str = "Digest\r\n realm=\"testrealm@host.com\",\r\n qop=\"auth,auth-int\",\r\n \
        nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

    #[test]
    fn rfc2617_example() {
        let challenge = Challenge::parse(RFC2617_CHALLENGE).unwrap();
        assert_eq!(challenge.realm, "testrealm@host.com");
        assert_eq!(challenge.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
        assert_eq!(challenge.opaque.as_deref(), Some("5ccc069c403ebaf9f0171e9517f40e41"));
        assert_eq!(challenge.qop, vec![Qop::Auth, Qop::AuthInt]);
        assert_eq!(challenge.algorithm, Algorithm::Md5);
        assert!(!challenge.stale);

        let mut client = DigestClient::new("Mufasa", Secret::new("Circle Of Life"));
        let value = client.authorize_with_cnonce("GET", "/dir/index.html", b"", &challenge, "0a4f113b");
        assert_eq!(
            params(&value),
            [
                ("username", "Mufasa"),
                ("realm", "testrealm@host.com"),
                ("nonce", "dcd98b7102dd2f0e8b11d0f600bfb0c093"),
                ("uri", "/dir/index.html"),
                ("response", "6629fae49393a05397450978507c4ef1"),
                ("algorithm", "MD5"),
                ("cnonce", "0a4f113b"),
                ("opaque", "5ccc069c403ebaf9f0171e9517f40e41"),
                ("qop", "auth"),
                ("nc", "00000001"),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()))
        );
        assert!(value.contains(", qop=auth, nc=00000001"), "qop and nc are tokens: {value}");
    }

    const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const RFC7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc7616_challenge(algorithm: &str) -> String {
        format!(
            "Digest\n    realm=\"http-auth@example.org\",\n    qop=\"auth, auth-int\",\n    algorithm={algorithm},\n    \
             nonce=\"{RFC7616_NONCE}\",\n    opaque=\"{RFC7616_OPAQUE}\""
        )
    }

    #[test]
    fn rfc7616_examples() {
        // RFC 7616 §3.9.1: the server offers SHA-256 first, then MD5.
        let values = [rfc7616_challenge("SHA-256"), rfc7616_challenge("MD5")];
        for (algorithm, expected) in [
            ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ] {
            let challenge = Challenge::parse(&rfc7616_challenge(algorithm)).unwrap();
            assert_eq!(challenge.algorithm.as_str(), algorithm);
            let mut client = DigestClient::new("Mufasa", Secret::new("Circle of Life"));
            let value = client.authorize_with_cnonce("GET", "/dir/index.html", b"", &challenge, RFC7616_CNONCE);
            assert_eq!(param(&value, "response").as_deref(), Some(expected), "{algorithm}");
            assert_eq!(param(&value, "algorithm").as_deref(), Some(algorithm));
            assert_eq!(param(&value, "opaque").as_deref(), Some(RFC7616_OPAQUE));
            assert_eq!(param(&value, "nc").as_deref(), Some("00000001"));
        }
        // Both in one response, in either order: SHA-256 is chosen.
        for order in [[0, 1], [1, 0]] {
            let chosen = Challenge::parse_all(order.map(|i| values[i].as_str())).unwrap();
            assert_eq!(chosen.len(), 1);
            assert_eq!(chosen[0].algorithm, Algorithm::Sha256);
        }
        let joined = format!("{}, {}", values[1], values[0]);
        assert_eq!(Challenge::parse(&joined).unwrap().algorithm, Algorithm::Sha256);
    }

    #[test]
    fn userhash_sha512_256() {
        // The inputs of RFC 7616 §3.9.2. The digests printed there are the
        // subject of erratum 4897; these were computed independently.
        let challenge = Challenge::parse(
            "Digest realm=\"api@example.org\", qop=\"auth\", algorithm=SHA-512-256, \
             nonce=\"5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK\", \
             opaque=\"HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS\", charset=UTF-8, userhash=true",
        )
        .unwrap();
        assert!(challenge.userhash && challenge.charset_utf8);
        let mut client = DigestClient::new("J\u{e4}s\u{f8}n Doe", Secret::new("Secret, or not?"));
        let value = client.authorize_with_cnonce(
            "GET",
            "/doe.json",
            b"",
            &challenge,
            "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
        );
        assert_eq!(
            param(&value, "username").as_deref(),
            Some("793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b")
        );
        assert_eq!(
            param(&value, "response").as_deref(),
            Some("3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5")
        );
        assert_eq!(param(&value, "userhash").as_deref(), Some("true"));
        assert_eq!(param(&value, "algorithm").as_deref(), Some("SHA-512-256"));
    }

    const BOB_NONCE: &str = "dcd98b7102dd2f0e8b11d0f600bfb0c093";

    fn bob() -> DigestClient {
        DigestClient::new("bob", Secret::new("zanzibar"))
    }

    #[test]
    fn rfc3261_digest_without_qop() {
        let challenge =
            Challenge::parse(&format!("Digest realm=\"biloxi.com\", nonce=\"{BOB_NONCE}\", algorithm=MD5")).unwrap();
        assert!(challenge.qop.is_empty());
        let value = bob().authorize("REGISTER", "sip:biloxi.com", b"", &challenge);
        // response = MD5(HA1:nonce:HA2), and no cnonce, qop or nc.
        assert_eq!(param(&value, "response").as_deref(), Some("4441045a8075db3ead543693997e2a0e"));
        for absent in ["cnonce", "qop", "nc", "opaque", "userhash"] {
            assert_eq!(param(&value, absent), None, "{absent} in {value}");
        }
    }

    #[test]
    fn md5_sess_and_sha256_sess() {
        let challenge =
            Challenge::parse(&format!("Digest realm=\"biloxi.com\",nonce=\"{BOB_NONCE}\",algorithm=md5-SESS,qop=auth"))
                .unwrap();
        assert_eq!(challenge.algorithm, Algorithm::Md5Sess);
        let value = bob().authorize_with_cnonce("INVITE", "sip:alice@atlanta.com", b"", &challenge, "0a4f113b");
        assert_eq!(param(&value, "response").as_deref(), Some("54123ce76b26988c1f1b606d364b3d35"));
        assert_eq!(param(&value, "algorithm").as_deref(), Some("MD5-sess"));

        let challenge = Challenge::parse(&format!(
            "Digest realm=\"biloxi.com\",nonce=\"{BOB_NONCE}\",algorithm=SHA-256-sess,qop=auth"
        ))
        .unwrap();
        let mut client = bob();
        client.authorize_with_cnonce("REGISTER", "sip:biloxi.com", b"", &challenge, "0a4f113b");
        let value = client.authorize_with_cnonce("REGISTER", "sip:biloxi.com", b"", &challenge, "0a4f113b");
        assert_eq!(param(&value, "nc").as_deref(), Some("00000002"));
        assert_eq!(
            param(&value, "response").as_deref(),
            Some("40fb4705be6765fa1ee8278d3169ce959b91e88a04b2608b9fa273fda27eba9e")
        );
    }

    #[test]
    fn auth_int_protects_the_body() {
        let body = b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n";
        let only_int =
            Challenge::parse(&format!("Digest realm=\"biloxi.com\", nonce=\"{BOB_NONCE}\", qop=\"auth-int\"")).unwrap();
        assert_eq!(only_int.qop, vec![Qop::AuthInt]);
        let value = bob().authorize_with_cnonce("INVITE", "sip:alice@atlanta.com", body, &only_int, "0a4f113b");
        assert_eq!(param(&value, "qop").as_deref(), Some("auth-int"));
        assert_eq!(param(&value, "response").as_deref(), Some("dac22f5ee7f9de64862bbfaa87865491"));
        let value = bob().authorize_with_cnonce("INVITE", "sip:alice@atlanta.com", b"", &only_int, "0a4f113b");
        assert_eq!(param(&value, "response").as_deref(), Some("902ce4081962cd33b2623d4dbad6e6a7"));

        // Both offered: `auth` unless configured otherwise.
        let both =
            Challenge::parse(&format!("Digest realm=\"biloxi.com\", nonce=\"{BOB_NONCE}\", qop=\"auth-int,auth\""))
                .unwrap();
        let mut client = bob();
        assert_eq!(client.qop_preference(), Qop::Auth);
        assert_eq!(param(&client.authorize("INVITE", "sip:a@b", body, &both), "qop").as_deref(), Some("auth"));
        client.set_qop_preference(Qop::AuthInt);
        let value = client.authorize_with_cnonce("INVITE", "sip:alice@atlanta.com", body, &both, "0a4f113b");
        assert_eq!(param(&value, "qop").as_deref(), Some("auth-int"));
        assert_eq!(param(&value, "nc").as_deref(), Some("00000002"));
        // Only `auth` offered: the preference cannot apply.
        let only_auth = Challenge::parse("Digest realm=\"x\", nonce=\"n\", qop=auth").unwrap();
        assert_eq!(param(&client.authorize("INVITE", "sip:a@b", body, &only_auth), "qop").as_deref(), Some("auth"));
    }

    #[test]
    fn nonce_count_is_eight_hex_digits() {
        let challenge =
            Challenge::parse(&format!("Digest realm=\"biloxi.com\", nonce=\"{BOB_NONCE}\", qop=\"auth\"")).unwrap();
        let mut client = bob();
        let mut values = Vec::new();
        for _ in 0..257 {
            values.push(client.authorize_with_cnonce("REGISTER", "sip:biloxi.com", b"", &challenge, "0a4f113b"));
        }
        let nc = |i: usize| param(&values[i - 1], "nc").unwrap();
        assert_eq!(nc(1), "00000001");
        assert_eq!(nc(9), "00000009");
        assert_eq!(nc(10), "0000000a");
        assert_eq!(nc(15), "0000000f");
        assert_eq!(nc(16), "00000010");
        assert_eq!(nc(255), "000000ff");
        assert_eq!(nc(256), "00000100");
        // The digest covers the hexadecimal count.
        assert_eq!(param(&values[9], "response").as_deref(), Some("035e281afccedb7d4725baddf9754516"));
        // Each use gets a fresh cnonce.
        let a = param(&client.authorize("REGISTER", "sip:biloxi.com", b"", &challenge), "cnonce").unwrap();
        let b = param(&client.authorize("REGISTER", "sip:biloxi.com", b"", &challenge), "cnonce").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        // A new nonce restarts the count.
        let renewed = Challenge::parse("Digest realm=\"biloxi.com\", nonce=\"fresh\", qop=\"auth\"").unwrap();
        assert_eq!(
            param(&client.authorize("REGISTER", "sip:biloxi.com", b"", &renewed), "nc").as_deref(),
            Some("00000001")
        );
        assert_eq!(
            param(&client.authorize("REGISTER", "sip:biloxi.com", b"", &renewed), "nc").as_deref(),
            Some("00000002")
        );
    }

    fn challenge(nonce: &str, stale: bool) -> Challenge {
        Challenge::parse(&format!("Digest realm=\"biloxi.com\", nonce=\"{nonce}\", qop=\"auth\", stale={stale}"))
            .unwrap()
    }

    #[test]
    fn wrong_password_is_detected_with_the_same_or_a_new_nonce() {
        // The registrar repeats the nonce.
        let mut client = bob();
        let first = challenge("n1", false);
        assert!(!client.is_credential_failure(&first));
        client.respond("REGISTER", "sip:biloxi.com", b"", &first).unwrap();
        assert!(client.is_credential_failure(&first));
        assert_eq!(
            client.respond("REGISTER", "sip:biloxi.com", b"", &first),
            Err(AuthError::CredentialsRejected { realm: "biloxi.com".into() })
        );
        // The registrar sends a new nonce with each rejection (Kamailio does).
        let mut client = bob();
        client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("n1", false)).unwrap();
        assert!(matches!(
            client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("n2", false)),
            Err(AuthError::CredentialsRejected { .. })
        ));
        // New credentials: try again.
        client.set_credentials("bob", Secret::new("zanzibar2"));
        assert!(!client.is_credential_failure(&challenge("n2", false)));
        assert!(client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("n2", false)).is_ok());
    }

    #[test]
    fn stale_nonce_restarts_without_failure() {
        let mut client = bob();
        let value = client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("n1", false)).unwrap();
        assert_eq!(param(&value, "nonce").as_deref(), Some("n1"));
        client.request_ended();
        // Refresh, reusing the nonce.
        let current = client.challenge("biloxi.com").cloned().unwrap();
        let value = client.authorize("REGISTER", "sip:biloxi.com", b"", &current);
        assert_eq!(param(&value, "nc").as_deref(), Some("00000002"));
        // The nonce expired.
        let stale = challenge("n2", true);
        assert!(!client.is_credential_failure(&stale));
        let value = client.respond("REGISTER", "sip:biloxi.com", b"", &stale).unwrap();
        assert_eq!(param(&value, "nonce").as_deref(), Some("n2"));
        assert_eq!(param(&value, "nc").as_deref(), Some("00000001"));
        // Stale even right after a fresh nonce: still not a credential failure.
        let value = client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("n3", true)).unwrap();
        assert_eq!(param(&value, "nonce").as_deref(), Some("n3"));
        // But a non-stale rejection of that answer is.
        assert!(client.is_credential_failure(&challenge("n4", false)));
    }

    #[test]
    fn reused_nonce_rejected_with_a_new_nonce_is_retried() {
        let mut client = bob();
        client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("n1", false)).unwrap();
        client.request_ended();
        // Nothing pending: a challenge to a request without credentials.
        assert!(!client.is_credential_failure(&challenge("n1", false)));
        let current = client.challenge("biloxi.com").cloned().unwrap();
        client.authorize("REGISTER", "sip:biloxi.com", b"", &current);
        // A server that does not flag stale nonces: the reuse is refused.
        let value = client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("n2", false)).unwrap();
        assert_eq!(param(&value, "nonce").as_deref(), Some("n2"));
        assert!(client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("n3", false)).is_err());
    }

    #[test]
    fn endless_stale_is_cut_short() {
        let mut client = bob();
        client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("n0", false)).unwrap();
        for i in 1..=MAX_STALE_IN_A_ROW {
            client.respond("REGISTER", "sip:biloxi.com", b"", &challenge(&format!("n{i}"), true)).unwrap();
        }
        assert_eq!(
            client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("last", true)),
            Err(AuthError::TooManyStale { realm: "biloxi.com".into() })
        );
        client.request_ended();
        assert!(client.respond("REGISTER", "sip:biloxi.com", b"", &challenge("again", true)).is_ok());
    }

    #[test]
    fn realms_are_independent() {
        let mut client = bob();
        let registrar = Challenge::parse("Digest realm=\"registrar\", nonce=\"a\"").unwrap();
        let proxy = Challenge::parse("Digest realm=\"proxy\", nonce=\"b\"").unwrap();
        client.respond("INVITE", "sip:alice@atlanta.com", b"", &registrar).unwrap();
        // A proxy on the way challenges the retried request: a new realm.
        assert!(!client.is_credential_failure(&proxy));
        client.respond("INVITE", "sip:alice@atlanta.com", b"", &proxy).unwrap();
        assert_eq!(client.realms().collect::<Vec<_>>(), ["registrar", "proxy"]);
        assert!(client.forget("proxy"));
        assert!(!client.forget("proxy"));
        assert_eq!(client.realms().collect::<Vec<_>>(), ["registrar"]);
        // Two realms in one response: one challenge each, the strongest.
        let chosen = Challenge::parse_all([
            "Digest realm=\"a\", nonce=\"1\", Digest realm=\"b\", nonce=\"2\"",
            "Digest realm=\"a\", nonce=\"3\", algorithm=SHA-256",
        ])
        .unwrap();
        assert_eq!(
            chosen.iter().map(|c| (c.realm.as_str(), c.nonce.as_str())).collect::<Vec<_>>(),
            [("a", "3"), ("b", "2")]
        );
    }

    #[test]
    fn challenge_syntax() {
        // Case-insensitive scheme, names and values; whitespace and line
        // breaks anywhere; tokens and quoted strings; commas and escapes in
        // quotes; unknown parameters ignored.
        let c = Challenge::parse(
            "  dIgEsT\tREALM = \"a, \\\"b\\\"\\\\c\" ,\r\n\tNonce=abc/def+==  , ALGORITHM = sha-256 , \
             qop=\" auth-int , x-new ,auth\", Stale=TRUE, domain=\"sip:a.example  sip:b.example\", \
             opaque=\"\", x-ext=token, userhash=false ,",
        )
        .unwrap();
        assert_eq!(c.realm, "a, \"b\"\\c");
        assert_eq!(c.nonce, "abc/def+");
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.qop, vec![Qop::AuthInt, Qop::Auth]);
        assert!(c.stale);
        assert_eq!(c.domain, ["sip:a.example", "sip:b.example"]);
        assert_eq!(c.opaque.as_deref(), Some(""));
        assert!(!c.userhash && !c.charset_utf8);

        // No commas between parameters is tolerated.
        let c = Challenge::parse("Digest realm=\"r\" nonce=\"n\"").unwrap();
        assert_eq!((c.realm.as_str(), c.nonce.as_str()), ("r", "n"));

        // Other schemes next to Digest, including token68 forms.
        let c = Challenge::parse(
            "Basic realm=\"r\", Negotiate YII+/x==, Bearer, Digest realm=\"r\", nonce=\"n\", Other a=b",
        )
        .unwrap();
        assert_eq!(c.nonce, "n");

        // An echoed value is escaped again and hashed unescaped.
        let c = Challenge::parse(&format!("Digest realm=\"a\\\"b\", nonce=\"{BOB_NONCE}\"")).unwrap();
        let value = bob().authorize("REGISTER", "sip:biloxi.com", b"", &c);
        assert!(value.contains("realm=\"a\\\"b\""), "{value}");
        assert_eq!(param(&value, "response").as_deref(), Some("5b0828fdba49f7c11011bd7a1f274e10"));
        let mut odd = DigestClient::new("o\"dd\\\r\nX-Injected: 1", Secret::new("p"));
        let value = odd.authorize("REGISTER", "sip:x\r\ny", b"", &c);
        assert!(!value.contains('\r') && !value.contains('\n'), "{value}");
        assert_eq!(param(&value, "username").as_deref(), Some("o\"dd\\X-Injected: 1"));
    }

    #[test]
    fn malformed_challenges_are_errors() {
        let cases: &[(&str, AuthError)] = &[
            ("Digest realm=\"r\"", AuthError::MissingParameter("nonce")),
            ("Digest nonce=\"n\", qop=auth", AuthError::MissingParameter("realm")),
            ("Digest realm=\"r\", nonce=\"n", AuthError::Syntax("unterminated quoted string".into())),
            ("Digest realm=\"r\", nonce=\"n\\", AuthError::Syntax("unterminated quoted string".into())),
            ("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1", AuthError::UnsupportedAlgorithm("SHA-1".into())),
            ("Digest realm=\"r\", nonce=\"n\", qop=\"auth-conf\"", AuthError::UnsupportedQop("auth-conf".into())),
            ("Digest realm=\"r\", nonce=\"n\", Nonce=\"m\"", AuthError::DuplicateParameter("Nonce".into())),
            (
                "Digest realm=\"r\", nonce=\"a\r\nX: y\"",
                AuthError::Syntax("control character in a quoted string".into()),
            ),
            ("Basic realm=\"r\"", AuthError::NoDigestChallenge("Basic".into())),
            ("", AuthError::NoDigestChallenge("none".into())),
            (" , ,", AuthError::NoDigestChallenge("none".into())),
            ("realm=\"r\"", AuthError::Syntax("parameter \"realm\" before any scheme".into())),
            ("Digest =x", AuthError::Syntax("parameter \"Digest\" before any scheme".into())),
            ("Digest realm=r, =x", AuthError::Syntax("unexpected '=' at offset 16".into())),
            ("Digest \"x\"", AuthError::Syntax("unexpected '\"' at offset 7".into())),
        ];
        for (value, expected) in cases {
            assert_eq!(Challenge::parse(value).as_ref(), Err(expected), "{value:?}");
        }
        // An unknown algorithm next to a supported one is skipped.
        let c = Challenge::parse_all([
            "Digest realm=\"r\", nonce=\"a\", algorithm=SHA-1",
            "Digest realm=\"r\", nonce=\"b\", algorithm=MD5",
        ])
        .unwrap();
        assert_eq!(c[0].nonce, "b");
        // A broken header value next to a good one.
        assert_eq!(Challenge::parse_all(["Digest realm=\"r", "Digest realm=r, nonce=n"]).unwrap()[0].nonce, "n");
        // Too many parameters.
        let many = format!("Digest realm=r, nonce=n{}", ", x=y".repeat(MAX_PARAMS));
        assert_eq!(Challenge::parse(&many), Err(AuthError::Syntax("too many parameters".into())));
        // Long server text is cut short in errors.
        let long = format!("Digest realm=r, nonce=n, algorithm={}", "A".repeat(1000));
        let message = Challenge::parse(&long).unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
    }

    #[test]
    fn garbage_never_panics() {
        const PIECES: &str = "Digest|digest |Basic| |,|=|\"|\\|\r\n|\t|realm|nonce|qop|auth|auth-int|algorithm|MD5-sess|\
                              SHA-256|SHA-512-256-sess|stale|true|opaque|userhash|domain|==|é|日本|\u{0}|\u{7f}|x|a=\"b\"|\\\"";
        let pieces: Vec<&str> = PIECES.split('|').collect();
        let mut rng = StdRng::seed_from_u64(0x5eed);
        let mut client = bob();
        let base = "Digest realm=\"r\", nonce=\"n\", qop=\"auth,auth-int\", algorithm=MD5-sess, opaque=\"o\"";
        let mut parsed = 0;
        for round in 0..20_000 {
            let text: String = if round % 2 == 0 {
                (0..rng.random_range(0..24)).map(|_| pieces[rng.random_range(0..pieces.len())]).collect()
            } else {
                // Mutate a valid challenge character by character.
                let mut chars: Vec<char> = base.chars().collect();
                for _ in 0..rng.random_range(1..6) {
                    let at = rng.random_range(0..=chars.len());
                    match rng.random_range(0..3) {
                        0 if at < chars.len() => {
                            chars.remove(at);
                        }
                        1 => chars.insert(at, char::from(rng.random_range(0u8..128))),
                        _ => chars.insert(at, rng.random::<char>()),
                    }
                }
                chars.into_iter().collect()
            };
            if let Ok(challenge) = Challenge::parse(&text) {
                parsed += 1;
                let value = client.authorize("MESSAGE", "sip:a@b", b"body", &challenge);
                assert!(!value.chars().any(|c| c.is_control() && c != '\t'), "{value:?}");
                assert_eq!(parse_raw(&value).map(|r| r.len()).ok(), Some(1), "{value:?}");
            }
            let _ = Challenge::parse_all([text.as_str(), base]);
        }
        assert!(parsed > 100, "the mutations keep some challenges valid: {parsed}");
    }

    #[test]
    fn secrets_never_printed() {
        const PASSWORD: &str = "Circle Of Life";
        let challenge = Challenge::parse(RFC2617_CHALLENGE).unwrap();
        let mut client = DigestClient::new("Mufasa", Secret::new(PASSWORD));
        let value = client.respond("GET", "/dir/index.html", b"", &challenge).unwrap();
        assert!(!value.contains(PASSWORD));
        let ha1 = Algorithm::Md5.hash(&[b"Mufasa", b"testrealm@host.com", PASSWORD.as_bytes()]);
        let response = param(&value, "response").unwrap();
        let error = client.respond("GET", "/dir/index.html", b"", &challenge).unwrap_err();
        let debug = format!("{client:?} {challenge:?} {error:?} {error} {:?}", client.clone());
        for secret in [PASSWORD, ha1.as_str(), response.as_str()] {
            assert!(!debug.contains(secret), "{secret:?} in {debug}");
        }
        assert!(debug.contains("Mufasa") && debug.contains("REDACTED"), "{debug}");
        let errors = [
            AuthError::Syntax("x".into()),
            AuthError::CredentialsRejected { realm: "r".into() },
            AuthError::TooManyStale { realm: "r".into() },
            Challenge::parse(&format!("Digest realm=\"{PASSWORD}\", nonce=\"n\", algorithm=x")).unwrap_err(),
        ];
        for e in errors {
            assert!(!format!("{e}{e:?}").contains(ha1.as_str()));
        }
        let from_account =
            DigestClient::from_credentials(&Credentials { username: "Mufasa".into(), password: Secret::new(PASSWORD) });
        assert!(!format!("{from_account:?}").contains(PASSWORD));
    }

    #[test]
    fn algorithm_names() {
        for name in ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"] {
            let algorithm = Algorithm::from_name(&name.to_lowercase()).unwrap();
            assert_eq!(algorithm.to_string(), name);
            assert_eq!(algorithm.is_session(), name.ends_with("-sess"));
        }
        assert!(Algorithm::Sha512_256.strength() > Algorithm::Sha256Sess.strength());
        assert!(Algorithm::Sha256.strength() > Algorithm::Md5Sess.strength());
        assert_eq!(Algorithm::from_name("SHA-1"), None);
        assert_eq!(Qop::from_name("AUTH-INT"), Some(Qop::AuthInt));
        assert_eq!(hex(&[0x00, 0x0a, 0xff]), "000aff");
    }
}
