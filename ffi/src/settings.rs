//! Settings of any settings object: an account, the BonjourAccount or the
//! global `SIPSimpleSettings`, read and written as JSON by dotted path
//! (`sip.register_interval`, `rtp.port_range`...).

use std::ffi::c_char;

use sipsimple_core::config::{PathKind, SettingsObject};
use sipsimple_core::{Error, SIPSimpleSettings, Value};

use crate::objects::SettingsOwner;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, borrow_str};

/// The settings under `group` (`""` = all) as one nested JSON object.
fn group_json(settings: &SettingsObject, group: &str) -> Result<serde_json::Value, Error> {
    let mut map = serde_json::Map::new();
    for child in settings.children(group) {
        let path = if group.is_empty() { child.clone() } else { format!("{group}.{child}") };
        let value = match settings.path_kind(&path) {
            Some(PathKind::Setting) => settings.get(&path)?.to_json(),
            Some(PathKind::Group) => group_json(settings, &path)?,
            None => continue,
        };
        map.insert(child, value);
    }
    Ok(serde_json::Value::Object(map))
}

/// Keeps secrets out of error messages: a refused value for a password
/// setting is not described.
fn redact(path: &str, error: Error) -> Error {
    match error {
        Error::InvalidSetting { setting, .. } if path.contains("password") => {
            Error::setting(setting, "the value is not acceptable for this setting")
        }
        other => other,
    }
}

/// `*out` receives the handle of the global `SIPSimpleSettings` object.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_settings_global(out: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_settings_global", || {
        let out = Out::new(out, "out")?;
        let h = SIPSimpleSettings::instance().handle().raw();
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(h) };
        Ok(())
    })
}

/// `*out_json` receives the value of the setting `path` of `object` (an
/// account, the BonjourAccount or `SIPSimpleSettings`) as JSON: booleans,
/// numbers, strings, `null`, lists of strings, port ranges as
/// `{"start": .., "end": ..}`. A group path (`""` for everything) gives a
/// nested object of its settings. Owned: free it with `sipsimple_string_free`.
/// `SIPSIMPLE_RESULT_NOT_FOUND` if there is no such setting.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_settings_get_json(
    object: sipsimple_handle,
    path: *const c_char,
    out_json: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_settings_get_json", || {
        let owner = SettingsOwner::resolve(object)?;
        // SAFETY: API contract.
        let path = unsafe { borrow_str(path, "path") }?;
        let out = Out::new(out_json, "out_json")?;
        let settings = owner.settings();
        let json = match settings.path_kind(path) {
            Some(PathKind::Group) => group_json(settings, path)?,
            _ => settings.get(path)?.to_json(),
        };
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(json.to_string()) }
    })
}

/// Sets the setting `path` of `object` to `value_json` (a JSON value; strings
/// are accepted for numbers, booleans, port ranges `"50000-50500"` and lists
/// `"opus, PCMU"`; `null` only for settings that allow it). The value is
/// validated: a refused value gives `SIPSIMPLE_RESULT_INVALID_SETTING`, the
/// last error message names the setting, and the old value stays. The change
/// is stored and announced by `sipsimple_settings_save` (or
/// `sipsimple_account_save`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_settings_set_json(
    object: sipsimple_handle,
    path: *const c_char,
    value_json: *const c_char,
) -> sipsimple_result {
    guard("sipsimple_settings_set_json", || {
        let owner = SettingsOwner::resolve(object)?;
        // SAFETY: API contract.
        let path = unsafe { borrow_str(path, "path") }?;
        // SAFETY: API contract.
        let text = unsafe { borrow_str(value_json, "value_json") }?;
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            FfiError::argument(format!(
                "the value for {path} is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        owner.settings().set(path, Value::from_json(&json)).map_err(|e| redact(path, e))?;
        Ok(())
    })
}

/// Resets the setting `path` of `object` to its default value (stored and
/// announced on the next save).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_settings_reset(object: sipsimple_handle, path: *const c_char) -> sipsimple_result {
    guard("sipsimple_settings_reset", || {
        let owner = SettingsOwner::resolve(object)?;
        // SAFETY: API contract.
        let path = unsafe { borrow_str(path, "path") }?;
        owner.settings().reset(path)?;
        Ok(())
    })
}

/// Stores the changed settings of `object` and posts
/// `CFGSettingsObjectWasCreated` or `CFGSettingsObjectDidChange` (with
/// `modified`). For an account this is `sipsimple_account_save`.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_settings_save(object: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_settings_save", || {
        match SettingsOwner::resolve(object)? {
            SettingsOwner::Account(account) => account.save()?,
            SettingsOwner::Global(settings) => settings.settings().save()?,
        };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr::{null, null_mut};

    #[test]
    fn settings_handles_and_arguments_are_checked() {
        let mut s = null_mut();
        for bad in [0u64, 3, 0xdead_beef, u64::MAX] {
            assert_eq!(
                unsafe { sipsimple_settings_get_json(bad, c"".as_ptr(), &mut s) },
                sipsimple_result::InvalidHandle
            );
            assert_eq!(
                unsafe { sipsimple_settings_set_json(bad, c"x".as_ptr(), c"1".as_ptr()) },
                sipsimple_result::InvalidHandle
            );
            assert_eq!(sipsimple_settings_save(bad), sipsimple_result::InvalidHandle);
        }
        let app = sipsimple_core::SIPApplication::instance().handle().raw();
        assert_eq!(
            unsafe { sipsimple_settings_get_json(app, c"".as_ptr(), &mut s) },
            sipsimple_result::InvalidHandle,
            "wrong kind"
        );

        let mut global = 0;
        assert_eq!(unsafe { sipsimple_settings_global(&mut global) }, sipsimple_result::Ok);
        assert_eq!(unsafe { sipsimple_settings_get_json(global, null(), &mut s) }, sipsimple_result::NullArgument);
        assert_eq!(
            unsafe { sipsimple_settings_get_json(global, c"user_agent".as_ptr(), null_mut()) },
            sipsimple_result::NullArgument
        );
        assert_eq!(
            unsafe { sipsimple_settings_set_json(global, c"user_agent".as_ptr(), null()) },
            sipsimple_result::NullArgument
        );
        assert_eq!(
            unsafe { sipsimple_settings_get_json(global, c"no.such.setting".as_ptr(), &mut s) },
            sipsimple_result::NotFound
        );
        assert_eq!(
            unsafe { sipsimple_settings_set_json(global, c"user_agent".as_ptr(), c"{".as_ptr()) },
            sipsimple_result::InvalidArgument
        );
        assert!(s.is_null());
    }

    #[test]
    fn global_settings_read_and_validate_without_saving() {
        let mut global = 0;
        assert_eq!(unsafe { sipsimple_settings_global(&mut global) }, sipsimple_result::Ok);
        let mut s = null_mut();
        assert_eq!(unsafe { sipsimple_settings_get_json(global, c"".as_ptr(), &mut s) }, sipsimple_result::Ok);
        let all: serde_json::Value = serde_json::from_str(unsafe { CStr::from_ptr(s) }.to_str().unwrap()).unwrap();
        unsafe { crate::strings::sipsimple_string_free(s) };
        assert!(all["audio"]["echo_canceller"]["enabled"].is_boolean(), "{all}");

        assert_eq!(
            unsafe { sipsimple_settings_get_json(global, c"audio.echo_canceller.enabled".as_ptr(), &mut s) },
            sipsimple_result::Ok
        );
        assert_eq!(unsafe { CStr::from_ptr(s) }, c"true");
        unsafe { crate::strings::sipsimple_string_free(s) };
        let r = unsafe {
            sipsimple_settings_set_json(global, c"audio.echo_canceller.enabled".as_ptr(), c"\"sometimes\"".as_ptr())
        };
        assert_eq!(r, sipsimple_result::InvalidSetting);
        let message = unsafe { CStr::from_ptr(crate::result::sipsimple_last_error()) }.to_str().unwrap().to_owned();
        assert!(message.contains("audio.echo_canceller.enabled"), "{message}");
    }
}
