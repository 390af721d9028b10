//! The settings schemas: `SIPSimpleSettings`, `Account` and `BonjourAccount`,
//! with the names, types and defaults of the original middleware.

use std::collections::{BTreeMap, BTreeSet};

use super::datatypes::{
    AUDIO_CODECS, MSRP_TRANSPORTS, SAMPLE_RATES, SIP_TRANSPORTS, SettingType, VIDEO_CODECS, port_range,
};
use crate::error::{Error, Result};
use crate::value::Value;

/// One setting: its type, default and flags.
#[derive(Clone, Debug)]
pub struct SettingDef {
    /// The type, which validates values.
    pub ty: SettingType,
    /// The default value.
    pub default: Value,
    /// Whether `None` is accepted.
    pub nillable: bool,
    /// Runtime settings are never stored (e.g. `audio.muted`).
    pub runtime: bool,
}

/// The settings of one class of settings object, by dotted path.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    settings: BTreeMap<String, SettingDef>,
    groups: BTreeSet<String>,
    distinct: Vec<(String, String)>,
}

impl Schema {
    /// Declares two port settings that must differ unless one is 0 (the
    /// original's correlated `sip.tcp_port` / `sip.tls_port`).
    pub fn add_distinct_ports(&mut self, a: &str, b: &str) {
        self.distinct.push((a.to_owned(), b.to_owned()));
    }

    /// The setting that must differ from `path`, if any.
    pub fn distinct_sibling(&self, path: &str) -> Option<&str> {
        self.distinct.iter().find_map(|(a, b)| {
            if a == path {
                Some(b.as_str())
            } else if b == path {
                Some(a.as_str())
            } else {
                None
            }
        })
    }

    /// Adds (or replaces) a setting, creating its groups. This is also how
    /// applications extend the schema (`register_extension`).
    pub fn add(&mut self, path: &str, ty: SettingType, default: Value, nillable: bool) -> Result<()> {
        self.add_def(path, SettingDef { ty, default, nillable, runtime: false })
    }

    /// Adds a setting from a full definition.
    pub fn add_def(&mut self, path: &str, def: SettingDef) -> Result<()> {
        check_path(path)?;
        if self.groups.contains(path) {
            return Err(Error::InvalidArgument(format!("{path:?} is a settings group")));
        }
        let mut prefix = String::new();
        for part in path.split('.').collect::<Vec<_>>().split_last().map(|(_, g)| g.to_vec()).unwrap_or_default() {
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(part);
            if self.settings.contains_key(&prefix) {
                return Err(Error::InvalidArgument(format!("{prefix:?} is a setting, not a group")));
            }
            self.groups.insert(prefix.clone());
        }
        self.settings.insert(path.to_owned(), def);
        Ok(())
    }

    /// Adds an empty group (kept for extensions, like `chat`).
    pub fn add_group(&mut self, path: &str) {
        self.groups.insert(path.to_owned());
    }

    /// Adds a group and its parent groups, checking that neither the path
    /// nor any of its parents is a setting (an extension's empty group).
    /// Adding an existing group does nothing.
    pub fn add_checked_group(&mut self, path: &str) -> Result<()> {
        check_path(path)?;
        let mut prefix = String::new();
        for part in path.split('.') {
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(part);
            if self.settings.contains_key(&prefix) {
                return Err(Error::InvalidArgument(format!("{prefix:?} is a setting, not a group")));
            }
        }
        let mut prefix = String::new();
        for part in path.split('.') {
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(part);
            self.groups.insert(prefix.clone());
        }
        Ok(())
    }

    /// The definition of a setting.
    pub fn setting(&self, path: &str) -> Option<&SettingDef> {
        self.settings.get(path)
    }
    /// True if `path` names a group.
    pub fn is_group(&self, path: &str) -> bool {
        self.groups.contains(path)
    }
    /// Every setting, sorted by path.
    pub fn settings(&self) -> impl Iterator<Item = (&str, &SettingDef)> {
        self.settings.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// Direct children (settings and groups) of a group; `""` is the top.
    pub fn children(&self, group: &str) -> Vec<String> {
        let prefix = if group.is_empty() { String::new() } else { format!("{group}.") };
        let mut out: BTreeSet<String> = BTreeSet::new();
        for p in self.settings.keys().chain(self.groups.iter()) {
            if let Some(first) = p.strip_prefix(&prefix).and_then(|rest| rest.split('.').next())
                && !first.is_empty()
            {
                out.insert(first.to_owned());
            }
        }
        out.into_iter().collect()
    }
}

/// A setting or group path: dot-separated, non-empty names that do not
/// start with `_` (except the original's `__id__`).
fn check_path(path: &str) -> Result<()> {
    if path.is_empty() || path.split('.').any(|p| p.is_empty() || p.starts_with('_') && p != "__id__") {
        return Err(Error::InvalidArgument(format!("{path:?} is not a valid setting path")));
    }
    Ok(())
}

struct Builder(Schema);

impl Builder {
    fn set(&mut self, path: &str, ty: SettingType, default: impl Into<Value>) -> &mut Self {
        self.put(path, ty, default.into(), false, false)
    }
    fn nillable(&mut self, path: &str, ty: SettingType, default: impl Into<Value>) -> &mut Self {
        self.put(path, ty, default.into(), true, false)
    }
    fn runtime(&mut self, path: &str, ty: SettingType, default: impl Into<Value>) -> &mut Self {
        self.put(path, ty, default.into(), false, true)
    }
    fn put(&mut self, path: &str, ty: SettingType, default: Value, nillable: bool, runtime: bool) -> &mut Self {
        // The built-in schemas are static data; a bad path there is a bug caught by the tests.
        if let Err(e) = self.0.add_def(path, SettingDef { ty, default, nillable, runtime }) {
            tracing::error!("built-in schema: {e}");
        }
        self
    }
}

const NON_NEGATIVE: SettingType = SettingType::Int { min: 0, max: i64::MAX };
const AUDIO_CODEC_LIST: SettingType = SettingType::WordList { allowed: AUDIO_CODECS };
const VIDEO_CODEC_LIST: SettingType = SettingType::WordList { allowed: VIDEO_CODECS };

fn words(list: &[&str]) -> Value {
    Value::List(list.iter().map(|s| Value::from(*s)).collect())
}

/// The user agent string sent by default.
pub fn default_user_agent() -> String {
    format!("sipsimple {}", env!("CARGO_PKG_VERSION"))
}

/// Schema of the global `SIPSimpleSettings` object.
pub fn sipsimple_settings() -> Schema {
    let mut b = Builder(Schema::default());
    b.nillable("default_account", SettingType::SipAddress, "bonjour@local")
        .set("user_agent", SettingType::Str, default_user_agent())
        .set("instance_id", SettingType::Str, "")
        .nillable("audio.alert_device", SettingType::Str, "system_default")
        .nillable("audio.input_device", SettingType::Str, "system_default")
        .nillable("audio.output_device", SettingType::Str, "system_default")
        .set("audio.sample_rate", SettingType::IntEnum(SAMPLE_RATES), 32000)
        .runtime("audio.muted", SettingType::Bool, false)
        .set("audio.silent", SettingType::Bool, false)
        .set("audio.echo_canceller.enabled", SettingType::Bool, true)
        .set("audio.echo_canceller.tail_length", NON_NEGATIVE, 2)
        .nillable("video.device", SettingType::Str, "system_default")
        .set("video.resolution", SettingType::VideoResolution, "1280x720")
        .set("video.framerate", SettingType::Int { min: 1, max: 120 }, 30)
        .nillable("video.max_bitrate", SettingType::Float, Value::Null)
        .runtime("video.muted", SettingType::Bool, false)
        .set("video.h264.profile", SettingType::Enum(&["baseline", "main", "high"]), "baseline")
        .set("video.h264.level", SettingType::Str, "3.1")
        .set("file_transfer.directory", SettingType::Path, "~/Downloads")
        .set("logs.trace_msrp", SettingType::Bool, false)
        .set("logs.trace_sip", SettingType::Bool, false)
        .set("logs.trace_pjsip", SettingType::Bool, false)
        .set("logs.pjsip_level", SettingType::Int { min: 0, max: 5 }, 5)
        .set("rtp.port_range", SettingType::PortRange, port_range(50000, 50500))
        .set("rtp.timeout", NON_NEGATIVE, 30)
        .set("rtp.audio_codec_list", AUDIO_CODEC_LIST, words(&["opus", "G722", "PCMU", "PCMA"]))
        .set("rtp.video_codec_list", VIDEO_CODEC_LIST, words(&["H264", "VP9", "VP8"]))
        .nillable("sip.invite_timeout", NON_NEGATIVE, 90)
        .set("sip.udp_port", SettingType::Port, 0)
        .set("sip.tcp_port", SettingType::Port, 0)
        .set("sip.tls_port", SettingType::Port, 0)
        .set("sip.transport_list", SettingType::WordList { allowed: SIP_TRANSPORTS }, words(&["tls", "tcp", "udp"]))
        .nillable("tls.ca_list", SettingType::Path, Value::Null)
        .nillable("tls.certificate", SettingType::Path, Value::Null)
        .set("tls.verify_server", SettingType::Bool, true);
    b.0.add_distinct_ports("sip.tcp_port", "sip.tls_port");
    b.0.add_group("chat");
    b.0.add_group("screen_sharing");
    b.0
}

fn media_settings(b: &mut Builder) {
    b.nillable("rtp.audio_codec_list", AUDIO_CODEC_LIST, Value::Null)
        .nillable("rtp.video_codec_list", VIDEO_CODEC_LIST, Value::Null)
        .set("rtp.encryption.enabled", SettingType::Bool, true)
        .set(
            "rtp.encryption.key_negotiation",
            SettingType::Enum(&["opportunistic", "sdes_optional", "sdes_mandatory", "zrtp"]),
            "opportunistic",
        )
        .set("msrp.transport", SettingType::Enum(MSRP_TRANSPORTS), "tls");
}

/// Schema of an `Account`.
pub fn account() -> Schema {
    let mut b = Builder(Schema::default());
    b.set("enabled", SettingType::Bool, false)
        .nillable("display_name", SettingType::Str, Value::Null)
        .nillable("auth.username", SettingType::Str, Value::Null)
        .set("auth.password", SettingType::Str, "")
        .set("sip.always_use_my_proxy", SettingType::Bool, true)
        .nillable("sip.outbound_proxy", SettingType::SipProxyAddress, Value::Null)
        .set("sip.register", SettingType::Bool, true)
        .set("sip.register_interval", NON_NEGATIVE, 600)
        .set("sip.subscribe_interval", NON_NEGATIVE, 600)
        .set("sip.publish_interval", NON_NEGATIVE, 600)
        .nillable("sip.tls_name", SettingType::Str, Value::Null)
        .set("nat_traversal.use_ice", SettingType::Bool, false)
        .nillable("nat_traversal.stun_server_list", SettingType::HostPortList, Value::Null)
        .nillable("nat_traversal.msrp_relay", SettingType::MsrpRelayAddress, Value::Null)
        .set("nat_traversal.use_msrp_relay_for_outbound", SettingType::Bool, false)
        .set("message_summary.enabled", SettingType::Bool, false)
        .nillable("message_summary.voicemail_uri", SettingType::SipAddress, Value::Null)
        .set("msrp.connection_model", SettingType::Enum(&["relay", "acm"]), "relay")
        .set("presence.enabled", SettingType::Bool, false)
        .set("xcap.enabled", SettingType::Bool, false)
        .set("xcap.discovered", SettingType::Bool, false)
        .nillable("xcap.xcap_root", SettingType::XcapRoot, Value::Null)
        .set("xcap.xcap_diff", SettingType::Bool, true);
    media_settings(&mut b);
    b.0
}

/// Schema of the `BonjourAccount`.
pub fn bonjour_account() -> Schema {
    let mut b = Builder(Schema::default());
    b.set("enabled", SettingType::Bool, true)
        .set("display_name", SettingType::Str, "")
        .set("presence.enabled", SettingType::Bool, false)
        .set("sip.transport", SettingType::Enum(SIP_TRANSPORTS), "tcp")
        .nillable("sip.tls_name", SettingType::Str, Value::Null);
    media_settings(&mut b);
    b.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_valid_for_its_type() {
        for schema in [sipsimple_settings(), account(), bonjour_account()] {
            for (path, def) in schema.settings() {
                if def.default == Value::Null {
                    assert!(def.nillable, "{path}: None default on a non-nillable setting");
                    continue;
                }
                let coerced = def.ty.coerce(path, def.default.clone()).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(coerced, def.default, "{path}: default is not normalised");
            }
        }
    }

    #[test]
    fn groups_and_children() {
        let s = sipsimple_settings();
        assert!(s.is_group("audio.echo_canceller"));
        assert!(s.children("").contains(&"rtp".to_owned()));
        assert_eq!(s.children("audio.echo_canceller"), ["enabled", "tail_length"]);
        assert!(s.is_group("chat"));
        assert_eq!(account().setting("sip.register_interval").unwrap().default, Value::Int(600));
    }

    #[test]
    fn checked_groups_and_conflicts() {
        let mut s = sipsimple_settings();
        s.add_checked_group("gui.windows.main").unwrap();
        assert!(s.is_group("gui") && s.is_group("gui.windows") && s.is_group("gui.windows.main"));
        s.add_checked_group("logs").unwrap();
        assert!(s.add_checked_group("user_agent").is_err(), "a setting is not a group");
        assert!(s.add_checked_group("user_agent.x").is_err(), "a setting has no children");
        assert!(s.add_checked_group("bad..path").is_err());
        assert!(s.add("logs", SettingType::Bool, Value::Bool(false), false).is_err(), "a group is not a setting");
        assert!(s.add("logs.trace_sip.more", SettingType::Bool, Value::Bool(false), false).is_err());
        s.add("logs.trace_sip", SettingType::Str, Value::from("x"), false).unwrap();
        assert_eq!(s.setting("logs.trace_sip").unwrap().ty, SettingType::Str, "re-adding replaces");
    }
}
