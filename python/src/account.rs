//! `AccountManager` and accounts.

use std::sync::Arc;

use pyo3::prelude::*;
use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::paging::PagingMessage;
use sipsimple_core::{Account, AccountManager};

use crate::errors::CoreResultExt;
use crate::settings::{CoreSettings, Target};
use crate::values::PyHandle;

/// One core account (an `Account` or the `BonjourAccount`).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreAccount {
    inner: Arc<Account>,
}

impl CoreAccount {
    fn wrap(inner: Arc<Account>) -> Self {
        CoreAccount { inner }
    }
}

#[pymethods]
impl CoreAccount {
    /// The account's handle (sender of its notifications).
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(self.inner.handle())
    }
    /// The SIP id, `user@domain`.
    #[getter]
    fn id(&self) -> String {
        self.inner.id().to_string()
    }
    /// True for the BonjourAccount.
    #[getter]
    fn is_bonjour(&self) -> bool {
        self.inner.is_bonjour()
    }
    /// `sip:<id>` (for Bonjour, the contact address).
    #[getter]
    fn uri(&self) -> String {
        self.inner.uri()
    }
    /// `(username, password)` used for digest authentication.
    #[getter]
    fn credentials(&self, py: Python<'_>) -> (String, String) {
        let inner = self.inner.clone();
        let c = py.detach(move || inner.credentials());
        (c.username, c.password.expose().to_owned())
    }
    /// The user part of the account's Contact URIs.
    #[getter]
    fn contact_username(&self) -> String {
        self.inner.contact().username.clone()
    }
    /// The Contact URI for `transport`; `RuntimeError` while the SIP engine has no such transport.
    fn contact_uri(&self, py: Python<'_>, transport: &str) -> PyResult<String> {
        self.inner.contact().uri(transport).py_err(py)
    }
    /// Whether the account is enabled, as saved.
    #[getter]
    fn enabled(&self, py: Python<'_>) -> bool {
        let inner = self.inner.clone();
        py.detach(move || inner.enabled())
    }
    /// True while a registration is active.
    #[getter]
    fn registered(&self) -> bool {
        self.inner.registered()
    }
    /// The account's settings.
    #[getter]
    fn settings(&self) -> CoreSettings {
        CoreSettings::new(Target::Account(self.inner.clone()))
    }
    /// Sends a paging-mode MESSAGE (RFC 3428) from this account to `to` with
    /// `body` of type `content_type`; returns at once with the message's
    /// handle, the sender of `SIPMessageDidSucceed` / `SIPMessageDidFail`.
    /// `ValueError` for a malformed target or content type, `RuntimeError`
    /// while the SIP engine is not running.
    fn send_message(&self, py: Python<'_>, to: String, content_type: String, body: Vec<u8>) -> PyResult<PyHandle> {
        let inner = self.inner.clone();
        py.detach(move || PagingMessage::send(&inner, &to, &content_type, body))
            .py_err(py)
            .map(|m| PyHandle::new(m.handle()))
    }
    fn __repr__(&self) -> String {
        format!("<CoreAccount {}>", self.inner.id())
    }
}

/// Access to the core's `AccountManager` singleton.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreAccountManager;

#[pymethods]
impl CoreAccountManager {
    /// The manager's handle (sender of `SIPAccountManager*` notifications).
    #[staticmethod]
    fn handle() -> PyHandle {
        PyHandle::new(AccountManager::instance().handle())
    }

    /// `Account(id)`: the existing account or a new, unsaved one.
    /// `RuntimeError` before the application started, `ValueError` for a bad id.
    #[staticmethod]
    fn get_or_create(py: Python<'_>, id: String) -> PyResult<CoreAccount> {
        py.detach(move || Account::get_or_create(&id)).py_err(py).map(CoreAccount::wrap)
    }

    /// The account behind an account handle, `None` if it is gone.
    #[staticmethod]
    fn resolve(handle: &PyHandle) -> Option<CoreAccount> {
        let h = handle.handle();
        let kind = h.try_kind().filter(|k| matches!(k, ObjectKind::Account | ObjectKind::BonjourAccount))?;
        handle::resolve::<Account>(h, kind).ok().map(CoreAccount::wrap)
    }

    /// True if a saved account has this id.
    #[staticmethod]
    fn has_account(py: Python<'_>, id: String) -> bool {
        py.detach(move || AccountManager::instance().has_account(&id))
    }

    /// The saved account with this id; `KeyError` if there is none.
    #[staticmethod]
    fn get_account(py: Python<'_>, id: String) -> PyResult<CoreAccount> {
        py.detach(move || AccountManager::instance().get_account(&id)).py_err(py).map(CoreAccount::wrap)
    }

    /// Every saved account, the BonjourAccount included.
    #[staticmethod]
    fn get_accounts(py: Python<'_>) -> Vec<CoreAccount> {
        py.detach(|| AccountManager::instance().get_accounts()).into_iter().map(CoreAccount::wrap).collect()
    }

    /// The enabled account a request to `contact_uri` belongs to, if any.
    #[staticmethod]
    fn find_account(py: Python<'_>, contact_uri: String) -> Option<CoreAccount> {
        py.detach(move || AccountManager::instance().find_account(&contact_uri)).map(CoreAccount::wrap)
    }

    /// The default account, if any.
    #[staticmethod]
    fn default_account(py: Python<'_>) -> Option<CoreAccount> {
        py.detach(|| AccountManager::instance().default_account()).map(CoreAccount::wrap)
    }

    /// Sets (or clears, with `None`) the default account (GIL released).
    /// `ValueError` unless the account is saved and enabled.
    #[staticmethod]
    #[pyo3(signature = (account))]
    fn set_default_account(py: Python<'_>, account: Option<&CoreAccount>) -> PyResult<()> {
        let account = account.map(|a| a.inner.clone());
        py.detach(move || AccountManager::instance().set_default_account(account.as_ref())).py_err(py)
    }
}
