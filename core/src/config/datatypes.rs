//! Setting types: validation, normalisation and the stored text form.
//!
//! Each [`SettingType`] accepts a [`Value`] from the application (coercing
//! text where the original did, e.g. `"5060"` for a port), refuses anything
//! else with an error naming the setting, and converts to and from the
//! storage tree's strings.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::storage::ConfigNode;
use crate::value::Value;

/// Audio codecs the middleware knows.
pub const AUDIO_CODECS: &[&str] = &["opus", "speex", "G722", "G729", "GSM", "iLBC", "PCMU", "PCMA", "AMR-WB"];
/// Video codecs the middleware knows.
pub const VIDEO_CODECS: &[&str] = &["H264", "VP8", "VP9"];
/// SIP transports.
pub const SIP_TRANSPORTS: &[&str] = &["udp", "tcp", "tls"];
/// MSRP transports.
pub const MSRP_TRANSPORTS: &[&str] = &["tls", "tcp"];
/// Audio sample rates (Hz) the audio engine accepts.
pub const SAMPLE_RATES: &[i64] = &[16000, 32000, 48000];

/// The setting types that have a stable name, in the order of the table in
/// [`SettingType::from_name`]. The first entry of a type is its name.
const NAMED_TYPES: &[(&str, SettingType)] = &[
    ("bool", SettingType::Bool),
    ("int", SettingType::Int { min: i64::MIN, max: i64::MAX }),
    ("nonnegative_int", SettingType::Int { min: 0, max: i64::MAX }),
    ("positive_int", SettingType::Int { min: 1, max: i64::MAX }),
    ("float", SettingType::Float),
    ("str", SettingType::Str),
    ("port", SettingType::Port),
    ("port_range", SettingType::PortRange),
    ("sample_rate", SettingType::IntEnum(SAMPLE_RATES)),
    ("sip_address", SettingType::SipAddress),
    ("sip_proxy_address", SettingType::SipProxyAddress),
    ("msrp_relay_address", SettingType::MsrpRelayAddress),
    ("path", SettingType::Path),
    ("xcap_root", SettingType::XcapRoot),
    ("video_resolution", SettingType::VideoResolution),
    ("sip_transport", SettingType::Enum(SIP_TRANSPORTS)),
    ("msrp_transport", SettingType::Enum(MSRP_TRANSPORTS)),
    ("string_list", SettingType::WordList { allowed: &[] }),
    ("audio_codec_list", SettingType::WordList { allowed: AUDIO_CODECS }),
    ("video_codec_list", SettingType::WordList { allowed: VIDEO_CODECS }),
    ("sip_transport_list", SettingType::WordList { allowed: SIP_TRANSPORTS }),
    ("host_port_list", SettingType::HostPortList),
];

/// The type of one setting.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SettingType {
    /// `true`/`false` (text `true/yes/on/1`, `false/no/off/0` when loading).
    Bool,
    /// An integer within `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A floating point number.
    Float,
    /// Any text.
    Str,
    /// A port number 0..=65535 (0 = any free port).
    Port,
    /// `start-end`, both non-zero ports, start ≤ end. Value: map `{start, end}`.
    PortRange,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// One of a fixed set of integers (e.g. sample rates).
    IntEnum(&'static [i64]),
    /// A SIP address `user@domain`.
    SipAddress,
    /// `host[:port][;transport=udp|tcp|tls]`.
    SipProxyAddress,
    /// `host[:port][;transport=tls|tcp]` of an MSRP relay.
    MsrpRelayAddress,
    /// A filesystem path (`~` is kept and expanded on use).
    Path,
    /// An `http://` or `https://` URL without parameters, query or fragment.
    XcapRoot,
    /// `WIDTHxHEIGHT`.
    VideoResolution,
    /// A list of distinct words, each from `allowed` (any word if empty).
    WordList {
        /// Accepted words; empty means any non-empty word.
        allowed: &'static [&'static str],
    },
    /// A list of `host[:port]` entries.
    HostPortList,
}

fn err(path: &str, reason: impl Into<String>) -> Error {
    Error::setting(path, reason)
}

fn text_of<'a>(path: &str, value: &'a Value) -> Result<&'a str> {
    value.as_str().ok_or_else(|| err(path, format!("expected a string, got {value:?}")))
}

fn int_of(path: &str, value: &Value) -> Result<i64> {
    match value {
        Value::Int(i) => Ok(*i),
        Value::String(s) => s.trim().parse().map_err(|_| err(path, format!("{s:?} is not an integer"))),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
        other => Err(err(path, format!("expected an integer, got {other:?}"))),
    }
}

fn check_host(path: &str, host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && (host.starts_with('[')
            && host.ends_with(']')
            && host[1..host.len() - 1].parse::<std::net::Ipv6Addr>().is_ok()
            || host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_'));
    if ok { Ok(()) } else { Err(err(path, format!("{host:?} is not a valid host"))) }
}

/// Splits `host[:port]`, validating both; `default_port` fills a missing port.
fn host_port(path: &str, text: &str, default_port: u16) -> Result<(String, u16)> {
    let (host, port) = match text.rsplit_once(':') {
        Some((h, _)) if !h.ends_with(']') && h.contains(':') => (text, None), // bare IPv6 without brackets
        Some((h, p)) => (h, Some(p)),
        None => (text, None),
    };
    check_host(path, host)?;
    let port = match port {
        Some(p) => {
            p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| err(path, format!("{p:?} is not a valid port")))?
        }
        None => default_port,
    };
    Ok((host.to_owned(), port))
}

/// Validates `host[:port][;transport=x]`, returning the normalised text.
fn transport_address(path: &str, text: &str, default_port: u16, transports: &[&str]) -> Result<String> {
    let text = text.trim();
    let (address, params) = match text.split_once(';') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let (host, port) = host_port(path, address, default_port)?;
    let mut out = format!("{host}:{port}");
    if let Some(params) = params {
        let transport = params
            .strip_prefix("transport=")
            .ok_or_else(|| err(path, format!("unknown parameter {params:?}")))?
            .to_ascii_lowercase();
        if !transports.contains(&transport.as_str()) {
            return Err(err(path, format!("transport must be one of {transports:?}")));
        }
        out.push_str(";transport=");
        out.push_str(&transport);
    }
    Ok(out)
}

/// Validates a SIP address `user@domain`.
pub fn validate_sip_address(path: &str, text: &str) -> Result<String> {
    let text = text.trim();
    let text = text.strip_prefix("sip:").or_else(|| text.strip_prefix("sips:")).unwrap_or(text);
    let (user, domain) =
        text.split_once('@').ok_or_else(|| err(path, format!("{text:?} is not a user@domain address")))?;
    let user_ok =
        !user.is_empty() && user.chars().all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/%".contains(c));
    if !user_ok {
        return Err(err(path, format!("{user:?} is not a valid user part")));
    }
    check_host(path, domain)?;
    Ok(format!("{user}@{domain}"))
}

impl SettingType {
    /// The type with a stable, binding-independent name (what applications
    /// give when they extend a settings class), or `None` for an unknown
    /// name. Names are lowercase and exact:
    ///
    /// | name                 | values                                                       |
    /// |----------------------|--------------------------------------------------------------|
    /// | `bool`               | `true` / `false`                                             |
    /// | `int`                | any 64-bit integer                                           |
    /// | `nonnegative_int`    | an integer ≥ 0                                               |
    /// | `positive_int`       | an integer ≥ 1                                               |
    /// | `float`              | a number                                                     |
    /// | `str`                | any text                                                     |
    /// | `port`               | a port 0..=65535 (0 = any free port)                         |
    /// | `port_range`         | `start-end`, a map `{start, end}` of non-zero ports          |
    /// | `sample_rate`        | one of [`SAMPLE_RATES`]                                      |
    /// | `sip_address`        | `user@domain`                                                |
    /// | `sip_proxy_address`  | `host[:port][;transport=udp\|tcp\|tls]`                      |
    /// | `msrp_relay_address` | `host[:port][;transport=tls\|tcp]`                           |
    /// | `path`               | a filesystem path (`~` kept)                                 |
    /// | `xcap_root`          | an `http://` or `https://` URL                               |
    /// | `video_resolution`   | `WIDTHxHEIGHT`                                               |
    /// | `sip_transport`      | one of [`SIP_TRANSPORTS`]                                    |
    /// | `msrp_transport`     | one of [`MSRP_TRANSPORTS`]                                   |
    /// | `string_list`        | a list of distinct words (no commas or spaces)               |
    /// | `audio_codec_list`   | a list of [`AUDIO_CODECS`]                                   |
    /// | `video_codec_list`   | a list of [`VIDEO_CODECS`]                                   |
    /// | `sip_transport_list` | a list of [`SIP_TRANSPORTS`]                                 |
    /// | `host_port_list`     | a list of `host[:port]` (port 3478 by default)               |
    ///
    /// The names are part of the stable API: they are never renamed or
    /// given another meaning.
    pub fn from_name(name: &str) -> Option<SettingType> {
        NAMED_TYPES.iter().find(|(n, _)| *n == name).map(|(_, ty)| ty.clone())
    }

    /// The stable name of this type (see [`SettingType::from_name`]), or
    /// `None` for a type that has none (a built-in enumeration, say).
    pub fn name(&self) -> Option<&'static str> {
        NAMED_TYPES.iter().find(|(_, ty)| ty == self).map(|(n, _)| *n)
    }

    /// Every name [`SettingType::from_name`] accepts, in table order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMED_TYPES.iter().map(|(n, _)| *n)
    }

    /// Checks and normalises a value set by the application.
    pub fn coerce(&self, path: &str, value: Value) -> Result<Value> {
        match self {
            SettingType::Bool => match value {
                Value::Bool(b) => Ok(Value::Bool(b)),
                Value::String(s) => {
                    parse_bool(&s).map(Value::Bool).ok_or_else(|| err(path, format!("{s:?} is not a boolean")))
                }
                other => Err(err(path, format!("expected a boolean, got {other:?}"))),
            },
            SettingType::Int { min, max } => {
                let i = int_of(path, &value)?;
                if i < *min || i > *max {
                    Err(err(path, format!("{i} is outside {min}..={max}")))
                } else {
                    Ok(Value::Int(i))
                }
            }
            SettingType::Float => match value {
                Value::Float(f) => Ok(Value::Float(f)),
                Value::Int(i) => Ok(Value::Float(i as f64)),
                Value::String(s) => {
                    s.trim().parse().map(Value::Float).map_err(|_| err(path, format!("{s:?} is not a number")))
                }
                other => Err(err(path, format!("expected a number, got {other:?}"))),
            },
            SettingType::Str => match value {
                Value::String(s) => Ok(Value::String(s)),
                other => Err(err(path, format!("expected a string, got {other:?}"))),
            },
            SettingType::Port => {
                let i = int_of(path, &value)?;
                if (0..=65535).contains(&i) {
                    Ok(Value::Int(i))
                } else {
                    Err(err(path, format!("illegal port value: {i}")))
                }
            }
            SettingType::PortRange => {
                let (start, end) = match &value {
                    Value::String(s) => {
                        let (a, b) = s.split_once('-').ok_or_else(|| err(path, format!("{s:?} is not start-end")))?;
                        (int_of(path, &Value::from(a))?, int_of(path, &Value::from(b))?)
                    }
                    Value::List(l) if l.len() == 2 => (int_of(path, &l[0])?, int_of(path, &l[1])?),
                    Value::Map(m) => (
                        int_of(path, m.get("start").unwrap_or(&Value::Null))?,
                        int_of(path, m.get("end").unwrap_or(&Value::Null))?,
                    ),
                    other => return Err(err(path, format!("expected a port range, got {other:?}"))),
                };
                for p in [start, end] {
                    if !(1..=65535).contains(&p) {
                        return Err(err(path, format!("illegal port value: {p}")));
                    }
                }
                if start > end {
                    return Err(err(path, format!("start port ({start}) cannot be larger than end port ({end})")));
                }
                Ok(port_range(start, end))
            }
            SettingType::Enum(words) => {
                let s = text_of(path, &value)?;
                if words.contains(&s) { Ok(value) } else { Err(err(path, format!("{s:?} is not one of {words:?}"))) }
            }
            SettingType::IntEnum(allowed) => {
                let i = int_of(path, &value)?;
                if allowed.contains(&i) {
                    Ok(Value::Int(i))
                } else {
                    Err(err(path, format!("{i} is not one of {allowed:?}")))
                }
            }
            SettingType::SipAddress => validate_sip_address(path, text_of(path, &value)?).map(Value::String),
            SettingType::SipProxyAddress => {
                transport_address(path, text_of(path, &value)?, 5060, SIP_TRANSPORTS).map(Value::String)
            }
            SettingType::MsrpRelayAddress => {
                transport_address(path, text_of(path, &value)?, 2855, &["tls", "tcp"]).map(Value::String)
            }
            SettingType::Path => {
                let s = text_of(path, &value)?;
                if s.is_empty() || s.contains('\0') {
                    Err(err(path, "a path must be non-empty and contain no NUL"))
                } else {
                    Ok(Value::String(normalise_path(s)))
                }
            }
            SettingType::XcapRoot => {
                let s = text_of(path, &value)?.trim();
                let rest = s
                    .strip_prefix("https://")
                    .or_else(|| s.strip_prefix("http://"))
                    .ok_or_else(|| err(path, "an XCAP root must be an http or https URL"))?;
                if s.contains(['?', '#', ';']) {
                    return Err(err(path, "an XCAP root must not have parameters, a query or a fragment"));
                }
                let host = rest.split('/').next().unwrap_or("");
                host_port(path, host, 443)?;
                Ok(Value::String(s.to_owned()))
            }
            SettingType::VideoResolution => {
                let s = text_of(path, &value)?;
                let ok = s.split_once('x').is_some_and(|(w, h)| {
                    w.parse::<u32>().is_ok_and(|w| w > 0) && h.parse::<u32>().is_ok_and(|h| h > 0)
                });
                if ok { Ok(value) } else { Err(err(path, format!("{s:?} is not WIDTHxHEIGHT"))) }
            }
            SettingType::WordList { allowed } => {
                let words = list_of(path, value)?;
                let mut out: Vec<Value> = Vec::new();
                for w in words {
                    let canonical = if allowed.is_empty() {
                        if w.is_empty() || w.contains([',', ' ']) {
                            return Err(err(path, format!("{w:?} is not a valid entry")));
                        }
                        w
                    } else {
                        match allowed.iter().find(|a| a.eq_ignore_ascii_case(&w)) {
                            Some(a) => (*a).to_owned(),
                            None => return Err(err(path, format!("{w:?} is not one of {allowed:?}"))),
                        }
                    };
                    let v = Value::String(canonical);
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                Ok(Value::List(out))
            }
            SettingType::HostPortList => {
                let mut out = Vec::new();
                for entry in list_of(path, value)? {
                    let (host, port) = host_port(path, entry.trim(), 3478)?;
                    out.push(Value::String(format!("{host}:{port}")));
                }
                Ok(Value::List(out))
            }
        }
    }

    /// The stored form of a (valid) value.
    pub fn to_storage(&self, value: &Value) -> ConfigNode {
        match value {
            Value::Null => ConfigNode::Scalar(None),
            Value::Bool(b) => ConfigNode::Scalar(Some(if *b { "true" } else { "false" }.into())),
            Value::Int(i) => ConfigNode::Scalar(Some(i.to_string())),
            Value::Float(f) => ConfigNode::Scalar(Some(f.to_string())),
            Value::String(s) => ConfigNode::Scalar(Some(s.clone())),
            Value::List(l) => {
                ConfigNode::List(l.iter().map(|v| v.as_str().map(str::to_owned).unwrap_or_default()).collect())
            }
            Value::Map(m) if *self == SettingType::PortRange => ConfigNode::Scalar(Some(format!(
                "{}-{}",
                m.get("start").and_then(Value::as_int).unwrap_or(0),
                m.get("end").and_then(Value::as_int).unwrap_or(0)
            ))),
            other => ConfigNode::Scalar(Some(format!("{other:?}"))),
        }
    }

    /// Reads a stored node back into a value, validating it.
    pub fn from_storage(&self, path: &str, node: &ConfigNode) -> Result<Value> {
        match node {
            ConfigNode::Scalar(None) => Ok(Value::Null),
            ConfigNode::Scalar(Some(s)) => self.coerce(path, Value::String(s.clone())),
            ConfigNode::List(l) => self.coerce(path, Value::List(l.iter().cloned().map(Value::String).collect())),
            ConfigNode::Group(_) => Err(err(path, "expected a value, found a group")),
        }
    }
}

/// The value form of a port range.
pub fn port_range(start: i64, end: i64) -> Value {
    Value::Map(BTreeMap::from([("start".to_owned(), Value::Int(start)), ("end".to_owned(), Value::Int(end))]))
}

fn list_of(path: &str, value: Value) -> Result<Vec<String>> {
    match value {
        Value::List(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_owned()),
                other => Err(err(path, format!("list entries must be strings, got {other:?}"))),
            })
            .collect(),
        Value::String(s) => Ok(s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()),
        other => Err(err(path, format!("expected a list, got {other:?}"))),
    }
}

fn normalise_path(s: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in s.split('/') {
        match part {
            "" | "." if !parts.is_empty() => {}
            ".." if parts.last().is_some_and(|p| !p.is_empty() && *p != ".." && *p != "~") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if joined.is_empty() { "/".into() } else { joined }
}

/// Parses the original's boolean words.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_ranges() {
        assert_eq!(SettingType::Port.coerce("p", Value::from("5060")).unwrap(), Value::Int(5060));
        assert!(SettingType::Port.coerce("p", Value::Int(70000)).is_err());
        let r = SettingType::PortRange.coerce("r", Value::from("50000-50500")).unwrap();
        assert_eq!(SettingType::PortRange.to_storage(&r), ConfigNode::Scalar(Some("50000-50500".into())));
        assert!(SettingType::PortRange.coerce("r", Value::from("500-400")).is_err());
        assert!(SettingType::PortRange.coerce("r", Value::from("0-400")).is_err());
    }

    #[test]
    fn addresses() {
        let t = SettingType::SipProxyAddress;
        assert_eq!(t.coerce("x", Value::from("proxy.example.com")).unwrap(), Value::from("proxy.example.com:5060"));
        assert_eq!(
            t.coerce("x", Value::from("10.0.0.1:5061;transport=TLS")).unwrap(),
            Value::from("10.0.0.1:5061;transport=tls")
        );
        assert!(t.coerce("x", Value::from("proxy;transport=sctp")).is_err());
        assert!(t.coerce("x", Value::from("bad host")).is_err());
        assert!(SettingType::SipAddress.coerce("id", Value::from("alice")).is_err());
        assert_eq!(
            SettingType::SipAddress.coerce("id", Value::from("sip:alice@example.com")).unwrap(),
            Value::from("alice@example.com")
        );
        let e = SettingType::XcapRoot.coerce("xcap.xcap_root", Value::from("ftp://x")).unwrap_err();
        assert!(e.to_string().contains("xcap.xcap_root"));
    }

    #[test]
    fn lists() {
        let t = SettingType::WordList { allowed: AUDIO_CODECS };
        assert_eq!(
            t.coerce("c", Value::from("pcmu, opus,PCMU")).unwrap(),
            Value::List(vec![Value::from("PCMU"), Value::from("opus")])
        );
        assert!(t.coerce("c", Value::from("mp3")).is_err());
        let s = SettingType::HostPortList.coerce("s", Value::from("stun.example.com, 1.2.3.4:3479")).unwrap();
        assert_eq!(s, Value::List(vec![Value::from("stun.example.com:3478"), Value::from("1.2.3.4:3479")]));
    }

    #[test]
    fn named_types() {
        let names: Vec<&str> = SettingType::names().collect();
        for required in [
            "bool",
            "int",
            "nonnegative_int",
            "float",
            "str",
            "port",
            "port_range",
            "sample_rate",
            "sip_address",
            "sip_proxy_address",
            "msrp_relay_address",
            "path",
            "xcap_root",
            "video_resolution",
            "string_list",
            "audio_codec_list",
            "video_codec_list",
            "sip_transport_list",
            "host_port_list",
        ] {
            assert!(names.contains(&required), "{required} has no type");
        }
        for name in &names {
            let ty = SettingType::from_name(name).unwrap();
            assert_eq!(ty.name(), Some(*name), "names are unique and round-trip");
        }
        assert_eq!(SettingType::from_name("port"), Some(SettingType::Port));
        assert_eq!(SettingType::from_name("nonnegative_int"), Some(SettingType::Int { min: 0, max: i64::MAX }));
        assert_eq!(SettingType::from_name("Port"), None);
        assert_eq!(SettingType::from_name("uint"), None);
        assert_eq!(SettingType::from_name(""), None);
        assert_eq!(SettingType::Enum(&["a", "b"]).name(), None);

        let nonneg = SettingType::from_name("nonnegative_int").unwrap();
        assert!(nonneg.coerce("x", Value::Int(-1)).is_err());
        let words = SettingType::from_name("string_list").unwrap();
        assert_eq!(
            words.coerce("x", Value::from("a, b")).unwrap(),
            Value::List(vec![Value::from("a"), Value::from("b")])
        );
        let rate = SettingType::from_name("sample_rate").unwrap();
        assert!(rate.coerce("x", Value::Int(32000)).is_ok());
        assert!(rate.coerce("x", Value::Int(11025)).is_err());
    }
}
