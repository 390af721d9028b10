//! Application lifecycle, storage and the account registry, end to end
//! through the core API. The middleware is a process-wide singleton, so the
//! scenarios run in sequence inside one test.

use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::notification::NotificationRecorder;
use sipsimple_core::{
    Account, AccountManager, FileStorage, NotificationCenter, SIPApplication, SIPSimpleSettings, Value,
};

const T: Duration = Duration::from_secs(10);

fn wait_stopped(rec: &NotificationRecorder) {
    assert!(rec.wait_for("SIPApplicationDidEnd", T).is_some(), "no SIPApplicationDidEnd");
}

#[test]
fn lifecycle_accounts_and_storage() {
    let dir = tempfile::tempdir().unwrap();
    let nc = NotificationCenter::default_center();
    let rec = NotificationRecorder::new();
    nc.add_observer(rec.clone(), None, None);
    let app = SIPApplication::instance();

    // Stop before start is a clear error.
    assert!(app.stop().is_err());
    // Accounts cannot be created before the application loaded them.
    assert!(Account::get_or_create("early@example.com").is_err());

    app.start(Arc::new(FileStorage::new(dir.path()))).unwrap();
    assert!(app.running());
    let err = app.start(Arc::new(FileStorage::new(dir.path()))).unwrap_err();
    assert!(err.to_string().contains("already running"), "{err}");
    rec.wait_for("SIPApplicationDidStart", T).expect("DidStart");
    let names = rec.names();
    assert!(names.contains(&"DNSResolverDidInitialize".to_owned()), "{names:?}");
    let will = names.iter().position(|n| n == "SIPApplicationWillStart").unwrap();
    let did = names.iter().position(|n| n == "SIPApplicationDidStart").unwrap();
    assert!(will < did);

    // Create and save an account.
    let alice = Account::get_or_create("alice@example.com").unwrap();
    assert!(Arc::ptr_eq(&alice, &Account::get_or_create("alice@example.com").unwrap()), "one object per id");
    assert!(!AccountManager::instance().has_account("alice@example.com"), "unsaved accounts are not listed");
    alice.settings().set("auth.password", Value::from("s3cret")).unwrap();
    rec.clear();
    alice.save().unwrap();
    let added = rec.wait_for("SIPAccountManagerDidAddAccount", T).expect("DidAddAccount");
    assert_eq!(added.data.get("account"), Some(&Value::Object(alice.handle())));
    assert!(rec.names().contains(&"CFGSettingsObjectWasCreated".to_owned()));

    // Change settings: CFGSettingsObjectDidChange with modified old/new.
    alice.settings().set("enabled", Value::Bool(true)).unwrap();
    alice.settings().set("sip.register_interval", Value::Int(300)).unwrap();
    let bad = alice.settings().set("sip.outbound_proxy", Value::from("not a host")).unwrap_err();
    assert!(bad.to_string().contains("sip.outbound_proxy"), "{bad}");
    assert_eq!(alice.settings().get("sip.outbound_proxy").unwrap(), Value::Null, "old value kept");
    rec.clear();
    alice.save().unwrap();
    let changed = rec.wait_for("CFGSettingsObjectDidChange", T).expect("DidChange");
    assert_eq!(changed.sender, Value::Object(alice.handle()));
    let modified = changed.data.get("modified").and_then(Value::as_map).unwrap();
    assert_eq!(modified.keys().cloned().collect::<Vec<_>>(), ["enabled", "sip.register_interval"]);
    let interval = modified["sip.register_interval"].as_map().unwrap();
    assert_eq!(interval["old"], Value::Int(600));
    assert_eq!(interval["new"], Value::Int(300));
    // The BonjourAccount is the default until another account is chosen.
    let bonjour = AccountManager::instance().get_account("bonjour@local").unwrap();
    assert_eq!(AccountManager::instance().default_account().map(|a| a.handle()), Some(bonjour.handle()));
    AccountManager::instance().set_default_account(Some(&alice)).unwrap();
    let default = rec.wait_for("SIPAccountManagerDidChangeDefaultAccount", T).expect("default changed");
    assert_eq!(default.data.get("old_account"), Some(&Value::Object(bonjour.handle())));
    assert_eq!(default.data.get("account"), Some(&Value::Object(alice.handle())));
    assert_eq!(AccountManager::instance().default_account().map(|a| a.handle()), Some(alice.handle()));
    assert_eq!(alice.credentials().password.expose(), "s3cret");
    assert!(!format!("{:?}", alice.credentials()).contains("s3cret"), "passwords never print");
    assert_eq!(alice.uri(), "sip:alice@example.com");
    assert_eq!(alice.contact().username.len(), 8);

    // Global settings.
    let settings = SIPSimpleSettings::instance();
    settings.settings().set("rtp.port_range", Value::from("40000-40100")).unwrap();
    assert!(settings.settings().set("sip.udp_port", Value::Int(70000)).is_err());
    settings.settings().save().unwrap();

    rec.clear();
    app.stop().unwrap();
    assert!(app.stop().is_err(), "stopping twice is an error");
    wait_stopped(&rec);
    assert!(!app.running());
    let text = std::fs::read_to_string(dir.path().join("config")).unwrap();
    assert!(text.contains("alice@example.com"), "{text}");
    assert!(!text.contains("register_interval = 600"), "defaults are not stored: {text}");

    // Restart: the account is found again, with its settings.
    rec.clear();
    app.start(Arc::new(FileStorage::new(dir.path()))).unwrap();
    rec.wait_for("SIPApplicationDidStart", T).expect("DidStart again");
    let again = AccountManager::instance().get_account("alice@example.com").unwrap();
    assert!(sipsimple_core::handle::resolve_any(alice.handle()).is_err(), "old handle is stale after restart");
    assert_eq!(again.settings().get("sip.register_interval").unwrap(), Value::Int(300));
    assert!(again.enabled());
    assert_eq!(
        SIPSimpleSettings::instance().settings().get("rtp.port_range").unwrap(),
        sipsimple_core::config::datatypes::port_range(40000, 40100)
    );
    let ids: Vec<String> = AccountManager::instance().get_accounts().iter().map(|a| a.id().to_string()).collect();
    assert_eq!(ids, ["alice@example.com", "bonjour@local"]);
    assert_eq!(
        AccountManager::instance().find_account("sip:alice@example.com").map(|a| a.handle()),
        Some(again.handle())
    );

    // Delete.
    rec.clear();
    again.delete().unwrap();
    rec.wait_for("SIPAccountManagerDidRemoveAccount", T).expect("DidRemoveAccount");
    assert!(rec.names().contains(&"CFGSettingsObjectWasDeleted".to_owned()));
    assert!(!AccountManager::instance().has_account("alice@example.com"));
    app.stop().unwrap();
    wait_stopped(&rec);

    // A hand-broken file: start fails naming file and line, the file is
    // untouched, and start can be retried once it is fixed.
    let path = dir.path().join("config");
    let broken = "SIPSimpleSettings:\n    rtp:\n        port_range = \"unterminated\n";
    std::fs::write(&path, broken).unwrap();
    let err = app.start(Arc::new(FileStorage::new(dir.path()))).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("config") && message.contains(":3:"), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    assert!(!app.running());
    std::fs::write(&path, "SIPSimpleSettings:\n    user_agent = test\n").unwrap();
    app.start(Arc::new(FileStorage::new(dir.path()))).unwrap();
    assert_eq!(SIPSimpleSettings::instance().settings().get("user_agent").unwrap(), Value::from("test"));
    assert!(
        sipsimple_core::handle::resolve_any(again.handle()).is_err(),
        "a deleted account's handle is stale after a restart"
    );
    rec.clear();
    app.stop().unwrap();
    wait_stopped(&rec);
}

#[test]
fn secrets_never_appear_in_errors_or_debug_output() {
    use sipsimple_core::config::{SettingsClass, SettingsObject, schema};
    let class = SettingsClass::new("Account", Some("Accounts"), schema::account());
    let object = SettingsObject::load(class, "secret@example.com");
    let err = object.set("auth.password", Value::List(vec![Value::from("hunter2-secret")])).unwrap_err();
    assert!(err.to_string().contains("auth.password"));
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let creds = sipsimple_core::account::Credentials {
        username: "u".into(),
        password: sipsimple_core::account::Secret::new("hunter2-secret"),
    };
    assert!(!format!("{creds:?}").contains("hunter2"));
}

#[test]
fn tcp_and_tls_ports_must_differ() {
    use sipsimple_core::config::{SettingsClass, SettingsObject, schema};
    let class = SettingsClass::new("SIPSimpleSettings", None, schema::sipsimple_settings());
    let object = SettingsObject::load(class, "SIPSimpleSettings");
    object.set("sip.tcp_port", Value::Int(5060)).unwrap();
    let err = object.set("sip.tls_port", Value::Int(5060)).unwrap_err();
    assert!(err.to_string().contains("sip.tls_port"), "{err}");
    assert_eq!(object.get("sip.tls_port").unwrap(), Value::Int(0));
    object.set("sip.tls_port", Value::Int(5061)).unwrap();
    object.set("sip.udp_port", Value::Int(5060)).unwrap();
    object.set("sip.tcp_port", Value::Int(0)).unwrap();
    object.set("sip.tls_port", Value::Int(0)).unwrap();
}
