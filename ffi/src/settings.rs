//! Settings of any settings object: an account, the BonjourAccount or the
//! global `SIPSimpleSettings`, read and written as JSON by dotted path
//! (`sip.register_interval`, `rtp.port_range`...).

use std::ffi::c_char;

use sipsimple_core::config::{PathKind, SettingsClass, SettingsObject};
use sipsimple_core::settings::settings_class_named;
use sipsimple_core::{Error, SIPSimpleSettings, Value};

use crate::objects::SettingsOwner;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, borrow_str, optional_str};

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

/// Parses the optional JSON default of an extension setting (`NULL` is null).
unsafe fn default_value(path: &str, default_json: *const c_char) -> Result<Value, FfiError> {
    // SAFETY: forwarded API contract.
    let Some(text) = (unsafe { optional_str(default_json, "default_json") })? else {
        return Ok(Value::Null);
    };
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        FfiError::argument(format!(
            "the default of {path} is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    Ok(Value::from_json(&json))
}

/// Registers one setting on `class` from the C arguments.
unsafe fn register(
    class: &SettingsClass,
    path: *const c_char,
    type_name: *const c_char,
    default_json: *const c_char,
    nillable: bool,
) -> Result<(), FfiError> {
    // SAFETY: API contract.
    let path = unsafe { borrow_str(path, "path") }?;
    // SAFETY: API contract.
    let type_name = unsafe { borrow_str(type_name, "type_name") }?;
    // SAFETY: API contract.
    let default = unsafe { default_value(path, default_json) }?;
    class.register_setting(path, type_name, default, nillable)?;
    Ok(())
}

/// Extends the settings class of `object` (the original's
/// `register_extension`): `object` is the `SIPSimpleSettings` handle (from
/// `sipsimple_settings_global`), or any `Account` or `BonjourAccount`
/// handle, which extends every account of that class. The setting `path`
/// (dotted: `logs.trace_notifications`, `gui.theme`; missing groups are
/// created, existing ones such as `logs` are extended) gets the type
/// `type_name` and the default `default_json` (a JSON value; `NULL` means
/// null, accepted only when `nillable`).
///
/// Type names: `bool`, `int`, `nonnegative_int`, `positive_int`, `float`,
/// `str`, `port`, `port_range`, `sample_rate`, `sip_address`,
/// `sip_proxy_address`, `msrp_relay_address`, `path`, `xcap_root`,
/// `video_resolution`, `sip_transport`, `msrp_transport`, `string_list`,
/// `audio_codec_list`, `video_codec_list`, `sip_transport_list`,
/// `host_port_list`.
///
/// Loaded objects of the class get the setting at once, with the value
/// stored for them in the configuration if there is one (settings unknown
/// when a configuration was saved are kept in it), else the default.
/// Registering an existing setting again replaces its definition.
/// Errors: `SIPSIMPLE_RESULT_INVALID_ARGUMENT` for an unknown type name, a
/// malformed path, a path that is a group or lies under a setting, or
/// malformed JSON; `SIPSIMPLE_RESULT_INVALID_SETTING` for a default the type
/// refuses (the last error message names the setting). Nothing changes on
/// error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_settings_register_extension(
    object: sipsimple_handle,
    path: *const c_char,
    type_name: *const c_char,
    default_json: *const c_char,
    nillable: bool,
) -> sipsimple_result {
    guard("sipsimple_settings_register_extension", || {
        let owner = SettingsOwner::resolve(object)?;
        let class = owner.settings().class().clone();
        // SAFETY: API contract.
        unsafe { register(&class, path, type_name, default_json, nillable) }
    })
}

/// Like `sipsimple_settings_register_extension`, for the settings class
/// named `class_name`: `"SIPSimpleSettings"`, `"Account"` or
/// `"BonjourAccount"`. This works before the application started (when no
/// account handle exists yet), which is when applications usually extend
/// the classes. An unknown class name is `SIPSIMPLE_RESULT_NOT_FOUND`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_settings_register_class_extension(
    class_name: *const c_char,
    path: *const c_char,
    type_name: *const c_char,
    default_json: *const c_char,
    nillable: bool,
) -> sipsimple_result {
    guard("sipsimple_settings_register_class_extension", || {
        // SAFETY: API contract.
        let name = unsafe { borrow_str(class_name, "class_name") }?;
        let class = settings_class_named(name).ok_or_else(|| {
            FfiError::Core(Error::NotFound(format!(
                "no settings class {name:?} (SIPSimpleSettings, Account or BonjourAccount)"
            )))
        })?;
        // SAFETY: API contract.
        unsafe { register(&class, path, type_name, default_json, nillable) }
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

    #[test]
    fn extensions_are_validated_and_readable() {
        let mut global = 0;
        assert_eq!(unsafe { sipsimple_settings_global(&mut global) }, sipsimple_result::Ok);
        let register = |path: &std::ffi::CStr, ty: &std::ffi::CStr, default: Option<&std::ffi::CStr>, nillable| unsafe {
            sipsimple_settings_register_extension(
                global,
                path.as_ptr(),
                ty.as_ptr(),
                default.map_or(null(), |d| d.as_ptr()),
                nillable,
            )
        };
        assert_eq!(register(c"ffi_tests.level", c"nonnegative_int", Some(c"3"), false), sipsimple_result::Ok);
        assert_eq!(register(c"ffi_tests.dir", c"path", None, true), sipsimple_result::Ok);
        assert_eq!(register(c"ffi_tests.ports", c"port_range", Some(c"\"6000-6010\""), false), sipsimple_result::Ok);
        assert_eq!(register(c"ffi_tests.x", c"colour", Some(c"1"), false), sipsimple_result::InvalidArgument);
        assert_eq!(register(c"ffi_tests.x", c"int", Some(c"{"), false), sipsimple_result::InvalidArgument);
        assert_eq!(register(c"ffi_tests.x", c"int", Some(c"\"many\""), false), sipsimple_result::InvalidSetting);
        let message = unsafe { CStr::from_ptr(crate::result::sipsimple_last_error()) }.to_str().unwrap().to_owned();
        assert!(message.contains("ffi_tests.x"), "{message}");
        assert_eq!(register(c"ffi_tests.x", c"int", None, false), sipsimple_result::InvalidSetting);
        assert_eq!(register(c"ffi_tests", c"int", Some(c"1"), false), sipsimple_result::InvalidArgument);
        assert_eq!(register(c"ffi_tests.level.sub", c"int", Some(c"1"), false), sipsimple_result::InvalidArgument);
        assert_eq!(
            unsafe { sipsimple_settings_register_extension(global, c"ffi_tests.y".as_ptr(), null(), null(), true) },
            sipsimple_result::NullArgument
        );
        assert_eq!(
            unsafe { sipsimple_settings_register_extension(0, c"ffi_tests.y".as_ptr(), c"int".as_ptr(), null(), true) },
            sipsimple_result::InvalidHandle
        );

        let mut s = null_mut();
        assert_eq!(unsafe { sipsimple_settings_get_json(global, c"ffi_tests".as_ptr(), &mut s) }, sipsimple_result::Ok);
        assert_eq!(unsafe { CStr::from_ptr(s) }, c"{\"dir\":null,\"level\":3,\"ports\":{\"end\":6010,\"start\":6000}}");
        unsafe { crate::strings::sipsimple_string_free(s) };
        assert_eq!(
            unsafe { sipsimple_settings_set_json(global, c"ffi_tests.level".as_ptr(), c"-1".as_ptr()) },
            sipsimple_result::InvalidSetting
        );

        let class_register = |class: &std::ffi::CStr| unsafe {
            sipsimple_settings_register_class_extension(
                class.as_ptr(),
                c"ffi_tests.flag".as_ptr(),
                c"bool".as_ptr(),
                c"true".as_ptr(),
                false,
            )
        };
        assert_eq!(class_register(c"BonjourAccount"), sipsimple_result::Ok);
        assert_eq!(class_register(c"Account"), sipsimple_result::Ok);
        assert_eq!(class_register(c"Contact"), sipsimple_result::NotFound);
        assert!(sipsimple_core::Account::settings_class().schema().setting("ffi_tests.flag").is_some());
    }
}
