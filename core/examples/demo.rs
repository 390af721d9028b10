//! The main demo: starts the middleware with a file storage, prints every
//! notification as it arrives, creates and saves an account, changes a
//! setting, stops, restarts and finds the account again.
//!
//! Run: `cargo run -p sipsimple-core --example demo [-- <storage directory>]`.

use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::notification::{Notification, NotificationRecorder};
use sipsimple_core::{Account, AccountManager, FileStorage, NotificationCenter, SIPApplication, Value};

const WAIT: Duration = Duration::from_secs(10);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = match std::env::args().nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("sipsimple-demo-{}", std::process::id())),
    };
    let center = NotificationCenter::default_center();
    center.add_observer(
        Arc::new(|n: &Notification| {
            let mut data = n.data.to_json();
            if let Some(d) = data.as_object_mut() {
                d.remove("timestamp");
            }
            println!("  {:<45} sender={:?} data={}", n.name, n.sender, data);
        }),
        None,
        None,
    );
    let events = NotificationRecorder::new();
    center.add_observer(events.clone(), None, None);
    let app = SIPApplication::instance();

    println!("starting with FileStorage({})", directory.display());
    app.start(Arc::new(FileStorage::new(&directory)))?;
    events.wait_for("SIPApplicationDidStart", WAIT).ok_or("no SIPApplicationDidStart")?;

    let account = Account::get_or_create("alice@example.com")?;
    account.settings().set("display_name", Value::from("Alice"))?;
    account.settings().set("auth.password", Value::from("secret"))?;
    account.save()?;
    account.settings().set("sip.register_interval", Value::Int(300))?;
    account.save()?;
    if let Err(e) = account.settings().set("sip.register_interval", Value::Int(-5)) {
        println!("refused as expected: {e}");
    }

    events.clear();
    app.stop()?;
    events.wait_for("SIPApplicationDidEnd", WAIT).ok_or("no SIPApplicationDidEnd")?;

    println!("restarting");
    app.start(Arc::new(FileStorage::new(&directory)))?;
    events.wait_for("SIPApplicationDidStart", WAIT).ok_or("no SIPApplicationDidStart")?;
    let again = AccountManager::instance().get_account("alice@example.com")?;
    println!("found {} again: register_interval = {:?}", again.id(), again.settings().get("sip.register_interval")?);
    println!("configuration file:\n{}", std::fs::read_to_string(directory.join("config"))?);
    events.clear();
    app.stop()?;
    events.wait_for("SIPApplicationDidEnd", WAIT).ok_or("no SIPApplicationDidEnd")?;
    Ok(())
}
