//! Starting the singleton SIPApplication for integration tests (include
//! with `#[path = "support/app.rs"] mod app;`).
//!
//! The engine reads its settings when the application starts, and `start`
//! loads them from storage, so [`start_with_settings`] saves them in a
//! first run and starts again on the same storage.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::notification::NotificationRecorder;
use sipsimple_core::{Account, MemoryStorage, SIPApplication, SIPSimpleSettings, Value};

const T: Duration = Duration::from_secs(10);

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
