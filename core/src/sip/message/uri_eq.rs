//! URI equivalence: RFC 3261 §19.1.4 for `sip`/`sips`, RFC 3966 §4 for
//! `tel`.
//!
//! [`Uri`]'s `==` compares text; [`Uri::equivalent`] is the comparison the
//! RFCs define, used where a protocol rule says two URIs "match" (Request-URI
//! checks, Contact and Route comparisons, registration bindings).

use std::borrow::Cow;

use super::headers::HeaderKind;
use super::scan;
use super::uri::{Scheme, Uri};

/// The `reserved` characters of RFC 3261 §25.1: their `% HEX HEX` form is
/// not equivalent to the character itself.
fn is_reserved(b: u8) -> bool {
    matches!(b, b';' | b'/' | b'?' | b':' | b'@' | b'&' | b'=' | b'+' | b'$' | b',')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `s` in a canonical escaped form: an escaped character outside the
/// `reserved` set is decoded, an escaped reserved character stays escaped
/// with upper-case hex digits. Two texts are equivalent when their
/// canonical forms are equal (§19.1.4: "characters other than those in the
/// reserved set are equivalent to their % HEX HEX encoding").
fn canonical(s: &str) -> Cow<'_, [u8]> {
    let b = s.as_bytes();
    if memchr::memchr(b'%', b).is_none() {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex))
        {
            let c = (h << 4) | l;
            if is_reserved(c) {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.extend_from_slice(&[b'%', HEX[usize::from(h)], HEX[usize::from(l)]]);
            } else {
                out.push(c);
            }
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// Case-sensitive comparison of two escaped texts.
fn same(a: &str, b: &str) -> bool {
    a == b || canonical(a) == canonical(b)
}

/// Case-insensitive comparison of two escaped texts.
fn same_ic(a: &str, b: &str) -> bool {
    scan::eq_ic(a, b) || canonical(a).eq_ignore_ascii_case(&canonical(b))
}

fn same_opt(a: Option<&str>, b: Option<&str>, eq: fn(&str, &str) -> bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => eq(a, b),
        _ => false,
    }
}

/// Hosts compare case-insensitively; two IP addresses compare as addresses
/// (`[::1]` is `[0:0::1]`). A name never matches an address, even the one
/// it resolves to.
fn same_host(a: &Uri<'_>, b: &Uri<'_>) -> bool {
    match (a.ip(), b.ip()) {
        (Some(x), Some(y)) => x == y,
        (None, None) => same_ic(a.host(), b.host()),
        _ => false,
    }
}

/// URI parameters that, present in one URI only, make the URIs differ
/// (§19.1.4: `user`, `ttl`, `method`, `maddr`; and `transport`, whose
/// absence is not its default value).
fn must_be_in_both(name: &str) -> bool {
    ["transport", "user", "ttl", "method", "maddr"].iter().any(|n| same_ic(name, n))
}

fn sip_params_match(a: &Uri<'_>, b: &Uri<'_>) -> bool {
    let (pa, pb) = (a.params(), b.params());
    for p in pa.iter() {
        let ok = match pb.iter().find(|q| same_ic(p.name, q.name)) {
            Some(q) => same_opt(p.value, q.value, same_ic),
            None => !must_be_in_both(p.name),
        };
        if !ok {
            return false;
        }
    }
    // The parameters of `b` missing from `a`.
    pb.iter().all(|q| !must_be_in_both(q.name) || pa.iter().any(|p| same_ic(p.name, q.name)))
}

/// The URI headers as sorted `(name, value)` pairs in canonical form:
/// names folded to their canonical spelling (compact forms included) or
/// to lower case, values escaped canonically.
fn header_set(uri: &Uri<'_>) -> Vec<(Cow<'static, [u8]>, Vec<u8>)> {
    let mut set: Vec<_> = uri
        .headers()
        .unwrap_or("")
        .split('&')
        .filter(|h| !h.is_empty())
        .map(|h| {
            let (name, value) = h.split_once('=').unwrap_or((h, ""));
            let name = canonical(name);
            let kind = std::str::from_utf8(&name).map(HeaderKind::from_name).unwrap_or(HeaderKind::Other);
            let name = match kind {
                HeaderKind::Other => Cow::Owned(name.to_ascii_lowercase()),
                known => Cow::Borrowed(known.canonical_name().as_bytes()),
            };
            (name, canonical(value).into_owned())
        })
        .collect();
    set.sort();
    set
}

/// The digits of a telephone number without visual separators, hex digits
/// in upper case (RFC 3966 §4).
fn tel_digits(number: &str) -> Vec<u8> {
    canonical(number).iter().filter(|c| !matches!(c, b'-' | b'.' | b'(' | b')')).map(u8::to_ascii_uppercase).collect()
}

fn tel_equivalent(a: &Uri<'_>, b: &Uri<'_>) -> bool {
    let number = |u: &Uri<'_>| u.user_raw().map(tel_digits).unwrap_or_default();
    if number(a) != number(b) {
        return false;
    }
    let (pa, pb) = (a.params(), b.params());
    if pa.len() != pb.len() {
        return false;
    }
    pa.iter().all(|p| pb.iter().any(|q| same_ic(p.name, q.name) && same_opt(p.value, q.value, same_ic)))
}

impl Uri<'_> {
    /// Whether `self` and `other` name the same resource as RFC 3261
    /// §19.1.4 defines it for `sip` and `sips` URIs:
    ///
    /// - a `sip` and a `sips` URI never match;
    /// - user and password compare case-sensitively, host, parameters and
    ///   the scheme case-insensitively; an escaped character outside the
    ///   `reserved` set equals the character (`%61lice` is `alice`);
    /// - user, password, host and port must all match, and a part present
    ///   in one URI only (the port 5060 included) makes them differ; a host
    ///   name never matches an IP address;
    /// - a parameter present in both must have the same value; `transport`,
    ///   `user`, `ttl`, `method` and `maddr` present in one only make them
    ///   differ; any other parameter present in one only is ignored; order
    ///   does not matter;
    /// - the URI headers must be the same set, in any order (names compare
    ///   case-insensitively, compact forms included; values compare as
    ///   text once escapes are made canonical: this module does not apply
    ///   the per-header rules of §20).
    ///
    /// `tel` URIs follow RFC 3966 §4: the same number once visual
    /// separators are removed, and the same parameters in any order. Other
    /// schemes compare as text (`==`).
    pub fn equivalent(&self, other: &Uri<'_>) -> bool {
        match (self.scheme(), other.scheme()) {
            (Scheme::Sip, Scheme::Sip) | (Scheme::Sips, Scheme::Sips) => {
                same_opt(self.user_raw(), other.user_raw(), same)
                    && same_opt(self.password_raw(), other.password_raw(), same)
                    && same_host(self, other)
                    && self.port() == other.port()
                    && sip_params_match(self, other)
                    && header_set(self) == header_set(other)
            }
            (Scheme::Tel, Scheme::Tel) => tel_equivalent(self, other),
            (Scheme::Other(_), Scheme::Other(_)) => {
                self.scheme().as_str().eq_ignore_ascii_case(other.scheme().as_str()) && self.opaque() == other.opaque()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri<'_> {
        Uri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn eq(a: &str, b: &str) -> bool {
        let (x, y) = (uri(a), uri(b));
        let forward = x.equivalent(&y);
        assert_eq!(forward, y.equivalent(&x), "not symmetric: {a} / {b}");
        forward
    }

    /// RFC 3261 §19.1.4: "The URIs within each of the following sets are
    /// equivalent".
    #[test]
    fn rfc_equivalent_sets() {
        let sets: &[&[&str]] = &[
            &["sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"],
            &["sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"],
            &[
                "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
            ],
            &[
                "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
            ],
        ];
        for set in sets {
            for a in *set {
                for b in *set {
                    assert!(eq(a, b), "{a} and {b} should be equivalent");
                }
            }
        }
    }

    /// RFC 3261 §19.1.4: "The URIs within each of the following sets are
    /// not equivalent".
    #[test]
    fn rfc_unequal_pairs() {
        for (a, b) in [
            // Different usernames.
            ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),
            // Can resolve to different ports.
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
            // Can resolve to different transports.
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
            // Can resolve to different port and transports.
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"),
            // Different header component.
            ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),
            // Even though that's what phone21.boxesbybob.com resolves to.
            ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
        ] {
            assert!(!eq(a, b), "{a} and {b} should differ");
        }
    }

    #[test]
    fn scheme_user_password_host_port() {
        assert!(!eq("sip:alice@atlanta.com", "sips:alice@atlanta.com"));
        assert!(eq("SIPS:alice@atlanta.com", "sips:alice@ATLANTA.com"));
        assert!(!eq("sip:atlanta.com", "sip:alice@atlanta.com"));
        assert!(!eq("sip:alice:pw@atlanta.com", "sip:alice@atlanta.com"));
        assert!(!eq("sip:alice:pw@atlanta.com", "sip:alice:PW@atlanta.com"));
        assert!(eq("sip:alice:p%77@atlanta.com", "sip:alice:pw@atlanta.com"));
        // Hex digits of an escape are case-insensitive; an escaped reserved
        // character is not the character itself.
        assert!(eq("sip:a%3ab@h", "sip:a%3Ab@h"));
        assert!(!eq("sip:a%3Bb@h", "sip:a;b@h"));
        assert!(eq("sip:%41lice@h", "sip:Alice@h"));
        assert!(!eq("sip:%41lice@h", "sip:alice@h"));
        assert!(eq("sip:bob@[2001:db8::1]:5070", "sip:bob@[2001:DB8:0::1]:5070"));
        assert!(!eq("sip:bob@[2001:db8::1]", "sip:bob@[2001:db8::2]"));
        assert!(!eq("sip:bob@biloxi.com:5060", "sip:bob@biloxi.com:5061"));
    }

    #[test]
    fn parameters() {
        for name in ["user=phone", "ttl=1", "method=INVITE", "maddr=239.255.255.1", "transport=udp"] {
            let with = format!("sip:bob@biloxi.com;{name}");
            assert!(!eq("sip:bob@biloxi.com", &with), "{name} in one URI only");
            assert!(eq(&with, &with.to_uppercase().replace("SIP:BOB", "sip:bob")), "{name} case");
        }
        assert!(eq("sip:bob@biloxi.com;lr", "sip:bob@biloxi.com"));
        assert!(eq("sip:bob@biloxi.com;lr;x=1", "sip:bob@biloxi.com;X=1;lr"));
        assert!(!eq("sip:bob@biloxi.com;x=1", "sip:bob@biloxi.com;x=2"));
        assert!(!eq("sip:bob@biloxi.com;x", "sip:bob@biloxi.com;x=1"));
        assert!(eq("sip:bob@biloxi.com;%6C%72", "sip:bob@biloxi.com;lr"));
        assert!(!eq("sip:bob@biloxi.com;transport=tcp", "sip:bob@biloxi.com;transport=tls"));
        assert!(eq("sip:bob@biloxi.com;transport=tcp;a=b", "sip:bob@biloxi.com;c=d;transport=TCP"));
    }

    #[test]
    fn headers() {
        assert!(eq("sip:a@h?Subject=hi", "sip:a@h?subject=hi"));
        assert!(eq("sip:a@h?s=hi", "sip:a@h?Subject=hi"));
        assert!(eq("sip:a@h?x=%41", "sip:a@h?X=A"));
        assert!(!eq("sip:a@h?subject=hi", "sip:a@h?subject=HI"));
        assert!(!eq("sip:a@h?a=1&b=2", "sip:a@h?a=1"));
        assert!(!eq("sip:a@h?a=1", "sip:a@h?a=1&a=1"));
    }

    #[test]
    fn other_schemes() {
        assert!(eq("tel:+1-201-555-0123", "tel:+12015550123"));
        assert!(eq("tel:7042;phone-context=example.com;a=b", "tel:7042;A=b;phone-context=EXAMPLE.com"));
        assert!(!eq("tel:7042;phone-context=example.com", "tel:7042"));
        assert!(!eq("tel:+12015550123", "tel:+12015550124"));
        assert!(eq("tel:+1-AB", "tel:+1ab"));
        assert!(!eq("tel:+12015550123", "sip:+12015550123@h;user=phone"));
        assert!(eq("URN:x:y", "urn:x:y"));
        assert!(!eq("urn:x:y", "urn:x:z"));
        assert!(!eq("urn:x:y", "sip:x@y"));
    }
}
