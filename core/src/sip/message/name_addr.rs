//! Addresses of From, To, Contact, Route, Record-Route, Reply-To...:
//! `[display-name] <uri> ;params` or a bare `uri ;params` (RFC 3261 §20.10,
//! §25.1 `name-addr` / `addr-spec`).

use std::borrow::Cow;
use std::fmt;

use super::error::ParseError;
use super::params::{self, ParamIter, Params};
use super::scan;
use super::uri::{self, Uri};

/// An address with its optional display name and its header parameters
/// (`tag`, `expires`, `q`...). In the bare form (`sip:a@b;tag=1`) the
/// parameters belong to the header, not to the URI, as RFC 3261 §20
/// requires. Always printed in the `<uri>` form.
#[derive(Clone, Debug)]
pub struct NameAddr<'a> {
    display: Option<Cow<'a, str>>,
    uri: Uri<'a>,
    params: Params<'a>,
}

impl<'a> NameAddr<'a> {
    /// An address with no display name and no parameters.
    pub fn new(uri: Uri<'a>) -> NameAddr<'a> {
        NameAddr { display: None, uri, params: Params::default() }
    }

    /// Parses one address (one element of a list header).
    pub fn parse(s: &'a str) -> Result<NameAddr<'a>, ParseError> {
        parse_name_addr(s).map_err(|reason| ParseError::value("address", reason))
    }

    /// Sets the display name (printed as a quoted string).
    pub fn with_display_name(mut self, name: &str) -> NameAddr<'a> {
        self.display = Some(Cow::Owned(scan::quote(name)));
        self
    }

    /// Sets a header parameter (`None` for a flag). The caller gives a
    /// valid token (or quoted string) value.
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> NameAddr<'a> {
        self.params.set(name, value);
        self
    }

    /// Sets the `tag` parameter.
    pub fn with_tag(self, tag: &str) -> NameAddr<'a> {
        self.with_param("tag", Some(tag))
    }

    /// The display name, unquoted (quoted-pairs resolved, the white space
    /// between the words of an unquoted name reduced to single spaces).
    pub fn display_name(&self) -> Option<Cow<'_, str>> {
        let d = self.display.as_deref()?;
        if d.starts_with('"') {
            return Some(scan::unquote(d));
        }
        if d.bytes().all(|b| b != b'\t' && b != b'\r' && b != b'\n') && !d.contains("  ") {
            return Some(Cow::Borrowed(d));
        }
        Some(Cow::Owned(
            d.split(|c: char| c.is_ascii() && scan::is_lws(c as u8))
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        ))
    }

    /// The display name as written (a quoted string keeps its quotes).
    pub fn display_name_raw(&self) -> Option<&str> {
        self.display.as_deref()
    }

    /// The URI.
    pub fn uri(&self) -> &Uri<'a> {
        &self.uri
    }

    /// The URI, to change it.
    pub fn uri_mut(&mut self) -> &mut Uri<'a> {
        &mut self.uri
    }

    /// The header parameters.
    pub fn params(&self) -> &Params<'a> {
        &self.params
    }

    /// The header parameters, to change them.
    pub fn params_mut(&mut self) -> &mut Params<'a> {
        &mut self.params
    }

    /// The value of header parameter `name` as written.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.value(name)
    }

    /// The `tag` parameter (From and To).
    pub fn tag(&self) -> Option<&str> {
        self.param("tag")
    }

    /// The `expires` parameter (Contact), when it is a valid number.
    pub fn expires(&self) -> Option<u32> {
        self.param("expires").and_then(|v| scan::parse_u32(v.as_bytes()))
    }

    /// The `q` parameter (Contact), when it is a valid number.
    pub fn q(&self) -> Option<f32> {
        self.param("q").and_then(|v| v.parse().ok())
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> NameAddr<'static> {
        NameAddr {
            display: self.display.map(|d| Cow::Owned(d.into_owned())),
            uri: self.uri.into_owned(),
            params: self.params.into_owned(),
        }
    }
}

impl PartialEq for NameAddr<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.display_name() == other.display_name() && self.uri == other.uri && self.params == other.params
    }
}

impl Eq for NameAddr<'_> {}

impl fmt::Display for NameAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            if d.starts_with('"') {
                scan::write_unfolded(f, d)?;
            } else if let Some(name) = self.display_name() {
                f.write_str(&name)?;
            }
            f.write_str(" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// Decodes one name-addr / addr-spec with its header parameters.
pub(crate) fn parse_name_addr(s: &str) -> Result<NameAddr<'_>, &'static str> {
    let (addr, _) = parse_name_addr_at(s, 0, false)?;
    Ok(addr)
}

/// Decodes every address of a list header value (Contact, Route...).
pub(crate) fn parse_name_addr_list<'a>(s: &'a str, mut each: impl FnMut(NameAddr<'a>)) -> Result<(), &'static str> {
    let b = s.as_bytes();
    let mut p = 0;
    loop {
        let q = skip_lws(b, p);
        if q == b.len() || b[q] == b',' {
            return Err("empty element in the list");
        }
        let (addr, end) = parse_name_addr_at(s, q, true)?;
        each(addr);
        if end >= b.len() {
            return Ok(());
        }
        p = end + 1;
    }
}

fn skip_lws(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && scan::is_lws(b[p]) {
        p += 1;
    }
    p
}

/// Decodes the address starting at `start`; returns it and where it ends
/// (the end of `s`, or a top-level `,` when `list` is set).
pub(crate) fn parse_name_addr_at(s: &str, start: usize, list: bool) -> Result<(NameAddr<'_>, usize), &'static str> {
    let b = s.as_bytes();
    let p = skip_lws(b, start);
    if p >= b.len() {
        return Err("empty address");
    }
    let (display, uri, after) = if b[p] == b'"' {
        let end = scan::quoted_end(b, p).ok_or("unterminated quoted string")?;
        let lt = skip_lws(b, end);
        if b.get(lt) != Some(&b'<') {
            return Err("expected < after the display name");
        }
        let (uri, after) = angle(s, lt)?;
        (Some(&s[p..end]), uri, after)
    } else {
        let mut q = p;
        while q < b.len() && (scan::is(b[q], scan::TOKEN) || scan::is_lws(b[q])) {
            q += 1;
        }
        if b.get(q) == Some(&b'<') {
            let name = scan::trim_lws(&s[p..q]);
            let (uri, after) = angle(s, q)?;
            ((!name.is_empty()).then_some(name), uri, after)
        } else {
            let mut e = p;
            while e < b.len() && b[e] != b';' && !(list && b[e] == b',') && !scan::is_lws(b[e]) {
                e += 1;
            }
            let uri = Uri::parse(&s[p..e]).map_err(|e| match e {
                ParseError::Value { reason, .. } => reason,
                _ => "invalid URI",
            })?;
            (None, uri, e)
        }
    };
    let mut r = skip_lws(b, after);
    let mut params = Params::default();
    if b.get(r) == Some(&b';') {
        let (raw_end, stop) = params::scan_header_params(b, r + 1, list, |_, _| Ok(()))?;
        params = Params::from_raw(&s[r + 1..raw_end]);
        r = stop;
    }
    if r < b.len() && !(list && b[r] == b',') {
        return Err("unexpected text after the address");
    }
    Ok((NameAddr { display: display.map(Cow::Borrowed), uri, params }, r))
}

/// The `tag` parameter of a From/To value, borrowed from the value.
pub(crate) fn tag_of(value: &str) -> Option<&str> {
    let params = parse_name_addr(value).ok()?.params;
    ParamIter::new(params.borrowed()?).find(|p| scan::eq_ic(p.name, "tag")).and_then(|p| p.value)
}

/// Given `s[lt] == '<'`: the URI inside the brackets (white space around
/// it tolerated) and the position after `>`.
#[inline]
fn angle(s: &str, lt: usize) -> Result<(Uri<'_>, usize), &'static str> {
    let b = s.as_bytes();
    let start = skip_lws(b, lt + 1);
    let (uri, len) = uri::parse_uri_prefix(&s[start..])?;
    let gt = skip_lws(b, start + len);
    match b.get(gt) {
        Some(b'>') => Ok((uri, gt + 1)),
        None => Err("missing >"),
        Some(_) => Err("invalid character in URI"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn na(s: &str) -> NameAddr<'_> {
        NameAddr::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn forms() {
        let a = na("\"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774");
        assert_eq!(a.display_name().as_deref(), Some("Alice"));
        assert_eq!(a.uri().host(), "atlanta.example.com");
        assert_eq!(a.tag(), Some("1928301774"));
        assert_eq!(a.to_string(), "\"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774");

        let b = na("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");
        assert_eq!(b.tag(), Some("1918181833n"));
        assert!(b.uri().params().is_empty());
        assert_eq!(b.to_string(), "<sip:vivekg@chair-dnrc.example.com>;tag=1918181833n");

        let c = na("\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8");
        assert_eq!(c.display_name().as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(c.tag(), Some("98asjd8"));

        let d = na("caller<sip:caller@example.com>;tag=323");
        assert_eq!(d.display_name().as_deref(), Some("caller"));
        let e = na("token1~` token2'+_  token3*%!.- <sip:mundane@example.com>;tag=x");
        assert_eq!(e.display_name().as_deref(), Some("token1~` token2'+_ token3*%!.-"));
        let f = na("sip:+19725552222@gw1.example.net;unknownparam");
        assert!(f.params().contains("unknownparam"));
        assert!(f.uri().params().is_empty());
        let g = na("<sip:+19725552222@gw1.example.net;unknownparam>");
        assert!(g.params().is_empty());
        assert!(g.uri().params().contains("unknownparam"));
        let h = na("< sip:t.watson@example.org >");
        assert_eq!(h.uri().host(), "example.org");
        let i = na("<sip:a@b>;expires=60;q=0.5");
        assert_eq!((i.expires(), i.q()), (Some(60), Some(0.5)));
        let j = na("isbn:2983792873");
        assert_eq!(j.uri().scheme().as_str(), "isbn");
        let k = na("sip:a@b;+sip.instance=\"<urn:uuid:1>\"");
        assert_eq!(k.param("+sip.instance"), Some("\"<urn:uuid:1>\""));
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "\"Mr. J. User <sip:j.user@example.com>",
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "\"Joe\" <sip:joe@example.org>;;;;",
            "<sip:a@b",
            "\"x\" sip:a@b",
            "<sip:a@b> junk",
            "<sip:a@b>;tag=",
            "<>",
            "<sip:a@b>, <sip:c@d>",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn lists() {
        let mut uris = Vec::new();
        parse_name_addr_list("<sip:a,1@b>;q=1, \"x,y\" <sip:c@d> ,sip:e@f;expires=5", |a| uris.push(a.to_string()))
            .unwrap();
        assert_eq!(uris, vec!["<sip:a,1@b>;q=1", "\"x,y\" <sip:c@d>", "<sip:e@f>;expires=5"]);
        assert!(parse_name_addr_list("<sip:a@b>,", |_| {}).is_err());
        assert!(parse_name_addr_list("<sip:a@b>;;", |_| {}).is_err());
    }

    #[test]
    fn build_and_compare() {
        let a = NameAddr::new(Uri::sip("example.com").with_user("bob")).with_display_name("Bob \"B\"").with_tag("x1");
        assert_eq!(a.to_string(), "\"Bob \\\"B\\\"\" <sip:bob@example.com>;tag=x1");
        let text = a.to_string();
        let b = NameAddr::parse(&text).unwrap();
        assert_eq!(a, b);
        assert_eq!(b.display_name().as_deref(), Some("Bob \"B\""));
        let owned = b.clone().into_owned();
        assert_eq!(owned, a);
    }
}
