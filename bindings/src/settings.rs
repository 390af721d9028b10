//! `SipSimpleSettings`: the global settings.

use std::sync::Arc;

use crate::{Result, value_from_json_text, value_to_json_text};

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

    /// The settings object's handle: the sender of its notifications.
    pub fn handle(&self) -> u64 {
        self.inner.handle().raw()
    }
}
