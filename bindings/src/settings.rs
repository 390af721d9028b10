//! `SipSimpleSettings`: the global settings.

use std::sync::Arc;

use sipsimple_core::config::SettingsClass;

use crate::{Result, value_from_json_text, value_to_json_text};

/// Registers one extension setting on `class` (shared by the exported
/// `register_extension` functions).
pub(crate) fn register_extension(
    class: &SettingsClass,
    path: &str,
    type_name: &str,
    default_json: Option<String>,
    nillable: bool,
) -> Result<()> {
    let default = match default_json {
        Some(text) => value_from_json_text(&format!("the default of {path}"), &text)?,
        None => sipsimple_core::Value::Null,
    };
    Ok(class.register_setting(path, type_name, default, nillable)?)
}

/// The global settings singleton (`SIPSimpleSettings`). Settings are read
/// and written by dotted path (`sip.udp_port`) with JSON values; they are
/// reloaded from the storage on each application start.
#[derive(uniffi::Object)]
pub struct SipSimpleSettings {
    inner: Arc<sipsimple_core::SIPSimpleSettings>,
}

#[uniffi::export]
impl SipSimpleSettings {
    /// The settings singleton.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(SipSimpleSettings { inner: sipsimple_core::SIPSimpleSettings::instance() })
    }

    /// The current value of the setting at `path`, as JSON (`NotFound` for
    /// an unknown setting, `InvalidArgument` for a group).
    pub fn get_setting(&self, path: String) -> Result<String> {
        Ok(value_to_json_text(&self.inner.settings().get(&path)?))
    }

    /// Sets the setting at `path` to the JSON value `value_json` after
    /// validating it (`InvalidSetting` if refused; the old value is kept).
    /// The change is stored and announced by `save`.
    pub fn set_setting(&self, path: String, value_json: String) -> Result<()> {
        let value = value_from_json_text("the setting value", &value_json)?;
        Ok(self.inner.settings().set(&path, value)?)
    }

    /// Stores the settings and posts `CFGSettingsObjectDidChange` with the
    /// modified settings.
    pub fn save(&self) -> Result<()> {
        self.inner.settings().save()?;
        Ok(())
    }

    /// Extends the `SIPSimpleSettings` class (the original's
    /// `register_extension`): the setting `path` (dotted, e.g.
    /// `logs.trace_notifications`; missing groups are created, existing
    /// ones extended) gets the type `type_name` and the default
    /// `default_json` (JSON; `None` means null, allowed only when
    /// `nillable`). Registering an existing setting replaces its definition.
    ///
    /// Type names: `bool`, `int`, `nonnegative_int`, `positive_int`,
    /// `float`, `str`, `port`, `port_range`, `sample_rate`, `sip_address`,
    /// `sip_proxy_address`, `msrp_relay_address`, `path`, `xcap_root`,
    /// `video_resolution`, `sip_transport`, `msrp_transport`, `string_list`,
    /// `audio_codec_list`, `video_codec_list`, `sip_transport_list`,
    /// `host_port_list`.
    ///
    /// The setting is available at once, with the value already stored in
    /// the configuration if there is one. Errors: `InvalidArgument` (unknown
    /// type, malformed path or JSON, a path that is a group or lies under a
    /// setting), `InvalidSetting` (a default the type refuses); nothing
    /// changes on error.
    pub fn register_extension(
        &self,
        path: String,
        type_name: String,
        default_json: Option<String>,
        nillable: bool,
    ) -> Result<()> {
        register_extension(
            &sipsimple_core::SIPSimpleSettings::settings_class(),
            &path,
            &type_name,
            default_json,
            nillable,
        )
    }

    /// The settings object's handle: the sender of its notifications.
    pub fn handle(&self) -> u64 {
        self.inner.handle().raw()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SipSimpleError;
    use crate::account::{AccountClass, register_account_extension};

    #[test]
    fn extensions_map_errors_and_defaults() {
        let settings = SipSimpleSettings::new();
        settings
            .register_extension("uniffi_tests.level".into(), "positive_int".into(), Some("2".into()), false)
            .unwrap();
        assert_eq!(settings.get_setting("uniffi_tests.level".into()).unwrap(), "2");
        settings.register_extension("uniffi_tests.dir".into(), "path".into(), None, true).unwrap();
        assert_eq!(settings.get_setting("uniffi_tests.dir".into()).unwrap(), "null");
        let e = settings.register_extension("uniffi_tests.x".into(), "int".into(), None, false).unwrap_err();
        assert!(matches!(&e, SipSimpleError::InvalidSetting { setting, .. } if setting == "uniffi_tests.x"), "{e:?}");
        let e =
            settings.register_extension("uniffi_tests.x".into(), "int".into(), Some("{".into()), false).unwrap_err();
        assert!(matches!(e, SipSimpleError::InvalidArgument { .. }), "{e:?}");
        let e = register_account_extension(AccountClass::Account, "uniffi_tests.x".into(), "colour".into(), None, true)
            .unwrap_err();
        assert!(matches!(&e, SipSimpleError::InvalidArgument { detail } if detail.contains("colour")), "{e:?}");
        register_account_extension(
            AccountClass::BonjourAccount,
            "uniffi_tests.flag".into(),
            "bool".into(),
            Some("true".into()),
            false,
        )
        .unwrap();
        assert!(sipsimple_core::Account::bonjour_settings_class().schema().setting("uniffi_tests.flag").is_some());
        assert!(sipsimple_core::Account::settings_class().schema().setting("uniffi_tests.flag").is_none());
    }
}
