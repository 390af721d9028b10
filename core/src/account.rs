//! `AccountManager`, `Account` and `BonjourAccount` as registry objects.
//!
//! An account is a settings object (its settings live under
//! `Accounts/<id>` in the configuration) with an identity, credentials and a
//! contact factory. `Account(id)` returns the one object for an id, creating
//! a new (unsaved) account if there is none. The manager loads every stored
//! account when the application starts, posts
//! `SIPAccountManagerDidAddAccount` for each, and keeps the default account
//! (`SIPSimpleSettings.default_account`) pointing at an enabled account.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};

use rand::Rng;

use crate::config::datatypes::validate_sip_address;
use crate::config::{SaveOutcome, SettingsClass, SettingsObject, schema};
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::notification::NotificationCenter;
use crate::notifications::{self as n, TypedNotification};
use crate::registration::Registrar;
use crate::settings::SIPSimpleSettings;
use crate::sip::engine::{Destination, Engine};
use crate::sip::message::Uri;
use crate::sip::transport::TransportKind;
use crate::value::Value;

/// The id of the Bonjour account.
pub const BONJOUR_ID: &str = "bonjour@local";

/// A SIP address `user@domain` (the original's `SIPAddress`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SipAddress {
    /// The user part.
    pub username: String,
    /// The domain part.
    pub domain: String,
}

impl SipAddress {
    /// Parses and validates `user@domain` (a `sip:` prefix is accepted).
    pub fn parse(text: &str) -> Result<SipAddress> {
        let normal = validate_sip_address("id", text)
            .map_err(|e| Error::InvalidArgument(format!("invalid SIP address {text:?}: {e}")))?;
        let (username, domain) = normal.split_once('@').unwrap_or((&normal, ""));
        Ok(SipAddress { username: username.to_owned(), domain: domain.to_owned() })
    }
}

impl fmt::Display for SipAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.username, self.domain)
    }
}

/// A password, printed as `REDACTED` so it never reaches logs or errors.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself: call only where it is really needed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

/// Digest credentials (`sipsimple.core.Credentials`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The authentication user name.
    pub username: String,
    /// The password.
    pub password: Secret,
}

/// Builds Contact URIs for an account (`ContactURIFactory`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactUriFactory {
    /// The contact user part: 8 random lowercase letters.
    pub username: String,
}

impl ContactUriFactory {
    fn random() -> Self {
        let mut rng = rand::rng();
        ContactUriFactory { username: (0..8).map(|_| rng.random_range(b'a'..=b'z') as char).collect() }
    }

    /// `contact[transport]`: the Contact URI for `transport` (`udp`, `tcp`,
    /// `tls`) on the running SIP engine, `sip:<username>@<ip>:<port>` with
    /// `;transport=` for TCP and TLS. When the engine listens on every
    /// interface the IP is the one the system routes outwards from. An error
    /// when the engine is not running or does not run that transport.
    pub fn uri(&self, transport: &str) -> Result<String> {
        let kind = TransportKind::parse(transport)
            .ok_or_else(|| Error::InvalidArgument(format!("unknown transport {transport:?}")))?;
        let engine =
            Engine::current().ok_or_else(|| Error::InvalidState("the SIP engine is not running".to_owned()))?;
        let local = engine
            .local_address(kind)
            .ok_or_else(|| Error::NotFound(format!("the SIP engine runs no {transport} transport")))?;
        let ip = if local.ip().is_unspecified() { local_address().parse().unwrap_or(local.ip()) } else { local.ip() };
        Ok(self.uri_at(kind, std::net::SocketAddr::new(ip, local.port())).to_string())
    }

    /// The Contact URI to use for requests to `destination` (its transport,
    /// and the local address the engine reaches it from).
    pub fn uri_for(&self, engine: &Engine, destination: &Destination) -> Result<Uri<'static>> {
        let address = engine.contact_address(destination).ok_or_else(|| {
            Error::NotFound(format!("the SIP engine runs no {} transport", destination.transport.name()))
        })?;
        Ok(self.uri_at(destination.transport, address))
    }

    fn uri_at(&self, kind: TransportKind, address: std::net::SocketAddr) -> Uri<'static> {
        let host = match address.ip() {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            ip => ip.to_string(),
        };
        let uri = Uri::sip(&host).with_user(&self.username).with_port(address.port());
        match kind {
            TransportKind::Udp => uri,
            other => uri.with_transport(other.name()),
        }
    }
}

/// An account: `Account` (kind [`ObjectKind::Account`]) or the
/// `BonjourAccount` (kind [`ObjectKind::BonjourAccount`]).
pub struct Account {
    id: SipAddress,
    settings: SettingsObject,
    contact: ContactUriFactory,
    handle: OnceLock<Handle>,
    activity: Mutex<Activity>,
}

/// Whether an account is active, and its registration while it is.
#[derive(Default)]
struct Activity {
    active: bool,
    registrar: Option<Registrar>,
}

static ACCOUNT_CLASS: LazyLock<Arc<SettingsClass>> =
    LazyLock::new(|| SettingsClass::new("Account", Some("Accounts"), schema::account()));
static BONJOUR_CLASS: LazyLock<Arc<SettingsClass>> =
    LazyLock::new(|| SettingsClass::new("BonjourAccount", Some("Accounts"), schema::bonjour_account()));

impl Account {
    /// The settings class shared by every `Account` (extend it here).
    pub fn settings_class() -> Arc<SettingsClass> {
        ACCOUNT_CLASS.clone()
    }
    /// The settings class of the `BonjourAccount`.
    pub fn bonjour_settings_class() -> Arc<SettingsClass> {
        BONJOUR_CLASS.clone()
    }

    /// `Account(id)`: the existing account with this id, or a new, unsaved
    /// one. Needs a loaded AccountManager (a started application).
    pub fn get_or_create(id: &str) -> Result<Arc<Account>> {
        AccountManager::instance().get_or_create(id)
    }

    fn new(id: SipAddress, bonjour: bool) -> Arc<Account> {
        let class = if bonjour { BONJOUR_CLASS.clone() } else { ACCOUNT_CLASS.clone() };
        let settings = SettingsObject::load(class, &id.to_string());
        let account = Arc::new(Account {
            id,
            settings,
            contact: ContactUriFactory::random(),
            handle: OnceLock::new(),
            activity: Mutex::new(Activity::default()),
        });
        let kind = if bonjour { ObjectKind::BonjourAccount } else { ObjectKind::Account };
        let h = handle::register(kind, account.clone(), Some(account.id.to_string()));
        let _ = account.handle.set(h);
        account.settings.set_sender(h);
        account
    }

    /// The account's handle (the sender of its notifications).
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or(Handle::from_raw(0))
    }
    /// True for the BonjourAccount.
    pub fn is_bonjour(&self) -> bool {
        self.id.to_string() == BONJOUR_ID
    }
    /// The SIP id (`id`, with `username` and `domain`).
    pub fn id(&self) -> &SipAddress {
        &self.id
    }
    /// The account's settings.
    pub fn settings(&self) -> &SettingsObject {
        &self.settings
    }
    /// Whether the account is enabled (as saved).
    pub fn enabled(&self) -> bool {
        self.settings.saved_value("enabled").ok().and_then(|v| v.as_bool()).unwrap_or(false)
    }
    /// `uri`: `sip:<id>` (for Bonjour, the contact address).
    pub fn uri(&self) -> String {
        if self.is_bonjour() {
            format!("sip:{}@{}", self.contact.username, local_address())
        } else {
            format!("sip:{}", self.id)
        }
    }
    /// `credentials`: `auth.username` (or the id's user part) and `auth.password`.
    /// Bonjour: the contact user name and an empty password.
    pub fn credentials(&self) -> Credentials {
        if self.is_bonjour() {
            return Credentials { username: self.contact.username.clone(), password: Secret::default() };
        }
        let username = self
            .settings
            .get("auth.username")
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| self.id.username.clone());
        let password =
            self.settings.get("auth.password").ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        Credentials { username, password: Secret::new(password) }
    }
    /// `contact`: the Contact URI factory.
    pub fn contact(&self) -> &ContactUriFactory {
        &self.contact
    }
    /// `registered`: true while the registrar holds the account's binding.
    pub fn registered(&self) -> bool {
        self.activity().registrar.as_ref().is_some_and(Registrar::registered)
    }

    /// True while the account is active (enabled and the engine running).
    pub fn active(&self) -> bool {
        self.activity().active
    }

    fn activity(&self) -> MutexGuard<'_, Activity> {
        self.activity.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn post<N: TypedNotification>(&self, notification: N) {
        NotificationCenter::default_center().post(self.handle(), notification);
    }

    fn register_enabled(&self) -> bool {
        !self.is_bonjour() && self.settings.get("sip.register").ok().and_then(|v| v.as_bool()).unwrap_or(true)
    }

    /// Activates the account: posts `SIPAccountWillActivate`, starts the
    /// registration (when `sip.register` is on), posts `SIPAccountDidActivate`.
    fn activate(self: &Arc<Self>) {
        if self.activity().active {
            return;
        }
        self.post(n::SIPAccountWillActivate {});
        let registrar = if self.register_enabled() { self.start_registrar() } else { None };
        let registering = {
            let mut activity = self.activity();
            activity.active = true;
            activity.registrar = registrar;
            activity.registrar.is_some()
        };
        self.post(n::SIPAccountDidActivate {});
        if registering && let Some(r) = self.activity().registrar.as_ref() {
            r.activate();
        }
    }

    /// A registrar for this account, not yet registering.
    fn start_registrar(self: &Arc<Self>) -> Option<Registrar> {
        let engine = Engine::current()?;
        let runtime = crate::application::SIPApplication::instance().runtime()?;
        Some(Registrar::spawn(runtime.handle(), self.clone(), engine))
    }

    /// Deactivates the account: posts `SIPAccountWillDeactivate`, starts
    /// the unregistration, posts `SIPAccountDidDeactivate`. Returns what
    /// reports the end of the unregistration.
    fn deactivate(&self) -> Option<std::sync::mpsc::Receiver<()>> {
        if !self.activity().active {
            return None;
        }
        self.post(n::SIPAccountWillDeactivate {});
        let registrar = {
            let mut activity = self.activity();
            activity.active = false;
            activity.registrar.take()
        };
        let done = registrar.map(|r| r.stop());
        self.post(n::SIPAccountDidDeactivate {});
        done
    }

    /// Applies saved changes to an active account: `sip.register` starts or
    /// stops the registration; credentials, proxy or interval changes make
    /// it register again.
    fn apply_changes(self: &Arc<Self>, modified: &BTreeMap<String, crate::config::ModifiedValue>) {
        if !self.active() {
            return;
        }
        if modified.contains_key("sip.register") {
            let registering = self.activity().registrar.is_some();
            if self.register_enabled() && !registering {
                let registrar = self.start_registrar();
                if let Some(r) = registrar.as_ref() {
                    r.activate();
                }
                self.activity().registrar = registrar;
            } else if !self.register_enabled()
                && registering
                && let Some(r) = self.activity().registrar.take()
            {
                let _ = r.stop();
            }
            return;
        }
        const REREGISTER: [&str; 6] = [
            "auth.password",
            "auth.username",
            "sip.outbound_proxy",
            "sip.register_interval",
            "sip.tls_name",
            "display_name",
        ];
        if REREGISTER.iter().any(|k| modified.contains_key(*k))
            && let Some(r) = self.activity().registrar.as_ref()
        {
            r.reconfigure();
        }
    }

    /// Stores the settings and applies them: posts `CFGSettingsObjectWasCreated`
    /// or `CFGSettingsObjectDidChange`, then `SIPAccountManagerDidAddAccount`
    /// for a new account, and keeps the default account valid.
    pub fn save(self: &Arc<Self>) -> Result<SaveOutcome> {
        let manager = AccountManager::instance();
        manager.check_loaded()?;
        if manager.lock().accounts.get(&self.id.to_string()).is_none_or(|a| !Arc::ptr_eq(a, self)) {
            return Err(Error::InvalidState(format!("account {} has been removed", self.id)));
        }
        let outcome = self.settings.save()?;
        if outcome.created {
            manager.post(n::SIPAccountManagerDidAddAccount { account: self.handle() });
        }
        if outcome.created || outcome.modified.contains_key("enabled") {
            manager.fix_default_account();
        }
        if manager.lock().started {
            if !self.enabled() {
                let _ = self.deactivate();
            } else if self.active() {
                self.apply_changes(&outcome.modified);
            } else {
                self.activate();
            }
        }
        Ok(outcome)
    }

    /// Deletes the account: posts `CFGSettingsObjectWasDeleted` and
    /// `SIPAccountManagerDidRemoveAccount`. The BonjourAccount cannot be deleted.
    pub fn delete(self: &Arc<Self>) -> Result<()> {
        if self.is_bonjour() {
            return Err(Error::InvalidState("the BonjourAccount cannot be deleted".into()));
        }
        let manager = AccountManager::instance();
        manager.check_loaded()?;
        let was_new = self.settings.is_new();
        self.settings.delete()?;
        let _ = self.deactivate();
        let removed = {
            let mut s = manager.lock();
            let key = self.id.to_string();
            if s.accounts.get(&key).is_some_and(|a| Arc::ptr_eq(a, self)) { s.accounts.remove(&key) } else { None }
        };
        if removed.is_some() {
            // The handle stays valid for the notification's observers until
            // the next load (a restart) makes it stale.
            manager.lock().removed.push(self.handle());
        }
        if removed.is_some() && !was_new {
            manager.post(n::SIPAccountManagerDidRemoveAccount { account: self.handle() });
            manager.fix_default_account();
        }
        Ok(())
    }
}

fn local_address() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").and_then(|_| s.local_addr()))
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into())
}

/// How long `AccountManager.stop` waits for the accounts to unregister.
pub const UNREGISTER_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The `AccountManager` singleton.
pub struct AccountManager {
    state: Mutex<ManagerState>,
    handle: OnceLock<Handle>,
}

#[derive(Default)]
struct ManagerState {
    loaded: bool,
    started: bool,
    /// Every account by id, saved or not, the BonjourAccount included.
    accounts: BTreeMap<String, Arc<Account>>,
    /// The default account as last announced.
    default: Option<Arc<Account>>,
    /// Handles of deleted accounts, released at the next load.
    removed: Vec<Handle>,
}

static ACCOUNT_MANAGER: LazyLock<Arc<AccountManager>> = LazyLock::new(|| {
    let m = Arc::new(AccountManager { state: Mutex::new(ManagerState::default()), handle: OnceLock::new() });
    let h = handle::register(ObjectKind::AccountManager, m.clone(), None);
    let _ = m.handle.set(h);
    m
});

impl AccountManager {
    /// The singleton.
    pub fn instance() -> Arc<AccountManager> {
        ACCOUNT_MANAGER.clone()
    }
    /// The manager's handle.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or(Handle::from_raw(0))
    }
    fn lock(&self) -> MutexGuard<'_, ManagerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
    fn post<N: TypedNotification>(&self, notification: N) {
        NotificationCenter::default_center().post(self.handle(), notification);
    }
    fn check_loaded(&self) -> Result<()> {
        if self.lock().loaded {
            Ok(())
        } else {
            Err(Error::InvalidState("the AccountManager has not been loaded".into()))
        }
    }

    /// Loads every stored account (and the BonjourAccount), replacing the
    /// objects of an earlier run (their handles become stale). Posts
    /// `SIPAccountManagerDidAddAccount` for each. Called by `SIPApplication.start`.
    pub fn load(&self) -> Result<()> {
        let ids = crate::config::ConfigurationManager::instance().get_names(&["Accounts"])?;
        let old = std::mem::take(&mut *self.lock());
        for h in old.accounts.values().map(|a| a.handle()).chain(old.removed) {
            let _ = handle::release(h);
        }
        let mut accounts = BTreeMap::new();
        let bonjour = Account::new(SipAddress { username: "bonjour".into(), domain: "local".into() }, true);
        accounts.insert(BONJOUR_ID.to_owned(), bonjour);
        for id in ids.iter().filter(|id| id.as_str() != BONJOUR_ID) {
            match SipAddress::parse(id) {
                Ok(address) => {
                    accounts.insert(address.to_string(), Account::new(address, false));
                }
                Err(e) => tracing::warn!("skipping stored account: {e}"),
            }
        }
        let added: Vec<Handle> = accounts.values().map(|a| a.handle()).collect();
        {
            let mut s = self.lock();
            s.accounts = accounts;
            s.loaded = true;
        }
        for h in added {
            self.post(n::SIPAccountManagerDidAddAccount { account: h });
        }
        self.fix_default_account();
        Ok(())
    }

    /// Starts the accounts: activates every enabled one (which registers
    /// those with `sip.register` on, when the SIP engine runs).
    pub fn start(&self) -> Result<()> {
        self.check_loaded()?;
        self.lock().started = true;
        for account in self.saved_accounts().into_iter().filter(|a| a.enabled()) {
            account.activate();
        }
        Ok(())
    }

    /// Deactivates every account and waits (up to [`UNREGISTER_GRACE`]) for
    /// their unregistrations. Called by `SIPApplication.stop` before the
    /// engine stops; it may block, so never call it on the runtime thread.
    pub fn stop(&self) {
        let accounts: Vec<Arc<Account>> = {
            let mut s = self.lock();
            s.started = false;
            s.accounts.values().cloned().collect()
        };
        let pending: Vec<_> = accounts.iter().filter_map(|a| a.deactivate()).collect();
        let deadline = std::time::Instant::now() + UNREGISTER_GRACE;
        for done in pending {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let _ = done.recv_timeout(left);
        }
    }

    fn get_or_create(&self, id: &str) -> Result<Arc<Account>> {
        let address = SipAddress::parse(id)?;
        let key = address.to_string();
        let mut s = self.lock();
        if !s.loaded {
            return Err(Error::InvalidState(
                "the AccountManager has not been loaded: start the SIPApplication first".into(),
            ));
        }
        if let Some(a) = s.accounts.get(&key) {
            return Ok(a.clone());
        }
        let account = Account::new(address, key == BONJOUR_ID);
        s.accounts.insert(key, account.clone());
        Ok(account)
    }

    fn saved_accounts(&self) -> Vec<Arc<Account>> {
        self.lock().accounts.values().filter(|a| !a.settings.is_new() || a.is_bonjour()).cloned().collect()
    }

    /// `has_account(id)`: true if a saved account has this id.
    pub fn has_account(&self, id: &str) -> bool {
        self.get_account(id).is_ok()
    }

    /// `get_account(id)`: the account, or `NotFound` (`KeyError`).
    pub fn get_account(&self, id: &str) -> Result<Arc<Account>> {
        let key = SipAddress::parse(id).map(|a| a.to_string()).unwrap_or_else(|_| id.to_owned());
        self.lock()
            .accounts
            .get(&key)
            .filter(|a| !a.settings.is_new() || a.is_bonjour())
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("no account {id:?}")))
    }

    /// `get_accounts()`: every saved account, the BonjourAccount included.
    pub fn get_accounts(&self) -> Vec<Arc<Account>> {
        self.saved_accounts()
    }

    /// `iter_accounts()`: same as `get_accounts`, as an iterator.
    pub fn iter_accounts(&self) -> impl Iterator<Item = Arc<Account>> {
        self.saved_accounts().into_iter()
    }

    /// `find_account(contact_uri)`: the enabled account a request addressed
    /// to this URI belongs to: exact contact user or id match first, then a
    /// match on the user name alone.
    pub fn find_account(&self, contact_uri: &str) -> Option<Arc<Account>> {
        let uri = contact_uri.trim().trim_start_matches('<').trim_end_matches('>');
        let uri = uri.strip_prefix("sips:").or_else(|| uri.strip_prefix("sip:")).unwrap_or(uri);
        let uri = uri.split([';', '?']).next().unwrap_or(uri);
        let (user, host) = uri.split_once('@').unwrap_or(("", uri));
        let host = host.split(':').next().unwrap_or(host);
        let enabled: Vec<Arc<Account>> = self.saved_accounts().into_iter().filter(|a| a.enabled()).collect();
        enabled
            .iter()
            .find(|a| a.contact.username == user || (a.id.username == user && a.id.domain.eq_ignore_ascii_case(host)))
            .or_else(|| enabled.iter().find(|a| !a.is_bonjour() && a.id.username == user))
            .cloned()
    }

    /// `default_account`: the account new sessions use, if any.
    pub fn default_account(&self) -> Option<Arc<Account>> {
        let id = SIPSimpleSettings::instance().settings().get("default_account").ok()?;
        let account = self.get_account(id.as_str()?).ok()?;
        account.enabled().then_some(account)
    }

    /// Sets the default account (it must be saved and enabled), saving
    /// `SIPSimpleSettings.default_account` and posting
    /// `SIPAccountManagerDidChangeDefaultAccount`.
    pub fn set_default_account(&self, account: Option<&Arc<Account>>) -> Result<()> {
        self.check_loaded()?;
        if let Some(a) = account
            && (!a.enabled() || self.get_account(&a.id.to_string()).is_err())
        {
            return Err(Error::InvalidArgument(format!("account {} is not a saved, enabled account", a.id)));
        }
        self.announce_default(account.cloned())
    }

    fn announce_default(&self, new: Option<Arc<Account>>) -> Result<()> {
        let settings = SIPSimpleSettings::instance();
        let id = new.as_ref().map(|a| Value::from(a.id.to_string())).unwrap_or(Value::Null);
        if settings.settings().get("default_account")? != id {
            settings.settings().set("default_account", id)?;
            settings.settings().save()?;
        }
        let old = {
            let mut s = self.lock();
            let same = match (&s.default, &new) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
            if same {
                return Ok(());
            }
            std::mem::replace(&mut s.default, new.clone())
        };
        self.post(n::SIPAccountManagerDidChangeDefaultAccount {
            old_account: old.map(|a| a.handle()),
            account: new.map(|a| a.handle()),
        });
        Ok(())
    }

    /// Keeps the default valid: the configured one if it is saved and
    /// enabled, else the first enabled account (SIP accounts before Bonjour).
    fn fix_default_account(&self) {
        let chosen = self.default_account().or_else(|| {
            let accounts = self.saved_accounts();
            accounts
                .iter()
                .find(|a| a.enabled() && !a.is_bonjour())
                .or_else(|| accounts.iter().find(|a| a.enabled()))
                .cloned()
        });
        if let Err(e) = self.announce_default(chosen) {
            tracing::warn!("cannot update the default account: {e}");
        }
    }
}
