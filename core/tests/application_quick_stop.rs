//! A stop right after start (before `SIPApplicationDidStart`): the start
//! finishes first, so after `SIPApplicationDidEnd` no SIP engine and no
//! DNSManager are left running, and no DidStart follows DidEnd. Its own
//! test binary: it needs the singleton application from a fresh process.

use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::lookup::DNSManager;
use sipsimple_core::notification::NotificationRecorder;
use sipsimple_core::sip::engine::Engine;
use sipsimple_core::{MemoryStorage, NotificationCenter, SIPApplication};

#[test]
fn a_stop_right_after_start_leaves_nothing_running() {
    let rec = NotificationRecorder::new();
    NotificationCenter::default_center().add_observer(rec.clone(), None, None);
    let app = SIPApplication::instance();
    for round in 0..5 {
        rec.clear();
        app.start(Arc::new(MemoryStorage::new())).unwrap();
        app.stop().unwrap();
        assert!(rec.wait_for("SIPApplicationDidEnd", Duration::from_secs(10)).is_some(), "round {round}");
        assert!(Engine::current().is_none(), "round {round}: an engine after DidEnd");
        assert!(!DNSManager::instance().running(), "round {round}: DNSManager after DidEnd");
        assert!(NotificationCenter::default_center().flush(Duration::from_secs(5)));
        let names = rec.names();
        let end = names.iter().position(|n| n == "SIPApplicationDidEnd").unwrap();
        assert!(names[end + 1..].iter().all(|n| n != "SIPApplicationDidStart"), "round {round}: {names:?}");
    }
}
