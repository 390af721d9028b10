//! DNS record data as the lookups see it, and the pure functions that filter
//! and order it (RFC 3263 NAPTR selection, RFC 2782 SRV ordering, XCAP TXT
//! filtering). No I/O here: these are tested with plain values.

use std::fmt;

use rand::Rng;

use super::route::Transport;

/// A NAPTR record (RFC 3403).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NaptrRecord {
    /// Processing order, lowest first.
    pub order: u16,
    /// Preference among records of the same order, lowest first.
    pub preference: u16,
    /// Flags (`s` for "next query is SRV").
    pub flags: String,
    /// The service field, e.g. `SIP+D2U`.
    pub services: String,
    /// The regular expression (RFC 3263 records leave it empty).
    pub regexp: String,
    /// The replacement domain (the SRV name), without the trailing dot.
    pub replacement: String,
}

impl fmt::Display for NaptrRecord {
    /// Zone-file form: `10 20 "s" "SIP+D2U" "" _sip._udp.example.com.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {:?} {:?} {:?} {}.",
            self.order, self.preference, self.flags, self.services, self.regexp, self.replacement
        )
    }
}

/// An SRV record (RFC 2782).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SrvRecord {
    /// Priority, lowest first.
    pub priority: u16,
    /// Relative weight among records of the same priority.
    pub weight: u16,
    /// The service port.
    pub port: u16,
    /// The target host, without the trailing dot (`""` for the root, ".":
    /// "service not available").
    pub target: String,
}

impl fmt::Display for SrvRecord {
    /// Zone-file form: `0 10 5060 sip1.example.com.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} {}.", self.priority, self.weight, self.port, self.target)
    }
}

/// A TXT record: its character-strings, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TxtRecord(pub Vec<String>);

impl fmt::Display for TxtRecord {
    /// Zone-file form: each string quoted, separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted: Vec<String> = self.0.iter().map(|s| format!("{s:?}")).collect();
        f.write_str(&quoted.join(" "))
    }
}

/// Normalises a domain name for comparison and display: no trailing dot,
/// lower case.
pub fn normalize_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// RFC 3263 §4.1 NAPTR selection: keeps the records whose service is one of
/// `supported` (`SIP+D2U` → udp, `SIP+D2T` → tcp, `SIPS+D2T` → tls), whose
/// flag is `s`, whose regexp is empty and whose replacement is a real name;
/// the rest (other services, malformed records) is dropped. The result is
/// sorted by order, then preference (a stable sort: equal records keep the
/// server's order).
pub fn select_naptr(records: &[NaptrRecord], supported: &[Transport]) -> Vec<(Transport, NaptrRecord)> {
    let mut selected: Vec<(Transport, NaptrRecord)> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("s") && r.regexp.is_empty())
        .filter(|r| !normalize_name(&r.replacement).is_empty())
        .filter_map(|r| Transport::from_naptr_service(&r.services).map(|t| (t, r.clone())))
        .filter(|(t, _)| supported.contains(t))
        .collect();
    selected.sort_by_key(|(_, r)| (r.order, r.preference));
    selected
}

/// RFC 2782 ordering of SRV records: by priority (lowest first); within a
/// priority, a weighted random order (each remaining record is picked with
/// probability weight / remaining total; weight-0 records are listed first
/// among the candidates so they still get a small chance, as the RFC says).
/// Records whose target is the root (`.`, "service not available") are
/// dropped. Pass a seeded RNG for a reproducible order.
pub fn order_srv<R: Rng + ?Sized>(records: &[SrvRecord], rng: &mut R) -> Vec<SrvRecord> {
    let mut usable: Vec<SrvRecord> =
        records.iter().filter(|r| !normalize_name(&r.target).is_empty()).cloned().collect();
    usable.sort_by_key(|r| r.priority);
    let mut out = Vec::with_capacity(usable.len());
    let mut rest = usable.as_slice();
    while let Some(first) = rest.first() {
        let same = rest.iter().take_while(|r| r.priority == first.priority).count();
        let (group, tail) = rest.split_at(same);
        out.extend(weighted_order(group, rng));
        rest = tail;
    }
    out
}

fn weighted_order<R: Rng + ?Sized>(group: &[SrvRecord], rng: &mut R) -> Vec<SrvRecord> {
    // Zero-weight records first (stable), then the others.
    let mut candidates: Vec<SrvRecord> = group.iter().filter(|r| r.weight == 0).cloned().collect();
    candidates.extend(group.iter().filter(|r| r.weight != 0).cloned());
    let mut out = Vec::with_capacity(candidates.len());
    while !candidates.is_empty() {
        let total: u32 = candidates.iter().map(|r| u32::from(r.weight)).sum();
        let pick = rng.random_range(0..=total);
        let mut running = 0u32;
        let mut index = candidates.len() - 1;
        for (i, r) in candidates.iter().enumerate() {
            running += u32::from(r.weight);
            if running >= pick {
                index = i;
                break;
            }
        }
        out.push(candidates.remove(index));
    }
    out
}

/// The XCAP root URLs among TXT strings: those whose scheme is `http` or
/// `https` and that name a host (each character-string is one candidate).
pub fn xcap_urls(records: &[TxtRecord]) -> Vec<String> {
    records
        .iter()
        .flat_map(|r| r.0.iter())
        .filter(|s| {
            let lower = s.to_ascii_lowercase();
            let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
            rest.is_some_and(|r| r.split(['/', '?', '#']).next().is_some_and(|host| !host.is_empty()))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn naptr(order: u16, pref: u16, flags: &str, service: &str, replacement: &str) -> NaptrRecord {
        NaptrRecord {
            order,
            preference: pref,
            flags: flags.into(),
            services: service.into(),
            regexp: String::new(),
            replacement: replacement.into(),
        }
    }

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord { priority, weight, port, target: target.into() }
    }

    #[test]
    fn naptr_by_order_then_preference_supported_only() {
        let records = vec![
            naptr(20, 10, "s", "SIP+D2U", "_sip._udp.x"),
            naptr(10, 50, "S", "sips+d2t", "_sips._tcp.x"),
            naptr(10, 20, "s", "SIP+D2T", "_sip._tcp.x"),
            naptr(5, 5, "s", "SIP+D2S", "_sip._sctp.x"),
            naptr(1, 1, "u", "SIP+D2U", "_bad.x"),
            NaptrRecord { regexp: "!^.*$!sip:x!".into(), ..naptr(1, 1, "s", "SIP+D2U", "_bad.x") },
            naptr(1, 1, "s", "SIP+D2U", "."),
        ];
        let all = [Transport::Udp, Transport::Tcp, Transport::Tls];
        let got: Vec<_> = select_naptr(&records, &all).into_iter().map(|(t, r)| (t, r.replacement)).collect();
        assert_eq!(
            got,
            vec![
                (Transport::Tcp, "_sip._tcp.x".to_owned()),
                (Transport::Tls, "_sips._tcp.x".to_owned()),
                (Transport::Udp, "_sip._udp.x".to_owned()),
            ]
        );
        let got: Vec<_> = select_naptr(&records, &[Transport::Udp]).into_iter().map(|(t, _)| t).collect();
        assert_eq!(got, vec![Transport::Udp]);
        assert!(select_naptr(&records[3..], &all).is_empty());
    }

    #[test]
    fn srv_by_priority_and_dropping_root_targets() {
        let records = vec![srv(20, 0, 3, "c"), srv(10, 5, 1, "a"), srv(15, 5, 2, "b."), srv(0, 0, 9, ".")];
        let got: Vec<u16> = order_srv(&records, &mut StdRng::seed_from_u64(1)).iter().map(|r| r.port).collect();
        assert_eq!(got, vec![1, 2, 3]);
        assert!(order_srv(&[srv(0, 0, 0, ".")], &mut StdRng::seed_from_u64(1)).is_empty());
    }

    #[test]
    fn srv_weights_within_a_priority_follow_rfc2782() {
        let records = vec![srv(1, 90, 1, "heavy"), srv(1, 10, 2, "light"), srv(0, 0, 3, "first"), srv(2, 0, 4, "last")];
        let mut rng = StdRng::seed_from_u64(7);
        let mut heavy_first = 0;
        const N: usize = 4000;
        for _ in 0..N {
            let got: Vec<u16> = order_srv(&records, &mut rng).iter().map(|r| r.port).collect();
            assert_eq!(got.first(), Some(&3));
            assert_eq!(got.last(), Some(&4));
            assert_eq!(got.len(), 4);
            if got[1] == 1 {
                heavy_first += 1;
            }
        }
        // P(heavy first) = 91/101 ≈ 0.90 (the draw is in 0..=total).
        let share = heavy_first as f64 / N as f64;
        assert!((0.85..0.93).contains(&share), "heavy first in {share}");
        // Seeded: reproducible.
        let a = order_srv(&records, &mut StdRng::seed_from_u64(42));
        let b = order_srv(&records, &mut StdRng::seed_from_u64(42));
        assert_eq!(a, b);
    }

    #[test]
    fn zero_weight_records_still_get_picked_sometimes() {
        let records = vec![srv(1, 0, 1, "zero"), srv(1, 1000, 2, "big")];
        let mut rng = StdRng::seed_from_u64(3);
        let zero_first = (0..20000).filter(|_| order_srv(&records, &mut rng)[0].port == 1).count();
        assert!(zero_first > 0 && zero_first < 200, "{zero_first}");
    }

    #[test]
    fn xcap_urls_keep_http_and_https_with_a_host() {
        let txt = vec![
            TxtRecord(vec!["https://xcap.example.com/xcap-root".into(), "v=spf1 -all".into()]),
            TxtRecord(vec!["HTTP://x:8080".into(), "http://".into(), "ftp://x/".into(), "https:///path".into()]),
        ];
        assert_eq!(xcap_urls(&txt), vec!["https://xcap.example.com/xcap-root".to_owned(), "HTTP://x:8080".to_owned()]);
    }

    #[test]
    fn records_display_in_zone_file_form() {
        assert_eq!(
            naptr(10, 20, "s", "SIP+D2U", "_sip._udp.x").to_string(),
            "10 20 \"s\" \"SIP+D2U\" \"\" _sip._udp.x."
        );
        assert_eq!(srv(0, 10, 5060, "a.x").to_string(), "0 10 5060 a.x.");
        assert_eq!(TxtRecord(vec!["a b".into(), "c".into()]).to_string(), "\"a b\" \"c\"");
    }
}
