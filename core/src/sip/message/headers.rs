//! Header names and header storage: [`HeaderKind`] (known names and their
//! compact forms), [`HeaderRef`] (a borrowed header of a parsed message),
//! [`Header`] and [`Headers`] (the owned, ordered list of a [`Message`]).
//!
//! [`Message`]: super::Message

use std::borrow::Cow;

use super::scan::{self, unfold};

/// A header field the parser knows by name (compact forms included).
/// Everything else is [`HeaderKind::Other`] and is kept verbatim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderKind {
    /// `Accept`.
    Accept,
    /// `Accept-Contact` (compact form `a`).
    AcceptContact,
    /// `Accept-Encoding`.
    AcceptEncoding,
    /// `Accept-Language`.
    AcceptLanguage,
    /// `Alert-Info`.
    AlertInfo,
    /// `Allow`.
    Allow,
    /// `Allow-Events` (compact form `u`).
    AllowEvents,
    /// `Authentication-Info`.
    AuthenticationInfo,
    /// `Authorization`.
    Authorization,
    /// `Call-ID` (compact form `i`).
    CallId,
    /// `Call-Info`.
    CallInfo,
    /// `Contact` (compact form `m`).
    Contact,
    /// `Content-Disposition`.
    ContentDisposition,
    /// `Content-Encoding` (compact form `e`).
    ContentEncoding,
    /// `Content-Language`.
    ContentLanguage,
    /// `Content-Length` (compact form `l`).
    ContentLength,
    /// `Content-Type` (compact form `c`).
    ContentType,
    /// `CSeq`.
    CSeq,
    /// `Date`.
    Date,
    /// `Error-Info`.
    ErrorInfo,
    /// `Event` (compact form `o`).
    Event,
    /// `Expires`.
    Expires,
    /// `From` (compact form `f`).
    From,
    /// `Identity` (compact form `y`).
    Identity,
    /// `Identity-Info` (compact form `n`).
    IdentityInfo,
    /// `In-Reply-To`.
    InReplyTo,
    /// `Max-Forwards`.
    MaxForwards,
    /// `MIME-Version`.
    MimeVersion,
    /// `Min-Expires`.
    MinExpires,
    /// `Min-SE`.
    MinSe,
    /// `Organization`.
    Organization,
    /// `P-Asserted-Identity`.
    PAssertedIdentity,
    /// `Path`.
    Path,
    /// `P-Preferred-Identity`.
    PPreferredIdentity,
    /// `Priority`.
    Priority,
    /// `Privacy`.
    Privacy,
    /// `Proxy-Authenticate`.
    ProxyAuthenticate,
    /// `Proxy-Authorization`.
    ProxyAuthorization,
    /// `Proxy-Require`.
    ProxyRequire,
    /// `RAck`.
    RAck,
    /// `Reason`.
    Reason,
    /// `Record-Route`.
    RecordRoute,
    /// `Referred-By` (compact form `b`).
    ReferredBy,
    /// `Refer-To` (compact form `r`).
    ReferTo,
    /// `Reject-Contact` (compact form `j`).
    RejectContact,
    /// `Replaces`.
    Replaces,
    /// `Reply-To`.
    ReplyTo,
    /// `Request-Disposition` (compact form `d`).
    RequestDisposition,
    /// `Require`.
    Require,
    /// `Retry-After`.
    RetryAfter,
    /// `Route`.
    Route,
    /// `RSeq`.
    RSeq,
    /// `Server`.
    Server,
    /// `Service-Route`.
    ServiceRoute,
    /// `Session-Expires` (compact form `x`).
    SessionExpires,
    /// `SIP-ETag`.
    SipETag,
    /// `SIP-If-Match`.
    SipIfMatch,
    /// `Subject` (compact form `s`).
    Subject,
    /// `Subscription-State`.
    SubscriptionState,
    /// `Supported` (compact form `k`).
    Supported,
    /// `Timestamp`.
    Timestamp,
    /// `To` (compact form `t`).
    To,
    /// `Unsupported`.
    Unsupported,
    /// `User-Agent`.
    UserAgent,
    /// `Via` (compact form `v`).
    Via,
    /// `Warning`.
    Warning,
    /// `WWW-Authenticate`.
    WwwAuthenticate,
    /// A header this module does not name.
    Other,
}

impl HeaderKind {
    /// The canonical spelling of the name (`""` for [`HeaderKind::Other`]).
    pub fn canonical_name(self) -> &'static str {
        match self {
            HeaderKind::Accept => "Accept",
            HeaderKind::AcceptContact => "Accept-Contact",
            HeaderKind::AcceptEncoding => "Accept-Encoding",
            HeaderKind::AcceptLanguage => "Accept-Language",
            HeaderKind::AlertInfo => "Alert-Info",
            HeaderKind::Allow => "Allow",
            HeaderKind::AllowEvents => "Allow-Events",
            HeaderKind::AuthenticationInfo => "Authentication-Info",
            HeaderKind::Authorization => "Authorization",
            HeaderKind::CallId => "Call-ID",
            HeaderKind::CallInfo => "Call-Info",
            HeaderKind::Contact => "Contact",
            HeaderKind::ContentDisposition => "Content-Disposition",
            HeaderKind::ContentEncoding => "Content-Encoding",
            HeaderKind::ContentLanguage => "Content-Language",
            HeaderKind::ContentLength => "Content-Length",
            HeaderKind::ContentType => "Content-Type",
            HeaderKind::CSeq => "CSeq",
            HeaderKind::Date => "Date",
            HeaderKind::ErrorInfo => "Error-Info",
            HeaderKind::Event => "Event",
            HeaderKind::Expires => "Expires",
            HeaderKind::From => "From",
            HeaderKind::Identity => "Identity",
            HeaderKind::IdentityInfo => "Identity-Info",
            HeaderKind::InReplyTo => "In-Reply-To",
            HeaderKind::MaxForwards => "Max-Forwards",
            HeaderKind::MimeVersion => "MIME-Version",
            HeaderKind::MinExpires => "Min-Expires",
            HeaderKind::MinSe => "Min-SE",
            HeaderKind::Organization => "Organization",
            HeaderKind::PAssertedIdentity => "P-Asserted-Identity",
            HeaderKind::Path => "Path",
            HeaderKind::PPreferredIdentity => "P-Preferred-Identity",
            HeaderKind::Priority => "Priority",
            HeaderKind::Privacy => "Privacy",
            HeaderKind::ProxyAuthenticate => "Proxy-Authenticate",
            HeaderKind::ProxyAuthorization => "Proxy-Authorization",
            HeaderKind::ProxyRequire => "Proxy-Require",
            HeaderKind::RAck => "RAck",
            HeaderKind::Reason => "Reason",
            HeaderKind::RecordRoute => "Record-Route",
            HeaderKind::ReferredBy => "Referred-By",
            HeaderKind::ReferTo => "Refer-To",
            HeaderKind::RejectContact => "Reject-Contact",
            HeaderKind::Replaces => "Replaces",
            HeaderKind::ReplyTo => "Reply-To",
            HeaderKind::RequestDisposition => "Request-Disposition",
            HeaderKind::Require => "Require",
            HeaderKind::RetryAfter => "Retry-After",
            HeaderKind::Route => "Route",
            HeaderKind::RSeq => "RSeq",
            HeaderKind::Server => "Server",
            HeaderKind::ServiceRoute => "Service-Route",
            HeaderKind::SessionExpires => "Session-Expires",
            HeaderKind::SipETag => "SIP-ETag",
            HeaderKind::SipIfMatch => "SIP-If-Match",
            HeaderKind::Subject => "Subject",
            HeaderKind::SubscriptionState => "Subscription-State",
            HeaderKind::Supported => "Supported",
            HeaderKind::Timestamp => "Timestamp",
            HeaderKind::To => "To",
            HeaderKind::Unsupported => "Unsupported",
            HeaderKind::UserAgent => "User-Agent",
            HeaderKind::Via => "Via",
            HeaderKind::Warning => "Warning",
            HeaderKind::WwwAuthenticate => "WWW-Authenticate",
            HeaderKind::Other => "",
        }
    }

    /// The compact form (RFC 3261 §7.3.3 and later RFCs), if any.
    pub fn compact_name(self) -> Option<&'static str> {
        match self {
            HeaderKind::AcceptContact => Some("a"),
            HeaderKind::AllowEvents => Some("u"),
            HeaderKind::CallId => Some("i"),
            HeaderKind::Contact => Some("m"),
            HeaderKind::ContentEncoding => Some("e"),
            HeaderKind::ContentLength => Some("l"),
            HeaderKind::ContentType => Some("c"),
            HeaderKind::Event => Some("o"),
            HeaderKind::From => Some("f"),
            HeaderKind::Identity => Some("y"),
            HeaderKind::IdentityInfo => Some("n"),
            HeaderKind::ReferredBy => Some("b"),
            HeaderKind::ReferTo => Some("r"),
            HeaderKind::RejectContact => Some("j"),
            HeaderKind::RequestDisposition => Some("d"),
            HeaderKind::SessionExpires => Some("x"),
            HeaderKind::Subject => Some("s"),
            HeaderKind::Supported => Some("k"),
            HeaderKind::To => Some("t"),
            HeaderKind::Via => Some("v"),
            _ => None,
        }
    }

    /// Whether the header is a comma-separated list whose values may be
    /// split over several lines or joined on one (Via, Contact, Route,
    /// Allow, Supported...). Headers whose values legitimately contain
    /// unquoted commas (WWW-Authenticate, Authorization, Date...) are not.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            HeaderKind::Accept
                | HeaderKind::AcceptContact
                | HeaderKind::AcceptEncoding
                | HeaderKind::AcceptLanguage
                | HeaderKind::AlertInfo
                | HeaderKind::Allow
                | HeaderKind::AllowEvents
                | HeaderKind::CallInfo
                | HeaderKind::Contact
                | HeaderKind::ContentEncoding
                | HeaderKind::ContentLanguage
                | HeaderKind::ErrorInfo
                | HeaderKind::InReplyTo
                | HeaderKind::PAssertedIdentity
                | HeaderKind::Path
                | HeaderKind::PPreferredIdentity
                | HeaderKind::ProxyRequire
                | HeaderKind::Reason
                | HeaderKind::RecordRoute
                | HeaderKind::RejectContact
                | HeaderKind::RequestDisposition
                | HeaderKind::Require
                | HeaderKind::Route
                | HeaderKind::ServiceRoute
                | HeaderKind::Supported
                | HeaderKind::Unsupported
                | HeaderKind::Via
                | HeaderKind::Warning
        )
    }

    fn from_compact(c: u8) -> HeaderKind {
        match c.to_ascii_lowercase() {
            b'a' => HeaderKind::AcceptContact,
            b'u' => HeaderKind::AllowEvents,
            b'i' => HeaderKind::CallId,
            b'm' => HeaderKind::Contact,
            b'e' => HeaderKind::ContentEncoding,
            b'l' => HeaderKind::ContentLength,
            b'c' => HeaderKind::ContentType,
            b'o' => HeaderKind::Event,
            b'f' => HeaderKind::From,
            b'y' => HeaderKind::Identity,
            b'n' => HeaderKind::IdentityInfo,
            b'b' => HeaderKind::ReferredBy,
            b'r' => HeaderKind::ReferTo,
            b'j' => HeaderKind::RejectContact,
            b'd' => HeaderKind::RequestDisposition,
            b'x' => HeaderKind::SessionExpires,
            b's' => HeaderKind::Subject,
            b'k' => HeaderKind::Supported,
            b't' => HeaderKind::To,
            b'v' => HeaderKind::Via,
            _ => HeaderKind::Other,
        }
    }
}

/// Every known header, in alphabetical order.
#[cfg(test)]
pub(crate) const ALL: [HeaderKind; 67] = [
    HeaderKind::Accept,
    HeaderKind::AcceptContact,
    HeaderKind::AcceptEncoding,
    HeaderKind::AcceptLanguage,
    HeaderKind::AlertInfo,
    HeaderKind::Allow,
    HeaderKind::AllowEvents,
    HeaderKind::AuthenticationInfo,
    HeaderKind::Authorization,
    HeaderKind::CallId,
    HeaderKind::CallInfo,
    HeaderKind::Contact,
    HeaderKind::ContentDisposition,
    HeaderKind::ContentEncoding,
    HeaderKind::ContentLanguage,
    HeaderKind::ContentLength,
    HeaderKind::ContentType,
    HeaderKind::CSeq,
    HeaderKind::Date,
    HeaderKind::ErrorInfo,
    HeaderKind::Event,
    HeaderKind::Expires,
    HeaderKind::From,
    HeaderKind::Identity,
    HeaderKind::IdentityInfo,
    HeaderKind::InReplyTo,
    HeaderKind::MaxForwards,
    HeaderKind::MimeVersion,
    HeaderKind::MinExpires,
    HeaderKind::MinSe,
    HeaderKind::Organization,
    HeaderKind::PAssertedIdentity,
    HeaderKind::Path,
    HeaderKind::PPreferredIdentity,
    HeaderKind::Priority,
    HeaderKind::Privacy,
    HeaderKind::ProxyAuthenticate,
    HeaderKind::ProxyAuthorization,
    HeaderKind::ProxyRequire,
    HeaderKind::RAck,
    HeaderKind::Reason,
    HeaderKind::RecordRoute,
    HeaderKind::ReferredBy,
    HeaderKind::ReferTo,
    HeaderKind::RejectContact,
    HeaderKind::Replaces,
    HeaderKind::ReplyTo,
    HeaderKind::RequestDisposition,
    HeaderKind::Require,
    HeaderKind::RetryAfter,
    HeaderKind::Route,
    HeaderKind::RSeq,
    HeaderKind::Server,
    HeaderKind::ServiceRoute,
    HeaderKind::SessionExpires,
    HeaderKind::SipETag,
    HeaderKind::SipIfMatch,
    HeaderKind::Subject,
    HeaderKind::SubscriptionState,
    HeaderKind::Supported,
    HeaderKind::Timestamp,
    HeaderKind::To,
    HeaderKind::Unsupported,
    HeaderKind::UserAgent,
    HeaderKind::Via,
    HeaderKind::Warning,
    HeaderKind::WwwAuthenticate,
];

impl HeaderKind {
    /// The kind of header `name` (any case, full or compact form).
    pub fn from_name(name: &str) -> HeaderKind {
        if scan::all(name.as_bytes(), scan::TOKEN) { HeaderKind::from_token(name) } else { HeaderKind::Other }
    }

    /// [`HeaderKind::from_name`] for a name known to be a token.
    pub(crate) fn from_token(name: &str) -> HeaderKind {
        let b = name.as_bytes();
        let Some(&first) = b.first() else {
            return HeaderKind::Other;
        };
        // Names from the parser are tokens; another name never matches a
        // canonical name once its case is folded, so the bit-5 fold is exact.
        let eq = |canonical: &str| scan::token_eq_ic(b, canonical.as_bytes());
        match (b.len(), first | 0x20) {
            (1, _) => HeaderKind::from_compact(first),
            (2, b't') if eq("To") => HeaderKind::To,
            (3, b'v') if eq("Via") => HeaderKind::Via,
            (4, b'c') if eq("CSeq") => HeaderKind::CSeq,
            (4, b'd') if eq("Date") => HeaderKind::Date,
            (4, b'f') if eq("From") => HeaderKind::From,
            (4, b'p') if eq("Path") => HeaderKind::Path,
            (4, b'r') if eq("RAck") => HeaderKind::RAck,
            (4, b'r') if eq("RSeq") => HeaderKind::RSeq,
            (5, b'a') if eq("Allow") => HeaderKind::Allow,
            (5, b'e') if eq("Event") => HeaderKind::Event,
            (5, b'r') if eq("Route") => HeaderKind::Route,
            (6, b'a') if eq("Accept") => HeaderKind::Accept,
            (6, b'm') if eq("Min-SE") => HeaderKind::MinSe,
            (6, b'r') if eq("Reason") => HeaderKind::Reason,
            (6, b's') if eq("Server") => HeaderKind::Server,
            (7, b'c') if eq("Call-ID") => HeaderKind::CallId,
            (7, b'c') if eq("Contact") => HeaderKind::Contact,
            (7, b'e') if eq("Expires") => HeaderKind::Expires,
            (7, b'p') if eq("Privacy") => HeaderKind::Privacy,
            (7, b'r') if eq("Require") => HeaderKind::Require,
            (7, b's') if eq("Subject") => HeaderKind::Subject,
            (7, b'w') if eq("Warning") => HeaderKind::Warning,
            (8, b'i') if eq("Identity") => HeaderKind::Identity,
            (8, b'p') if eq("Priority") => HeaderKind::Priority,
            (8, b'r') if eq("Refer-To") => HeaderKind::ReferTo,
            (8, b'r') if eq("Replaces") => HeaderKind::Replaces,
            (8, b'r') if eq("Reply-To") => HeaderKind::ReplyTo,
            (8, b's') if eq("SIP-ETag") => HeaderKind::SipETag,
            (9, b'c') if eq("Call-Info") => HeaderKind::CallInfo,
            (9, b's') if eq("Supported") => HeaderKind::Supported,
            (9, b't') if eq("Timestamp") => HeaderKind::Timestamp,
            (10, b'a') if eq("Alert-Info") => HeaderKind::AlertInfo,
            (10, b'e') if eq("Error-Info") => HeaderKind::ErrorInfo,
            (10, b'u') if eq("User-Agent") => HeaderKind::UserAgent,
            (11, b'i') if eq("In-Reply-To") => HeaderKind::InReplyTo,
            (11, b'm') if eq("Min-Expires") => HeaderKind::MinExpires,
            (11, b'r') if eq("Referred-By") => HeaderKind::ReferredBy,
            (11, b'r') if eq("Retry-After") => HeaderKind::RetryAfter,
            (11, b'u') if eq("Unsupported") => HeaderKind::Unsupported,
            (12, b'a') if eq("Allow-Events") => HeaderKind::AllowEvents,
            (12, b'c') if eq("Content-Type") => HeaderKind::ContentType,
            (12, b'm') if eq("MIME-Version") => HeaderKind::MimeVersion,
            (12, b'm') if eq("Max-Forwards") => HeaderKind::MaxForwards,
            (12, b'o') if eq("Organization") => HeaderKind::Organization,
            (12, b'r') if eq("Record-Route") => HeaderKind::RecordRoute,
            (12, b's') if eq("SIP-If-Match") => HeaderKind::SipIfMatch,
            (13, b'a') if eq("Authorization") => HeaderKind::Authorization,
            (13, b'i') if eq("Identity-Info") => HeaderKind::IdentityInfo,
            (13, b'p') if eq("Proxy-Require") => HeaderKind::ProxyRequire,
            (13, b's') if eq("Service-Route") => HeaderKind::ServiceRoute,
            (14, b'a') if eq("Accept-Contact") => HeaderKind::AcceptContact,
            (14, b'c') if eq("Content-Length") => HeaderKind::ContentLength,
            (14, b'r') if eq("Reject-Contact") => HeaderKind::RejectContact,
            (15, b'a') if eq("Accept-Encoding") => HeaderKind::AcceptEncoding,
            (15, b'a') if eq("Accept-Language") => HeaderKind::AcceptLanguage,
            (15, b's') if eq("Session-Expires") => HeaderKind::SessionExpires,
            (16, b'c') if eq("Content-Encoding") => HeaderKind::ContentEncoding,
            (16, b'c') if eq("Content-Language") => HeaderKind::ContentLanguage,
            (16, b'w') if eq("WWW-Authenticate") => HeaderKind::WwwAuthenticate,
            (18, b'p') if eq("Proxy-Authenticate") => HeaderKind::ProxyAuthenticate,
            (18, b's') if eq("Subscription-State") => HeaderKind::SubscriptionState,
            (19, b'a') if eq("Authentication-Info") => HeaderKind::AuthenticationInfo,
            (19, b'c') if eq("Content-Disposition") => HeaderKind::ContentDisposition,
            (19, b'p') if eq("P-Asserted-Identity") => HeaderKind::PAssertedIdentity,
            (19, b'p') if eq("Proxy-Authorization") => HeaderKind::ProxyAuthorization,
            (19, b'r') if eq("Request-Disposition") => HeaderKind::RequestDisposition,
            (20, b'p') if eq("P-Preferred-Identity") => HeaderKind::PPreferredIdentity,
            _ => HeaderKind::Other,
        }
    }
}

/// Whether a header named `name` of kind `kind` answers to a lookup of
/// `(qkind, qname)`: known headers match by kind (so `v` finds `Via`),
/// others by case-insensitive name.
#[inline]
pub(crate) fn name_matches(kind: HeaderKind, name: &str, qkind: HeaderKind, qname: &str) -> bool {
    if qkind == HeaderKind::Other { kind == HeaderKind::Other && scan::eq_ic(name, qname) } else { kind == qkind }
}

/// A header of a parsed message, borrowed from its buffer. The value is
/// trimmed and may contain folded lines (CRLF followed by white space),
/// which every decoder treats as white space; [`HeaderRef::unfolded_value`]
/// gives it on one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRef<'a> {
    name: &'a str,
    kind: HeaderKind,
    value: &'a str,
    line: u32,
}

impl<'a> HeaderRef<'a> {
    pub(crate) fn new(name: &'a str, kind: HeaderKind, value: &'a str, line: u32) -> HeaderRef<'a> {
        HeaderRef { name, kind, value, line }
    }

    /// The name as written (`v`, `VIA`, `Via`...).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The kind of header.
    pub fn kind(&self) -> HeaderKind {
        self.kind
    }

    /// The value as written, trimmed (folds included).
    pub fn value(&self) -> &'a str {
        self.value
    }

    /// The line of the message where the header starts (1 is the start
    /// line; 0 for headers that do not come from parsed bytes).
    pub fn line(&self) -> u32 {
        self.line
    }

    /// The value with every fold (CRLF and the white space after it)
    /// replaced by one space.
    pub fn unfolded_value(&self) -> Cow<'a, str> {
        unfold(self.value)
    }

    /// Whether this header answers to `name` (any case, compact forms
    /// equal to their full names).
    pub fn is(&self, name: &str) -> bool {
        name_matches(self.kind, self.name, HeaderKind::from_name(name), name)
    }
}

/// One header of an owned [`Message`](super::Message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    name: Cow<'static, str>,
    kind: HeaderKind,
    value: String,
}

impl Header {
    /// A header named exactly `name`. Characters that cannot appear in a
    /// header (CR, LF, and in the name anything but a token character) are
    /// replaced so that a value can never inject another header line.
    pub fn new(name: &str, value: impl Into<String>) -> Header {
        let kind = HeaderKind::from_name(name);
        Header { name: static_name(name, kind), kind, value: sanitize_value(value.into()) }
    }

    /// A header with the canonical name of `name` when it is a known
    /// header (`v` and `VIA` become `Via`), as written otherwise.
    pub fn canonical(name: &str, value: impl Into<String>) -> Header {
        let kind = HeaderKind::from_name(name);
        let name =
            if kind == HeaderKind::Other { static_name(name, kind) } else { Cow::Borrowed(kind.canonical_name()) };
        Header { name, kind, value: sanitize_value(value.into()) }
    }

    /// Copy of a parsed header: name verbatim, folds removed.
    pub(crate) fn from_ref(h: &HeaderRef<'_>) -> Header {
        Header { name: static_name(h.name, h.kind), kind: h.kind, value: unfold(h.value).into_owned() }
    }

    /// The name as it will be written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind of header.
    pub fn kind(&self) -> HeaderKind {
        self.kind
    }

    /// The value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Replaces the value (sanitized as in [`Header::new`]).
    pub fn set_value(&mut self, value: impl Into<String>) {
        self.value = sanitize_value(value.into());
    }

    /// Whether this header answers to `name` (any case, compact forms
    /// equal to their full names).
    pub fn is(&self, name: &str) -> bool {
        name_matches(self.kind, &self.name, HeaderKind::from_name(name), name)
    }

    /// A borrowed view of this header.
    pub fn as_ref(&self) -> HeaderRef<'_> {
        HeaderRef { name: &self.name, kind: self.kind, value: &self.value, line: 0 }
    }
}

fn static_name(name: &str, kind: HeaderKind) -> Cow<'static, str> {
    if kind != HeaderKind::Other {
        if kind.canonical_name() == name {
            return Cow::Borrowed(kind.canonical_name());
        }
        if let Some(c) = kind.compact_name()
            && c == name
        {
            return Cow::Borrowed(c);
        }
    }
    if scan::all(name.as_bytes(), scan::TOKEN) {
        Cow::Owned(name.to_owned())
    } else {
        let clean: String = name.bytes().map(|b| if scan::is(b, scan::TOKEN) { b as char } else { '-' }).collect();
        Cow::Owned(if clean.is_empty() { "X".to_owned() } else { clean })
    }
}

fn sanitize_value(value: String) -> String {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        value.replace(['\r', '\n', '\0'], " ")
    } else {
        value
    }
}

/// The ordered header list of an owned [`Message`](super::Message). Lookups
/// take any spelling of a name: `"v"`, `"VIA"` and `"Via"` find the same
/// headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    list: Vec<Header>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// The number of header lines.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is no header.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The headers in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.list.iter()
    }

    /// Appends a header.
    pub fn push(&mut self, header: Header) {
        self.list.push(header);
    }

    /// Inserts a header at `index` (clamped to the end).
    pub fn insert(&mut self, index: usize, header: Header) {
        let index = index.min(self.list.len());
        self.list.insert(index, header);
    }

    /// The value of the first header named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let kind = HeaderKind::from_name(name);
        self.list.iter().find(|h| name_matches(h.kind, &h.name, kind, name)).map(|h| h.value.as_str())
    }

    /// The values of every header line named `name`, in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        let kind = HeaderKind::from_name(name);
        self.list.iter().filter(move |h| name_matches(h.kind, &h.name, kind, name)).map(|h| h.value.as_str())
    }

    /// The first value of a known header kind.
    pub(crate) fn get_kind(&self, kind: HeaderKind) -> Option<&str> {
        self.list.iter().find(|h| h.kind == kind).map(|h| h.value.as_str())
    }

    /// Every value of a known header kind, in order, list headers split
    /// at top-level commas (empty elements skipped).
    pub(crate) fn values_kind(&self, kind: HeaderKind) -> impl Iterator<Item = &str> + '_ {
        self.list.iter().filter(move |h| h.kind == kind).flat_map(move |h| split_values(kind, &h.value))
    }

    /// The values of headers named `name`: for list headers each
    /// comma-separated element on its own, otherwise each line's value.
    pub fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        let kind = HeaderKind::from_name(name);
        self.list
            .iter()
            .filter(move |h| name_matches(h.kind, &h.name, kind, name))
            .flat_map(move |h| split_values(h.kind, &h.value))
    }

    /// Whether a header named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Removes every header named `name`; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let kind = HeaderKind::from_name(name);
        let before = self.list.len();
        self.list.retain(|h| !name_matches(h.kind, &h.name, kind, name));
        before - self.list.len()
    }

    /// Sets header `name` to `value`: the first header of that name gets
    /// the value (keeping its place and spelling), the others are removed;
    /// when there is none, a header with the canonical name is appended.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let kind = HeaderKind::from_name(name);
        let mut value = Some(value.into());
        self.list.retain_mut(|h| {
            if !name_matches(h.kind, &h.name, kind, name) {
                return true;
            }
            match value.take() {
                Some(v) => {
                    h.set_value(v);
                    true
                }
                None => false,
            }
        });
        if let Some(v) = value {
            self.list.push(Header::canonical(name, v));
        }
    }
}

impl<'h> IntoIterator for &'h Headers {
    type Item = &'h Header;
    type IntoIter = std::slice::Iter<'h, Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// The values of one header line: list headers split at top-level commas
/// (empty elements skipped), other headers as one value.
pub(crate) fn split_values(kind: HeaderKind, value: &str) -> impl Iterator<Item = &str> {
    let list = kind.is_list();
    let mut single = (!list).then_some(value);
    let mut iter = list.then(|| scan::ListIter::new(value));
    std::iter::from_fn(move || {
        if let Some(v) = single.take() {
            return Some(v);
        }
        let it = iter.as_mut()?;
        it.by_ref().find(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for k in ALL {
            assert_eq!(HeaderKind::from_name(k.canonical_name()), k);
            assert_eq!(HeaderKind::from_name(&k.canonical_name().to_ascii_uppercase()), k);
            if let Some(c) = k.compact_name() {
                assert_eq!(HeaderKind::from_name(c), k);
                assert_eq!(HeaderKind::from_name(&c.to_ascii_uppercase()), k);
            }
        }
        assert_eq!(HeaderKind::from_name("MaX-fOrWaRdS"), HeaderKind::MaxForwards);
        assert_eq!(HeaderKind::from_name("C%6Fntact"), HeaderKind::Other);
        assert_eq!(HeaderKind::from_name("q"), HeaderKind::Other);
        assert_eq!(HeaderKind::from_name(""), HeaderKind::Other);
        assert_eq!(HeaderKind::from_name("X-Very-Long-Unknown-Header-Name"), HeaderKind::Other);
        assert!(HeaderKind::Via.is_list());
        assert!(!HeaderKind::WwwAuthenticate.is_list());
        assert!(!HeaderKind::Date.is_list());
    }

    #[test]
    fn unfolding() {
        assert_eq!(unfold("a"), "a");
        assert_eq!(
            unfold("newfangled value\r\n continued newfangled value"),
            "newfangled value continued newfangled value"
        );
        assert_eq!(unfold("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2"), "SIP  /   2.0 /UDP 192.0.2.2");
    }

    #[test]
    fn owned_list() {
        let mut h = Headers::new();
        h.push(Header::new("v", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b"));
        h.push(Header::new("Via", "SIP/2.0/UDP c"));
        h.push(Header::new("X-Custom", "1, 2"));
        h.push(Header::new("WWW-Authenticate", "Digest realm=\"a\", nonce=\"b\""));
        assert_eq!(h.get("VIA"), Some("SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b"));
        assert_eq!(
            h.values("via").collect::<Vec<_>>(),
            vec!["SIP/2.0/UDP a;branch=z9hG4bK1", "SIP/2.0/UDP b", "SIP/2.0/UDP c"]
        );
        assert_eq!(h.values("x-custom").count(), 1);
        assert_eq!(h.values("www-authenticate").count(), 1);
        assert_eq!(h.iter().next().map(Header::name), Some("v"));
        h.set("Via", "SIP/2.0/TCP d");
        assert_eq!(h.get_all("v").collect::<Vec<_>>(), vec!["SIP/2.0/TCP d"]);
        assert_eq!(h.remove("v"), 1);
        h.set("l", "0");
        assert_eq!(h.iter().last().map(Header::name), Some("Content-Length"));
        let evil = Header::new("Subject", "hi\r\nVia: injected");
        assert_eq!(evil.value(), "hi  Via: injected");
        assert_eq!(Header::new("Bad Name:", "x").name(), "Bad-Name-");
        assert!(Header::new("i", "x").is("call-id"));
        assert_eq!(Header::canonical("i", "x").name(), "Call-ID");
    }
}
