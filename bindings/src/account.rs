//! `AccountManager` and `Account`.

use std::sync::Arc;

use sipsimple_core::handle::{self, Handle, ObjectKind};

use crate::settings::register_extension;
use crate::{Result, SipSimpleError, value_from_json_text, value_to_json_text};

/// A settings class of accounts, for [`register_account_extension`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum AccountClass {
    /// Every SIP `Account`.
    Account,
    /// The `BonjourAccount`.
    BonjourAccount,
}

/// Extends the settings class of accounts (the original's
/// `Account.register_extension` / `BonjourAccount.register_extension`);
/// usually called before the application starts. The arguments and errors
/// are those of `SipSimpleSettings.register_extension`. Every account of
/// the class, loaded or not, gets the setting.
#[uniffi::export]
pub fn register_account_extension(
    account_class: AccountClass,
    path: String,
    type_name: String,
    default_json: Option<String>,
    nillable: bool,
) -> Result<()> {
    let class = match account_class {
        AccountClass::Account => sipsimple_core::Account::settings_class(),
        AccountClass::BonjourAccount => sipsimple_core::Account::bonjour_settings_class(),
    };
    register_extension(&class, &path, &type_name, default_json, nillable)
}

/// An account (an `Account` or the `BonjourAccount`).
///
/// The object holds the account's handle and resolves it on every call that
/// needs the account, so an object from before an application restart (when
/// the accounts were reloaded) reports `InvalidHandle` instead of acting on
/// a stale account. Two objects are equal when they refer to the same
/// account.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Eq, Hash)]
pub struct Account {
    handle: Handle,
    id: String,
    username: String,
    domain: String,
}

impl Account {
    pub(crate) fn wrap(account: &sipsimple_core::Account) -> Arc<Account> {
        let id = account.id();
        Arc::new(Account {
            handle: account.handle(),
            id: id.to_string(),
            username: id.username.clone(),
            domain: id.domain.clone(),
        })
    }

    /// The core account, if the handle is still live.
    pub(crate) fn resolve(&self) -> Result<Arc<sipsimple_core::Account>> {
        let stale = |detail: String| SipSimpleError::InvalidHandle {
            detail: format!("account {} is no longer valid ({detail})", self.id),
        };
        let kind = self
            .handle
            .try_kind()
            .filter(|k| matches!(k, ObjectKind::Account | ObjectKind::BonjourAccount))
            .ok_or_else(|| stale("not an account handle".to_owned()))?;
        handle::resolve::<sipsimple_core::Account>(self.handle, kind).map_err(|e| stale(e.to_string()))
    }
}

#[uniffi::export]
impl Account {
    /// `Account(id)`: the existing account with this SIP id, or a new,
    /// unsaved one (stored and announced by `save`). Errors:
    /// `InvalidArgument` for a malformed id, `InvalidState` before the
    /// application started.
    #[uniffi::constructor]
    pub fn new(id: String) -> Result<Arc<Self>> {
        let account = sipsimple_core::Account::get_or_create(&id)?;
        Ok(Account::wrap(&account))
    }

    /// The SIP id, `user@domain`.
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// The user part of the id.
    pub fn username(&self) -> String {
        self.username.clone()
    }

    /// The domain part of the id.
    pub fn domain(&self) -> String {
        self.domain.clone()
    }

    /// The account's handle: the sender of its notifications and the value
    /// notification data carries for it (`{"handle": ..}`).
    pub fn handle(&self) -> u64 {
        self.handle.raw()
    }

    /// True for the `BonjourAccount`.
    pub fn is_bonjour(&self) -> bool {
        self.handle.try_kind() == Some(ObjectKind::BonjourAccount)
    }

    /// The account's URI (`sip:user@domain`; for Bonjour, its contact
    /// address).
    pub fn uri(&self) -> Result<String> {
        Ok(self.resolve()?.uri())
    }

    /// Whether the account is enabled (as saved).
    pub fn enabled(&self) -> Result<bool> {
        Ok(self.resolve()?.enabled())
    }

    /// The current value of the account setting at `path` (dotted, e.g.
    /// `sip.register_interval`), as JSON.
    pub fn get_setting(&self, path: String) -> Result<String> {
        Ok(value_to_json_text(&self.resolve()?.settings().get(&path)?))
    }

    /// Sets the account setting at `path` to the JSON value `value_json`
    /// after validating it (`InvalidSetting` if refused; the old value is
    /// kept). The change is stored and announced by `save`.
    pub fn set_setting(&self, path: String, value_json: String) -> Result<()> {
        let account = self.resolve()?;
        let value = value_from_json_text("the setting value", &value_json)?;
        Ok(account.settings().set(&path, value)?)
    }

    /// Extends the settings class of this account (`Account` or
    /// `BonjourAccount`), so every account of the class gets the setting:
    /// see `register_account_extension`.
    pub fn register_extension(
        &self,
        path: String,
        type_name: String,
        default_json: Option<String>,
        nillable: bool,
    ) -> Result<()> {
        let account = self.resolve()?;
        register_extension(account.settings().class(), &path, &type_name, default_json, nillable)
    }

    /// Whether the account is registered: its registrar holds the account's
    /// binding (`SIPAccountRegistrationDidSucceed` was posted, and no
    /// failure or unregistration since).
    pub fn registered(&self) -> Result<bool> {
        Ok(self.resolve()?.registered())
    }

    /// The account's Contact URI for `transport` (`udp`, `tcp` or `tls`) on
    /// the running SIP engine (`contact[transport]` in the original).
    /// `InvalidState` while the engine is not running, `NotFound` when it
    /// runs no such transport.
    pub fn contact_uri(&self, transport: String) -> Result<String> {
        Ok(self.resolve()?.contact().uri(&transport)?)
    }

    /// Stores the account: posts `CFGSettingsObjectWasCreated` and
    /// `SIPAccountManagerDidAddAccount` for a new account, or
    /// `CFGSettingsObjectDidChange` with the modified settings.
    pub fn save(&self) -> Result<()> {
        self.resolve()?.save()?;
        Ok(())
    }

    /// Sends a paging-mode instant message (a SIP MESSAGE request) from this
    /// account to `to` (a SIP URI such as `sip:bob@example.com`, or
    /// `bob@example.com`) carrying `body` of type `content_type`
    /// (`type/subtype`, e.g. `text/plain`). The request goes to the
    /// account's `sip.outbound_proxy` when it is set, otherwise to the routes
    /// DNS gives for the target's domain.
    ///
    /// Returns at once with the message's handle: the sender of the one
    /// notification that reports the outcome, `SIPMessageDidSucceed` (a 2xx
    /// answer) or `SIPMessageDidFail` (a negative answer, 408 on a timeout,
    /// 503 when the transport failed, 0 when nothing could be sent), both
    /// with `code` and `reason` in their data. The outcome may be delivered
    /// before this returns: observe the names, not the handle, to catch it.
    /// Errors: `InvalidHandle` for a stale account, `InvalidArgument` for a
    /// malformed target or content type, `InvalidState` while the SIP engine
    /// is not running.
    pub fn send_message(&self, to: String, content_type: String, body: Vec<u8>) -> Result<u64> {
        let account = self.resolve()?;
        let message = sipsimple_core::paging::PagingMessage::send(&account, &to, &content_type, body)?;
        Ok(message.handle().raw())
    }

    /// Deletes the account: posts `CFGSettingsObjectWasDeleted` and
    /// `SIPAccountManagerDidRemoveAccount`. The `BonjourAccount` cannot be
    /// deleted.
    pub fn delete(&self) -> Result<()> {
        Ok(self.resolve()?.delete()?)
    }
}

impl std::fmt::Display for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let class = if self.is_bonjour() { "BonjourAccount" } else { "Account" };
        write!(f, "{class}({:?})", self.id)
    }
}

impl PartialEq for Account {
    fn eq(&self, other: &Self) -> bool {
        self.handle == other.handle
    }
}

impl Eq for Account {}

impl std::hash::Hash for Account {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.handle.hash(state);
    }
}

/// The account registry singleton (`AccountManager`). Every instance refers
/// to the same manager; it is loaded when the application starts.
#[derive(uniffi::Object)]
pub struct AccountManager {
    inner: Arc<sipsimple_core::AccountManager>,
}

#[uniffi::export]
impl AccountManager {
    /// The account manager singleton.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(AccountManager { inner: sipsimple_core::AccountManager::instance() })
    }

    /// True if a saved account has this id.
    pub fn has_account(&self, id: String) -> bool {
        self.inner.has_account(&id)
    }

    /// The saved account with this id (`NotFound` if there is none).
    pub fn get_account(&self, id: String) -> Result<Arc<Account>> {
        let account = self.inner.get_account(&id)?;
        Ok(Account::wrap(&account))
    }

    /// Every saved account, the `BonjourAccount` included.
    pub fn get_accounts(&self) -> Vec<Arc<Account>> {
        self.inner.get_accounts().iter().map(|a| Account::wrap(a)).collect()
    }

    /// The enabled account a request addressed to `uri` belongs to.
    pub fn find_account(&self, uri: String) -> Option<Arc<Account>> {
        self.inner.find_account(&uri).map(|a| Account::wrap(&a))
    }

    /// The account new sessions use, if any.
    pub fn default_account(&self) -> Option<Arc<Account>> {
        self.inner.default_account().map(|a| Account::wrap(&a))
    }

    /// Sets (or clears, with `None`) the default account; it must be saved
    /// and enabled. Posts `SIPAccountManagerDidChangeDefaultAccount`.
    pub fn set_default_account(&self, account: Option<Arc<Account>>) -> Result<()> {
        let account = account.map(|a| a.resolve()).transpose()?;
        Ok(self.inner.set_default_account(account.as_ref())?)
    }

    /// The manager's handle: the sender of the `SIPAccountManager*`
    /// notifications.
    pub fn handle(&self) -> u64 {
        self.inner.handle().raw()
    }
}
