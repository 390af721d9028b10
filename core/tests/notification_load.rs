//! The notification center under load: 8 threads posting 100,000
//! notifications each lose none and keep each poster's order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sipsimple_core::notification::{Notification, NotificationCenter, NotificationData};
use sipsimple_core::{Observer, Value};

const POSTERS: usize = 8;
const PER_POSTER: i64 = 100_000;

struct OrderChecker {
    next: Mutex<Vec<i64>>,
    delivered: AtomicUsize,
    out_of_order: AtomicUsize,
}

impl Observer for OrderChecker {
    fn handle_notification(&self, n: &Notification) {
        let (Some(poster), Some(seq)) = (n.sender.as_int(), n.data.get("seq").and_then(Value::as_int)) else {
            self.out_of_order.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut next = self.next.lock().unwrap();
        if next[poster as usize] != seq {
            self.out_of_order.fetch_add(1, Ordering::Relaxed);
        }
        next[poster as usize] = seq + 1;
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn eight_posters_lose_nothing_and_keep_order() {
    let nc = NotificationCenter::new();
    let checker = Arc::new(OrderChecker {
        next: Mutex::new(vec![0; POSTERS]),
        delivered: AtomicUsize::new(0),
        out_of_order: AtomicUsize::new(0),
    });
    nc.add_observer(checker.clone(), Some("LoadTest"), None);
    let threads: Vec<_> = (0..POSTERS)
        .map(|poster| {
            let nc = nc.clone();
            std::thread::spawn(move || {
                for seq in 0..PER_POSTER {
                    nc.post_notification(
                        "LoadTest",
                        Value::Int(poster as i64),
                        NotificationData::new().with("seq", seq),
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(nc.flush(Duration::from_secs(120)), "delivery did not finish");
    assert_eq!(checker.out_of_order.load(Ordering::Relaxed), 0);
    assert_eq!(checker.delivered.load(Ordering::Relaxed), POSTERS * PER_POSTER as usize);
    assert!(checker.next.lock().unwrap().iter().all(|n| *n == PER_POSTER));
}
