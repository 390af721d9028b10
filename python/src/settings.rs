//! Settings objects (`SIPSimpleSettings`, accounts) by dotted path.
//!
//! Every call that takes the object's lock runs with the GIL released: a
//! save on another thread may hold that lock while it writes the file.

use std::sync::Arc;

use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use sipsimple_core::config::{PathKind, SettingsExtension, SettingsObject, setting_type};
use sipsimple_core::settings::settings_class_named;
use sipsimple_core::{Account, SIPSimpleSettings};

use crate::errors::CoreResultExt;
use crate::values::{PyHandle, py_to_setting_value, value_to_py};

/// Which core object holds the settings.
#[derive(Clone)]
pub enum Target {
    /// An account (saving goes through the account so the manager learns about it).
    Account(Arc<Account>),
    /// The global settings.
    Global(Arc<SIPSimpleSettings>),
}

impl Target {
    fn object(&self) -> &SettingsObject {
        match self {
            Target::Account(a) => a.settings(),
            Target::Global(s) => s.settings(),
        }
    }
}

/// One settings object, read and written by dotted setting path
/// (`sip.register_interval`).
#[pyclass(module = "sipsimple._core", frozen)]
pub struct CoreSettings {
    target: Target,
}

impl CoreSettings {
    /// Settings of `target`.
    pub fn new(target: Target) -> Self {
        CoreSettings { target }
    }
}

#[pymethods]
impl CoreSettings {
    /// The global `SIPSimpleSettings` object.
    #[staticmethod]
    fn global_settings() -> Self {
        CoreSettings::new(Target::Global(SIPSimpleSettings::instance()))
    }

    /// Extends the settings class `class_name` (`SIPSimpleSettings`,
    /// `Account` or `BonjourAccount`) with `settings`, a list of
    /// `(path, type_name, default, nillable)` tuples, and `groups` (dotted
    /// paths), all or nothing. Loaded objects of the class get the settings
    /// at once, with their stored value if there is one (GIL released while
    /// they are updated). `ValueError` naming the setting for an unknown
    /// type name, a refused default or a conflicting path; `KeyError` for an
    /// unknown class.
    #[staticmethod]
    #[pyo3(signature = (class_name, settings, groups=Vec::new()))]
    fn register_extension(
        py: Python<'_>,
        class_name: &str,
        settings: Vec<(String, String, Bound<'_, PyAny>, bool)>,
        groups: Vec<String>,
    ) -> PyResult<()> {
        let class = settings_class_named(class_name).ok_or_else(|| {
            PyKeyError::new_err(format!(
                "no settings class {class_name:?} (SIPSimpleSettings, Account or BonjourAccount)"
            ))
        })?;
        let mut extension = SettingsExtension::new();
        for (path, type_name, default, nillable) in &settings {
            let ty = setting_type(path, type_name).py_err(py)?;
            extension.setting(path, ty, py_to_setting_value(path, default)?, *nillable);
        }
        for group in &groups {
            extension.group(group);
        }
        py.detach(move || class.register(&extension)).py_err(py)
    }

    /// The handle of the object (sender of its `CFGSettingsObject*` notifications).
    #[getter]
    fn handle(&self) -> PyHandle {
        PyHandle::new(match &self.target {
            Target::Account(a) => a.handle(),
            Target::Global(s) => s.handle(),
        })
    }

    /// The object's id (`alice@example.com`, `SIPSimpleSettings`).
    #[getter]
    fn id(&self) -> String {
        self.target.object().id()
    }

    /// The settings class name (`Account`, `BonjourAccount`, `SIPSimpleSettings`).
    #[getter]
    fn class_name(&self) -> &'static str {
        self.target.object().class().name
    }

    /// True until the first `save()` stored the object.
    #[getter]
    fn is_new(&self, py: Python<'_>) -> bool {
        let target = self.target.clone();
        py.detach(move || target.object().is_new())
    }

    /// `"setting"`, `"group"` (`""` is the top group) or `None` for an unknown path.
    fn path_kind(&self, path: &str) -> Option<&'static str> {
        self.target.object().path_kind(path).map(|k| match k {
            PathKind::Setting => "setting",
            PathKind::Group => "group",
        })
    }

    /// Names of the settings and groups directly under `group`.
    #[pyo3(signature = (group=""))]
    fn children(&self, group: &str) -> Vec<String> {
        self.target.object().children(group)
    }

    /// The current value of a setting (port ranges are `{"start", "end"}` dicts).
    fn get<'py>(&self, py: Python<'py>, path: &str) -> PyResult<Bound<'py, PyAny>> {
        let target = self.target.clone();
        let value = py.detach(move || target.object().get(path)).py_err(py)?;
        value_to_py(py, &value)
    }

    /// Validates and sets a setting; `ValueError` naming it if the value is
    /// refused (the old value stays).
    fn set(&self, py: Python<'_>, path: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = py_to_setting_value(path, value)?;
        let target = self.target.clone();
        py.detach(move || target.object().set(path, value)).py_err(py)
    }

    /// Resets a setting to its default.
    fn reset(&self, py: Python<'_>, path: &str) -> PyResult<()> {
        let target = self.target.clone();
        py.detach(move || target.object().reset(path)).py_err(py)
    }

    /// Undoes unsaved changes.
    fn revert(&self, py: Python<'_>) {
        let target = self.target.clone();
        py.detach(move || target.object().revert())
    }

    /// Stores the object (GIL released) and posts the `CFGSettingsObject*`
    /// notifications (and `SIPAccountManagerDidAddAccount` for a new account).
    fn save(&self, py: Python<'_>) -> PyResult<()> {
        let target = self.target.clone();
        py.detach(move || match &target {
            Target::Account(a) => a.save().map(drop),
            Target::Global(s) => s.settings().save().map(drop),
        })
        .py_err(py)
    }

    /// Deletes the object (GIL released). Singletons and the BonjourAccount refuse.
    fn delete(&self, py: Python<'_>) -> PyResult<()> {
        let target = self.target.clone();
        py.detach(move || match &target {
            Target::Account(a) => a.delete(),
            Target::Global(s) => s.settings().delete(),
        })
        .py_err(py)
    }
}
