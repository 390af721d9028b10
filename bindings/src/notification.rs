//! Notifications: the [`NotificationObserver`] callback interface
//! applications implement, the [`NotificationCenter`] and the
//! [`Notification`] record.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use sipsimple_core::handle::{self, Handle};
use sipsimple_core::value::unix_seconds;
use sipsimple_core::{NotificationData, Value};

use crate::{Result, SipSimpleError, value_from_json_text, value_to_json_text};

/// A reference to the object that posted a notification.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ObjectRef {
    /// The object's handle (compare it with `handle()` of the objects you
    /// hold); `0` when the sender is not a core object.
    pub handle: u64,
    /// The object's class name (`SIPApplication`, `Account`,
    /// `AccountManager`, `SIPSimpleSettings`...); `Value` for a sender that
    /// is a plain value.
    pub kind: String,
    /// The object's id (an account's SIP id), or the JSON of a plain value.
    pub id: Option<String>,
}

/// One notification, as delivered to a `NotificationObserver`.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Notification {
    /// The notification name, e.g. `SIPApplicationDidStart`.
    pub name: String,
    /// The posting object; `None` for anonymous posts.
    pub sender: Option<ObjectRef>,
    /// The whole data as a JSON object (`timestamp` included). Objects
    /// appear as `{"handle": <u64>, "type": "<class>", "id": "<id>"}`.
    pub data_json: String,
    /// When the notification was posted, in seconds since the Unix epoch.
    pub timestamp: f64,
}

impl Notification {
    fn from_core(n: &sipsimple_core::Notification) -> Notification {
        Notification {
            name: n.name.clone(),
            sender: object_ref(&n.sender),
            data_json: serde_json::to_string(&n.data.to_json()).unwrap_or_else(|_| "{}".to_owned()),
            timestamp: unix_seconds(n.timestamp()),
        }
    }
}

fn object_ref(value: &Value) -> Option<ObjectRef> {
    match value {
        Value::Null => None,
        Value::Object(h) => Some(ObjectRef {
            handle: h.raw(),
            kind: h.try_kind().map(|k| k.name()).unwrap_or("Unknown").to_owned(),
            id: handle::label(*h),
        }),
        other => Some(ObjectRef { handle: 0, kind: "Value".to_owned(), id: Some(value_to_json_text(other)) }),
    }
}

/// Receives notifications; implemented by the application (a Kotlin or
/// Swift class). Called on the notification delivery thread, one
/// notification at a time, in posting order: do not block in it for long.
/// An error or exception thrown by the implementation is logged and
/// ignored: the other observers still get the notification.
#[uniffi::export(callback_interface)]
pub trait NotificationObserver: Send + Sync {
    /// Handles one notification. Implementations need not throw.
    fn handle_notification(&self, notification: Notification) -> Result<()>;
}

/// Adapts an application's observer to the core's observer trait.
struct ForeignObserver {
    callback: Box<dyn NotificationObserver>,
}

impl sipsimple_core::Observer for ForeignObserver {
    fn handle_notification(&self, notification: &sipsimple_core::Notification) {
        let record = Notification::from_core(notification);
        match catch_unwind(AssertUnwindSafe(|| self.callback.handle_notification(record))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(name = %notification.name, "an application observer failed: {e}");
            }
            Err(_) => {
                tracing::error!(name = %notification.name, "an application observer panicked");
            }
        }
    }
}

/// A subscription made with `NotificationCenter.add_observer`. It lasts
/// until `cancel` is called or the token is destroyed (closed in
/// Kotlin, released in Swift): keep it as long as you want notifications.
#[derive(uniffi::Object)]
pub struct ObserverToken {
    center: sipsimple_core::NotificationCenter,
    observer: Mutex<Option<Arc<ForeignObserver>>>,
}

#[uniffi::export]
impl ObserverToken {
    /// Ends the subscription; no notification is delivered to the observer
    /// after the one being delivered, if any. Calling it again does nothing.
    pub fn cancel(&self) {
        let observer = self.observer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(observer) = observer {
            self.center.purge_identity(sipsimple_core::Observer::identity(&*observer));
        }
    }

    /// True until the subscription is cancelled.
    pub fn is_active(&self) -> bool {
        self.observer.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }
}

impl Drop for ObserverToken {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// The notification bus every component posts on. Every instance refers to
/// the same (default) center.
#[derive(uniffi::Object)]
pub struct NotificationCenter {
    inner: sipsimple_core::NotificationCenter,
}

#[uniffi::export]
impl NotificationCenter {
    /// The default notification center.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(NotificationCenter { inner: sipsimple_core::NotificationCenter::default_center() })
    }

    /// Subscribes `observer` to the notifications named `name` (any if
    /// `None`) posted by the object with handle `sender` (any if `None`).
    /// The subscription lasts as long as the returned token.
    pub fn add_observer(
        &self,
        observer: Box<dyn NotificationObserver>,
        name: Option<String>,
        sender: Option<u64>,
    ) -> Arc<ObserverToken> {
        let observer = Arc::new(ForeignObserver { callback: observer });
        let sender = sender.map(|h| Value::Object(Handle::from_raw(h)));
        self.inner.add_observer(observer.clone(), name.as_deref(), sender);
        Arc::new(ObserverToken { center: self.inner.clone(), observer: Mutex::new(Some(observer)) })
    }

    /// Posts a notification named `name` from the object with handle
    /// `sender` (`None` for an anonymous post) with `data_json`, a JSON
    /// object (`None` for no data). A numeric `timestamp` field (seconds
    /// since the Unix epoch) replaces the posting time. Errors:
    /// `InvalidHandle` for a sender that is not a live object,
    /// `InvalidArgument` for data that is not a JSON object.
    pub fn post_notification(&self, name: String, sender: Option<u64>, data_json: Option<String>) -> Result<()> {
        let sender = match sender {
            None => Value::Null,
            Some(raw) => {
                let h = Handle::from_raw(raw);
                if !handle::is_live(h) {
                    return Err(SipSimpleError::InvalidHandle {
                        detail: format!("the sender {raw:#x} is not a live object"),
                    });
                }
                Value::Object(h)
            }
        };
        let mut fields = match data_json {
            None => BTreeMap::new(),
            Some(text) => match value_from_json_text("the notification data", &text)? {
                Value::Map(m) => m,
                _ => {
                    return Err(SipSimpleError::InvalidArgument {
                        detail: "the notification data must be a JSON object".to_owned(),
                    });
                }
            },
        };
        if let Some(t) = fields.get("timestamp") {
            let seconds = match t {
                Value::Int(i) => Some(*i as f64),
                Value::Float(x) => Some(*x),
                _ => None,
            };
            let time = seconds
                .filter(|s| s.is_finite() && *s >= 0.0)
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .and_then(|d| SystemTime::UNIX_EPOCH.checked_add(d))
                .ok_or_else(|| SipSimpleError::InvalidArgument {
                    detail: "timestamp must be a non-negative number of seconds since the Unix epoch".to_owned(),
                })?;
            fields.insert("timestamp".to_owned(), Value::Timestamp(time));
        }
        self.inner.post_notification(&name, sender, NotificationData::from(fields));
        Ok(())
    }

    /// Waits until every notification posted before this call has been
    /// delivered, or `timeout_ms` milliseconds pass; returns whether they
    /// were. Returns true at once when called from an observer.
    pub fn flush(&self, timeout_ms: u32) -> bool {
        self.inner.flush(Duration::from_millis(u64::from(timeout_ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    const FLUSH_MS: u32 = 10_000;

    struct Channel(Mutex<mpsc::Sender<Notification>>);

    impl NotificationObserver for Channel {
        fn handle_notification(&self, notification: Notification) -> Result<()> {
            let _ = self.0.lock().unwrap_or_else(PoisonError::into_inner).send(notification);
            Ok(())
        }
    }

    struct Failing;

    impl NotificationObserver for Failing {
        fn handle_notification(&self, _: Notification) -> Result<()> {
            Err(SipSimpleError::Internal { detail: "observer failure".into() })
        }
    }

    fn channel() -> (Box<dyn NotificationObserver>, mpsc::Receiver<Notification>) {
        let (tx, rx) = mpsc::channel();
        (Box::new(Channel(Mutex::new(tx))), rx)
    }

    #[test]
    fn delivers_records_with_json_data_and_stops_when_the_token_goes() {
        let center = NotificationCenter::new();
        let (observer, rx) = channel();
        let token = center.add_observer(observer, Some("BindingsTestDelivery".into()), None);
        let _failing = center.add_observer(Box::new(Failing), Some("BindingsTestDelivery".into()), None);
        center
            .post_notification("BindingsTestDelivery".into(), None, Some(r#"{"n": 1, "timestamp": 2.5}"#.into()))
            .unwrap();
        assert!(center.flush(FLUSH_MS));
        let n = rx.try_recv().expect("delivered despite the failing observer");
        assert_eq!(n.name, "BindingsTestDelivery");
        assert_eq!(n.sender, None);
        assert_eq!(n.timestamp, 2.5);
        let data: serde_json::Value = serde_json::from_str(&n.data_json).unwrap();
        assert_eq!(data["n"], 1);
        assert_eq!(data["timestamp"], 2.5);

        drop(token);
        center.post_notification("BindingsTestDelivery".into(), None, None).unwrap();
        assert!(center.flush(FLUSH_MS));
        assert!(rx.try_recv().is_err(), "dropping the token unsubscribes");
    }

    #[test]
    fn cancel_is_idempotent_and_sender_filters_apply() {
        let center = NotificationCenter::new();
        let sender = handle::register(sipsimple_core::ObjectKind::Storage, Arc::new(()), Some("test".into()));
        let (observer, rx) = channel();
        let token = center.add_observer(observer, None, Some(sender.raw()));
        center.post_notification("BindingsTestSender".into(), None, None).unwrap();
        center.post_notification("BindingsTestSender".into(), Some(sender.raw()), Some("{}".into())).unwrap();
        assert!(center.flush(FLUSH_MS));
        let n = rx.try_recv().unwrap();
        assert_eq!(n.sender, Some(ObjectRef { handle: sender.raw(), kind: "Storage".into(), id: Some("test".into()) }));
        assert!(rx.try_recv().is_err(), "only the post from the sender");
        assert!(token.is_active());
        token.cancel();
        token.cancel();
        assert!(!token.is_active());
        center.post_notification("BindingsTestSender".into(), Some(sender.raw()), None).unwrap();
        assert!(center.flush(FLUSH_MS));
        assert!(rx.try_recv().is_err());
        let _ = handle::release(sender);
    }

    #[test]
    fn bad_posts_are_errors() {
        let center = NotificationCenter::new();
        let post = |sender: Option<u64>, data: Option<&str>| {
            center.post_notification("BindingsTestBad".into(), sender, data.map(str::to_owned))
        };
        assert!(matches!(post(None, Some("[1]")), Err(SipSimpleError::InvalidArgument { .. })));
        assert!(matches!(post(None, Some("{")), Err(SipSimpleError::InvalidArgument { .. })));
        assert!(matches!(post(None, Some(r#"{"timestamp": "now"}"#)), Err(SipSimpleError::InvalidArgument { .. })));
        assert!(matches!(post(Some(12345), None), Err(SipSimpleError::InvalidHandle { .. })));
        assert!(matches!(post(Some(0), None), Err(SipSimpleError::InvalidHandle { .. })));
    }

    #[test]
    fn plain_value_senders_become_value_refs() {
        assert_eq!(object_ref(&Value::Null), None);
        assert_eq!(
            object_ref(&Value::from("s1")),
            Some(ObjectRef { handle: 0, kind: "Value".into(), id: Some("\"s1\"".into()) })
        );
    }
}
