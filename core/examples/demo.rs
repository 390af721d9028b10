//! The main demo: starts the middleware with a file storage, prints every
//! notification as it arrives, creates and saves an account, changes a
//! setting, sends a SIP MESSAGE over loopback to its own engine,
//! stops, restarts and finds the account again.
//!
//! Run: `cargo run -p sipsimple-core --example demo [-- <storage directory>]`.

use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::notification::{Notification, NotificationRecorder};
use sipsimple_core::paging::PagingMessage;
use sipsimple_core::sip::engine::Engine;
use sipsimple_core::sip::transport::TransportKind;
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

    // Real SIP on loopback: a paging-mode MESSAGE from alice to the
    // application's own engine, which answers 200 and posts SIPEngineGotMessage.
    let engine = Engine::current().ok_or("the SIP engine is not running")?;
    let port = engine.local_address(TransportKind::Udp).ok_or("no UDP transport")?.port();
    account.settings().set("sip.outbound_proxy", Value::from(format!("127.0.0.1:{port};transport=udp")))?;
    account.save()?;
    PagingMessage::send(
        &account,
        &format!("sip:alice@127.0.0.1:{port}"),
        "text/plain",
        b"Hello from the demo".to_vec(),
    )?;
    events.wait_for("SIPEngineGotMessage", WAIT).ok_or("the MESSAGE did not arrive")?;
    events.wait_for("SIPMessageDidSucceed", WAIT).ok_or("the MESSAGE was not accepted")?;

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
