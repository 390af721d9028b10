//! Conversion between Python objects and core [`Value`]s.
//!
//! Towards the core, Python scalars (`None`, `bool`, `int`, `float`, `str`,
//! exact types only) become native values, a [`PyHandle`] becomes
//! `Value::Object`, and every other object is carried as a
//! `Value::Foreign` holding the object itself, so it comes back to Python as
//! the very same object and compares by identity in sender filters.
//! Settings use a stricter conversion ([`py_to_setting_value`]) that only
//! accepts what a setting can hold.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use sipsimple_core::Value;
use sipsimple_core::handle::{self, Handle};
use sipsimple_core::value::{ForeignObject, unix_seconds};

/// A reference to a core object (an account, the application...) as found in
/// notifications. Equal handles refer to the same object.
#[pyclass(module = "sipsimple._core", name = "Handle", frozen, eq, hash)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyHandle {
    handle: Handle,
}

impl PyHandle {
    /// Wraps a core handle.
    pub fn new(handle: Handle) -> Self {
        PyHandle { handle }
    }
    /// The core handle.
    pub fn handle(&self) -> Handle {
        self.handle
    }
}

#[pymethods]
impl PyHandle {
    /// The raw 64-bit value.
    #[getter]
    fn raw(&self) -> u64 {
        self.handle.raw()
    }
    /// The class name of the object (`Account`, `SIPApplication`...), `Unknown` if garbage.
    #[getter]
    fn kind(&self) -> &'static str {
        self.handle.try_kind().map(|k| k.name()).unwrap_or("Unknown")
    }
    /// The object's label (an account's id), if it has one.
    #[getter]
    fn label(&self) -> Option<String> {
        handle::label(self.handle)
    }
    /// True while the handle refers to a live object.
    #[getter]
    fn live(&self) -> bool {
        handle::is_live(self.handle)
    }
    fn __repr__(&self) -> String {
        format!("<Handle {:?}>", self.handle)
    }
}

/// A Python object carried through the core as `Value::Foreign`.
pub struct PyForeign {
    object: Py<PyAny>,
    description: String,
}

impl ForeignObject for PyForeign {
    fn identity(&self) -> usize {
        self.object.as_ptr() as usize
    }
    fn describe(&self) -> String {
        self.description.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Wraps `obj` as a foreign value (identity = the object's address).
pub fn foreign(obj: &Bound<'_, PyAny>) -> Value {
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    let description = format!("<{type_name} object at {:#x}>", obj.as_ptr() as usize);
    Value::Foreign(Arc::new(PyForeign { object: obj.clone().unbind(), description }))
}

/// Converts a sender or a notification data value for the core.
pub fn py_to_value(obj: &Bound<'_, PyAny>) -> Value {
    if obj.is_none() {
        return Value::Null;
    }
    if obj.is_exact_instance_of::<PyBool>() {
        return Value::Bool(obj.is_truthy().unwrap_or(false));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        return match obj.extract::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => foreign(obj),
        };
    }
    if obj.is_exact_instance_of::<PyFloat>()
        && let Ok(f) = obj.extract::<f64>()
    {
        return Value::Float(f);
    }
    if obj.is_exact_instance_of::<PyString>()
        && let Ok(s) = obj.extract::<String>()
    {
        return Value::String(s);
    }
    if let Ok(h) = obj.cast::<PyHandle>() {
        return Value::Object(h.get().handle);
    }
    foreign(obj)
}

fn setting_error(path: &str, reason: String) -> PyErr {
    PyValueError::new_err(format!("invalid value for setting {path}: {reason}"))
}

/// Converts a value assigned to the setting `path`. Accepts `None`, `bool`,
/// `int`, `float`, `str` (subclasses too), lists/tuples and dicts of those;
/// anything else is a `ValueError` naming the setting.
pub fn py_to_setting_value(path: &str, obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.is_truthy()?));
    }
    if obj.is_instance_of::<PyInt>() {
        return obj.extract::<i64>().map(Value::Int).map_err(|_| {
            setting_error(path, format!("{} is out of range", obj.str().map(|s| s.to_string()).unwrap_or_default()))
        });
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(Value::Float(obj.extract::<f64>()?));
    }
    if obj.is_instance_of::<PyString>() {
        return Ok(Value::String(obj.extract::<String>()?));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return list.iter().map(|item| py_to_setting_value(path, &item)).collect::<PyResult<Vec<_>>>().map(Value::List);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple
            .iter()
            .map(|item| py_to_setting_value(path, &item))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::List);
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = BTreeMap::new();
        for (k, v) in dict.iter() {
            let key = k.extract::<String>().map_err(|_| setting_error(path, "mapping keys must be strings".into()))?;
            map.insert(key, py_to_setting_value(path, &v)?);
        }
        return Ok(Value::Map(map));
    }
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    Err(setting_error(path, format!("values of type {type_name} are not accepted")))
}

static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Python callables that give core values their Python types.
struct Hooks {
    handle: Py<PyAny>,
    map: Py<PyAny>,
}

static HOOKS: PyOnceLock<Hooks> = PyOnceLock::new();

/// Installs the conversion hooks (once per process): `handle_hook(handle)`
/// turns a [`PyHandle`] into the Python object for it (an `Account`...),
/// `map_hook(dict)` turns a core map into its Python type (a `PortRange`, a
/// `ModifiedValue`) or returns the dict. Both are called with the GIL held,
/// possibly on the delivery thread.
#[pyfunction]
pub fn set_conversion_hooks(py: Python<'_>, handle_hook: Py<PyAny>, map_hook: Py<PyAny>) -> PyResult<()> {
    HOOKS
        .set(py, Hooks { handle: handle_hook, map: map_hook })
        .map_err(|_| PyRuntimeError::new_err("the conversion hooks are already installed"))
}

/// Converts a core value for Python: maps become dicts, lists lists,
/// timestamps naive local `datetime.datetime` objects, core objects
/// [`PyHandle`]s and foreign values the original Python objects; the
/// installed hooks then convert handles and maps further.
pub fn value_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => f.into_pyobject(py)?.into_any(),
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Timestamp(t) => {
            DATETIME.import(py, "datetime", "datetime")?.call_method1("fromtimestamp", (unix_seconds(*t),))?
        }
        Value::Bytes(bytes) => pyo3::types::PyBytes::new(py, bytes).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(value_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Map(map) => {
            let dict = map_to_py(py, map)?;
            match HOOKS.get(py) {
                Some(hooks) => hooks.map.bind(py).call1((dict,))?,
                None => dict.into_any(),
            }
        }
        Value::Object(h) => {
            let handle = Bound::new(py, PyHandle::new(*h))?;
            if let Some(module) = h.try_kind().and_then(converter_module) {
                return py.import(module)?.getattr("_from_core_handle")?.call1((handle,));
            }
            match HOOKS.get(py) {
                Some(hooks) => hooks.handle.bind(py).call1((handle,))?,
                None => handle.into_any(),
            }
        }
        Value::Foreign(o) => match o.as_any().downcast_ref::<PyForeign>() {
            Some(f) => f.object.bind(py).clone(),
            None => PyString::new(py, &o.describe()).into_any(),
        },
    })
}

/// The Python module that owns the objects of `kind`, for the kinds not
/// converted by the general handle hook: its `_from_core_handle(handle)`
/// returns the one Python object for the handle (a `Session`, an
/// `AudioStream`), importing the module on first use.
fn converter_module(kind: handle::ObjectKind) -> Option<&'static str> {
    match kind {
        handle::ObjectKind::Session => Some("sipsimple.session"),
        handle::ObjectKind::AudioStream => Some("sipsimple.streams.rtp.audio"),
        handle::ObjectKind::ChatStream => Some("sipsimple.streams.msrp.chat"),
        handle::ObjectKind::FileTransferStream => Some("sipsimple.streams.msrp.filetransfer"),
        handle::ObjectKind::DesktopSharingStream | handle::ObjectKind::DesktopSharingHandler => {
            Some("sipsimple.streams.msrp.screensharing")
        }
        handle::ObjectKind::AudioMixer
        | handle::ObjectKind::AudioDevice
        | handle::ObjectKind::AudioBridge
        | handle::ObjectKind::WavePlayer
        | handle::ObjectKind::WaveRecorder
        | handle::ObjectKind::AudioConference => Some("sipsimple.audio"),
        _ => None,
    }
}

/// Converts a map of values into a dict.
pub fn map_to_py<'py>(py: Python<'py>, map: &BTreeMap<String, Value>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in map {
        dict.set_item(k, value_to_py(py, v)?)?;
    }
    Ok(dict)
}
