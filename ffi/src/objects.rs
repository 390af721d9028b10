//! Resolving raw handles to the objects behind them, with kind checks.

use std::any::Any;
use std::sync::Arc;

use sipsimple_core::config::SettingsObject;
use sipsimple_core::{Account, Handle, ObjectKind, SIPSimpleSettings, Value, handle};

use crate::result::FfiError;
use crate::sipsimple_handle;

/// Resolves `raw` to an object of type `T` registered as `kind`.
pub(crate) fn resolve<T: Any + Send + Sync>(raw: sipsimple_handle, kind: ObjectKind) -> Result<Arc<T>, FfiError> {
    if raw == 0 {
        return Err(FfiError::handle(format!("the handle is 0 (expected a {} handle)", kind.name())));
    }
    Ok(handle::resolve::<T>(Handle::from_raw(raw), kind)?)
}

/// Resolves then releases a handle the C side owns (storage, observer,
/// queue), checking its kind first so a handle of another kind is never
/// released by mistake. Returns the object.
pub(crate) fn release<T: Any + Send + Sync>(raw: sipsimple_handle, kind: ObjectKind) -> Result<Arc<T>, FfiError> {
    let object = resolve::<T>(raw, kind)?;
    handle::release(Handle::from_raw(raw))?;
    Ok(object)
}

/// Resolves an `Account` or `BonjourAccount` handle.
pub(crate) fn account(raw: sipsimple_handle) -> Result<Arc<Account>, FfiError> {
    match Handle::from_raw(raw).try_kind() {
        Some(kind @ (ObjectKind::Account | ObjectKind::BonjourAccount)) if raw != 0 => resolve::<Account>(raw, kind),
        _ => Err(FfiError::handle("expected an Account or BonjourAccount handle")),
    }
}

/// An object that has settings: an account or the global settings.
pub(crate) enum SettingsOwner {
    /// An `Account` or the `BonjourAccount`.
    Account(Arc<Account>),
    /// `SIPSimpleSettings`.
    Global(Arc<SIPSimpleSettings>),
}

impl SettingsOwner {
    /// Resolves an account, bonjour account or `SIPSimpleSettings` handle.
    pub(crate) fn resolve(raw: sipsimple_handle) -> Result<SettingsOwner, FfiError> {
        match Handle::from_raw(raw).try_kind() {
            Some(ObjectKind::Settings) if raw != 0 => {
                Ok(SettingsOwner::Global(resolve::<SIPSimpleSettings>(raw, ObjectKind::Settings)?))
            }
            Some(ObjectKind::Account | ObjectKind::BonjourAccount) => Ok(SettingsOwner::Account(account(raw)?)),
            _ => Err(FfiError::handle("expected an Account, BonjourAccount or SIPSimpleSettings handle")),
        }
    }

    /// The settings object.
    pub(crate) fn settings(&self) -> &SettingsObject {
        match self {
            SettingsOwner::Account(a) => a.settings(),
            SettingsOwner::Global(s) => s.settings(),
        }
    }
}

/// A sender or filter value from a raw handle: `0` is "none", anything else
/// must be a live handle.
pub(crate) fn optional_object(raw: sipsimple_handle, what: &str) -> Result<Option<Value>, FfiError> {
    if raw == 0 {
        return Ok(None);
    }
    let h = Handle::from_raw(raw);
    if handle::is_live(h) {
        Ok(Some(Value::Object(h)))
    } else {
        Err(FfiError::handle(format!("{what} is a stale or unknown handle")))
    }
}
