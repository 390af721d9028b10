//! Schema extensions (`register_extension`) end to end: settings added to
//! `SIPSimpleSettings`, `Account` and `BonjourAccount` after the
//! application loaded its objects, values stored before the extension was
//! registered, and persistence across a restart. The middleware is a
//! process-wide singleton, so the scenario runs inside one test.

use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::config::{SettingType, SettingsExtension};
use sipsimple_core::notification::NotificationRecorder;
use sipsimple_core::{
    Account, AccountManager, Error, FileStorage, NotificationCenter, SIPApplication, SIPSimpleSettings, Value,
};

const T: Duration = Duration::from_secs(10);

fn start(app: &SIPApplication, dir: &std::path::Path, rec: &NotificationRecorder) {
    rec.clear();
    app.start(Arc::new(FileStorage::new(dir))).unwrap();
    rec.wait_for("SIPApplicationDidStart", T).expect("SIPApplicationDidStart");
}

fn stop(app: &SIPApplication, rec: &NotificationRecorder) {
    rec.clear();
    app.stop().unwrap();
    rec.wait_for("SIPApplicationDidEnd", T).expect("SIPApplicationDidEnd");
}

#[test]
fn extensions_reach_loaded_objects_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    // Values of settings no extension defines yet, written by an earlier run.
    std::fs::write(
        dir.path().join("config"),
        "Accounts:\n    alice@example.com:\n        enabled = true\n        ui:\n            color = red\n\
         SIPSimpleSettings:\n    gui:\n        theme = light\n",
    )
    .unwrap();
    let nc = NotificationCenter::default_center();
    let rec = NotificationRecorder::new();
    nc.add_observer(rec.clone(), None, None);
    let app = SIPApplication::instance();
    start(&app, dir.path(), &rec);

    let settings = SIPSimpleSettings::instance();
    let alice = AccountManager::instance().get_account("alice@example.com").unwrap();
    let bonjour = AccountManager::instance().get_account("bonjour@local").unwrap();
    assert!(matches!(settings.settings().get("gui.theme"), Err(Error::NotFound(_))));

    // The global settings: a new group, and a setting merged into `logs`.
    let mut ext = SettingsExtension::new();
    ext.setting("gui.theme", SettingType::Str, Value::from("dark"), false)
        .setting("logs.trace_notifications", SettingType::Bool, Value::Bool(false), false)
        .setting("logs.directory", SettingType::Path, Value::from("~/logs"), true)
        .group("gui.windows");
    SIPSimpleSettings::settings_class().register(&ext).unwrap();
    assert_eq!(settings.settings().get("gui.theme").unwrap(), Value::from("light"), "stored value picked up");
    assert_eq!(settings.settings().get("logs.trace_notifications").unwrap(), Value::Bool(false));
    assert_eq!(settings.settings().get("logs.trace_sip").unwrap(), Value::Bool(false), "built-in settings stay");
    assert_eq!(settings.settings().children("gui"), ["theme", "windows"]);

    // Accounts: the class of SIP accounts only, by type name.
    let account_class = Account::settings_class();
    account_class.register_setting("ui.color", "str", Value::from("blue"), false).unwrap();
    account_class.register_setting("ui.stun", "host_port_list", Value::Null, true).unwrap();
    let e = account_class.register_setting("ui.size", "port", Value::from("huge"), false).unwrap_err();
    assert!(e.to_string().contains("ui.size"), "{e}");
    assert_eq!(alice.settings().get("ui.color").unwrap(), Value::from("red"));
    assert!(matches!(bonjour.settings().get("ui.color"), Err(Error::NotFound(_))), "other classes unchanged");
    Account::bonjour_settings_class().register_setting("ui.color", "str", Value::from("white"), false).unwrap();
    assert_eq!(bonjour.settings().get("ui.color").unwrap(), Value::from("white"));
    let bob = Account::get_or_create("bob@example.com").unwrap();
    assert_eq!(bob.settings().get("ui.color").unwrap(), Value::from("blue"), "new accounts have the default");

    settings.settings().set("logs.trace_notifications", Value::Bool(true)).unwrap();
    settings.settings().set("gui.theme", Value::from("solarized")).unwrap();
    rec.clear();
    settings.settings().save().unwrap();
    let changed = rec.wait_for("CFGSettingsObjectDidChange", T).expect("CFGSettingsObjectDidChange");
    let modified = changed.data.get("modified").and_then(Value::as_map).unwrap();
    assert_eq!(modified.keys().collect::<Vec<_>>(), ["gui.theme", "logs.trace_notifications"]);
    alice.settings().set("ui.color", Value::from("green")).unwrap();
    alice.save().unwrap();
    let text = std::fs::read_to_string(dir.path().join("config")).unwrap();
    assert!(text.contains("trace_notifications = true"), "{text}");
    stop(&app, &rec);

    // Restart: the extended classes load the saved values.
    start(&app, dir.path(), &rec);
    let settings = SIPSimpleSettings::instance();
    assert_eq!(settings.settings().get("logs.trace_notifications").unwrap(), Value::Bool(true));
    assert_eq!(settings.settings().get("gui.theme").unwrap(), Value::from("solarized"));
    let alice = AccountManager::instance().get_account("alice@example.com").unwrap();
    assert_eq!(alice.settings().get("ui.color").unwrap(), Value::from("green"));
    stop(&app, &rec);
    nc.discard_observer(&*rec, None, None);
}
