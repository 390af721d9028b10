//! NotificationCenter: the one bus every component and the application post on.
//!
//! Semantics follow the original middleware's center: observers subscribe to a
//! notification name and/or a sender (`None` = any), get each matching
//! notification once, and an observer that fails is logged while the others
//! still get the notification. Unlike the original, delivery never happens on
//! the posting thread: every notification is queued and handed to observers on
//! one dedicated delivery thread, in posting order, so a slow application
//! callback never stalls protocol timers and per-poster order is kept.
//! Observers may add or remove observers (themselves included) while handling;
//! a notification posted from inside a handler is delivered after the current
//! one finishes.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::value::Value;

/// Field map of a notification (`notification.data`). Always holds `timestamp`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NotificationData(BTreeMap<String, Value>);

impl NotificationData {
    /// Empty data (the timestamp is added when posted).
    pub fn new() -> Self {
        NotificationData(BTreeMap::new())
    }
    /// Adds a field (builder style).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }
    /// Sets a field.
    pub fn insert(&mut self, key: &str, value: impl Into<Value>) {
        self.0.insert(key.to_owned(), value.into());
    }
    /// Reads a field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
    /// All fields, sorted by name.
    pub fn fields(&self) -> &BTreeMap<String, Value> {
        &self.0
    }
    /// The data as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        Value::Map(self.0.clone()).to_json()
    }
}

impl From<BTreeMap<String, Value>> for NotificationData {
    fn from(m: BTreeMap<String, Value>) -> Self {
        NotificationData(m)
    }
}

/// One posted notification: `name`, `sender` and `data` (with `timestamp`).
#[derive(Clone, Debug)]
pub struct Notification {
    /// The notification name, e.g. `SIPApplicationDidStart`.
    pub name: String,
    /// The posting object ([`Value::Null`] for anonymous posts).
    pub sender: Value,
    /// The data fields; `timestamp` is always present.
    pub data: NotificationData,
}

impl Notification {
    /// The moment the notification was posted.
    pub fn timestamp(&self) -> SystemTime {
        match self.data.get("timestamp") {
            Some(Value::Timestamp(t)) => *t,
            _ => SystemTime::UNIX_EPOCH,
        }
    }
}

/// Something that receives notifications. Implemented by each language edge.
pub trait Observer: Send + Sync {
    /// Called on the delivery thread for each matching notification.
    fn handle_notification(&self, notification: &Notification);
    /// Identity used to match `remove_observer` with `add_observer`. Two
    /// wrappers of the same application object must return the same value.
    fn identity(&self) -> usize {
        self as *const Self as *const () as usize
    }
}

impl<F: Fn(&Notification) + Send + Sync> Observer for F {
    fn handle_notification(&self, notification: &Notification) {
        self(notification)
    }
}

#[derive(Clone)]
struct Registration {
    observer: Arc<dyn Observer>,
    identity: usize,
    name: Option<String>,
    sender: Option<Value>,
}

impl Registration {
    fn matches(&self, n: &Notification) -> bool {
        self.name.as_deref().is_none_or(|name| name == n.name) && self.sender.as_ref().is_none_or(|s| *s == n.sender)
    }
    fn same(&self, identity: usize, name: &Option<String>, sender: &Option<Value>) -> bool {
        self.identity == identity && self.name == *name && self.sender == *sender
    }
}

enum Message {
    Deliver(Arc<Notification>),
    Flush(mpsc::Sender<()>),
}

struct Shared {
    registrations: RwLock<Vec<Registration>>,
}

/// The notification bus. [`NotificationCenter::default_center`] is the one the
/// middleware posts on; the struct is cheap to clone.
#[derive(Clone)]
pub struct NotificationCenter {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Message>,
    delivery_thread: ThreadId,
}

static DEFAULT: LazyLock<NotificationCenter> = LazyLock::new(NotificationCenter::new);

impl NotificationCenter {
    /// The process-wide center every component posts on.
    pub fn default_center() -> NotificationCenter {
        DEFAULT.clone()
    }

    /// A new, independent center with its own delivery thread. The thread
    /// ends when the last clone of the center is dropped.
    pub fn new() -> NotificationCenter {
        let shared = Arc::new(Shared { registrations: RwLock::new(Vec::new()) });
        let (queue, rx) = mpsc::channel::<Message>();
        let weak = Arc::downgrade(&shared);
        let handle = thread::Builder::new()
            .name("sipsimple-notify".into())
            .spawn(move || {
                while let Ok(message) = rx.recv() {
                    match message {
                        Message::Deliver(n) => match weak.upgrade() {
                            Some(shared) => deliver(&shared, &n),
                            None => break,
                        },
                        Message::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })
            .expect("spawning the notification delivery thread");
        NotificationCenter { shared, queue, delivery_thread: handle.thread().id() }
    }

    /// Subscribes `observer` to notifications named `name` (any if `None`)
    /// posted by `sender` (any if `None`). Adding the same triple twice keeps
    /// one subscription.
    pub fn add_observer(&self, observer: Arc<dyn Observer>, name: Option<&str>, sender: Option<Value>) {
        let identity = observer.identity();
        let name = name.map(str::to_owned);
        let mut regs = self.shared.registrations.write().unwrap_or_else(PoisonError::into_inner);
        if !regs.iter().any(|r| r.same(identity, &name, &sender)) {
            regs.push(Registration { observer, identity, name, sender });
        }
    }

    /// Removes the subscription made with exactly these arguments; an error
    /// (`KeyError` in Python) if there is none.
    pub fn remove_observer(&self, observer: &dyn Observer, name: Option<&str>, sender: Option<Value>) -> Result<()> {
        if self.discard_observer(observer, name, sender) {
            Ok(())
        } else {
            Err(Error::NotFound("observer is not registered with these arguments".into()))
        }
    }

    /// Like [`Self::remove_observer`] but silent; returns whether one was removed.
    pub fn discard_observer(&self, observer: &dyn Observer, name: Option<&str>, sender: Option<Value>) -> bool {
        self.discard_identity(observer.identity(), name, sender)
    }

    /// Removes the subscription of the observer with this identity.
    pub fn discard_identity(&self, identity: usize, name: Option<&str>, sender: Option<Value>) -> bool {
        let name = name.map(str::to_owned);
        let mut regs = self.shared.registrations.write().unwrap_or_else(PoisonError::into_inner);
        let before = regs.len();
        regs.retain(|r| !r.same(identity, &name, &sender));
        regs.len() != before
    }

    /// Removes every subscription of the observer with this identity.
    pub fn purge_identity(&self, identity: usize) {
        let mut regs = self.shared.registrations.write().unwrap_or_else(PoisonError::into_inner);
        regs.retain(|r| r.identity != identity);
    }

    /// Queues a notification; it is delivered on the delivery thread after
    /// every notification posted before it. `timestamp` is added to `data`
    /// unless the poster set it.
    pub fn post_notification(&self, name: &str, sender: Value, data: NotificationData) {
        let mut data = data;
        if data.get("timestamp").is_none() {
            data.insert("timestamp", Value::Timestamp(SystemTime::now()));
        }
        let n = Notification { name: name.to_owned(), sender, data };
        tracing::trace!(name = %n.name, "post notification");
        let _ = self.queue.send(Message::Deliver(Arc::new(n)));
    }

    /// Waits until every notification posted before this call has been
    /// delivered, or `timeout` passes. Returns immediately (true) when called
    /// from the delivery thread itself, since waiting there would deadlock.
    pub fn flush(&self, timeout: Duration) -> bool {
        if thread::current().id() == self.delivery_thread {
            return true;
        }
        let (tx, rx) = mpsc::channel();
        if self.queue.send(Message::Flush(tx)).is_err() {
            return false;
        }
        rx.recv_timeout(timeout).is_ok()
    }

    /// True when called from this center's delivery thread.
    pub fn is_delivery_thread(&self) -> bool {
        thread::current().id() == self.delivery_thread
    }
}

impl Default for NotificationCenter {
    fn default() -> Self {
        NotificationCenter::default_center()
    }
}

fn deliver(shared: &Shared, n: &Notification) {
    let recipients: Vec<Arc<dyn Observer>> = {
        let regs = shared.registrations.read().unwrap_or_else(PoisonError::into_inner);
        let mut seen: Vec<usize> = Vec::new();
        regs.iter()
            .filter(|r| r.matches(n))
            .filter(|r| {
                if seen.contains(&r.identity) {
                    false
                } else {
                    seen.push(r.identity);
                    true
                }
            })
            .map(|r| r.observer.clone())
            .collect()
    };
    for observer in recipients {
        if catch_unwind(AssertUnwindSafe(|| observer.handle_notification(n))).is_err() {
            tracing::error!(name = %n.name, "an observer panicked while handling a notification");
        }
    }
}

/// A collector observer for tests and simple waiting: it records every
/// notification it gets and lets a thread wait for one by name.
#[derive(Default)]
pub struct NotificationRecorder {
    seen: Mutex<Vec<Notification>>,
    arrived: std::sync::Condvar,
}

impl NotificationRecorder {
    /// A new, empty recorder.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    /// Every notification recorded so far.
    pub fn all(&self) -> Vec<Notification> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
    /// Names of the notifications recorded so far, in order.
    pub fn names(&self) -> Vec<String> {
        self.all().into_iter().map(|n| n.name).collect()
    }
    /// Waits until a notification named `name` has been recorded.
    pub fn wait_for(&self, name: &str, timeout: Duration) -> Option<Notification> {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(n) = seen.iter().find(|n| n.name == name) {
                return Some(n.clone());
            }
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            seen = self.arrived.wait_timeout(seen, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
    /// Waits until `found` picks something out of everything recorded so
    /// far (it is called again after each arrival), or the timeout passes.
    pub fn wait_until<T>(&self, timeout: Duration, mut found: impl FnMut(&[Notification]) -> Option<T>) -> Option<T> {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(t) = found(&seen) {
                return Some(t);
            }
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            seen = self.arrived.wait_timeout(seen, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

impl Observer for NotificationRecorder {
    fn handle_notification(&self, notification: &Notification) {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).push(notification.clone());
        self.arrived.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(10);

    #[test]
    fn name_and_sender_filters() {
        let nc = NotificationCenter::new();
        let by_name = NotificationRecorder::new();
        let by_sender = NotificationRecorder::new();
        let all = NotificationRecorder::new();
        nc.add_observer(by_name.clone(), Some("A"), None);
        nc.add_observer(by_sender.clone(), None, Some(Value::from("s1")));
        nc.add_observer(all.clone(), None, None);
        nc.add_observer(all.clone(), Some("A"), None);
        nc.post_notification("A", Value::from("s2"), NotificationData::new());
        nc.post_notification("B", Value::from("s1"), NotificationData::new().with("x", 1));
        assert!(nc.flush(T));
        assert_eq!(by_name.names(), ["A"]);
        assert_eq!(by_sender.names(), ["B"]);
        assert_eq!(all.names(), ["A", "B"], "one delivery per observer");
        assert!(all.all()[0].data.get("timestamp").is_some());
        assert_eq!(all.all()[1].data.get("x"), Some(&Value::Int(1)));
    }

    #[test]
    fn remove_needs_the_same_arguments() {
        let nc = NotificationCenter::new();
        let r = NotificationRecorder::new();
        nc.add_observer(r.clone(), Some("A"), None);
        assert!(nc.remove_observer(&*r, None, None).is_err());
        nc.remove_observer(&*r, Some("A"), None).unwrap();
        nc.post_notification("A", Value::Null, NotificationData::new());
        assert!(nc.flush(T));
        assert!(r.names().is_empty());
    }

    #[test]
    fn panicking_observer_does_not_stop_others() {
        let nc = NotificationCenter::new();
        let r = NotificationRecorder::new();
        nc.add_observer(Arc::new(|_: &Notification| panic!("boom")), None, None);
        nc.add_observer(r.clone(), None, None);
        nc.post_notification("A", Value::Null, NotificationData::new());
        nc.post_notification("B", Value::Null, NotificationData::new());
        assert!(nc.flush(T));
        assert_eq!(r.names(), ["A", "B"]);
    }

    #[test]
    fn observers_may_change_subscriptions_and_post_while_handling() {
        let nc = NotificationCenter::new();
        let r = NotificationRecorder::new();
        let nc2 = nc.clone();
        let r2 = r.clone();
        struct Once(NotificationCenter, Arc<NotificationRecorder>);
        impl Observer for Once {
            fn handle_notification(&self, n: &Notification) {
                // Remove itself, add the recorder, post a follow-up.
                self.0.discard_identity(self.identity(), None, None);
                self.0.add_observer(self.1.clone(), None, None);
                self.0.post_notification(&format!("{}-followup", n.name), Value::Null, NotificationData::new());
            }
        }
        nc.add_observer(Arc::new(Once(nc2, r2)), None, None);
        nc.post_notification("A", Value::Null, NotificationData::new());
        nc.post_notification("B", Value::Null, NotificationData::new());
        assert!(nc.flush(T));
        assert!(nc.flush(T));
        assert_eq!(r.names(), ["B", "A-followup"]);
    }
}
