//! Pull queues: notifications for GUI run loops that would rather poll than
//! be called back on another thread.
//!
//! A queue is an observer that keeps matching notifications until
//! `sipsimple_notification_queue_next` takes them. Its file descriptor (the
//! read end of a non-blocking pipe) is readable exactly while notifications
//! are queued: one byte is written when the queue goes from empty to
//! non-empty and drained when the last notification is taken, both under the
//! queue's lock.

use std::collections::VecDeque;
use std::ffi::{c_char, c_int};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sipsimple_core::{Error, Notification, NotificationCenter, ObjectKind, Observer, Value, handle};

use crate::notification::sipsimple_notification;
use crate::objects;
use crate::result::{FfiError, guard, sipsimple_result};
use crate::sipsimple_handle;
use crate::strings::{Out, optional_str};

/// The wake-up pipe: readable while notifications are queued.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

fn set_flags(fd: &OwnedFd) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(raw, libc::F_GETFL);
        if flags < 0 || libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd_flags = libc::fcntl(raw, libc::F_GETFD);
        if fd_flags < 0 || libc::fcntl(raw, libc::F_SETFD, fd_flags | libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl Pipe {
    fn new() -> io::Result<Pipe> {
        let mut fds: [c_int; 2] = [-1, -1];
        // SAFETY: fds has room for the two descriptors pipe() writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe() succeeded, so both descriptors are open and ours.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        set_flags(&read)?;
        set_flags(&write)?;
        Ok(Pipe { read, write })
    }

    /// Makes the read end readable.
    fn signal(&self) {
        let byte = 1u8;
        // SAFETY: writing one byte from a live buffer to our own descriptor.
        let n = unsafe { libc::write(self.write.as_raw_fd(), (&byte as *const u8).cast(), 1) };
        if n != 1 {
            tracing::warn!("cannot signal a notification queue: {}", io::Error::last_os_error());
        }
    }

    /// Makes the read end not readable.
    fn drain(&self) {
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: reading into a live buffer of the given size from our own descriptor.
            let n = unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
        }
    }
}

struct QueueState {
    items: VecDeque<Notification>,
    /// `None` once the queue has been freed.
    pipe: Option<Pipe>,
}

/// What a queue handle refers to.
struct NotificationQueue {
    state: Mutex<QueueState>,
    arrived: Condvar,
    name: Option<String>,
    sender: Option<Value>,
}

impl NotificationQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Observer for NotificationQueue {
    fn handle_notification(&self, notification: &Notification) {
        let mut s = self.lock();
        let Some(pipe) = &s.pipe else { return };
        if s.items.is_empty() {
            pipe.signal();
        }
        s.items.push_back(notification.clone());
        self.arrived.notify_all();
    }
}

fn freed() -> FfiError {
    FfiError::handle("the notification queue was freed")
}

/// Creates a queue that collects the notifications named `name` (`NULL` =
/// any name) posted by `sender` (0 = any sender) from now on. `*out_queue`
/// receives its handle; release it with `sipsimple_notification_queue_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_queue_new(
    name: *const c_char,
    sender: sipsimple_handle,
    out_queue: *mut sipsimple_handle,
) -> sipsimple_result {
    guard("sipsimple_notification_queue_new", || {
        // SAFETY: name is NULL or a NUL-terminated string (API contract).
        let name = unsafe { optional_str(name, "name") }?.map(str::to_owned);
        let out = Out::new(out_queue, "out_queue")?;
        let sender = objects::optional_object(sender, "sender")?;
        let pipe = Pipe::new().map_err(|e| Error::Internal(format!("cannot create the queue's pipe: {e}")))?;
        let queue = Arc::new(NotificationQueue {
            state: Mutex::new(QueueState { items: VecDeque::new(), pipe: Some(pipe) }),
            arrived: Condvar::new(),
            name: name.clone(),
            sender: sender.clone(),
        });
        let h = handle::register(ObjectKind::NotificationQueue, queue.clone(), None);
        NotificationCenter::default_center().add_observer(queue, name.as_deref(), sender);
        // SAFETY: out is a writable handle (API contract).
        unsafe { out.write(h.raw()) };
        Ok(())
    })
}

/// Takes the oldest queued notification. `timeout_ms` < 0 waits as long as
/// needed, 0 only looks, > 0 waits at most that many milliseconds;
/// `SIPSIMPLE_RESULT_TIMEOUT` if none arrived. Called from a callback (on the
/// delivery thread) it never waits. `*out` receives a notification owned by
/// the caller: release it with `sipsimple_notification_free`. Freeing the
/// queue from another thread ends a wait with `SIPSIMPLE_RESULT_INVALID_HANDLE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_queue_next(
    queue: sipsimple_handle,
    timeout_ms: i32,
    out: *mut *mut sipsimple_notification,
) -> sipsimple_result {
    guard("sipsimple_notification_queue_next", || {
        let q = objects::resolve::<NotificationQueue>(queue, ObjectKind::NotificationQueue)?;
        let out = Out::new(out, "out")?;
        let may_wait = timeout_ms != 0 && !NotificationCenter::default_center().is_delivery_thread();
        let deadline =
            (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms.unsigned_abs().into()));
        let mut s = q.lock();
        let notification = loop {
            let state = &mut *s;
            let Some(pipe) = &state.pipe else { return Err(freed()) };
            if let Some(n) = state.items.pop_front() {
                if state.items.is_empty() {
                    pipe.drain();
                }
                break n;
            }
            if !may_wait {
                return Err(FfiError::Timeout("no notification is queued".into()));
            }
            s = match deadline {
                None => q.arrived.wait(s).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => {
                        q.arrived.wait_timeout(s, left).unwrap_or_else(PoisonError::into_inner).0
                    }
                    _ => return Err(FfiError::Timeout(format!("no notification arrived within {timeout_ms} ms"))),
                },
            };
        };
        drop(s);
        let owned = Box::into_raw(Box::new(sipsimple_notification::new(notification)));
        // SAFETY: out is a writable pointer (API contract).
        unsafe { out.write(owned) };
        Ok(())
    })
}

/// `*out_fd` receives a file descriptor that is readable exactly while the
/// queue holds notifications, for a `poll()`/`select()` run loop. Only wait
/// on it for readability: never read, write or close it. It stays open until
/// `sipsimple_notification_queue_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sipsimple_notification_queue_fd(
    queue: sipsimple_handle,
    out_fd: *mut c_int,
) -> sipsimple_result {
    guard("sipsimple_notification_queue_fd", || {
        let q = objects::resolve::<NotificationQueue>(queue, ObjectKind::NotificationQueue)?;
        let out = Out::new(out_fd, "out_fd")?;
        let fd = q.lock().pipe.as_ref().map(|p| p.read.as_raw_fd()).ok_or_else(freed)?;
        // SAFETY: out is a writable int (API contract).
        unsafe { out.write(fd) };
        Ok(())
    })
}

/// Unsubscribes and releases the queue: queued notifications are dropped,
/// its file descriptor is closed and the handle becomes stale.
#[unsafe(no_mangle)]
pub extern "C" fn sipsimple_notification_queue_free(queue: sipsimple_handle) -> sipsimple_result {
    guard("sipsimple_notification_queue_free", || {
        let q = objects::release::<NotificationQueue>(queue, ObjectKind::NotificationQueue)?;
        NotificationCenter::default_center().discard_identity(q.identity(), q.name.as_deref(), q.sender.clone());
        let mut s = q.lock();
        s.items.clear();
        s.pipe = None;
        q.arrived.notify_all();
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    fn readable(fd: c_int) -> bool {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        (unsafe { libc::poll(&mut p, 1, 0) }) == 1 && p.revents & libc::POLLIN != 0
    }

    #[test]
    fn queue_order_fd_and_timeouts() {
        let mut q = 0;
        assert_eq!(
            unsafe { sipsimple_notification_queue_new(c"FfiQueueTest".as_ptr(), 0, &mut q) },
            sipsimple_result::Ok
        );
        let mut fd = -1;
        assert_eq!(unsafe { sipsimple_notification_queue_fd(q, &mut fd) }, sipsimple_result::Ok);
        assert!(!readable(fd));
        let mut n = null_mut();
        assert_eq!(unsafe { sipsimple_notification_queue_next(q, 0, &mut n) }, sipsimple_result::Timeout);
        assert_eq!(unsafe { sipsimple_notification_queue_next(q, 20, &mut n) }, sipsimple_result::Timeout);
        assert!(n.is_null());

        for data in [c"{\"i\": 1}", c"{\"i\": 2}"] {
            assert_eq!(
                unsafe {
                    crate::center::sipsimple_notification_center_post(c"FfiQueueTest".as_ptr(), 0, data.as_ptr())
                },
                sipsimple_result::Ok
            );
        }
        for expected in [1, 2] {
            assert_eq!(unsafe { sipsimple_notification_queue_next(q, 10_000, &mut n) }, sipsimple_result::Ok);
            let mut i = 0;
            assert_eq!(
                unsafe { crate::notification::sipsimple_notification_get_int(n, c"i".as_ptr(), &mut i) },
                sipsimple_result::Ok
            );
            assert_eq!(i, expected);
            unsafe { crate::notification::sipsimple_notification_free(n) };
        }
        assert!(!readable(fd), "drained once empty");

        assert_eq!(
            unsafe { crate::center::sipsimple_notification_center_post(c"FfiQueueTest".as_ptr(), 0, null()) },
            sipsimple_result::Ok
        );
        assert_eq!(crate::center::sipsimple_notification_center_flush(10_000), sipsimple_result::Ok);
        assert!(readable(fd));

        assert_eq!(sipsimple_notification_queue_free(q), sipsimple_result::Ok);
        assert_eq!(sipsimple_notification_queue_free(q), sipsimple_result::InvalidHandle, "stale");
        assert_eq!(unsafe { sipsimple_notification_queue_next(q, 0, &mut n) }, sipsimple_result::InvalidHandle);
        assert_eq!(unsafe { sipsimple_notification_queue_fd(q, &mut fd) }, sipsimple_result::InvalidHandle);
    }

    #[test]
    fn bad_queue_arguments() {
        let mut n = null_mut();
        let mut fd = 0;
        assert_eq!(unsafe { sipsimple_notification_queue_next(0, 0, &mut n) }, sipsimple_result::InvalidHandle);
        assert_eq!(
            unsafe { sipsimple_notification_queue_next(0xdead_beef, 0, &mut n) },
            sipsimple_result::InvalidHandle
        );
        assert_eq!(unsafe { sipsimple_notification_queue_fd(u64::MAX, &mut fd) }, sipsimple_result::InvalidHandle);
        assert_eq!(sipsimple_notification_queue_free(7), sipsimple_result::InvalidHandle);
        assert_eq!(unsafe { sipsimple_notification_queue_new(null(), 0, null_mut()) }, sipsimple_result::NullArgument);
        let mut q = 0;
        assert_eq!(unsafe { sipsimple_notification_queue_new(null(), 0, &mut q) }, sipsimple_result::Ok);
        assert_eq!(unsafe { sipsimple_notification_queue_next(q, 0, null_mut()) }, sipsimple_result::NullArgument);
        // A queue handle is not an observer handle, and the reverse.
        assert_eq!(crate::center::sipsimple_notification_center_remove_observer(q), sipsimple_result::InvalidHandle);
        assert_eq!(sipsimple_notification_queue_free(q), sipsimple_result::Ok);
    }
}
