//! The notification center seen from Python.
//!
//! A Python observer is registered as a [`PyObserver`]: on the core's
//! delivery thread it attaches to the interpreter and calls the dispatch
//! function given at registration as `dispatch(observer, name, sender, data)`
//! (the pure-Python layer builds the `Notification` and calls
//! `observer.handle_notification`). Its identity is the Python observer's
//! address, so removing with the same arguments finds the registration.
//!
//! Every call that takes the center's locks or waits runs with the GIL
//! released, so a Python thread waiting for a notification never blocks the
//! delivery thread.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use sipsimple_core::Value;
use sipsimple_core::notification::{Notification, NotificationCenter, NotificationData, Observer};

use crate::errors::CoreResultExt;
use crate::values::{map_to_py, py_to_value, value_to_py};

/// A Python observer registered with the core's center.
struct PyObserver {
    observer: Py<PyAny>,
    dispatch: Py<PyAny>,
    identity: usize,
}

impl PyObserver {
    fn deliver(&self, py: Python<'_>, n: &Notification) -> PyResult<()> {
        let name = PyString::new(py, &n.name);
        let sender = value_to_py(py, &n.sender)?;
        let data = map_to_py(py, n.data.fields())?;
        self.dispatch.bind(py).call1((self.observer.bind(py), name, sender, data))?;
        Ok(())
    }
}

/// Set by the interpreter's `atexit` ([`close_deliveries`]): no delivery
/// attaches to the interpreter any more.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// Deliveries attached to the interpreter right now.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// How long the interpreter's exit waits for a delivery in progress.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

impl Observer for PyObserver {
    fn handle_notification(&self, notification: &Notification) {
        // Nothing is delivered once the interpreter is exiting: a thread
        // that takes the GIL while it finalizes is killed mid-call.
        if CLOSED.load(Ordering::Acquire) {
            return;
        }
        ACTIVE.fetch_add(1, Ordering::AcqRel);
        if !CLOSED.load(Ordering::Acquire) {
            let _ = Python::try_attach(|py| {
                if let Err(e) = self.deliver(py, notification) {
                    e.write_unraisable(py, Some(self.observer.bind(py)));
                }
            });
        }
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
    }

    fn identity(&self) -> usize {
        self.identity
    }
}

fn sender_filter(sender: Option<&Bound<'_, PyAny>>) -> Option<Value> {
    sender.filter(|s| !s.is_none()).map(py_to_value)
}

fn identity_of(observer: &Bound<'_, PyAny>) -> usize {
    observer.as_ptr() as usize
}

/// Access to the core's default notification center.
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreNotificationCenter;

#[pymethods]
impl CoreNotificationCenter {
    /// Subscribes `observer` to notifications named `name` sent by `sender`
    /// (`None` = any). Matching notifications are delivered on the delivery
    /// thread as `dispatch(observer, name, sender, data)`.
    #[staticmethod]
    #[pyo3(signature = (observer, dispatch, name=None, sender=None))]
    fn add_observer(
        py: Python<'_>,
        observer: &Bound<'_, PyAny>,
        dispatch: &Bound<'_, PyAny>,
        name: Option<String>,
        sender: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        if !dispatch.is_callable() {
            return Err(PyValueError::new_err("dispatch must be callable"));
        }
        let registration: Arc<dyn Observer> = Arc::new(PyObserver {
            observer: observer.clone().unbind(),
            dispatch: dispatch.clone().unbind(),
            identity: identity_of(observer),
        });
        let sender = sender_filter(sender);
        py.detach(move || NotificationCenter::default_center().add_observer(registration, name.as_deref(), sender));
        Ok(())
    }

    /// Removes the subscription made with exactly these arguments;
    /// `KeyError` if there is none.
    #[staticmethod]
    #[pyo3(signature = (observer, name=None, sender=None))]
    fn remove_observer(
        py: Python<'_>,
        observer: &Bound<'_, PyAny>,
        name: Option<String>,
        sender: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let identity = identity_of(observer);
        let sender = sender_filter(sender);
        let removed =
            py.detach(move || NotificationCenter::default_center().discard_identity(identity, name.as_deref(), sender));
        if removed {
            Ok(())
        } else {
            Err(sipsimple_core::Error::NotFound("observer is not registered with these arguments".into())).py_err(py)
        }
    }

    /// Like `remove_observer` but silent; returns whether a subscription was removed.
    #[staticmethod]
    #[pyo3(signature = (observer, name=None, sender=None))]
    fn discard_observer(
        py: Python<'_>,
        observer: &Bound<'_, PyAny>,
        name: Option<String>,
        sender: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        let identity = identity_of(observer);
        let sender = sender_filter(sender);
        py.detach(move || NotificationCenter::default_center().discard_identity(identity, name.as_deref(), sender))
    }

    /// Removes every subscription of `observer`.
    #[staticmethod]
    fn purge_observer(py: Python<'_>, observer: &Bound<'_, PyAny>) {
        let identity = identity_of(observer);
        py.detach(move || NotificationCenter::default_center().purge_identity(identity));
    }

    /// Posts a notification. `data` maps field names to values; a
    /// `timestamp` is added unless given.
    #[staticmethod]
    #[pyo3(signature = (name, sender=None, data=None))]
    fn post_notification(
        py: Python<'_>,
        name: String,
        sender: Option<&Bound<'_, PyAny>>,
        data: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let sender = sender.map(py_to_value).unwrap_or(Value::Null);
        let mut fields = BTreeMap::new();
        if let Some(data) = data {
            for (k, v) in data.iter() {
                fields.insert(k.extract::<String>()?, py_to_value(&v));
            }
        }
        let data = NotificationData::from(fields);
        py.detach(move || NotificationCenter::default_center().post_notification(&name, sender, data));
        Ok(())
    }

    /// Waits (GIL released) until every notification posted before this call
    /// has been delivered, at most `timeout` seconds. Returns immediately
    /// (True) on the delivery thread.
    #[staticmethod]
    #[pyo3(signature = (timeout=10.0))]
    fn flush(py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = Duration::try_from_secs_f64(timeout.max(0.0))
            .map_err(|_| PyValueError::new_err("timeout must be a finite number of seconds"))?;
        Ok(py.detach(move || NotificationCenter::default_center().flush(timeout)))
    }

    /// True when called from the delivery thread.
    #[staticmethod]
    fn is_delivery_thread() -> bool {
        NotificationCenter::default_center().is_delivery_thread()
    }
}

/// Registered with `atexit` when the module loads: stops deliveries to
/// Python observers and waits (GIL released, at most two seconds) for the
/// one in progress, so no thread enters the interpreter while it finalizes.
#[pyfunction]
pub fn close_deliveries(py: Python<'_>) {
    CLOSED.store(true, Ordering::Release);
    py.detach(|| {
        let deadline = Instant::now() + CLOSE_GRACE;
        while ACTIVE.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}
