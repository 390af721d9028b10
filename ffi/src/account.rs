//! `AccountManager` and `Account` / `BonjourAccount`.
//!
//! Every function taking an account handle accepts both kinds. Account
//! handles belong to one application run: after a stop and a new start they
//! are stale and the accounts must be looked up again.

use std::ffi::c_char;

use sipsimple_core::{Account, AccountManager, Value};

use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, borrow_str};

/// `*out` receives the `AccountManager` handle: the sender of the
/// `SIPAccountManager*` notifications.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_manager_handle(out: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_account_manager_handle", || {
        let out = Out::new(out, "out")?;
        let h = AccountManager::instance().handle().raw();
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(h) };
        Ok(())
    })
}

/// `*out` receives the handle of the saved account `id` (`user@domain`, or
/// `bonjour@local`); `SIPSIMPLE_RESULT_NOT_FOUND` if there is none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_manager_get_account(
    id: *const c_char,
    out: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_account_manager_get_account", || {
        // SAFETY: API contract.
        let id = unsafe { borrow_str(id, "id") }?;
        let out = Out::new(out, "out")?;
        let account = AccountManager::instance().get_account(id)?;
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(account.handle().raw()) };
        Ok(())
    })
}

/// `*out` receives whether a saved account has the id `id`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_manager_has_account(id: *const c_char, out: *mut bool) -> sipsimple_result {
    guard("sipsimple_account_manager_has_account", || {
        // SAFETY: API contract.
        let id = unsafe { borrow_str(id, "id") }?;
        let out = Out::new(out, "out")?;
        let has = AccountManager::instance().has_account(id);
        // SAFETY: out is a writable bool (API contract).
        unsafe { out.write(has) };
        Ok(())
    })
}

/// `*out_json` receives every saved account (the BonjourAccount included) as
/// a JSON array of `{"handle": <number>, "type": "Account" or
/// "BonjourAccount", "id": "<user@domain>"}` (owned: free it with
/// `sipsimple_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_manager_get_accounts(out_json: *mut *mut c_char) -> sipsimple_result {
    guard("sipsimple_account_manager_get_accounts", || {
        let out = Out::new(out_json, "out_json")?;
        let list: Vec<serde_json::Value> =
            AccountManager::instance().get_accounts().iter().map(|a| Value::Object(a.handle()).to_json()).collect();
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(serde_json::Value::Array(list).to_string()) }
    })
}

/// Fills `handles` (room for `len` handles) with the handles of every saved
/// account (the BonjourAccount included) and sets `*out_count` to their
/// number. If `len` is too small, `*out_count` still receives the number
/// needed, `handles` is not written and the result is
/// `SIPSIMPLE_RESULT_BUFFER_TOO_SMALL` (`handles` may be `NULL` with `len` 0
/// to ask for the number).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_manager_get_account_handles(
    handles: *mut sipsimple_handle,
    len: usize,
    out_count: *mut usize,
) -> sipsimple_result {
    guard("sipsimple_account_manager_get_account_handles", || {
        let out = Out::new(out_count, "out_count")?;
        let accounts = AccountManager::instance().get_accounts();
        // SAFETY: out is a writable size_t (API contract).
        unsafe { out.write(accounts.len()) };
        if accounts.len() > len || (handles.is_null() && !accounts.is_empty()) {
            return Err(FfiError::BufferTooSmall(format!("{} account handles need room, {len} given", accounts.len())));
        }
        for (i, account) in accounts.iter().enumerate() {
            // SAFETY: handles has room for `len` >= accounts.len() handles (API contract).
            unsafe { handles.add(i).write(account.handle().raw()) };
        }
        Ok(())
    })
}

/// `*out` receives the default account's handle (the one new sessions use),
/// or 0 if there is none.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_manager_default_account(out: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_account_manager_default_account", || {
        let out = Out::new(out, "out")?;
        let h = AccountManager::instance().default_account().map(|a| a.handle().raw()).unwrap_or(0);
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(h) };
        Ok(())
    })
}

/// Makes `account` (a saved, enabled account; 0 = none) the default account,
/// saving the choice and posting `SIPAccountManagerDidChangeDefaultAccount`.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_account_manager_set_default_account(account: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_account_manager_set_default_account", || {
        let account = if account == 0 { None } else { Some(objects::account(account)?) };
        AccountManager::instance().set_default_account(account.as_ref())?;
        Ok(())
    })
}

/// `Account(id)`: `*out` receives the handle of the account `id`
/// (`user@domain`), the existing one or a new, unsaved one (saved by
/// `sipsimple_account_save`, which then posts
/// `SIPAccountManagerDidAddAccount`). Needs a started application
/// (`SIPSIMPLE_RESULT_INVALID_STATE` otherwise); a malformed id is
/// `SIPSIMPLE_RESULT_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_new(id: *const c_char, out: *mut sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_account_new", || {
        // SAFETY: API contract.
        let id = unsafe { borrow_str(id, "id") }?;
        let out = Out::new(out, "out")?;
        let account = Account::get_or_create(id)?;
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(account.handle().raw()) };
        Ok(())
    })
}

/// Saves the account's settings: posts `CFGSettingsObjectWasCreated` (first
/// save) or `CFGSettingsObjectDidChange` (with `modified`: setting path to
/// `{"old", "new"}`), then `SIPAccountManagerDidAddAccount` for a new account.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_account_save(account: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_account_save", || {
        objects::account(account)?.save()?;
        Ok(())
    })
}

/// Deletes the account from the configuration: posts
/// `CFGSettingsObjectWasDeleted` and `SIPAccountManagerDidRemoveAccount`.
/// The BonjourAccount cannot be deleted (`SIPSIMPLE_RESULT_INVALID_STATE`).
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_account_delete(account: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_account_delete", || {
        objects::account(account)?.delete()?;
        Ok(())
    })
}

/// `*out` receives the account's id, `user@domain` (owned: free it with
/// `sipsimple_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_id(account: sipsimple_handle, out: *mut *mut c_char) -> sipsimple_result {
    guard("sipsimple_account_id", || {
        let account = objects::account(account)?;
        let out = Out::new(out, "out")?;
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(account.id().to_string()) }
    })
}

/// `*out` receives the account's URI, `sip:user@domain` (owned: free it with
/// `sipsimple_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_uri(account: sipsimple_handle, out: *mut *mut c_char) -> sipsimple_result {
    guard("sipsimple_account_uri", || {
        let account = objects::account(account)?;
        let out = Out::new(out, "out")?;
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(account.uri()) }
    })
}

/// `*out` receives whether the account is enabled, as last saved.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_enabled(account: sipsimple_handle, out: *mut bool) -> sipsimple_result {
    guard("sipsimple_account_enabled", || {
        let account = objects::account(account)?;
        let out = Out::new(out, "out")?;
        // SAFETY: out is a writable bool (API contract).
        unsafe { out.write(account.enabled()) };
        Ok(())
    })
}

/// `*out` receives whether the handle is the BonjourAccount.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_is_bonjour(account: sipsimple_handle, out: *mut bool) -> sipsimple_result {
    guard("sipsimple_account_is_bonjour", || {
        let account = objects::account(account)?;
        let out = Out::new(out, "out")?;
        // SAFETY: out is a writable bool (API contract).
        unsafe { out.write(account.is_bonjour()) };
        Ok(())
    })
}

/// `*out` receives whether the account is registered: its registrar holds
/// the account's binding (`SIPAccountRegistrationDidSucceed` was posted and
/// no failure or unregistration since).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_registered(account: sipsimple_handle, out: *mut bool) -> sipsimple_result {
    guard("sipsimple_account_registered", || {
        let account = objects::account(account)?;
        let out = Out::new(out, "out")?;
        // SAFETY: out is a writable bool (API contract).
        unsafe { out.write(account.registered()) };
        Ok(())
    })
}

/// `*out` receives the account's Contact URI for `transport` (`udp`, `tcp`
/// or `tls`) on the running SIP engine, e.g.
/// `sip:qwertyui@192.0.2.4:5060;transport=tcp` (owned: free it with
/// `sipsimple_string_free`). `SIPSIMPLE_RESULT_INVALID_ARGUMENT` for an
/// unknown transport, `SIPSIMPLE_RESULT_INVALID_STATE` while the engine is
/// not running (also after a stop), `SIPSIMPLE_RESULT_NOT_FOUND` when it
/// runs no such transport. The host is the engine's address, or the one the
/// system routes outwards from when the engine listens on every interface.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_account_contact_uri(
    account: sipsimple_handle,
    transport: *const c_char,
    out: *mut *mut c_char,
) -> sipsimple_result {
    guard("sipsimple_account_contact_uri", || {
        let account = objects::account(account)?;
        // SAFETY: transport is NULL or a NUL-terminated string (API contract).
        let transport = unsafe { borrow_str(transport, "transport") }?;
        let out = Out::new(out, "out")?;
        let uri = account.contact().uri(transport)?;
        // SAFETY: out is a writable char* (API contract).
        unsafe { out.write_string(uri) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    #[test]
    fn account_handles_are_checked() {
        let mut s = null_mut();
        let mut b = false;
        for bad in [0u64, 1, 0xdead_beef, u64::MAX, 0x0700_00ff_0000_0000] {
            assert_eq!(unsafe { sipsimple_account_id(bad, &mut s) }, sipsimple_result::InvalidHandle);
            assert_eq!(unsafe { sipsimple_account_enabled(bad, &mut b) }, sipsimple_result::InvalidHandle);
            assert_eq!(sipsimple_account_save(bad), sipsimple_result::InvalidHandle);
            assert_eq!(sipsimple_account_delete(bad), sipsimple_result::InvalidHandle);
        }
        assert!(s.is_null());
        // Right handle type check: the settings singleton is not an account.
        let settings = sipsimple_core::SIPSimpleSettings::instance().handle().raw();
        assert_eq!(unsafe { sipsimple_account_uri(settings, &mut s) }, sipsimple_result::InvalidHandle);
        assert_eq!(sipsimple_account_manager_set_default_account(settings), sipsimple_result::InvalidHandle);

        let mut h = 0;
        assert_eq!(unsafe { sipsimple_account_new(null(), &mut h) }, sipsimple_result::NullArgument);
        assert_eq!(unsafe { sipsimple_account_new(c"a@b".as_ptr(), null_mut()) }, sipsimple_result::NullArgument);
        assert_eq!(unsafe { sipsimple_account_manager_get_account(null(), &mut h) }, sipsimple_result::NullArgument);
        assert_eq!(
            unsafe { sipsimple_account_manager_has_account(c"a@b".as_ptr(), null_mut()) },
            sipsimple_result::NullArgument
        );
        assert_eq!(unsafe { sipsimple_account_manager_get_accounts(null_mut()) }, sipsimple_result::NullArgument);
        assert_eq!(
            unsafe { sipsimple_account_manager_get_account_handles(null_mut(), 0, null_mut()) },
            sipsimple_result::NullArgument
        );
        assert_eq!(h, 0);
    }
}
