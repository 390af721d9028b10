//! Parameter lists (`;name=value;flag`) of URIs and header values.

use std::borrow::Cow;
use std::fmt;

use super::scan;

/// One parameter: its name and, when it has one, its value as written
/// (a quoted value keeps its quotes; see [`Param::unquoted_value`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param<'p> {
    /// The name as written (compare it case-insensitively).
    pub name: &'p str,
    /// The value as written, `None` for a flag such as `lr` or `rport`.
    pub value: Option<&'p str>,
}

impl<'p> Param<'p> {
    /// The value with the quotes and quoted-pairs of a quoted string
    /// removed; `None` for a flag.
    pub fn unquoted_value(&self) -> Option<Cow<'p, str>> {
        self.value.map(|v| if v.starts_with('"') { scan::unquote(v) } else { Cow::Borrowed(v) })
    }
}

/// The parameters of a URI or of a header value, kept as the text that
/// follows the first `;` and read on demand (no allocation when parsing).
/// Names compare case-insensitively in lookups. Printing writes each
/// parameter as `;name=value` without the white space the sender may have
/// put around `;` and `=`. Two lists are equal when they hold the same
/// parameters in the same order.
#[derive(Clone, Default)]
pub struct Params<'a> {
    raw: Cow<'a, str>,
}

impl Params<'static> {
    /// An empty list.
    pub fn new() -> Params<'static> {
        Params { raw: Cow::Borrowed("") }
    }
}

impl<'a> Params<'a> {
    /// A list over already validated text (the part after the first `;`).
    pub(crate) fn from_raw(raw: &'a str) -> Params<'a> {
        Params { raw: Cow::Borrowed(raw) }
    }

    /// The text when it is borrowed from the parsed input.
    pub(crate) fn borrowed(&self) -> Option<&'a str> {
        match &self.raw {
            Cow::Borrowed(s) => Some(s),
            Cow::Owned(_) => None,
        }
    }

    /// The parameters in order.
    pub fn iter(&self) -> ParamIter<'_> {
        ParamIter::new(&self.raw)
    }

    /// The first parameter named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<Param<'_>> {
        self.iter().find(|p| scan::eq_ic(p.name, name))
    }

    /// The value of parameter `name` as written; `None` when the parameter
    /// is absent or has no value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|p| p.value)
    }

    /// Whether a parameter `name` is present (with or without a value).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether there is no parameter.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Sets parameter `name` (replacing every parameter of that name) to
    /// `value`, or to a flag when `value` is `None`. The caller provides a
    /// valid name and value (a token, a host, or a quoted string).
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let mut out = String::with_capacity(self.raw.len() + name.len() + 16);
        for p in self.iter().filter(|p| !scan::eq_ic(p.name, name)) {
            push_param(&mut out, p.name, p.value);
        }
        push_param(&mut out, name, value);
        self.raw = Cow::Owned(out);
    }

    /// Removes every parameter named `name`; returns whether one was there.
    pub fn remove(&mut self, name: &str) -> bool {
        if !self.contains(name) {
            return false;
        }
        let mut out = String::with_capacity(self.raw.len());
        for p in self.iter().filter(|p| !scan::eq_ic(p.name, name)) {
            push_param(&mut out, p.name, p.value);
        }
        self.raw = Cow::Owned(out);
        true
    }

    /// The list as received (the text after the first `;`).
    pub fn as_raw(&self) -> &str {
        &self.raw
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> Params<'static> {
        Params { raw: Cow::Owned(self.raw.into_owned()) }
    }
}

fn push_param(out: &mut String, name: &str, value: Option<&str>) {
    if !out.is_empty() {
        out.push(';');
    }
    out.push_str(name);
    if let Some(v) = value {
        out.push('=');
        out.push_str(v);
    }
}

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.iter() {
            f.write_str(";")?;
            f.write_str(p.name)?;
            if let Some(v) = p.value {
                f.write_str("=")?;
                scan::write_unfolded(f, v)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Params<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Params<'_> {}

impl<'p> IntoIterator for &'p Params<'_> {
    type Item = Param<'p>;
    type IntoIter = ParamIter<'p>;

    fn into_iter(self) -> ParamIter<'p> {
        self.iter()
    }
}

/// Iterator over the parameters of a [`Params`] list. Tolerant: on text
/// that was never validated it yields what it can read and never panics.
#[derive(Clone, Debug)]
pub struct ParamIter<'p> {
    s: &'p str,
    pos: usize,
}

impl<'p> ParamIter<'p> {
    pub(crate) fn new(s: &'p str) -> ParamIter<'p> {
        ParamIter { s, pos: 0 }
    }
}

impl<'p> Iterator for ParamIter<'p> {
    type Item = Param<'p>;

    fn next(&mut self) -> Option<Param<'p>> {
        let s = self.s;
        let b = s.as_bytes();
        let len = b.len();
        loop {
            let mut pos = self.pos;
            while pos < len && (scan::is_lws(b[pos]) || b[pos] == b';') {
                pos += 1;
            }
            if pos >= len {
                self.pos = len;
                return None;
            }
            let name_start = pos;
            while pos < len && b[pos] != b';' && b[pos] != b'=' && !scan::is_lws(b[pos]) {
                pos += 1;
            }
            let name = &s[name_start..pos];
            while pos < len && scan::is_lws(b[pos]) {
                pos += 1;
            }
            let mut value = None;
            if pos < len && b[pos] == b'=' {
                pos += 1;
                while pos < len && scan::is_lws(b[pos]) {
                    pos += 1;
                }
                let value_start = pos;
                if pos < len && b[pos] == b'"' {
                    pos = scan::quoted_end(b, pos).unwrap_or(len);
                } else {
                    while pos < len && b[pos] != b';' && !scan::is_lws(b[pos]) {
                        pos += 1;
                    }
                }
                value = Some(&s[value_start..pos]);
            }
            while pos < len && b[pos] != b';' {
                pos += 1;
            }
            self.pos = pos;
            if !name.is_empty() {
                return Some(Param { name, value });
            }
        }
    }
}

/// Checks header parameters (`generic-param` list, RFC 3261 §25.1): the
/// text after the first `;`, with linear white space allowed around `;`
/// and `=`. Values are tokens, hosts (IPv6 references included) or quoted
/// strings.
pub(crate) fn validate_header_params(raw: &str) -> Result<(), &'static str> {
    let (_, stop) = scan_header_params(raw.as_bytes(), 0, false, |_, _| Ok(()))?;
    if stop == raw.len() { Ok(()) } else { Err("invalid character in parameters") }
}

/// Scans header parameters from `p` (just after the first `;`), calling
/// `check` with each name and value. Stops at the end, or at a top-level
/// `,` when `list` is set. Returns the end of the last parameter (white
/// space after it excluded) and where the scan stopped.
#[inline]
pub(crate) fn scan_header_params(
    b: &[u8],
    mut p: usize,
    list: bool,
    mut check: impl FnMut(&[u8], Option<&[u8]>) -> Result<(), &'static str>,
) -> Result<(usize, usize), &'static str> {
    let len = b.len();
    loop {
        while p < len && scan::is_lws(b[p]) {
            p += 1;
        }
        let name_start = p;
        p = scan::class_end(b, p, len, scan::TOKEN);
        if p == name_start {
            let separator = p >= len || b[p] == b';' || (list && b[p] == b',');
            return Err(if separator { "empty parameter" } else { "invalid character in a parameter name" });
        }
        let name_end = p;
        let mut raw_end = p;
        while p < len && scan::is_lws(b[p]) {
            p += 1;
        }
        let mut value = None;
        if p < len && b[p] == b'=' {
            p += 1;
            while p < len && scan::is_lws(b[p]) {
                p += 1;
            }
            let value_start = p;
            if p < len && b[p] == b'"' {
                p = scan::quoted_end(b, p).ok_or("unterminated quoted string")?;
            } else {
                p = scan::class_end(b, p, len, scan::PVALUE);
                if p == value_start {
                    return Err("empty parameter value");
                }
            }
            value = Some(&b[value_start..p]);
            raw_end = p;
            while p < len && scan::is_lws(b[p]) {
                p += 1;
            }
        }
        check(&b[name_start..name_end], value)?;
        if p >= len || (list && b[p] == b',') {
            return Ok((raw_end, p));
        }
        if b[p] != b';' {
            return Err("invalid character in parameters");
        }
        p += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(raw: &str) -> Vec<(&str, Option<&str>)> {
        ParamIter::new(raw).map(|p| (p.name, p.value)).collect()
    }

    #[test]
    fn iterates_with_lws_and_quotes() {
        assert_eq!(
            list("  tag    = 1918181833n ; x ;q = 0.33"),
            vec![("tag", Some("1918181833n")), ("x", None), ("q", Some("0.33"))]
        );
        assert_eq!(list("p=\"a;b\";lr"), vec![("p", Some("\"a;b\"")), ("lr", None)]);
        assert_eq!(list("\r\n  tag = 98asjd8"), vec![("tag", Some("98asjd8"))]);
        assert_eq!(list(";;=x;;"), vec![]);
        assert_eq!(list("a=\"open"), vec![("a", Some("\"open"))]);
    }

    #[test]
    fn lookup_set_remove() {
        let mut p = Params::from_raw("Branch=z9hG4bK1;rport;received=192.0.2.1").into_owned();
        assert_eq!(p.value("branch"), Some("z9hG4bK1"));
        assert!(p.contains("RPORT"));
        assert_eq!(p.value("rport"), None);
        p.set("rport", Some("5060"));
        assert_eq!(p.value("rport"), Some("5060"));
        assert_eq!(p.to_string(), ";Branch=z9hG4bK1;received=192.0.2.1;rport=5060");
        assert!(p.remove("received"));
        assert!(!p.remove("received"));
        assert_eq!(p.len(), 2);
        let q = Params::from_raw(" Branch = z9hG4bK1 ;\r\n rport=5060");
        assert_eq!(p, q);
        assert!(Params::new().is_empty());
        let quoted = Params::from_raw("x=\"a \\\"b\\\"\"");
        assert_eq!(quoted.get("x").and_then(|p| p.unquoted_value()).as_deref(), Some("a \"b\""));
    }

    #[test]
    fn header_param_grammar() {
        assert!(validate_header_params("tag=1;lr;q = 0.33").is_ok());
        assert!(validate_header_params("received=2001:db8::1;maddr=[::1]").is_ok());
        assert!(validate_header_params("p=\"quoted ; value\"").is_ok());
        assert_eq!(validate_header_params(""), Err("empty parameter"));
        assert_eq!(validate_header_params(";"), Err("empty parameter"));
        assert_eq!(validate_header_params("a;;b"), Err("empty parameter"));
        assert_eq!(validate_header_params("a;"), Err("empty parameter"));
        assert_eq!(validate_header_params("a="), Err("empty parameter value"));
        assert_eq!(validate_header_params("a=\"x"), Err("unterminated quoted string"));
        assert!(validate_header_params("a b").is_err());
        assert!(validate_header_params("a,b").is_err());
    }
}
