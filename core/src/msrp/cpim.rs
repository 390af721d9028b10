//! CPIM messages (RFC 3862, `message/cpim`), sans-IO.
//!
//! A chat message wrapped in CPIM carries its sender (`From`), recipients
//! (`To`), courtesy recipients (`cc`), a subject in several languages, a
//! timestamp (`DateTime`), the headers the recipient must understand
//! (`Require`) and headers of other namespaces (`NS` declarations and
//! `prefix.Name` headers), followed by an encapsulated MIME object: its
//! content headers (`Content-Type` with its charset, `Content-ID`, ...), a
//! blank line and the content bytes.
//!
//! [`CpimMessage::parse`] reads such a payload (CRLF or bare LF line endings,
//! as some peers write the MIME part with LF) and [`CpimMessage::encode`]
//! writes one with CRLF. Header values are escaped and unescaped by the
//! rules of RFC 3862 section 3.1 (`\\`, `\"`, `\uXXXX`, ...). Neither ever
//! panics: bad input gives a [`CpimError`].
//!
//! The [`Timestamp`] type (RFC 3339 text plus its parsed form) is shared with
//! the is-composing documents of [`super::iscomposing`].

use std::fmt::{self, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The MSRP `Content-Type` of a CPIM-wrapped message.
pub const CONTENT_TYPE: &str = "message/cpim";

/// The namespace of the standard CPIM headers (From, To, cc, DateTime,
/// Subject, NS, Require); it is the default namespace of every message.
pub const STANDARD_NAMESPACE: &str = "urn:ietf:params:cpim-headers:";

/// Why a CPIM payload could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CpimError {
    /// The CPIM message headers are not ended by a blank line.
    #[error("the CPIM headers are not followed by a blank line")]
    MissingHeaderSeparator,
    /// The encapsulated MIME headers are not ended by a blank line.
    #[error("the encapsulated MIME headers are not followed by a blank line")]
    MissingContentSeparator,
    /// A header line is not valid UTF-8.
    #[error("line {line}: header text is not UTF-8")]
    InvalidUtf8 {
        /// 1-based line number in the payload.
        line: usize,
    },
    /// A header line does not follow the header syntax.
    #[error("line {line}: malformed header: {reason}")]
    MalformedHeader {
        /// 1-based line number in the payload.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A From, To or cc value is not `[display-name] <URI>`, or an identity
    /// to encode cannot be written as one.
    #[error("invalid identity {value:?}: {reason}")]
    InvalidIdentity {
        /// The offending value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An NS value is not `[prefix] <URI>`, or a namespace to encode cannot
    /// be written as one.
    #[error("invalid namespace declaration {value:?}")]
    InvalidNamespace {
        /// The offending value.
        value: String,
    },
    /// A name to encode (header name, prefix, parameter name, language tag,
    /// Require entry) has characters CPIM does not allow in it.
    #[error("invalid {what} {value:?}")]
    InvalidName {
        /// Which kind of name.
        what: &'static str,
        /// The offending name.
        value: String,
    },
    /// A MIME content header value to encode contains a line break.
    #[error("invalid value for content header {name:?}")]
    InvalidContentHeader {
        /// The header's name.
        name: String,
    },
    /// The content type is not `type/subtype`.
    #[error("invalid content type {0:?}")]
    InvalidContentType(String),
}

// ---------------------------------------------------------------------------
// Timestamps (RFC 3339)
// ---------------------------------------------------------------------------

/// The fields of an RFC 3339 date and time (`2000-12-13T13:40:00-08:00`):
/// the local calendar date and time plus its offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTimeParts {
    /// Year, 0 to 9999.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute, 0 to 59.
    pub minute: u8,
    /// Second, 0 to 60 (60 is a leap second).
    pub second: u8,
    /// Fraction of the second in nanoseconds.
    pub nanosecond: u32,
    /// Offset of the local time from UTC in minutes (`-08:00` is -480).
    pub offset_minutes: i16,
}

impl DateTimeParts {
    /// Parses RFC 3339 `date-time`. Also accepted: a lower-case `t` or a space
    /// between date and time, a lower-case `z`, and offsets written `+hhmm` or
    /// `+hh`. Returns `None` for anything else, including a missing offset.
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.trim().as_bytes();
        if b.len() < 20 {
            return None;
        }
        let year = ascii_number(&b[0..4])?;
        let month = ascii_number(&b[5..7])?;
        let day = ascii_number(&b[8..10])?;
        let hour = ascii_number(&b[11..13])?;
        let minute = ascii_number(&b[14..16])?;
        let second = ascii_number(&b[17..19])?;
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let mut rest = &b[19..];
        let mut nanosecond = 0u32;
        if let Some(fraction) = rest.strip_prefix(b".") {
            let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            let mut scale = 100_000_000u32;
            for &digit in &fraction[..digits.min(9)] {
                nanosecond += u32::from(digit - b'0') * scale;
                scale /= 10;
            }
            rest = &fraction[digits..];
        }
        let offset_minutes: i32 = match rest {
            b"Z" | b"z" => 0,
            [sign @ (b'+' | b'-'), offset @ ..] => {
                let (hours, minutes) = match offset {
                    [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                        (ascii_number(&[*h1, *h2])?, ascii_number(&[*m1, *m2])?)
                    }
                    [h1, h2] => (ascii_number(&[*h1, *h2])?, 0),
                    _ => return None,
                };
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let total = (hours * 60 + minutes) as i32;
                if *sign == b'-' { -total } else { total }
            }
            _ => return None,
        };
        let parts = DateTimeParts {
            year: u16::try_from(year).ok()?,
            month: u8::try_from(month).ok()?,
            day: u8::try_from(day).ok()?,
            hour: u8::try_from(hour).ok()?,
            minute: u8::try_from(minute).ok()?,
            second: u8::try_from(second).ok()?,
            nanosecond,
            offset_minutes: i16::try_from(offset_minutes).ok()?,
        };
        parts.is_valid().then_some(parts)
    }

    fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour <= 23
            && self.minute <= 59
            && self.second <= 60
            && self.nanosecond < 1_000_000_000
            && self.year <= 9999
            && self.offset_minutes.unsigned_abs() < 24 * 60
    }

    /// Seconds and nanoseconds since the Unix epoch (UTC) of this instant.
    /// A leap second counts as the first second of the next minute.
    pub fn unix_time(&self) -> (i64, u32) {
        let days = days_from_civil(i64::from(self.year), i64::from(self.month), i64::from(self.day));
        let local = days * 86_400 + i64::from(self.hour) * 3_600 + i64::from(self.minute) * 60 + i64::from(self.second);
        (local - i64::from(self.offset_minutes) * 60, self.nanosecond)
    }

    /// This instant as a [`SystemTime`].
    pub fn to_system_time(&self) -> SystemTime {
        let (seconds, nanos) = self.unix_time();
        if seconds >= 0 {
            UNIX_EPOCH + Duration::new(seconds.unsigned_abs(), nanos)
        } else {
            UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs()) + Duration::from_nanos(u64::from(nanos))
        }
    }

    /// The local date and time at `offset_minutes` from UTC of the instant
    /// `seconds`.`nanos` after the Unix epoch; `None` if the year falls outside
    /// 0..=9999, the offset is a day or more, or `nanos` is a second or more.
    pub fn from_unix_time(seconds: i64, nanos: u32, offset_minutes: i16) -> Option<Self> {
        if nanos >= 1_000_000_000 || offset_minutes.unsigned_abs() >= 24 * 60 {
            return None;
        }
        let local = seconds.checked_add(i64::from(offset_minutes) * 60)?;
        let days = local.div_euclid(86_400);
        let second_of_day = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return None;
        }
        Some(DateTimeParts {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: (second_of_day / 3_600) as u8,
            minute: (second_of_day / 60 % 60) as u8,
            second: (second_of_day % 60) as u8,
            nanosecond: nanos,
            offset_minutes,
        })
    }

    /// The local date and time at `offset_minutes` from UTC of `time`.
    pub fn from_system_time(time: SystemTime, offset_minutes: i16) -> Option<Self> {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => {
                Self::from_unix_time(i64::try_from(after.as_secs()).ok()?, after.subsec_nanos(), offset_minutes)
            }
            Err(before) => {
                let before = before.duration();
                let mut seconds = -i64::try_from(before.as_secs()).ok()?;
                let mut nanos = before.subsec_nanos();
                if nanos > 0 {
                    seconds -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                Self::from_unix_time(seconds, nanos, offset_minutes)
            }
        }
    }
}

impl fmt::Display for DateTimeParts {
    /// RFC 3339: `2000-12-13T13:40:00-08:00`, with the fraction only when it
    /// is not zero and `Z` for UTC.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanosecond != 0 {
            let fraction = format!("{:09}", self.nanosecond);
            write!(f, ".{}", fraction.trim_end_matches('0'))?;
        }
        if self.offset_minutes == 0 {
            f.write_str("Z")
        } else {
            let sign = if self.offset_minutes < 0 { '-' } else { '+' };
            let offset = self.offset_minutes.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", offset / 60, offset % 60)
        }
    }
}

/// A date and time as a peer wrote it (CPIM `DateTime`, is-composing
/// `lastactive`): the text exactly as received, plus its parsed form when
/// the text is RFC 3339. A timestamp that does not parse is kept, not
/// refused, so a message is never lost over a clock format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    parts: Option<DateTimeParts>,
}

impl Timestamp {
    /// A timestamp from its text; [`Timestamp::parts`] is `None` if the text
    /// is not RFC 3339.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let parts = DateTimeParts::parse(&text);
        Timestamp { text, parts }
    }

    /// A timestamp for these fields, written as RFC 3339.
    pub fn from_parts(parts: DateTimeParts) -> Self {
        Timestamp { text: parts.to_string(), parts: Some(parts) }
    }

    /// The timestamp of `time` shown at `offset_minutes` from UTC; `None`
    /// outside the years 0..=9999 or for an offset of a day or more.
    pub fn from_system_time(time: SystemTime, offset_minutes: i16) -> Option<Self> {
        DateTimeParts::from_system_time(time, offset_minutes).map(Self::from_parts)
    }

    /// The text as received or written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed fields, if the text is RFC 3339.
    pub fn parts(&self) -> Option<DateTimeParts> {
        self.parts
    }

    /// The instant, if the text is RFC 3339.
    pub fn to_system_time(&self) -> Option<SystemTime> {
        self.parts.map(|parts| parts.to_system_time())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn ascii_number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0')))
}

fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// ---------------------------------------------------------------------------
// Identities, subjects, namespaces and extension headers
// ---------------------------------------------------------------------------

/// A sender or recipient: `[display-name] <URI>` (CPIM From, To and cc).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CpimIdentity {
    /// The URI between the angle brackets (`sip:alice@example.com`,
    /// `im:piglet@100akerwood.com`).
    pub uri: String,
    /// The display name, unescaped and without quotes.
    pub display_name: Option<String>,
}

impl CpimIdentity {
    /// An identity with an optional display name.
    pub fn new(uri: impl Into<String>, display_name: Option<String>) -> Self {
        CpimIdentity { uri: uri.into(), display_name }
    }

    /// Parses a From, To or cc value: `Name <URI>`, `"Quoted \"name\"" <URI>`,
    /// `<URI>`, or a bare `scheme:...` URI without spaces.
    pub fn parse(value: &str) -> Result<Self, CpimError> {
        let invalid = |reason| CpimError::InvalidIdentity { value: value.to_owned(), reason };
        let trimmed = value.trim_matches(is_whitespace);
        if trimmed.is_empty() {
            return Err(invalid("empty"));
        }
        if !trimmed.ends_with('>') {
            if !trimmed.contains(':') || trimmed.contains(|c: char| is_whitespace(c) || matches!(c, '<' | '>' | '"')) {
                return Err(invalid("expected [display-name] <URI>"));
            }
            return Ok(CpimIdentity { uri: trimmed.to_owned(), display_name: None });
        }
        let (display_name, address) = if trimmed.starts_with('"') {
            let (name, length) = parse_quoted_string(trimmed).ok_or_else(|| invalid("unterminated quoted name"))?;
            (name, trimmed[length..].trim_start_matches(is_whitespace))
        } else {
            let open = trimmed.find('<').ok_or_else(|| invalid("missing '<'"))?;
            let name = trimmed[..open].trim_matches(is_whitespace);
            (unescape(name), &trimmed[open..])
        };
        let uri = address
            .strip_prefix('<')
            .and_then(|rest| rest.strip_suffix('>'))
            .ok_or_else(|| invalid("expected <URI> after the display name"))?;
        if uri.is_empty() || uri.contains(['<', '>']) {
            return Err(invalid("bad URI between angle brackets"));
        }
        let display_name = (!display_name.is_empty()).then_some(display_name);
        Ok(CpimIdentity { uri: uri.to_owned(), display_name })
    }

    /// The header value: `Name <URI>` when the display name is made of CPIM
    /// tokens, a quoted and escaped name otherwise, `<URI>` without one.
    pub fn encode(&self) -> Result<String, CpimError> {
        if self.uri.is_empty()
            || self.uri.contains(|c: char| matches!(c, '<' | '>') || c.is_whitespace() || c.is_control())
        {
            return Err(CpimError::InvalidIdentity { value: self.uri.clone(), reason: "bad URI" });
        }
        let mut out = String::new();
        match self.display_name.as_deref() {
            Some(name) if !name.is_empty() => {
                if name.split(' ').all(|word| !word.is_empty() && word.chars().all(is_tokenchar)) {
                    out.push_str(name);
                } else {
                    push_quoted_string(&mut out, name);
                }
                out.push(' ');
            }
            _ => {}
        }
        let _ = write!(out, "<{}>", self.uri);
        Ok(out)
    }
}

impl fmt::Display for CpimIdentity {
    /// The wire form when it can be written, otherwise a best-effort form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.encode() {
            Ok(text) => f.write_str(&text),
            Err(_) => match &self.display_name {
                Some(name) => write!(f, "{name:?} <{}>", self.uri),
                None => write!(f, "<{}>", self.uri),
            },
        }
    }
}

/// A text with translations, as a CPIM Subject is: the plain `Subject`
/// header is the default text and each `Subject:;lang=xx` header one
/// translation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MultilingualText {
    /// The text of the Subject header without a language, if there is one.
    pub default: Option<String>,
    /// `(language tag, text)` pairs in header order, one per language.
    pub translations: Vec<(String, String)>,
}

impl MultilingualText {
    /// A text without translations.
    pub fn new(text: impl Into<String>) -> Self {
        MultilingualText { default: Some(text.into()), translations: Vec::new() }
    }

    /// Adds (or replaces) the translation for `language`.
    pub fn with_translation(mut self, language: impl Into<String>, text: impl Into<String>) -> Self {
        self.set_translation(language.into(), text.into());
        self
    }

    /// Sets the translation for `language` (compared without case), keeping
    /// the position of an existing one.
    pub fn set_translation(&mut self, language: String, text: String) {
        match self.translations.iter_mut().find(|(lang, _)| lang.eq_ignore_ascii_case(&language)) {
            Some(entry) => entry.1 = text,
            None => self.translations.push((language, text)),
        }
    }

    /// The text to show when no language is asked for: the default text,
    /// else the `en` translation, else the empty string.
    pub fn text(&self) -> &str {
        match &self.default {
            Some(text) => text,
            None => self.lookup("en").unwrap_or(""),
        }
    }

    /// The translation for `language` (compared without case), else
    /// [`MultilingualText::text`].
    pub fn translation(&self, language: &str) -> &str {
        self.lookup(language).unwrap_or_else(|| self.text())
    }

    fn lookup(&self, language: &str) -> Option<&str> {
        self.translations.iter().find(|(lang, _)| lang.eq_ignore_ascii_case(language)).map(|(_, text)| text.as_str())
    }
}

impl From<&str> for MultilingualText {
    fn from(text: &str) -> Self {
        MultilingualText::new(text)
    }
}

impl From<String> for MultilingualText {
    fn from(text: String) -> Self {
        MultilingualText::new(text)
    }
}

/// A header namespace: its URI and the prefix its headers are written with
/// (`NS: MyFeatures <mid:MessageFeatures@id.foo.com>` then
/// `MyFeatures.VitalMessageOption: ...`). The empty prefix is the default
/// namespace, which is [`STANDARD_NAMESPACE`] unless redeclared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CpimNamespace {
    /// The namespace URI.
    pub uri: String,
    /// The prefix, empty for the default namespace.
    pub prefix: String,
}

impl CpimNamespace {
    /// A namespace with its prefix.
    pub fn new(uri: impl Into<String>, prefix: impl Into<String>) -> Self {
        CpimNamespace { uri: uri.into(), prefix: prefix.into() }
    }

    /// The standard CPIM namespace as the default namespace.
    pub fn standard() -> Self {
        CpimNamespace::new(STANDARD_NAMESPACE, "")
    }
}

/// A CPIM header other than the standard ones this module interprets, with
/// its namespace: a `prefix.Name` header of a declared namespace, or an
/// unknown header of the default namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CpimHeader {
    /// The namespace the header name belongs to.
    pub namespace: CpimNamespace,
    /// The header name without prefix.
    pub name: String,
    /// Header parameters (`Name:;param=value value`), in order.
    pub parameters: Vec<(String, String)>,
    /// The value, unescaped.
    pub value: String,
}

impl CpimHeader {
    /// A header without parameters.
    pub fn new(namespace: CpimNamespace, name: impl Into<String>, value: impl Into<String>) -> Self {
        CpimHeader { namespace, name: name.into(), parameters: Vec::new(), value: value.into() }
    }
}

// ---------------------------------------------------------------------------
// The message
// ---------------------------------------------------------------------------

/// One CPIM message: the CPIM headers and the encapsulated MIME object.
///
/// Built by [`CpimMessage::new`] and its public fields (the arguments of
/// `ChatStream.send_message`), written with [`CpimMessage::encode`]; read
/// back with [`CpimMessage::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpimMessage {
    /// `From`: the sender.
    pub sender: Option<CpimIdentity>,
    /// `To` headers: the recipients, in order.
    pub recipients: Vec<CpimIdentity>,
    /// `cc` headers: the courtesy recipients, in order.
    pub courtesy_recipients: Vec<CpimIdentity>,
    /// `Subject` headers: the default subject and its translations.
    pub subject: Option<MultilingualText>,
    /// `DateTime`.
    pub timestamp: Option<Timestamp>,
    /// `Require`: the header names (`Prefix.Name` or `Name`) the recipient
    /// must understand to process the message.
    pub required: Vec<String>,
    /// Other CPIM headers with their namespaces, in order.
    pub additional_headers: Vec<CpimHeader>,
    /// The media type of the content, `type/subtype`, lower case after
    /// parsing (`text/plain` when the MIME part has no Content-Type).
    pub content_type: String,
    /// The `charset` parameter of the Content-Type.
    pub charset: Option<String>,
    /// Other Content-Type parameters, in order.
    pub content_type_parameters: Vec<(String, String)>,
    /// The MIME headers other than Content-Type (`Content-ID`, ...), in
    /// order, as `(name, value)`.
    pub content_headers: Vec<(String, String)>,
    /// The content bytes, exactly as carried.
    pub content: Vec<u8>,
}

impl CpimMessage {
    /// A message carrying `content` of `content_type`; the content type may
    /// carry parameters (`text/plain; charset=utf-8`), which are split out
    /// into [`CpimMessage::charset`] and
    /// [`CpimMessage::content_type_parameters`].
    pub fn new(content: impl Into<Vec<u8>>, content_type: &str) -> Self {
        let mut message = CpimMessage { content: content.into(), ..CpimMessage::default() };
        message.set_content_type(content_type);
        message
    }

    /// Sets the content type, splitting off its parameters as
    /// [`CpimMessage::new`] does. The value is checked by
    /// [`CpimMessage::encode`].
    pub fn set_content_type(&mut self, content_type: &str) {
        let mut pieces = split_mime_parameters(content_type).into_iter();
        self.content_type = pieces.next().unwrap_or_default().trim().to_owned();
        self.charset = None;
        self.content_type_parameters.clear();
        for piece in pieces {
            let (name, value) = parse_mime_parameter(piece);
            if name.eq_ignore_ascii_case("charset") {
                self.charset = Some(value);
            } else if !name.is_empty() {
                self.content_type_parameters.push((name, value));
            }
        }
    }

    /// The full Content-Type value of the MIME part, with its parameters.
    pub fn content_type_header(&self) -> String {
        let mut out = self.content_type.clone();
        let charset = self.charset.iter().map(|charset| ("charset", charset.as_str()));
        let others = self.content_type_parameters.iter().map(|(name, value)| (name.as_str(), value.as_str()));
        for (name, value) in charset.chain(others) {
            let _ = write!(out, "; {name}=");
            if !value.is_empty() && value.chars().all(is_mime_tokenchar) {
                out.push_str(value);
            } else {
                out.push('"');
                for c in value.chars() {
                    if matches!(c, '"' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
        out
    }

    /// Parses a `message/cpim` payload. Lines may end in CRLF or LF.
    ///
    /// Standard headers are recognised in the standard namespace whatever
    /// their case; `Required` (as some implementations write `Require`) is
    /// read as `Require`. A header whose prefix was never declared is
    /// dropped; a `DateTime` that is not RFC 3339 is kept as text.
    pub fn parse(payload: &[u8]) -> Result<Self, CpimError> {
        let mut line_number = 0;
        let (headers, mime_start) =
            read_header_block(payload, 0, &mut line_number)?.ok_or(CpimError::MissingHeaderSeparator)?;
        let mut message = CpimMessage::default();
        let mut bindings: Vec<(String, String)> = vec![(String::new(), STANDARD_NAMESPACE.to_owned())];
        for (line, text) in &headers {
            let header = parse_cpim_header_line(*line, text)?;
            let uri = match bindings.iter().rev().find(|(prefix, _)| *prefix == header.prefix) {
                Some((_, uri)) => uri.clone(),
                None => {
                    tracing::debug!(line, prefix = header.prefix, "CPIM header with an undeclared prefix dropped");
                    continue;
                }
            };
            if uri == STANDARD_NAMESPACE && message.apply_standard_header(&header, &mut bindings)? {
                continue;
            }
            message.additional_headers.push(CpimHeader {
                namespace: CpimNamespace { uri, prefix: header.prefix.to_owned() },
                name: header.name.to_owned(),
                parameters: header.parameters,
                value: unescape(header.raw_value),
            });
        }

        let (content_headers, body_start) =
            read_header_block(payload, mime_start, &mut line_number)?.ok_or(CpimError::MissingContentSeparator)?;
        let mut content_type = None;
        for (line, text) in content_headers {
            let colon = text.find(':').ok_or(CpimError::MalformedHeader { line, reason: "no ':'" })?;
            let name = text[..colon].trim_matches(is_whitespace);
            if name.is_empty() || !name.chars().all(is_field_name_char) {
                return Err(CpimError::MalformedHeader { line, reason: "invalid MIME header name" });
            }
            let value = text[colon + 1..].trim_matches(is_whitespace);
            if name.eq_ignore_ascii_case("Content-Type") {
                content_type = Some(value.to_owned());
            } else {
                message.content_headers.push((name.to_owned(), value.to_owned()));
            }
        }
        let content_type = content_type.unwrap_or_else(|| "text/plain".to_owned());
        message.set_content_type(&content_type);
        if !is_media_type(&message.content_type) {
            return Err(CpimError::InvalidContentType(content_type));
        }
        message.content_type.make_ascii_lowercase();
        message.content = payload.get(body_start..).unwrap_or_default().to_vec();
        Ok(message)
    }

    /// Interprets a header of the standard namespace; false if it is not one
    /// of the standard headers.
    fn apply_standard_header(
        &mut self,
        header: &RawHeader<'_>,
        bindings: &mut Vec<(String, String)>,
    ) -> Result<bool, CpimError> {
        let name = header.name;
        let is = |standard: &str| name.eq_ignore_ascii_case(standard);
        if is("From") {
            self.sender = Some(CpimIdentity::parse(header.raw_value)?);
        } else if is("To") {
            self.recipients.push(CpimIdentity::parse(header.raw_value)?);
        } else if is("cc") {
            self.courtesy_recipients.push(CpimIdentity::parse(header.raw_value)?);
        } else if is("DateTime") {
            self.timestamp = Some(Timestamp::new(unescape(header.raw_value)));
        } else if is("Subject") {
            let text = unescape(header.raw_value);
            let subject = self.subject.get_or_insert_with(MultilingualText::default);
            match header.parameters.iter().find(|(name, _)| name.eq_ignore_ascii_case("lang")) {
                Some((_, language)) => subject.set_translation(language.clone(), text),
                None => subject.default = Some(text),
            }
        } else if is("NS") {
            let (prefix, uri) = parse_namespace_value(header.raw_value)?;
            bindings.push((prefix, uri));
        } else if is("Require") || is("Required") {
            let value = unescape(header.raw_value);
            let names = value.split(',').map(|name| name.trim_matches(is_whitespace)).filter(|name| !name.is_empty());
            self.required.extend(names.map(str::to_owned));
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// Writes the payload: CPIM headers (From, To, cc, Subject and its
    /// translations, DateTime, Require, then the additional headers with an
    /// NS declaration before the first header of each namespace not yet
    /// bound to its prefix), a blank line, the MIME headers, a blank line and
    /// the content. Header values are escaped; names are checked.
    pub fn encode(&self) -> Result<Vec<u8>, CpimError> {
        let mut head = String::new();
        if let Some(sender) = &self.sender {
            let _ = write!(head, "From: {}\r\n", sender.encode()?);
        }
        for recipient in &self.recipients {
            let _ = write!(head, "To: {}\r\n", recipient.encode()?);
        }
        for recipient in &self.courtesy_recipients {
            let _ = write!(head, "cc: {}\r\n", recipient.encode()?);
        }
        if let Some(timestamp) = &self.timestamp {
            let _ = write!(head, "DateTime: {}\r\n", escape_header_value(timestamp.text()));
        }
        if let Some(subject) = &self.subject {
            if let Some(text) = &subject.default {
                let _ = write!(head, "Subject: {}\r\n", escape_header_value(text));
            }
            for (language, text) in &subject.translations {
                if language.is_empty() || !language.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(CpimError::InvalidName { what: "language tag", value: language.clone() });
                }
                let _ = write!(head, "Subject:;lang={language} {}\r\n", escape_header_value(text));
            }
        }
        let mut bindings: Vec<(String, String)> = vec![(String::new(), STANDARD_NAMESPACE.to_owned())];
        if !self.required.is_empty() {
            for name in &self.required {
                check_header_name(name, "Require entry", true)?;
                // declare the namespace of a required prefixed header first
                if let Some((prefix, _)) = name.split_once('.') {
                    let first = self.additional_headers.iter().find(|header| header.namespace.prefix == prefix);
                    if let Some(header) = first {
                        declare_namespace(&mut head, &mut bindings, &header.namespace)?;
                    }
                }
            }
            let _ = write!(head, "Require: {}\r\n", self.required.join(","));
        }
        for header in &self.additional_headers {
            let prefix = &header.namespace.prefix;
            if !prefix.is_empty() {
                check_header_name(prefix, "namespace prefix", false)?;
            }
            check_header_name(&header.name, "header name", false)?;
            declare_namespace(&mut head, &mut bindings, &header.namespace)?;
            if !prefix.is_empty() {
                head.push_str(prefix);
                head.push('.');
            }
            head.push_str(&header.name);
            head.push(':');
            for (name, value) in &header.parameters {
                check_header_name(name, "parameter name", false)?;
                let _ = write!(head, ";{name}=");
                if !value.is_empty() && value.chars().all(is_tokenchar) {
                    head.push_str(value);
                } else {
                    push_quoted_string(&mut head, value);
                }
            }
            let _ = write!(head, " {}\r\n", escape_header_value(&header.value));
        }
        head.push_str("\r\n");

        if !is_media_type(&self.content_type) {
            return Err(CpimError::InvalidContentType(self.content_type.clone()));
        }
        let parameter_names = self.content_type_parameters.iter().map(|(name, _)| name);
        for name in parameter_names {
            if name.is_empty() || !name.chars().all(is_mime_tokenchar) {
                return Err(CpimError::InvalidContentType(self.content_type_header()));
            }
        }
        let content_type = self.content_type_header();
        if content_type.contains(['\r', '\n']) {
            return Err(CpimError::InvalidContentType(content_type));
        }
        let _ = write!(head, "Content-Type: {content_type}\r\n");
        for (name, value) in &self.content_headers {
            if name.is_empty() || !name.chars().all(is_field_name_char) || value.contains(['\r', '\n']) {
                return Err(CpimError::InvalidContentHeader { name: name.clone() });
            }
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");

        let mut out = head.into_bytes();
        out.extend_from_slice(&self.content);
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// Header syntax
// ---------------------------------------------------------------------------

/// One CPIM header line split into its parts; the value is still escaped.
struct RawHeader<'a> {
    prefix: &'a str,
    name: &'a str,
    parameters: Vec<(String, String)>,
    raw_value: &'a str,
}

/// Header lines with their 1-based line numbers, folded lines joined.
type HeaderLines = Vec<(usize, String)>;

/// Reads header lines from `start` up to and including the blank line that
/// ends them. Folded lines (starting with a space or tab) are joined to the
/// line before. `None` if the input ends before a blank line.
fn read_header_block(
    input: &[u8],
    start: usize,
    line_number: &mut usize,
) -> Result<Option<(HeaderLines, usize)>, CpimError> {
    let mut lines: HeaderLines = Vec::new();
    let mut position = start;
    loop {
        let Some(rest) = input.get(position..) else { return Ok(None) };
        let Some(length) = memchr::memchr(b'\n', rest) else { return Ok(None) };
        *line_number += 1;
        let line = &rest[..length];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        position += length + 1;
        if line.is_empty() {
            return Ok(Some((lines, position)));
        }
        let text = std::str::from_utf8(line).map_err(|_| CpimError::InvalidUtf8 { line: *line_number })?;
        if text.starts_with([' ', '\t']) {
            match lines.last_mut() {
                Some((_, previous)) => previous.push_str(text),
                None => {
                    return Err(CpimError::MalformedHeader {
                        line: *line_number,
                        reason: "continuation line without a header",
                    });
                }
            }
        } else {
            lines.push((*line_number, text.to_owned()));
        }
    }
}

/// Splits `Prefix.Name:;param=value value` (RFC 3862 section 3.1).
fn parse_cpim_header_line(line: usize, text: &str) -> Result<RawHeader<'_>, CpimError> {
    let malformed = |reason| CpimError::MalformedHeader { line, reason };
    let colon = text.find(':').ok_or(malformed("no ':'"))?;
    let full_name = &text[..colon];
    let (prefix, name) = full_name.split_once('.').unwrap_or(("", full_name));
    let valid_name = |name: &str| !name.is_empty() && name.chars().all(is_namechar);
    if !valid_name(name) || (!prefix.is_empty() && !valid_name(prefix)) || full_name.starts_with('.') {
        return Err(malformed("invalid header name"));
    }
    let mut rest = &text[colon + 1..];
    let mut parameters = Vec::new();
    while let Some(parameter) = rest.strip_prefix(';') {
        let name_length = parameter.find(|c: char| !is_namechar(c)).unwrap_or(parameter.len());
        if name_length == 0 {
            return Err(malformed("invalid parameter name"));
        }
        let parameter_name = &parameter[..name_length];
        rest = &parameter[name_length..];
        let value = if let Some(after_equals) = rest.strip_prefix('=') {
            if after_equals.starts_with('"') {
                let (value, length) =
                    parse_quoted_string(after_equals).ok_or(malformed("unterminated quoted parameter"))?;
                rest = &after_equals[length..];
                value
            } else {
                let length = after_equals.find(|c: char| !is_tokenchar(c)).unwrap_or(after_equals.len());
                rest = &after_equals[length..];
                after_equals[..length].to_owned()
            }
        } else {
            String::new()
        };
        parameters.push((parameter_name.to_owned(), value));
    }
    if !rest.is_empty() && !rest.starts_with(is_whitespace) {
        return Err(malformed("no space before the value"));
    }
    let raw_value = rest.trim_matches(is_whitespace);
    Ok(RawHeader { prefix, name, parameters, raw_value })
}

/// Parses an NS value, `[prefix] <URI>`.
fn parse_namespace_value(value: &str) -> Result<(String, String), CpimError> {
    let invalid = || CpimError::InvalidNamespace { value: value.to_owned() };
    let trimmed = value.trim_matches(is_whitespace);
    let open = trimmed.find('<').ok_or_else(invalid)?;
    let prefix = trimmed[..open].trim_matches(is_whitespace);
    let uri = trimmed[open + 1..].strip_suffix('>').ok_or_else(invalid)?;
    if uri.is_empty() || uri.contains(['<', '>']) || !prefix.chars().all(is_namechar) {
        return Err(invalid());
    }
    Ok((prefix.to_owned(), uri.to_owned()))
}

/// Writes an NS declaration for `namespace` unless its prefix is already
/// bound to its URI.
fn declare_namespace(
    head: &mut String,
    bindings: &mut Vec<(String, String)>,
    namespace: &CpimNamespace,
) -> Result<(), CpimError> {
    let CpimNamespace { uri, prefix } = namespace;
    let bound = bindings.iter().rev().find(|(bound_prefix, _)| bound_prefix == prefix);
    if bound.map(|(_, bound_uri)| bound_uri) == Some(uri) {
        return Ok(());
    }
    if uri.is_empty() || uri.contains(|c: char| matches!(c, '<' | '>') || c.is_control()) {
        return Err(CpimError::InvalidNamespace { value: uri.clone() });
    }
    if !prefix.is_empty() {
        check_header_name(prefix, "namespace prefix", false)?;
        let _ = write!(head, "NS: {prefix} <{uri}>\r\n");
    } else {
        let _ = write!(head, "NS: <{uri}>\r\n");
    }
    bindings.push((prefix.clone(), uri.clone()));
    Ok(())
}

/// Checks a name to encode: NAMECHARs, and with `allow_prefix` one optional
/// `Prefix.` in front.
fn check_header_name(name: &str, what: &'static str, allow_prefix: bool) -> Result<(), CpimError> {
    let valid = |part: &str| !part.is_empty() && part.chars().all(is_namechar);
    let ok = match name.split_once('.') {
        Some((prefix, rest)) if allow_prefix => valid(prefix) && valid(rest),
        Some(_) => false,
        None => valid(name),
    };
    if ok { Ok(()) } else { Err(CpimError::InvalidName { what, value: name.to_owned() }) }
}

fn is_whitespace(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// NAMECHAR of RFC 3862.
fn is_namechar(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '!' | '#'..='\'' | '*' | '+' | '-' | '^'..='`' | '|' | '~')
}

/// TOKENCHAR of RFC 3862.
fn is_tokenchar(c: char) -> bool {
    is_namechar(c) || c == '.'
}

/// A token character of RFC 2045 (MIME parameters).
fn is_mime_tokenchar(c: char) -> bool {
    c.is_ascii_graphic()
        && !matches!(c, '(' | ')' | '<' | '>' | '@' | ',' | ';' | ':' | '\\' | '"' | '/' | '[' | ']' | '?' | '=')
}

/// A character of an RFC 5322 header field name.
fn is_field_name_char(c: char) -> bool {
    c.is_ascii_graphic() && c != ':'
}

/// `type/subtype` made of MIME tokens.
fn is_media_type(value: &str) -> bool {
    match value.split_once('/') {
        Some((kind, subtype)) => {
            let token = |part: &str| !part.is_empty() && part.chars().all(is_mime_tokenchar);
            token(kind) && token(subtype)
        }
        None => false,
    }
}

/// Splits a MIME header value at the semicolons outside quoted strings.
fn split_mime_parameters(value: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (index, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => {
                pieces.push(&value[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    pieces.push(&value[start..]);
    pieces
}

/// `name=value` or `name="quoted \" value"` of a MIME parameter.
fn parse_mime_parameter(piece: &str) -> (String, String) {
    let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
    let value = value.trim_matches(is_whitespace);
    let value = match value.strip_prefix('"') {
        Some(quoted) => {
            let quoted = quoted.strip_suffix('"').unwrap_or(quoted);
            let mut out = String::with_capacity(quoted.len());
            let mut chars = quoted.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
            }
            out
        }
        None => value.to_owned(),
    };
    (name.trim_matches(is_whitespace).to_owned(), value)
}

/// Parses a CPIM String starting with `"` at the start of `text`: the
/// unescaped content and the length up to and including the closing quote.
fn parse_quoted_string(text: &str) -> Option<(String, usize)> {
    let inner = text.strip_prefix('"')?;
    let mut escaped = false;
    for (index, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some((unescape(&inner[..index]), index + 2)),
            _ => {}
        }
    }
    None
}

/// Removes the escapes of RFC 3862 (`\\ \" \' \b \t \n \r \uXXXX`, with
/// UTF-16 surrogate pairs). A backslash that starts no escape is kept as it
/// is, since some peers send values without escaping them.
fn unescape(value: &str) -> String {
    if !value.contains('\\') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(index) = rest.find('\\') {
        out.push_str(&rest[..index]);
        let after = &rest[index + 1..];
        let simple = match after.as_bytes().first() {
            Some(b'\\') => Some('\\'),
            Some(b'"') => Some('"'),
            Some(b'\'') => Some('\''),
            Some(b'b') => Some('\u{8}'),
            Some(b't') => Some('\t'),
            Some(b'n') => Some('\n'),
            Some(b'r') => Some('\r'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            rest = &after[1..];
            continue;
        }
        match after.strip_prefix('u').and_then(hex4) {
            Some(high @ 0xD800..=0xDBFF) => {
                let low = after[5..].strip_prefix("\\u").and_then(hex4).filter(|low| (0xDC00..=0xDFFF).contains(low));
                match low {
                    Some(low) => {
                        let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                        out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                        rest = &after[11..];
                    }
                    None => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        rest = &after[5..];
                    }
                }
            }
            Some(code) => {
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                rest = &after[5..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The four hex digits at the start of `text`.
fn hex4(text: &str) -> Option<u32> {
    let digits = text.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// Escapes a header value: backslash, control characters, and spaces or
/// tabs at either end (which parsing would otherwise trim).
fn escape_header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (index, c) in value.char_indices() {
        let at_edge = index == 0 || index + c.len_utf8() == value.len();
        match c {
            '\\' => out.push_str("\\\\"),
            ' ' | '\t' if at_edge => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Appends a CPIM String: quoted, with `"`, `\` and control characters
/// escaped.
fn push_quoted_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// The example of RFC 3862 section 6 without its outer MIME header.
    const RFC3862_EXAMPLE: &str = "From: MR SANDERS <im:piglet@100akerwood.com>\r\n\
        To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n\
        DateTime: 2000-12-13T13:40:00-08:00\r\n\
        Subject: the weather will be fine today\r\n\
        Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n\
        NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n\
        Require: MyFeatures.VitalMessageOption\r\n\
        MyFeatures.VitalMessageOption: Confirmation-requested\r\n\
        MyFeatures.WackyMessageOption: Use-silly-font\r\n\
        \r\n\
        Content-type: text/xml; charset=utf-8\r\n\
        Content-ID: <1234567890@foo.com>\r\n\
        \r\n\
        <body>\r\n\
        Here is the text of my message.\r\n\
        </body>\r\n";

    fn features() -> CpimNamespace {
        CpimNamespace::new("mid:MessageFeatures@id.foo.com", "MyFeatures")
    }

    #[test]
    fn rfc3862_example_parses() {
        let message = CpimMessage::parse(RFC3862_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(message.sender, Some(CpimIdentity::new("im:piglet@100akerwood.com", Some("MR SANDERS".into()))));
        assert_eq!(
            message.recipients,
            vec![CpimIdentity::new("im:eeyore@100akerwood.com", Some("Depressed Donkey".into()))]
        );
        assert!(message.courtesy_recipients.is_empty());
        let timestamp = message.timestamp.clone().unwrap();
        assert_eq!(timestamp.text(), "2000-12-13T13:40:00-08:00");
        let parts = timestamp.parts().unwrap();
        assert_eq!((parts.year, parts.month, parts.day, parts.hour, parts.offset_minutes), (2000, 12, 13, 13, -480));
        // 2000-12-13T21:40:00Z
        assert_eq!(parts.unix_time(), (976_743_600, 0));
        let subject = message.subject.clone().unwrap();
        assert_eq!(subject.text(), "the weather will be fine today");
        assert_eq!(subject.translation("fr"), "beau temps prevu pour aujourd'hui");
        assert_eq!(subject.translation("FR"), "beau temps prevu pour aujourd'hui");
        assert_eq!(subject.translation("de"), "the weather will be fine today");
        assert_eq!(message.required, vec!["MyFeatures.VitalMessageOption".to_owned()]);
        assert_eq!(
            message.additional_headers,
            vec![
                CpimHeader::new(features(), "VitalMessageOption", "Confirmation-requested"),
                CpimHeader::new(features(), "WackyMessageOption", "Use-silly-font"),
            ]
        );
        assert_eq!(message.content_type, "text/xml");
        assert_eq!(message.charset.as_deref(), Some("utf-8"));
        assert_eq!(message.content_headers, vec![("Content-ID".to_owned(), "<1234567890@foo.com>".to_owned())]);
        assert_eq!(message.content, b"<body>\r\nHere is the text of my message.\r\n</body>\r\n");
    }

    #[test]
    fn rfc3862_example_round_trips_and_encodes_as_the_rfc_writes_it() {
        let message = CpimMessage::parse(RFC3862_EXAMPLE.as_bytes()).unwrap();
        let encoded = message.encode().unwrap();
        let text = String::from_utf8(encoded.clone()).unwrap();
        let expected = RFC3862_EXAMPLE.replace("Content-type", "Content-Type");
        assert_eq!(text, expected);
        assert_eq!(CpimMessage::parse(&encoded).unwrap(), message);
    }

    #[test]
    fn a_message_built_from_send_message_arguments_reads_back() {
        let mut message = CpimMessage::new("h\u{e9}llo \\ world".as_bytes(), "text/plain; charset=utf-8");
        message.sender = Some(CpimIdentity::new("sip:alice@example.com", Some("Alice Smith".into())));
        message.recipients = vec![
            CpimIdentity::new("sip:bob@example.com", None),
            CpimIdentity::new("sip:carol@example.com", Some("Smith, Carol \"CJ\"".into())),
        ];
        message.courtesy_recipients = vec![CpimIdentity::new("sip:dave@example.com", Some("D\u{e4}ve".into()))];
        message.subject = Some(
            MultilingualText::new("Lunch?")
                .with_translation("fr", "D\u{e9}jeuner ?")
                .with_translation("de-CH", "Zmittag?"),
        );
        message.timestamp =
            Some(Timestamp::from_parts(DateTimeParts::from_unix_time(1_700_000_000, 250_000_000, 60).unwrap()));
        message.required = vec!["Chat.Priority".to_owned()];
        let chat = CpimNamespace::new("urn:example:chat", "Chat");
        message.additional_headers = vec![
            CpimHeader::new(chat.clone(), "Priority", "urgent"),
            CpimHeader {
                namespace: CpimNamespace::new("urn:example:other", "X"),
                name: "Note".to_owned(),
                parameters: vec![("kind".to_owned(), "two words".to_owned())],
                value: "line one\nline two\\".to_owned(),
            },
            CpimHeader::new(chat, "Thread", "t-1"),
            CpimHeader::new(CpimNamespace::standard(), "Unknown-Standard", " padded "),
        ];
        message.content_headers = vec![("Content-ID".to_owned(), "<1@example.com>".to_owned())];

        let encoded = message.encode().unwrap();
        let text = String::from_utf8(encoded.clone()).unwrap();
        assert!(text.starts_with("From: Alice Smith <sip:alice@example.com>\r\n"), "{text}");
        assert!(text.contains("To: <sip:bob@example.com>\r\n"));
        assert!(text.contains("To: \"Smith, Carol \\\"CJ\\\"\" <sip:carol@example.com>\r\n"), "{text}");
        assert!(text.contains("cc: \"D\u{e4}ve\" <sip:dave@example.com>\r\n"), "{text}");
        assert!(
            text.contains("Subject: Lunch?\r\nSubject:;lang=fr D\u{e9}jeuner ?\r\nSubject:;lang=de-CH Zmittag?\r\n")
        );
        assert!(text.contains("DateTime: 2023-11-14T23:13:20.25+01:00\r\n"), "{text}");
        assert!(text.contains("Require: Chat.Priority\r\n"));
        // one NS per namespace, declared before its first header only
        assert_eq!(text.matches("NS: Chat <urn:example:chat>\r\n").count(), 1);
        assert!(
            text.contains("NS: X <urn:example:other>\r\nX.Note:;kind=\"two words\" line one\\u000aline two\\\\\r\n"),
            "{text}"
        );
        assert!(text.contains("Unknown-Standard: \\u0020padded\\u0020\r\n"), "{text}");
        assert!(text.contains(
            "\r\n\r\nContent-Type: text/plain; charset=utf-8\r\nContent-ID: <1@example.com>\r\n\r\nh\u{e9}llo \\ world"
        ));

        let parsed = CpimMessage::parse(&encoded).unwrap();
        assert_eq!(parsed, message);
        let timestamp = parsed.timestamp.unwrap();
        assert_eq!(timestamp.to_system_time(), Some(UNIX_EPOCH + Duration::new(1_700_000_000, 250_000_000)));
    }

    #[test]
    fn multilingual_subjects() {
        let payload = "Subject:;lang=en Hello\r\nSubject:;lang=fr Bonjour\r\nSubject:;lang=\"ja\" \u{3053}\u{3093}\u{306b}\u{3061}\u{306f}\r\n\r\nContent-Type: text/plain\r\n\r\nx";
        let subject = CpimMessage::parse(payload.as_bytes()).unwrap().subject.unwrap();
        assert_eq!(subject.default, None);
        assert_eq!(subject.text(), "Hello", "without a plain Subject the English one is the text");
        assert_eq!(subject.translation("ja"), "\u{3053}\u{3093}\u{306b}\u{3061}\u{306f}");
        assert_eq!(subject.translations.len(), 3);
        // a repeated language replaces the earlier text
        let payload = "Subject: a\r\nSubject:;lang=fr b\r\nSubject:;lang=FR c\r\n\r\n\r\n";
        let subject = CpimMessage::parse(payload.as_bytes()).unwrap().subject.unwrap();
        assert_eq!(subject, MultilingualText::new("a").with_translation("fr", "c"));
        assert_eq!(MultilingualText::default().text(), "");
    }

    #[test]
    fn namespaces_resolve_per_prefix_and_redeclaration() {
        let payload = "NS: A <urn:a>\r\n\
            A.One: 1\r\n\
            NS: A <urn:a2>\r\n\
            A.Two: 2\r\n\
            Z.Dropped: never declared\r\n\
            NS: std <urn:ietf:params:cpim-headers:>\r\n\
            std.From: <sip:alice@example.com>\r\n\
            NS: <urn:default>\r\n\
            From: not the standard From\r\n\
            \r\n\r\n";
        let message = CpimMessage::parse(payload.as_bytes()).unwrap();
        assert_eq!(message.sender, Some(CpimIdentity::new("sip:alice@example.com", None)));
        assert_eq!(
            message.additional_headers,
            vec![
                CpimHeader::new(CpimNamespace::new("urn:a", "A"), "One", "1"),
                CpimHeader::new(CpimNamespace::new("urn:a2", "A"), "Two", "2"),
                CpimHeader::new(CpimNamespace::new("urn:default", ""), "From", "not the standard From"),
            ]
        );
        // encoding redeclares what it needs
        let text = String::from_utf8(message.encode().unwrap()).unwrap();
        assert!(text.contains("NS: A <urn:a>\r\nA.One: 1\r\nNS: A <urn:a2>\r\nA.Two: 2\r\nNS: <urn:default>\r\nFrom: not the standard From\r\n"), "{text}");
        assert_eq!(CpimMessage::parse(text.as_bytes()).unwrap(), message);
    }

    #[test]
    fn header_value_escapes() {
        let payload = "Subject: tab\\there \\\"q\\\" \\u00e9\\ud83d\\ude00 \\\\ \\x C:\\dir \\ud800x\r\n\r\n\r\n";
        let subject = CpimMessage::parse(payload.as_bytes()).unwrap().subject.unwrap();
        assert_eq!(subject.text(), "tab\there \"q\" \u{e9}\u{1F600} \\ \\x C:\\dir \u{FFFD}x");
        assert_eq!(unescape("end\\"), "end\\");
        assert_eq!(unescape("\\u12"), "\\u12");
        assert_eq!(escape_header_value("a\\b\r\n\u{7f}"), "a\\\\b\\u000d\\u000a\\u007f");
        for value in ["", " ", "\t x \t", "a\\u0041", "\u{1F600}\0", "\"quoted\""] {
            assert_eq!(unescape(&escape_header_value(value)), value);
        }
        // a quoted display name with escapes
        let identity = CpimIdentity::parse(r#""Bob \"the\" \\ Builder\u0021" <sip:bob@example.com>"#).unwrap();
        assert_eq!(identity.display_name.as_deref(), Some("Bob \"the\" \\ Builder!"));
        assert_eq!(CpimIdentity::parse(&identity.encode().unwrap()).unwrap(), identity);
    }

    #[test]
    fn identities() {
        let parse = |value: &str| CpimIdentity::parse(value);
        assert_eq!(parse("<sip:a@b>").unwrap(), CpimIdentity::new("sip:a@b", None));
        assert_eq!(parse("  sip:a@b ").unwrap(), CpimIdentity::new("sip:a@b", None));
        assert_eq!(parse("\"\" <sip:a@b>").unwrap(), CpimIdentity::new("sip:a@b", None));
        assert_eq!(parse("Alice  <sip:a@b;transport=tcp>").unwrap().display_name.as_deref(), Some("Alice"));
        for bad in
            ["", "Alice sip:a@b", "Alice <>", "Alice <sip:a@b", "\"Alice <sip:a@b>", "Alice <a<b>", "Alice sip:a@b>"]
        {
            assert!(matches!(parse(bad), Err(CpimError::InvalidIdentity { .. })), "{bad:?}");
        }
        let mut message = CpimMessage::new("x", "text/plain");
        message.sender = Some(CpimIdentity::new("sip:a@b>\r\nTo: <sip:evil@x>", None));
        assert!(matches!(message.encode(), Err(CpimError::InvalidIdentity { .. })));
    }

    #[test]
    fn lf_line_endings_and_the_original_implementations_output_are_accepted() {
        // CPIM headers with CRLF and the MIME part with LF, "Required", a
        // quoted charset and a DateTime with microseconds.
        let payload = "From: Alice <sip:alice@example.com>\r\n\
            To: <sip:bob@example.com>\r\n\
            DateTime: 2024-02-29T23:59:59.123456+00:00\r\n\
            Required: a,b , c\r\n\
            \r\n\
            Content-Type: text/plain; charset=\"utf8\"\n\
            \n\
            hello\nworld";
        let message = CpimMessage::parse(payload.as_bytes()).unwrap();
        assert_eq!(message.required, vec!["a", "b", "c"]);
        assert_eq!(message.charset.as_deref(), Some("utf8"));
        assert_eq!(message.content, b"hello\nworld");
        let parts = message.timestamp.unwrap().parts().unwrap();
        assert_eq!((parts.month, parts.day, parts.nanosecond, parts.offset_minutes), (2, 29, 123_456_000, 0));

        let lf_only = RFC3862_EXAMPLE.replace("\r\n", "\n");
        let message = CpimMessage::parse(lf_only.as_bytes()).unwrap();
        let crlf = CpimMessage::parse(RFC3862_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(message.content, b"<body>\nHere is the text of my message.\n</body>\n");
        assert_eq!(CpimMessage { content: crlf.content.clone(), ..message }, crlf);
    }

    #[test]
    fn mime_part_details() {
        // no Content-Type means text/plain; folded MIME header; case-insensitive names
        let payload = "\r\nX-Note: one\r\n two\r\n\r\nbody";
        let message = CpimMessage::parse(payload.as_bytes()).unwrap();
        assert_eq!(message.content_type, "text/plain");
        assert_eq!(message.content_headers, vec![("X-Note".to_owned(), "one two".to_owned())]);
        let payload = "\r\nCONTENT-TYPE: Text/HTML; Charset=ISO-8859-1; format=\"flo;wed\"\r\n\r\n<p>";
        let message = CpimMessage::parse(payload.as_bytes()).unwrap();
        assert_eq!(message.content_type, "text/html");
        assert_eq!(message.charset.as_deref(), Some("ISO-8859-1"));
        assert_eq!(message.content_type_parameters, vec![("format".to_owned(), "flo;wed".to_owned())]);
        assert_eq!(message.content_type_header(), "text/html; charset=ISO-8859-1; format=\"flo;wed\"");
        // binary content is carried unchanged
        let mut payload = b"\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
        payload.extend([0u8, 0xff, b'\r', b'\n', 0x80]);
        let message = CpimMessage::parse(&payload).unwrap();
        assert_eq!(message.content, [0u8, 0xff, b'\r', b'\n', 0x80]);
        assert_eq!(message.encode().unwrap(), payload);
    }

    #[test]
    fn malformed_payloads_give_typed_errors() {
        type Expectation = fn(&CpimError) -> bool;
        let cases: &[(&[u8], Expectation)] = &[
            (b"", |e| *e == CpimError::MissingHeaderSeparator),
            (b"From: <sip:a@b>\r\n", |e| *e == CpimError::MissingHeaderSeparator),
            (b"From: <sip:a@b>\r\n\r\nContent-Type: text/plain\r\n", |e| *e == CpimError::MissingContentSeparator),
            (b"From: <sip:a@b>\r\n\r\n", |e| *e == CpimError::MissingContentSeparator),
            (b"no colon here\r\n\r\n\r\n", |e| matches!(e, CpimError::MalformedHeader { line: 1, .. })),
            (b"To: <sip:a@b>\r\nBad Name: x\r\n\r\n\r\n", |e| matches!(e, CpimError::MalformedHeader { line: 2, .. })),
            (b"A.B.C: x\r\n\r\n\r\n", |e| matches!(e, CpimError::MalformedHeader { .. })),
            (b".B: x\r\n\r\n\r\n", |e| matches!(e, CpimError::MalformedHeader { .. })),
            (b"Subject:;=x y\r\n\r\n\r\n", |e| matches!(e, CpimError::MalformedHeader { .. })),
            (b"Subject:;lang=\"fr y\r\n\r\n\r\n", |e| matches!(e, CpimError::MalformedHeader { .. })),
            (b"Subject:value\r\n\r\n\r\n", |e| matches!(e, CpimError::MalformedHeader { .. })),
            (b" folded: first\r\n\r\n\r\n", |e| matches!(e, CpimError::MalformedHeader { .. })),
            (b"From: \xff\r\n\r\n\r\n", |e| *e == CpimError::InvalidUtf8 { line: 1 }),
            (b"From: Alice\r\n\r\n\r\n", |e| matches!(e, CpimError::InvalidIdentity { .. })),
            (b"NS: A urn:a\r\n\r\n\r\n", |e| matches!(e, CpimError::InvalidNamespace { .. })),
            (b"NS: A B <urn:a>\r\n\r\n\r\n", |e| matches!(e, CpimError::InvalidNamespace { .. })),
            (b"\r\nContent-Type: text\r\n\r\n", |e| matches!(e, CpimError::InvalidContentType(_))),
            (b"\r\nContent-Type text/plain\r\n\r\n", |e| matches!(e, CpimError::MalformedHeader { line: 2, .. })),
        ];
        for (payload, expected) in cases {
            let error = CpimMessage::parse(payload).unwrap_err();
            assert!(expected(&error), "{:?} gave {error:?}", String::from_utf8_lossy(payload));
        }
        // a DateTime that is not RFC 3339 is kept as text
        let message = CpimMessage::parse(b"DateTime: yesterday\r\n\r\n\r\n").unwrap();
        assert_eq!(message.timestamp, Some(Timestamp::new("yesterday")));
        assert_eq!(message.timestamp.unwrap().parts(), None);
    }

    #[test]
    fn encoding_refuses_what_it_cannot_write() {
        let base = CpimMessage::new("x", "text/plain");
        let with = |change: fn(&mut CpimMessage)| {
            let mut message = base.clone();
            change(&mut message);
            message.encode()
        };
        assert!(base.encode().is_ok());
        assert!(matches!(with(|m| m.content_type = "text".into()), Err(CpimError::InvalidContentType(_))));
        assert!(matches!(with(|m| m.required = vec!["a b".into()]), Err(CpimError::InvalidName { .. })));
        assert!(matches!(
            with(|m| m.subject = Some(MultilingualText::new("s").with_translation("f r", "x"))),
            Err(CpimError::InvalidName { .. })
        ));
        assert!(matches!(
            with(|m| m.additional_headers = vec![CpimHeader::new(CpimNamespace::new("urn:x", "a.b"), "N", "v")]),
            Err(CpimError::InvalidName { .. })
        ));
        assert!(matches!(
            with(|m| m.additional_headers = vec![CpimHeader::new(CpimNamespace::new("urn:x>", "P"), "N", "v")]),
            Err(CpimError::InvalidNamespace { .. })
        ));
        assert!(matches!(
            with(|m| m.content_headers = vec![("X-A".into(), "v\r\nX-B: injected".into())]),
            Err(CpimError::InvalidContentHeader { .. })
        ));
    }

    #[test]
    fn charset_with_line_break_is_quoted_and_does_not_inject_headers() {
        let mut message = CpimMessage::new("x", "text/plain");
        message.charset = Some("a\r\nb".into());
        assert!(matches!(message.encode(), Err(CpimError::InvalidContentType(_))));
    }

    #[test]
    fn rfc3339_timestamps() {
        let parse = DateTimeParts::parse;
        assert_eq!(parse("1985-04-12T23:20:50.52Z").unwrap().nanosecond, 520_000_000);
        assert_eq!(parse("1996-12-19T16:39:57-08:00").unwrap().unix_time().0, 851_042_397);
        assert_eq!(parse("1990-12-31T23:59:60Z").unwrap().second, 60);
        assert_eq!(parse("1937-01-01T12:00:27.87+00:20").unwrap().offset_minutes, 20);
        assert_eq!(parse("2003-01-27t10:43:00z").unwrap().hour, 10);
        assert_eq!(parse("2003-01-27 10:43:00+0130").unwrap().offset_minutes, 90);
        assert_eq!(parse("1969-12-31T23:59:59.5Z").unwrap().unix_time(), (-1, 500_000_000));
        for bad in [
            "",
            "2003-01-27T10:43:00",
            "2003-02-29T10:43:00Z",
            "2003-13-01T00:00:00Z",
            "2003-01-27T24:00:00Z",
            "2003-01-27T10:43:00.Z",
            "2003-01-27T10:43:00+24:00",
            "2003-01-27T10:43:00Zjunk",
            "2003/01/27T10:43:00Z",
            "+003-01-27T10:43:00Z",
            "2003-01-27T10:43:00\u{e9}",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        let parts = parse("2000-02-29T00:00:00.000000001-05:30").unwrap();
        assert_eq!(parts.to_string(), "2000-02-29T00:00:00.000000001-05:30");
        let (seconds, nanos) = parts.unix_time();
        assert_eq!(DateTimeParts::from_unix_time(seconds, nanos, -330), Some(parts));
        assert_eq!(DateTimeParts::from_system_time(parts.to_system_time(), -330), Some(parts));
        let before_epoch = parse("1969-07-20T20:17:40.25Z").unwrap();
        assert_eq!(DateTimeParts::from_system_time(before_epoch.to_system_time(), 0), Some(before_epoch));
        assert_eq!(DateTimeParts::from_unix_time(i64::MAX, 0, 0), None);
        assert_eq!(DateTimeParts::from_unix_time(0, 1_000_000_000, 0), None);
        // every day over four centuries converts both ways
        let mut days = days_from_civil(1600, 1, 1);
        while days < days_from_civil(2400, 1, 1) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!(d >= 1 && i64::from(days_in_month(y as u16, m as u8)) >= d);
            days += 1;
        }
    }

    /// Random corruptions of valid payloads never panic, and whatever parses
    /// encodes and parses back the same, unless it cannot be written.
    #[test]
    fn mutated_payloads_never_panic() {
        let mut seeds: Vec<Vec<u8>> = vec![RFC3862_EXAMPLE.as_bytes().to_vec()];
        let mut built = CpimMessage::new("\u{e9}t\u{e9}", "text/plain; charset=utf-8");
        built.subject = Some(MultilingualText::new(" a\\b ").with_translation("fr", "\"c\""));
        built.sender = Some(CpimIdentity::new("sip:a@b", Some("A \"B\"".into())));
        built.additional_headers = vec![CpimHeader {
            namespace: CpimNamespace::new("urn:x", "X"),
            name: "Y".into(),
            parameters: vec![("p".into(), "q r".into())],
            value: "\u{1F600}".into(),
        }];
        seeds.push(built.encode().unwrap());
        let alphabet: &[u8] = b"\r\n:;.<>\"\\ u=\xff\xc3";
        let mut rng = StdRng::seed_from_u64(3862);
        let (mut parsed, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut payload = seeds[rng.random_range(0..seeds.len())].clone();
            for _ in 0..rng.random_range(1..8) {
                let position = rng.random_range(0..=payload.len());
                match rng.random_range(0..4) {
                    0 if position < payload.len() => {
                        payload.remove(position);
                    }
                    1 => payload.insert(position, alphabet[rng.random_range(0..alphabet.len())]),
                    2 => payload.insert(position, rng.random()),
                    _ => payload.truncate(position),
                }
            }
            match CpimMessage::parse(&payload) {
                Ok(message) => {
                    parsed += 1;
                    if let Ok(encoded) = message.encode() {
                        let again = CpimMessage::parse(&encoded);
                        assert_eq!(again.as_ref(), Ok(&message), "{:?}", String::from_utf8_lossy(&payload));
                    }
                }
                Err(_) => refused += 1,
            }
        }
        assert!(parsed > 2_000 && refused > 2_000, "parsed {parsed}, refused {refused}");
    }
}
