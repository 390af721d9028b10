//! Byte-level helpers shared by the decoders: RFC 3261 §25.1 character
//! classes, linear white space, quoted strings, numbers, escapes and the
//! top-level comma split of list headers. Nothing here allocates except the
//! unescaping helpers when an escape is present.

use std::borrow::Cow;

/// `token` characters.
pub(crate) const TOKEN: u16 = 1;
/// `unreserved` characters (alphanum and mark).
pub(crate) const UNRESERVED: u16 = 1 << 1;
/// Characters of the user part of a SIP URI (escapes allowed).
pub(crate) const USER: u16 = 1 << 2;
/// Characters of the password part of a SIP URI (escapes allowed).
pub(crate) const PASSWORD: u16 = 1 << 3;
/// `paramchar` of a URI parameter (escapes allowed).
pub(crate) const PARAM: u16 = 1 << 4;
/// Characters of URI headers `hname=hvalue` (escapes allowed).
pub(crate) const HNV: u16 = 1 << 5;
/// `word` characters (Call-ID).
pub(crate) const WORD: u16 = 1 << 6;
/// `uric` characters of an absolute URI (escapes allowed).
pub(crate) const URIC: u16 = 1 << 7;
/// Host name characters (alphanum, `-`, `.`, `_`).
pub(crate) const HOST: u16 = 1 << 8;
/// Characters of a URI scheme after the first letter.
pub(crate) const SCHEME: u16 = 1 << 9;
/// Characters of a telephone-subscriber (tel URI number, lenient).
pub(crate) const TEL: u16 = 1 << 10;
/// Characters of an unquoted header parameter value: a token or a host
/// (IPv6 references included).
pub(crate) const PVALUE: u16 = 1 << 11;
/// Characters of a Call-ID (`word` and `@`).
pub(crate) const CALLID: u16 = 1 << 13;
/// Characters that may appear before the `@` of a SIP URI: the user part,
/// `:`, the password, and escapes.
pub(crate) const USERINFO: u16 = 1 << 12;

const fn build_classes() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let alnum = c.is_ascii_alphanumeric();
        let unreserved = alnum || matches!(c, b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')');
        let token = alnum || matches!(c, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~');
        let mut f = 0u16;
        if token {
            f |= TOKEN;
        }
        if unreserved {
            f |= UNRESERVED;
        }
        if unreserved || matches!(c, b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/') {
            f |= USER;
        }
        if unreserved || matches!(c, b'%' | b'&' | b'=' | b'+' | b'$' | b',') {
            f |= PASSWORD;
        }
        if unreserved || matches!(c, b'%' | b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$') {
            f |= PARAM;
        }
        if unreserved || matches!(c, b'%' | b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$') {
            f |= HNV;
        }
        if token
            || matches!(c, b'(' | b')' | b'<' | b'>' | b':' | b'\\' | b'"' | b'/' | b'[' | b']' | b'?' | b'{' | b'}')
        {
            f |= WORD;
        }
        if unreserved || matches!(c, b'%' | b';' | b'/' | b'?' | b':' | b'@' | b'&' | b'=' | b'+' | b'$' | b',' | b'#')
        {
            f |= URIC;
        }
        if alnum || matches!(c, b'-' | b'.' | b'_') {
            f |= HOST;
        }
        if alnum || matches!(c, b'+' | b'-' | b'.') {
            f |= SCHEME;
        }
        if alnum || matches!(c, b'+' | b'-' | b'.' | b'(' | b')' | b'*' | b'#' | b'%') {
            f |= TEL;
        }
        if token || matches!(c, b':' | b'[' | b']') {
            f |= PVALUE;
        }
        if f & (USER | PASSWORD) != 0 || c == b':' {
            f |= USERINFO;
        }
        if f & WORD != 0 || c == b'@' {
            f |= CALLID;
        }
        table[i] = f;
        i += 1;
    }
    table
}

static CLASSES: [u16; 256] = build_classes();

/// Whether byte `b` belongs to character class `class`.
#[inline(always)]
pub(crate) fn is(b: u8, class: u16) -> bool {
    CLASSES[b as usize] & class != 0
}

/// The index of the first byte below 0x0E (CR, LF and the rarer control
/// characters) in `b` at or after `from`, or `b.len()`. Reads eight bytes at
/// a time; header lines are short, so this beats a call per line.
#[inline(always)]
pub(crate) fn find_control(b: &[u8], from: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let Some(rest) = b.get(from..) else {
        return b.len();
    };
    let mask = |x: u64| x.wrapping_sub(LO * 0x0E) & !x & HI;
    let mut i = from;
    let mut pairs = rest.chunks_exact(16);
    for pair in pairs.by_ref() {
        let (Ok(a), Ok(b)) = (<[u8; 8]>::try_from(&pair[..8]), <[u8; 8]>::try_from(&pair[8..])) else {
            break;
        };
        let (ma, mb) = (mask(u64::from_le_bytes(a)), mask(u64::from_le_bytes(b)));
        if ma | mb != 0 {
            return i + if ma != 0 {
                (ma.trailing_zeros() / 8) as usize
            } else {
                8 + (mb.trailing_zeros() / 8) as usize
            };
        }
        i += 16;
    }
    let mut words = pairs.remainder().chunks_exact(8);
    for word in words.by_ref() {
        let Ok(w) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let m = mask(u64::from_le_bytes(w));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    match words.remainder().iter().position(|&c| c < 0x0E) {
        Some(o) => i + o,
        None => b.len(),
    }
}

/// Whether `a` and `b` are equal ignoring ASCII case, for strings made of
/// token characters: two token characters that differ only in bit 5 are
/// the same letter in two cases. Compares eight bytes at a time.
#[inline(always)]
pub(crate) fn token_eq_ic(a: &[u8], b: &[u8]) -> bool {
    const FOLD: u64 = !0x2020_2020_2020_2020;
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    let load = |s: &[u8], at: usize, len: usize| {
        let mut word = [0u8; 8];
        word[..len].copy_from_slice(&s[at..at + len]);
        u64::from_le_bytes(word)
    };
    if n < 8 {
        return (load(a, 0, n) ^ load(b, 0, n)) & FOLD == 0;
    }
    let mut i = 0;
    while i + 8 < n {
        if (load(a, i, 8) ^ load(b, i, 8)) & FOLD != 0 {
            return false;
        }
        i += 8;
    }
    (load(a, n - 8, 8) ^ load(b, n - 8, 8)) & FOLD == 0
}

/// The index of the first `needle` in `b` at or after `from`: a plain
/// loop, faster than a vectorised search on the short spans of a header.
#[inline(always)]
pub(crate) fn find_byte(b: &[u8], from: usize, needle: u8) -> Option<usize> {
    b.get(from..)?.iter().position(|&c| c == needle).map(|o| from + o)
}

/// The index of the first byte outside `class` in `b[from..to]`, or `to`.
#[inline(always)]
pub(crate) fn class_end(b: &[u8], from: usize, to: usize, class: u16) -> usize {
    match b[from..to].iter().position(|&c| !is(c, class)) {
        Some(o) => from + o,
        None => to,
    }
}

/// Whether every byte of `s` belongs to `class` (and `s` is not empty).
#[inline]
pub(crate) fn all(s: &[u8], class: u16) -> bool {
    !s.is_empty() && s.iter().all(|&b| is(b, class))
}

/// Linear white space inside a header value. Folding has already been
/// validated by the line splitter, so CR and LF only appear as part of a
/// fold and count as white space.
#[inline(always)]
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `s` without leading and trailing linear white space.
#[inline]
pub(crate) fn trim_lws(s: &str) -> &str {
    let b = s.as_bytes();
    let mut start = 0;
    let mut end = b.len();
    while start < end && is_lws(b[start]) {
        start += 1;
    }
    while end > start && is_lws(b[end - 1]) {
        end -= 1;
    }
    &s[start..end]
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// `s` with `% HEX HEX` escapes decoded. Invalid escapes are kept as they
/// are; decoded bytes that are not UTF-8 become U+FFFD.
pub(crate) fn unescape(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    if memchr::memchr(b'%', b).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let (h, l) = (b[i + 1], b[i + 2]);
            if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() {
                out.push(hex_value(h) << 4 | hex_value(l));
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// `s` with every byte outside `class` (and every `%`) written as an escape,
/// for building URIs from arbitrary text.
pub(crate) fn escape(s: &str, class: u16) -> Cow<'_, str> {
    if s.bytes().all(|b| b != b'%' && is(b, class)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b != b'%' && is(b, class) {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    Cow::Owned(out)
}

/// Parses a run of decimal digits into a `u32` (leading zeros allowed).
/// `None` for an empty string, any other character, or overflow.
#[inline]
pub(crate) fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(v)
}

/// Given `b[start] == b'"'`, the index just past the closing quote of the
/// quoted string, honouring `\` quoted-pairs. `None` when it is not closed
/// or a quoted-pair escapes CR or LF.
pub(crate) fn quoted_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some(i + 1),
            b'\\' => match b.get(i + 1) {
                Some(b'\r') | Some(b'\n') | None => return None,
                Some(_) => i += 2,
            },
            _ => i += 1,
        }
    }
    None
}

/// The content of a quoted string (`raw` includes the quotes) with
/// quoted-pairs resolved and folds reduced to one space.
pub(crate) fn unquote(raw: &str) -> Cow<'_, str> {
    if memchr::memchr2(b'\r', b'\n', raw.as_bytes()).is_some() {
        return Cow::Owned(unquote(&unfold(raw)).into_owned());
    }
    let inner = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(raw);
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `value` with every fold (white space, CRLF or LF, white space) replaced
/// by one space, as RFC 3261 §7.3.1 allows; borrowed when there is none.
pub(crate) fn unfold(value: &str) -> Cow<'_, str> {
    if memchr::memchr2(b'\r', b'\n', value.as_bytes()).is_none() {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(p) = rest.find(['\r', '\n']) {
        out.push_str(rest[..p].trim_end_matches([' ', '\t']));
        out.push(' ');
        rest = rest[p..].trim_start_matches(['\r', '\n', ' ', '\t']);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `text` as a quoted string, escaping `"` and `\` (and dropping CR/LF).
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes `s` with its folds reduced to one space (see [`unfold`]), so
/// that printed values never span lines.
pub(crate) fn write_unfolded(f: &mut dyn std::fmt::Write, s: &str) -> std::fmt::Result {
    f.write_str(&unfold(s))
}

/// Iterator over the top-level comma-separated elements of a list header
/// value: commas inside quoted strings and `<...>` do not split. Elements are
/// trimmed of linear white space; empty elements are yielded as `""` (strict
/// decoders reject them, lenient ones skip them).
#[derive(Clone, Debug)]
pub(crate) struct ListIter<'a> {
    rest: Option<&'a str>,
}

impl<'a> ListIter<'a> {
    pub(crate) fn new(value: &'a str) -> Self {
        ListIter { rest: Some(value) }
    }
}

impl<'a> Iterator for ListIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let b = s.as_bytes();
        let mut i = 0;
        let mut angle = false;
        while i < b.len() {
            match b[i] {
                b'"' => match quoted_end(b, i) {
                    Some(end) => {
                        i = end;
                        continue;
                    }
                    None => break,
                },
                b'<' => angle = true,
                b'>' => angle = false,
                b',' if !angle => {
                    self.rest = Some(&s[i + 1..]);
                    return Some(trim_lws(&s[..i]));
                }
                _ => {}
            }
            i += 1;
        }
        self.rest = None;
        Some(trim_lws(s))
    }
}

/// Whether `a` equals `b` ignoring ASCII case (a thin wrapper that reads
/// better at call sites).
#[inline(always)]
pub(crate) fn eq_ic(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(all(b"RE%47IST%45R", TOKEN));
        assert!(!all(b"Bell,", TOKEN));
        assert!(all(b"wsinv.ndaksdj", WORD));
        assert!(!all(b"", TOKEN));
    }

    #[test]
    fn control_search() {
        let text = b"0123456789abcdef\tx\r\n";
        assert_eq!(find_control(text, 0), 16);
        assert_eq!(find_control(text, 17), 18);
        assert_eq!(find_control(b"abc", 0), 3);
        assert_eq!(find_control("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\n".as_bytes(), 0), 10);
        for n in 0..40 {
            let mut v = vec![b'a'; n];
            v.push(b'\n');
            assert_eq!(find_control(&v, 0), n);
            assert_eq!(class_end(&v, 0, v.len(), TOKEN), n);
        }
        // Every length, position and start against a plain search.
        for len in 0..50 {
            for at in 0..=len {
                let mut v = vec![0xC3u8; len];
                if at < len {
                    v[at] = [b'\r', b'\n', b'\t', 0][at % 4];
                }
                for from in 0..=len.min(20) {
                    let plain = v[from..].iter().position(|&c| c < 0x0E).map_or(len, |o| from + o);
                    assert_eq!(find_control(&v, from), plain, "len {len} at {at} from {from}");
                }
            }
        }
        assert_eq!(find_control(b"abc", 7), 3);
    }

    #[test]
    fn token_case_folding() {
        assert!(token_eq_ic(b"Content-Length", b"content-LENGTH"));
        assert!(token_eq_ic(b"To", b"tO"));
        assert!(token_eq_ic(b"", b""));
        assert!(!token_eq_ic(b"Content-Lengtx", b"Content-Length"));
        assert!(!token_eq_ic(b"Via", b"Vi"));
        assert!(!token_eq_ic(b"P-Asserted-Identity", b"P-Asserted-Identitx"));
        assert!(token_eq_ic(b"P-Preferred-Identity", b"p-preferred-identity"));
        assert!(!token_eq_ic(b"abcdefgh", b"abcdefgi"));
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape("%75se%72"), "user");
        assert_eq!(unescape("null-%00-null"), "null-\0-null");
        assert_eq!(unescape("a%4"), "a%4");
        assert_eq!(unescape("%FF"), "\u{fffd}");
        assert_eq!(escape("a b", USER), "a%20b");
        assert_eq!(escape("100%", USER), "100%25");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u32(b"0009"), Some(9));
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b"-1"), None);
        assert_eq!(parse_u32(b""), None);
    }

    #[test]
    fn quoted() {
        let b = br#""J Rosenberg \\\"" <x>"#;
        assert_eq!(quoted_end(b, 0), Some(18));
        assert_eq!(quoted_end(b"\"open", 0), None);
        assert_eq!(quoted_end(b"\"a\\", 0), None);
        assert_eq!(unquote(r#""J Rosenberg \\\"""#), r#"J Rosenberg \""#);
        assert_eq!(quote("a\"b"), r#""a\"b""#);
        assert_eq!(unquote("\"J \r\n Rosenberg\""), "J Rosenberg");
        assert_eq!(unfold("a \r\n\tb\r\n c"), "a b c");
    }

    #[test]
    fn list_split() {
        let items: Vec<_> = ListIter::new(r#"a, "b,c" <sip:x,y> ;p="1,2" ,  ,d"#).collect();
        assert_eq!(items, vec!["a", r#""b,c" <sip:x,y> ;p="1,2""#, "", "d"]);
        let one: Vec<_> = ListIter::new("").collect();
        assert_eq!(one, vec![""]);
        let open: Vec<_> = ListIter::new("\"a, b").collect();
        assert_eq!(open, vec!["\"a, b"]);
    }
}
