//! `SIPSimpleSettings`: the global settings singleton.

use std::sync::{Arc, LazyLock, OnceLock};

use crate::account::Account;
use crate::config::{SettingsClass, SettingsObject, schema};
use crate::handle::{self, Handle, ObjectKind};

/// The global settings object (`SIPSimpleSettings()`), stored under the top
/// key `SIPSimpleSettings`. Reloaded from the storage on each application start.
pub struct SIPSimpleSettings {
    object: SettingsObject,
    handle: OnceLock<Handle>,
}

static CLASS: LazyLock<Arc<SettingsClass>> =
    LazyLock::new(|| SettingsClass::new("SIPSimpleSettings", None, schema::sipsimple_settings()));

static INSTANCE: LazyLock<Arc<SIPSimpleSettings>> = LazyLock::new(|| {
    let object = SettingsObject::load(CLASS.clone(), "SIPSimpleSettings");
    let settings = Arc::new(SIPSimpleSettings { object, handle: OnceLock::new() });
    let h = handle::register(ObjectKind::Settings, settings.clone(), Some("SIPSimpleSettings".into()));
    let _ = settings.handle.set(h);
    settings.object.set_sender(h);
    settings
});

impl SIPSimpleSettings {
    /// The singleton.
    pub fn instance() -> Arc<SIPSimpleSettings> {
        INSTANCE.clone()
    }
    /// The settings class (extend it with `register_extension`).
    pub fn settings_class() -> Arc<SettingsClass> {
        CLASS.clone()
    }
    /// The settings object holding the values.
    pub fn settings(&self) -> &SettingsObject {
        &self.object
    }
    /// The singleton's handle.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or(Handle::from_raw(0))
    }
}

/// The settings class named `name`: `SIPSimpleSettings`, `Account` or
/// `BonjourAccount` (what bindings extend by name), or `None`.
pub fn settings_class_named(name: &str) -> Option<Arc<SettingsClass>> {
    match name {
        "SIPSimpleSettings" => Some(SIPSimpleSettings::settings_class()),
        "Account" => Some(Account::settings_class()),
        "BonjourAccount" => Some(Account::bonjour_settings_class()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_by_name() {
        for name in ["SIPSimpleSettings", "Account", "BonjourAccount"] {
            assert_eq!(settings_class_named(name).map(|c| c.name), Some(name));
        }
        assert!(Arc::ptr_eq(&settings_class_named("Account").unwrap(), &Account::settings_class()));
        assert!(settings_class_named("account").is_none());
    }
}
