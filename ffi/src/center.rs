//! The notification center: callback observers, posting and flushing.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use sipsimple_core::{Notification, NotificationCenter, NotificationData, ObjectKind, Observer, Value, handle};

use crate::notification::sipsimple_notification;
use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, borrow_str, optional_str};

/// An observer callback. `user_data` is the pointer given to
/// `sipsimple_notification_center_add_observer`; `notification` is borrowed
/// for the duration of the call only (copy it with
/// `sipsimple_notification_copy` to keep it). Called on the notification
/// delivery thread, one notification at a time, in posting order.
pub type sipsimple_notification_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, notification: *const sipsimple_notification)>;

/// The application's `user_data`: the application promises it may be used
/// from the delivery thread.
struct UserData(*mut c_void);
// SAFETY: the pointer is only handed back to the application's callback; the
// API documents that callbacks run on the delivery thread.
unsafe impl Send for UserData {}
// SAFETY: as above; the library never dereferences it.
unsafe impl Sync for UserData {}

/// A C callback subscribed to the center.
struct CallbackObserver {
    callback: unsafe extern "C" fn(*mut c_void, *const sipsimple_notification),
    user_data: UserData,
    active: AtomicBool,
    /// Held while the callback runs, so removal from another thread can wait
    /// for a running callback to return.
    running: Mutex<()>,
}

impl Observer for CallbackObserver {
    fn handle_notification(&self, notification: &Notification) {
        let _running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.active.load(Ordering::Acquire) {
            return;
        }
        let lent = sipsimple_notification::new(notification.clone());
        // SAFETY: the callback and user_data were given by the application,
        // which guarantees they are valid until the observer is removed.
        unsafe { (self.callback)(self.user_data.0, &lent) };
    }
}

/// What an observer handle refers to: the subscription, to undo it exactly.
struct Subscription {
    observer: Arc<CallbackObserver>,
    name: Option<String>,
    sender: Option<Value>,
}

/// Converts the C sender/data arguments of a post.
fn notification_data(data_json: Option<&str>) -> Result<NotificationData, FfiError> {
    let Some(text) = data_json else { return Ok(NotificationData::new()) };
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| FfiError::argument(format!("data_json is not valid JSON: {e}")))?;
    let serde_json::Value::Object(map) = json else {
        return Err(FfiError::argument("data_json must be a JSON object"));
    };
    let mut data = NotificationData::new();
    for (key, value) in &map {
        if key == "timestamp" {
            let seconds = value.as_f64().filter(|s| s.is_finite() && *s >= 0.0);
            let seconds = seconds
                .ok_or_else(|| FfiError::argument("timestamp must be non-negative seconds since the Unix epoch"))?;
            let moment = Duration::try_from_secs_f64(seconds)
                .ok()
                .and_then(|d| UNIX_EPOCH.checked_add(d))
                .ok_or_else(|| FfiError::argument("timestamp is out of range"))?;
            data.insert(key, Value::Timestamp(moment));
        } else {
            data.insert(key, Value::from_json(value));
        }
    }
    Ok(data)
}

/// Subscribes `callback` to notifications named `name` (`NULL` = any name)
/// posted by `sender` (0 = any sender; otherwise a live handle such as the
/// one from `sipsimple_application_handle` or an account's). `*out_observer`
/// receives the subscription's handle for
/// `sipsimple_notification_center_remove_observer`. `user_data` is passed
/// back to every call and may be `NULL`; the callback runs on the delivery
/// thread, so `user_data` must be usable from there.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_center_add_observer(
    callback: sipsimple_notification_callback,
    user_data: *mut c_void,
    name: *const c_char,
    sender: sipsimple_handle,
    out_observer: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_notification_center_add_observer", || {
        let callback = callback.ok_or(FfiError::NullArgument("callback"))?;
        // SAFETY: name is NULL or a NUL-terminated string (API contract).
        let name = unsafe { optional_str(name, "name") }?.map(str::to_owned);
        let out = Out::new(out_observer, "out_observer")?;
        let sender = objects::optional_object(sender, "sender")?;
        let observer = Arc::new(CallbackObserver {
            callback,
            user_data: UserData(user_data),
            active: AtomicBool::new(true),
            running: Mutex::new(()),
        });
        let subscription = Subscription { observer: observer.clone(), name: name.clone(), sender: sender.clone() };
        let h = handle::register(ObjectKind::Observer, Arc::new(subscription), None);
        NotificationCenter::default_center().add_observer(observer, name.as_deref(), sender);
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(h.raw()) };
        Ok(())
    })
}

/// Removes the subscription made by
/// `sipsimple_notification_center_add_observer`; the handle becomes stale.
/// When called outside the delivery thread, this waits for a callback of this
/// observer that is running to return, so once it returns the callback is
/// never called again and `user_data` may be released. Called from a callback
/// (on the delivery thread) it does not wait.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_notification_center_remove_observer(observer: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_notification_center_remove_observer", || {
        let subscription = objects::release::<Subscription>(observer, ObjectKind::Observer)?;
        let center = NotificationCenter::default_center();
        let callback = &subscription.observer;
        center.discard_identity(callback.identity(), subscription.name.as_deref(), subscription.sender.clone());
        if center.is_delivery_thread() {
            callback.active.store(false, Ordering::Release);
        } else {
            let _wait = callback.running.lock().unwrap_or_else(PoisonError::into_inner);
            callback.active.store(false, Ordering::Release);
        }
        Ok(())
    })
}

/// Posts a notification named `name`. `sender` is 0 (no sender) or any live
/// handle; `data_json` is `NULL` (no fields) or a JSON object whose members
/// become the data fields (as plain JSON values). `timestamp` is added unless
/// given (as seconds since the Unix epoch). Delivery happens later, on the
/// delivery thread, after every notification posted before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_center_post(
    name: *const c_char,
    sender: sipsimple_handle,
    data_json: *const c_char,
) -> sipsimple_result {
    guard("sipsimple_notification_center_post", || {
        // SAFETY: API contract.
        let name = unsafe { borrow_str(name, "name") }?;
        // SAFETY: API contract.
        let data_json = unsafe { optional_str(data_json, "data_json") }?;
        if name.is_empty() {
            return Err(FfiError::argument("the notification name is empty"));
        }
        let sender = objects::optional_object(sender, "sender")?.unwrap_or(Value::Null);
        let data = notification_data(data_json)?;
        NotificationCenter::default_center().post_notification(name, sender, data);
        Ok(())
    })
}

/// Waits until every notification posted before this call has been handed to
/// its observers, at most `timeout_ms` milliseconds
/// (`SIPSIMPLE_RESULT_TIMEOUT` then). Returns at once when called from a
/// callback.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_notification_center_flush(timeout_ms: u32) -> sipsimple_result {
    guard("sipsimple_notification_center_flush", || {
        if NotificationCenter::default_center().flush(Duration::from_millis(u64::from(timeout_ms))) {
            Ok(())
        } else {
            Err(FfiError::Timeout(format!("notifications were not delivered within {timeout_ms} ms")))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    struct Seen(Mutex<Vec<(String, i64)>>);

    unsafe extern "C" fn record(user_data: *mut c_void, n: *const sipsimple_notification) {
        let seen = unsafe { &*(user_data as *const Seen) };
        let n = unsafe { &(*n).inner };
        seen.0.lock().unwrap().push((n.name.clone(), n.data.get("x").and_then(Value::as_int).unwrap_or(-1)));
    }

    #[test]
    fn callbacks_filter_and_stop_after_removal() {
        let seen = Box::new(Seen(Mutex::new(Vec::new())));
        let user_data = &*seen as *const Seen as *mut c_void;
        let mut observer = 0;
        let r = unsafe {
            sipsimple_notification_center_add_observer(
                Some(record),
                user_data,
                c"FfiCenterTest".as_ptr(),
                0,
                &mut observer,
            )
        };
        assert_eq!(r, sipsimple_result::Ok);
        let r = unsafe { sipsimple_notification_center_post(c"FfiCenterTest".as_ptr(), 0, c"{\"x\": 5}".as_ptr()) };
        assert_eq!(r, sipsimple_result::Ok);
        let r = unsafe { sipsimple_notification_center_post(c"FfiCenterOther".as_ptr(), 0, null()) };
        assert_eq!(r, sipsimple_result::Ok);
        assert_eq!(sipsimple_notification_center_flush(10_000), sipsimple_result::Ok);
        assert_eq!(*seen.0.lock().unwrap(), [("FfiCenterTest".to_owned(), 5)]);

        assert_eq!(sipsimple_notification_center_remove_observer(observer), sipsimple_result::Ok);
        assert_eq!(sipsimple_notification_center_remove_observer(observer), sipsimple_result::InvalidHandle, "stale");
        let r = unsafe { sipsimple_notification_center_post(c"FfiCenterTest".as_ptr(), 0, null()) };
        assert_eq!(r, sipsimple_result::Ok);
        assert_eq!(sipsimple_notification_center_flush(10_000), sipsimple_result::Ok);
        assert_eq!(seen.0.lock().unwrap().len(), 1);
    }

    struct SelfRemoving {
        observer: Mutex<sipsimple_handle>,
        calls: Mutex<Vec<sipsimple_result>>,
    }

    unsafe extern "C" fn remove_self(user_data: *mut c_void, _n: *const sipsimple_notification) {
        let state = unsafe { &*(user_data as *const SelfRemoving) };
        let observer = *state.observer.lock().unwrap();
        state.calls.lock().unwrap().push(sipsimple_notification_center_remove_observer(observer));
    }

    #[test]
    fn a_callback_may_remove_its_own_observer() {
        let state = Box::new(SelfRemoving { observer: Mutex::new(0), calls: Mutex::new(Vec::new()) });
        let user_data = &*state as *const SelfRemoving as *mut c_void;
        let mut observer = 0;
        let r = unsafe {
            sipsimple_notification_center_add_observer(
                Some(remove_self),
                user_data,
                c"FfiSelfRemoval".as_ptr(),
                0,
                &mut observer,
            )
        };
        assert_eq!(r, sipsimple_result::Ok);
        *state.observer.lock().unwrap() = observer;
        for _ in 0..2 {
            let r = unsafe { sipsimple_notification_center_post(c"FfiSelfRemoval".as_ptr(), 0, null()) };
            assert_eq!(r, sipsimple_result::Ok);
        }
        assert_eq!(sipsimple_notification_center_flush(10_000), sipsimple_result::Ok);
        assert_eq!(*state.calls.lock().unwrap(), [sipsimple_result::Ok], "called once, removed without deadlock");
        assert_eq!(sipsimple_notification_center_remove_observer(observer), sipsimple_result::InvalidHandle);
    }

    #[test]
    fn bad_arguments() {
        let mut observer = 0;
        let r = unsafe { sipsimple_notification_center_add_observer(None, null_mut(), null(), 0, &mut observer) };
        assert_eq!(r, sipsimple_result::NullArgument);
        let r = unsafe { sipsimple_notification_center_add_observer(Some(record), null_mut(), null(), 0, null_mut()) };
        assert_eq!(r, sipsimple_result::NullArgument);
        let r = unsafe {
            sipsimple_notification_center_add_observer(
                Some(record),
                null_mut(),
                null(),
                0x0700_0001_0000_0000,
                &mut observer,
            )
        };
        assert_eq!(r, sipsimple_result::InvalidHandle, "garbage sender");
        assert_eq!(observer, 0, "out untouched on failure");
        assert_eq!(sipsimple_notification_center_remove_observer(0), sipsimple_result::InvalidHandle);
        assert_eq!(sipsimple_notification_center_remove_observer(12345), sipsimple_result::InvalidHandle);
        let app = sipsimple_core::SIPApplication::instance().handle().raw();
        assert_eq!(sipsimple_notification_center_remove_observer(app), sipsimple_result::InvalidHandle, "wrong kind");

        assert_eq!(unsafe { sipsimple_notification_center_post(null(), 0, null()) }, sipsimple_result::NullArgument);
        assert_eq!(
            unsafe { sipsimple_notification_center_post(c"".as_ptr(), 0, null()) },
            sipsimple_result::InvalidArgument
        );
        assert_eq!(
            unsafe { sipsimple_notification_center_post(c"A".as_ptr(), 0, c"[1]".as_ptr()) },
            sipsimple_result::InvalidArgument
        );
        assert_eq!(
            unsafe { sipsimple_notification_center_post(c"A".as_ptr(), 0, c"{".as_ptr()) },
            sipsimple_result::InvalidArgument
        );
        assert_eq!(
            unsafe { sipsimple_notification_center_post(c"A".as_ptr(), 99, null()) },
            sipsimple_result::InvalidHandle
        );
        let r = unsafe { sipsimple_notification_center_post(c"A".as_ptr(), 0, c"{\"timestamp\": \"now\"}".as_ptr()) };
        assert_eq!(r, sipsimple_result::InvalidArgument);
        let r = unsafe { sipsimple_notification_center_post(c"A".as_ptr(), app, c"{\"timestamp\": 12.5}".as_ptr()) };
        assert_eq!(r, sipsimple_result::Ok);
    }
}
