//! Starting the singleton SIPApplication for integration tests (include
//! with `#[path = "support/app.rs"] mod app;`).
//!
//! The engine reads its settings when the application starts, and `start`
//! loads them from storage, so [`start_with_settings`] saves them in a
//! first run and starts again on the same storage.

#![allow(dead_code)]

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sipsimple_core::handle::{self, ObjectKind};
use sipsimple_core::notification::{Notification, NotificationCenter, NotificationRecorder};
use sipsimple_core::session::Session;
use sipsimple_core::sip::engine::Engine;
use sipsimple_core::sip::transport::TransportKind;
use sipsimple_core::{Account, MemoryStorage, SIPApplication, SIPSimpleSettings, Value};

const T: Duration = Duration::from_secs(10);
/// How long [`TwoAccounts::from`] and [`TwoAccounts::incoming`] wait.
const WAIT: Duration = Duration::from_secs(20);

/// Starts the application with the global `settings` (path, value) in
/// effect and waits for `SIPApplicationDidStart`; stops first a run a
/// failed test left behind. `recorder` must observe every notification;
/// it is cleared before the final start.
pub fn start_with_settings(recorder: &NotificationRecorder, settings: &[(&str, Value)]) {
    let app = SIPApplication::instance();
    if app.stop().is_ok() {
        recorder.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
    }
    recorder.clear();
    let storage = Arc::new(MemoryStorage::new());
    app.start(storage.clone()).expect("the application starts");
    recorder.wait_for("SIPApplicationDidStart", T).expect("SIPApplicationDidStart");
    let global = SIPSimpleSettings::instance();
    for (path, value) in settings {
        global.settings().set(path, value.clone()).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    global.settings().save().expect("the settings are saved");
    app.stop().expect("the application stops");
    recorder.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
    recorder.clear();
    app.start(storage).expect("the application starts again");
    recorder.wait_for("SIPApplicationDidStart", T).expect("SIPApplicationDidStart");
}

/// An enabled account `id` that does not register.
pub fn unregistered_account(id: &str) -> Arc<Account> {
    let account = Account::get_or_create(id).unwrap();
    account.settings().set("sip.register", Value::Bool(false)).unwrap();
    account.settings().set("enabled", Value::Bool(true)).unwrap();
    account.save().unwrap();
    account
}

/// The running application with two enabled, unregistered accounts on
/// loopback UDP, alice and bob, and a recorder of every notification. It
/// holds the test file's application lock for its lifetime.
pub struct TwoAccounts {
    /// Sees every notification since the start.
    pub recorder: Arc<NotificationRecorder>,
    /// The caller.
    pub alice: Arc<Account>,
    /// The callee.
    pub bob: Arc<Account>,
    _lock: MutexGuard<'static, ()>,
}

/// Starts the application (UDP only) with `alice@127.0.0.1` and
/// `bob@127.0.0.1`, holding `lock` (the application is a process singleton).
pub fn two_accounts(lock: &'static Mutex<()>) -> TwoAccounts {
    let lock = lock.lock().unwrap_or_else(PoisonError::into_inner);
    let recorder = NotificationRecorder::new();
    NotificationCenter::default_center().add_observer(recorder.clone(), None, None);
    start_with_settings(&recorder, &[("sip.transport_list", Value::from("udp"))]);
    let (alice, bob) = (unregistered_account("alice@127.0.0.1"), unregistered_account("bob@127.0.0.1"));
    TwoAccounts { recorder, alice, bob, _lock: lock }
}

impl TwoAccounts {
    /// bob's address on the running engine (what alice calls).
    pub fn bob_uri(&self) -> String {
        let port = Engine::current().unwrap().local_address(TransportKind::Udp).unwrap().port();
        format!("sip:{}@127.0.0.1:{port}", self.bob.contact().username)
    }

    /// The `n`th (1-based) `name` notification from `sender`, waited for.
    pub fn from(&self, name: &str, sender: sipsimple_core::Handle, n: usize) -> Notification {
        let sender = Value::Object(sender);
        self.recorder
            .wait_until(WAIT, |seen| seen.iter().filter(|x| x.name == name && x.sender == sender).nth(n - 1).cloned())
            .unwrap_or_else(|| panic!("no {name} #{n}; got {:?}", self.recorder.names()))
    }

    /// Every `name` notification from `sender` so far, in order.
    pub fn all_from(&self, name: &str, sender: sipsimple_core::Handle) -> Vec<Notification> {
        let sender = Value::Object(sender);
        self.recorder.all().into_iter().filter(|x| x.name == name && x.sender == sender).collect()
    }

    /// The `n`th (1-based) incoming session, waited for.
    pub fn incoming(&self, n: usize) -> Arc<Session> {
        let got = self
            .recorder
            .wait_until(WAIT, |seen| seen.iter().filter(|x| x.name == "SIPSessionNewIncoming").nth(n - 1).cloned())
            .expect("SIPSessionNewIncoming");
        handle::resolve::<Session>(got.sender.as_object().unwrap(), ObjectKind::Session).unwrap()
    }

    /// Stops the application and waits for `SIPApplicationDidEnd`.
    pub fn stop(self) {
        SIPApplication::instance().stop().unwrap();
        self.recorder.wait_for("SIPApplicationDidEnd", T).expect("DidEnd");
        let _ = NotificationCenter::default_center().remove_observer(&*self.recorder, None, None);
    }
}
