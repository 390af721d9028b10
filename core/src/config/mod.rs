//! Configuration API: `ConfigurationManager`, settings objects and their
//! typed, validated settings.
//!
//! The manager keeps the whole configuration tree in memory and writes it
//! through the storage backend on every save. A [`SettingsObject`] is one
//! top-level object of that tree (`SIPSimpleSettings`, one `Account`...):
//! reading a setting gives its current value or default, writing one
//! validates it (an invalid value is refused with an error naming the setting
//! and the old value stays), and `save()` stores the non-default values and
//! posts `CFGSettingsObjectWasCreated` or `CFGSettingsObjectDidChange` with
//! `modified` (setting path → `{old, new}`).

pub mod datatypes;
pub mod schema;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, Weak};

use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::notification::NotificationCenter;
use crate::notifications::{self as n, TypedNotification};
use crate::storage::{ConfigNode, ConfigTree, ConfigurationBackend};
use crate::value::Value;
pub use datatypes::SettingType;
pub use schema::{Schema, SettingDef};

/// The `ConfigurationManager` singleton: the in-memory configuration tree
/// and the backend it is saved to. Started by `SIPApplication.start`.
pub struct ConfigurationManager {
    state: Mutex<ManagerState>,
    handle: OnceLock<Handle>,
}

#[derive(Default)]
struct ManagerState {
    backend: Option<Arc<dyn ConfigurationBackend>>,
    tree: ConfigTree,
}

static MANAGER: LazyLock<Arc<ConfigurationManager>> = LazyLock::new(|| {
    let m = Arc::new(ConfigurationManager { state: Mutex::new(ManagerState::default()), handle: OnceLock::new() });
    let h = handle::register(ObjectKind::ConfigurationManager, m.clone(), None);
    let _ = m.handle.set(h);
    m
});

fn not_started() -> Error {
    Error::InvalidState("the ConfigurationManager has not been started".into())
}

impl ConfigurationManager {
    /// The singleton.
    pub fn instance() -> Arc<ConfigurationManager> {
        MANAGER.clone()
    }

    /// The manager's handle (sender of `CFGManager*` notifications).
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or(Handle::from_raw(0))
    }

    fn lock(&self) -> MutexGuard<'_, ManagerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loads the configuration from `backend`. On error nothing changes and
    /// the call may be repeated.
    pub fn start(&self, backend: Arc<dyn ConfigurationBackend>) -> Result<()> {
        let tree = backend.load()?;
        let mut s = self.lock();
        s.tree = tree;
        s.backend = Some(backend);
        Ok(())
    }

    /// Forgets the backend and the tree.
    pub fn stop(&self) {
        *self.lock() = ManagerState::default();
    }

    /// True between `start` and `stop`.
    pub fn started(&self) -> bool {
        self.lock().backend.is_some()
    }

    /// The node at `key`, or `NotFound`.
    pub fn get(&self, key: &[&str]) -> Result<ConfigNode> {
        let s = self.lock();
        if s.backend.is_none() {
            return Err(not_started());
        }
        let mut node: Option<&ConfigNode> = None;
        let mut tree = &s.tree;
        for (i, part) in key.iter().enumerate() {
            let n = tree.get(*part).ok_or_else(|| Error::NotFound(key[..=i].join(".")))?;
            node = Some(n);
            match n {
                ConfigNode::Group(g) => tree = g,
                _ if i + 1 < key.len() => return Err(Error::NotFound(key.join("."))),
                _ => {}
            }
        }
        node.cloned().ok_or_else(|| Error::NotFound(String::new()))
    }

    /// Names of the children of the group at `key`.
    pub fn get_names(&self, key: &[&str]) -> Result<Vec<String>> {
        match self.get(key) {
            Ok(ConfigNode::Group(g)) => Ok(g.keys().cloned().collect()),
            Ok(_) => Ok(Vec::new()),
            Err(Error::NotFound(_)) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Replaces the group at `key` (creating parents) in memory.
    pub fn update(&self, key: &[&str], group: ConfigTree) -> Result<()> {
        let mut s = self.lock();
        if s.backend.is_none() {
            return Err(not_started());
        }
        let Some((last, parents)) = key.split_last() else {
            return Err(Error::InvalidArgument("empty configuration key".into()));
        };
        let mut tree = &mut s.tree;
        for part in parents {
            let entry = tree.entry((*part).to_owned()).or_insert_with(|| ConfigNode::Group(ConfigTree::new()));
            if !matches!(entry, ConfigNode::Group(_)) {
                *entry = ConfigNode::Group(ConfigTree::new());
            }
            let ConfigNode::Group(g) = entry else { unreachable!() };
            tree = g;
        }
        tree.insert((*last).to_owned(), ConfigNode::Group(group));
        Ok(())
    }

    /// Removes the node at `key` in memory.
    pub fn delete(&self, key: &[&str]) -> Result<()> {
        let mut s = self.lock();
        if s.backend.is_none() {
            return Err(not_started());
        }
        let Some((last, parents)) = key.split_last() else { return Ok(()) };
        let mut tree = &mut s.tree;
        for part in parents {
            match tree.get_mut(*part) {
                Some(ConfigNode::Group(g)) => tree = g,
                _ => return Ok(()),
            }
        }
        tree.remove(*last);
        Ok(())
    }

    /// Writes the whole tree through the backend.
    pub fn save(&self) -> Result<()> {
        let s = self.lock();
        let backend = s.backend.clone().ok_or_else(not_started)?;
        // The backend is called with the manager locked so that two saves
        // never race each other's renames; it only does local file I/O.
        backend.save(&s.tree)
    }
}

/// A setting path's meaning within a settings object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathKind {
    /// A setting.
    Setting,
    /// A settings group.
    Group,
}

/// The old and new value of a modified setting.
#[derive(Clone, Debug, PartialEq)]
pub struct ModifiedValue {
    /// Value before the change.
    pub old: Value,
    /// Value after the change.
    pub new: Value,
}

/// One settings class (schema + where its objects live), shared by all its
/// objects so an extension registered on the class applies to all of them.
///
/// Registering an extension (the original's `register_extension`) adds
/// settings and groups to the class. Objects of the class that are already
/// loaded see the new settings at once: with their default, or with the
/// value already stored in the configuration for them (values of unknown
/// settings are kept in the configuration on save, so an extension
/// registered in a later run finds them).
pub struct SettingsClass {
    /// Class name, e.g. `Account`.
    pub name: &'static str,
    /// Tree group the objects live under (`Accounts`), or `None` for a top-level singleton.
    pub group: Option<&'static str>,
    schema: RwLock<Schema>,
    /// The state of every loaded object of the class. Held while an object
    /// is loaded and while an extension is registered, so that every object
    /// is either loaded with the new schema or updated by the registration.
    live: Mutex<Vec<Weak<Mutex<ObjectState>>>>,
}

/// A batch of settings and groups to add to a [`SettingsClass`] at once
/// (one extension class of the original): registered all together or, if
/// any of them is refused, not at all.
#[derive(Clone, Debug, Default)]
pub struct SettingsExtension {
    settings: Vec<(String, SettingDef)>,
    groups: Vec<String>,
}

impl SettingsExtension {
    /// An empty extension.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a stored setting: `path` (dotted), its type, its default (which
    /// must be valid for the type, or `Null` when `nillable`) and whether
    /// `None` is accepted.
    pub fn setting(&mut self, path: &str, ty: SettingType, default: Value, nillable: bool) -> &mut Self {
        self.setting_def(path, SettingDef { ty, default, nillable, runtime: false })
    }

    /// Adds a setting from a full definition (runtime settings are never stored).
    pub fn setting_def(&mut self, path: &str, def: SettingDef) -> &mut Self {
        self.settings.push((path.to_owned(), def));
        self
    }

    /// Adds a group (and its parents); needed only for groups without settings.
    pub fn group(&mut self, path: &str) -> &mut Self {
        self.groups.push(path.to_owned());
        self
    }

    /// True if the extension adds nothing.
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty() && self.groups.is_empty()
    }
}

/// Checks a definition for `register`: a `Null` default needs a nillable
/// setting, any other default must be valid for the type (it is stored
/// normalised, e.g. `"50000-50500"` becomes a `{start, end}` map).
fn checked_def(path: &str, def: SettingDef) -> Result<SettingDef> {
    let default = match def.default {
        Value::Null if def.nillable => Value::Null,
        Value::Null => return Err(Error::setting(path, "the default is None but the setting is not nillable")),
        v => def.ty.coerce(path, v).map_err(|e| {
            if is_secret(path) { Error::setting(path, "default refused (secret values are never shown)") } else { e }
        })?,
    };
    Ok(SettingDef { default, ..def })
}

impl SettingsClass {
    /// A class with the given schema.
    pub fn new(name: &'static str, group: Option<&'static str>, schema: Schema) -> Arc<Self> {
        Arc::new(SettingsClass { name, group, schema: RwLock::new(schema), live: Mutex::new(Vec::new()) })
    }
    /// Reads the schema.
    pub fn schema(&self) -> std::sync::RwLockReadGuard<'_, Schema> {
        self.schema.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn live(&self) -> MutexGuard<'_, Vec<Weak<Mutex<ObjectState>>>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds one setting to the class (`register_extension`); see
    /// [`SettingsClass::register`] for the rules.
    pub fn register_extension(&self, path: &str, def: SettingDef) -> Result<()> {
        let mut extension = SettingsExtension::new();
        extension.setting_def(path, def);
        self.register(&extension)
    }

    /// Adds one stored setting whose type is given by its stable name
    /// ([`SettingType::from_name`]): the form bindings use. An unknown type
    /// name is `InvalidArgument`; see [`SettingsClass::register`] for the rest.
    pub fn register_setting(&self, path: &str, type_name: &str, default: Value, nillable: bool) -> Result<()> {
        let ty = setting_type(path, type_name)?;
        let mut extension = SettingsExtension::new();
        extension.setting(path, ty, default, nillable);
        self.register(&extension)
    }

    /// Registers an extension: every setting and group in it, or none.
    ///
    /// * A setting's default must be valid for its type (`InvalidSetting`
    ///   naming the setting), or `Null` for a nillable setting.
    /// * A path that is a group, or that has a setting as a parent, is
    ///   refused (`InvalidArgument`), as is a malformed path.
    /// * A path that is already a setting (built in or registered before)
    ///   gets the new definition: the original lets extensions override
    ///   settings.
    ///
    /// Loaded objects of the class see the new settings at once, with the
    /// value stored for them in the configuration if there is one (a value
    /// the new type refuses is ignored and `CFGManagerLoadFailed` posted,
    /// as on loading) and their default otherwise. An unsaved change to an
    /// overridden setting is kept if the new type accepts it.
    pub fn register(&self, extension: &SettingsExtension) -> Result<()> {
        let defs = extension
            .settings
            .iter()
            .map(|(path, def)| Ok((path.clone(), checked_def(path, def.clone())?)))
            .collect::<Result<Vec<_>>>()?;
        let mut live = self.live();
        let mut schema = self.schema().clone();
        for group in &extension.groups {
            schema.add_checked_group(group)?;
        }
        for (path, def) in &defs {
            schema.add_def(path, def.clone())?;
        }
        // Objects first, then the schema: until the schema changes nothing
        // reads or saves the new paths, so a concurrent save cannot drop a
        // stored value the objects have not picked up yet.
        live.retain(|w| w.strong_count() > 0);
        for state in live.iter().filter_map(Weak::upgrade) {
            apply_extension(self, &state, &defs);
        }
        *self.schema.write().unwrap_or_else(PoisonError::into_inner) = schema;
        Ok(())
    }
}

/// The type named `type_name` for the setting `path`, or `InvalidArgument`
/// listing the known names.
pub fn setting_type(path: &str, type_name: &str) -> Result<SettingType> {
    SettingType::from_name(type_name).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "unknown setting type {type_name:?} for {path} (known types: {})",
            SettingType::names().collect::<Vec<_>>().join(", ")
        ))
    })
}

/// Brings one loaded object up to date with newly registered definitions.
fn apply_extension(class: &SettingsClass, state: &Mutex<ObjectState>, defs: &[(String, SettingDef)]) {
    let accepts = |def: &SettingDef, path: &str, v: Value| match v {
        Value::Null => def.nillable.then_some(Value::Null),
        v => def.ty.coerce(path, v).ok(),
    };
    // The object stays locked while its stored values are read (the order
    // `save` uses too), so a save cannot slip in between.
    let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
    let stored = stored_tree(class, &s.id).unwrap_or_default();
    for (path, def) in defs {
        let stored_value = match node_at(&stored, path) {
            Some(node) if !def.runtime => load_value(&s.id, path, def, node),
            _ => None,
        };
        let current = s.values.remove(path);
        let saved = s.saved.remove(path);
        let unsaved_change = (current != saved).then_some(current.clone());
        let new_saved = if def.runtime { saved.and_then(|v| accepts(def, path, v)) } else { stored_value };
        let new_value = match unsaved_change {
            Some(Some(v)) => accepts(def, path, v).or_else(|| new_saved.clone()),
            Some(None) => None,
            None => new_saved.clone(),
        };
        if let Some(v) = new_saved.filter(|v| *v != def.default) {
            s.saved.insert(path.clone(), v);
        }
        if let Some(v) = new_value.filter(|v| *v != def.default) {
            s.values.insert(path.clone(), v);
        }
    }
}

struct ObjectState {
    id: String,
    values: BTreeMap<String, Value>,
    saved: BTreeMap<String, Value>,
    is_new: bool,
    deleted: bool,
}

/// One settings object (a singleton like `SIPSimpleSettings` or one account).
pub struct SettingsObject {
    class: Arc<SettingsClass>,
    /// Shared with the class's list of live objects (for extensions).
    state: Arc<Mutex<ObjectState>>,
    sender: OnceLock<Handle>,
}

impl SettingsObject {
    /// Loads the object `id` of `class` from the configuration (state "new"
    /// if it is not stored yet). Values that fail to load keep their default
    /// and post `CFGManagerLoadFailed`.
    pub fn load(class: Arc<SettingsClass>, id: &str) -> SettingsObject {
        let mut live = class.live();
        let state = Arc::new(Mutex::new(read_state(&class, id)));
        live.retain(|w| w.strong_count() > 0);
        live.push(Arc::downgrade(&state));
        drop(live);
        SettingsObject { class, state, sender: OnceLock::new() }
    }

    /// Re-reads the object from the configuration (after the application
    /// restarted with another storage, say), dropping unsaved changes.
    pub fn reload(&self) {
        let id = self.id();
        // Held so that an extension registered meanwhile is not missed.
        let live = self.class.live();
        let state = read_state(&self.class, &id);
        *self.lock() = state;
        drop(live);
    }

    /// Sets the handle used as the sender of this object's notifications.
    pub fn set_sender(&self, sender: Handle) {
        let _ = self.sender.set(sender);
    }

    fn sender(&self) -> Value {
        self.sender.get().map(|h| Value::Object(*h)).unwrap_or(Value::Null)
    }

    fn lock(&self) -> MutexGuard<'_, ObjectState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The object's class.
    pub fn class(&self) -> &Arc<SettingsClass> {
        &self.class
    }

    /// The object's id (`alice@example.com`, `SIPSimpleSettings`...).
    pub fn id(&self) -> String {
        self.lock().id.clone()
    }

    /// True until the first `save()` stores the object.
    pub fn is_new(&self) -> bool {
        self.lock().is_new
    }

    /// True once `delete()` succeeded.
    pub fn is_deleted(&self) -> bool {
        self.lock().deleted
    }

    /// Whether `path` is a setting or a group of this object.
    pub fn path_kind(&self, path: &str) -> Option<PathKind> {
        let schema = self.class.schema();
        if path.is_empty() || schema.is_group(path) {
            Some(PathKind::Group)
        } else if schema.setting(path).is_some() {
            Some(PathKind::Setting)
        } else {
            None
        }
    }

    /// Names of the settings and groups directly under `group` (`""` = top).
    pub fn children(&self, group: &str) -> Vec<String> {
        self.class.schema().children(group)
    }

    fn def(&self, path: &str) -> Result<SettingDef> {
        let schema = self.class.schema();
        match schema.setting(path) {
            Some(d) => Ok(d.clone()),
            None if schema.is_group(path) => {
                Err(Error::InvalidArgument(format!("{path} is a settings group, not a setting")))
            }
            None => Err(Error::NotFound(format!("{} has no setting {path}", self.class.name))),
        }
    }

    /// The current value of a setting (its default when never set).
    pub fn get(&self, path: &str) -> Result<Value> {
        let def = self.def(path)?;
        Ok(self.lock().values.get(path).cloned().unwrap_or(def.default))
    }

    /// The value of a setting as last saved or loaded.
    pub fn saved_value(&self, path: &str) -> Result<Value> {
        let def = self.def(path)?;
        Ok(self.lock().saved.get(path).cloned().unwrap_or(def.default))
    }

    /// Sets a setting after validating it. `None` is accepted only by nillable
    /// settings. The change is stored and announced on `save()`.
    pub fn set(&self, path: &str, value: Value) -> Result<()> {
        let def = self.def(path)?;
        let value = match value {
            Value::Null if def.nillable => Value::Null,
            Value::Null => return Err(Error::setting(path, "None is not allowed")),
            v => def.ty.coerce(path, v).map_err(|e| {
                if is_secret(path) { Error::setting(path, "value refused (secret values are never shown)") } else { e }
            })?,
        };
        let sibling = self.class.schema().distinct_sibling(path).map(str::to_owned);
        let mut s = self.lock();
        if s.deleted {
            return Err(Error::InvalidState(format!("{} {} has been deleted", self.class.name, s.id)));
        }
        if let Some(sibling) = sibling {
            let other = s.values.get(&sibling).cloned().unwrap_or(Value::Int(0));
            if value != Value::Int(0) && value == other {
                return Err(Error::setting(path, format!("must differ from {sibling} (both are {value:?})")));
            }
        }
        if value == def.default {
            s.values.remove(path);
        } else {
            s.values.insert(path.to_owned(), value);
        }
        Ok(())
    }

    /// Resets a setting to its default (the original's `DefaultValue`).
    pub fn reset(&self, path: &str) -> Result<()> {
        self.def(path)?;
        self.lock().values.remove(path);
        Ok(())
    }

    /// Undoes unsaved changes.
    pub fn revert(&self) {
        let mut s = self.lock();
        s.values = s.saved.clone();
    }

    /// Unsaved changes: setting path → old (saved) and new value.
    pub fn pending_changes(&self) -> BTreeMap<String, ModifiedValue> {
        let s = self.lock();
        let schema = self.class.schema();
        let mut out = BTreeMap::new();
        for path in s.values.keys().chain(s.saved.keys()) {
            let default = schema.setting(path).map(|d| d.default.clone()).unwrap_or_default();
            let old = s.saved.get(path).cloned().unwrap_or_else(|| default.clone());
            let new = s.values.get(path).cloned().unwrap_or(default);
            if old != new {
                out.insert(path.clone(), ModifiedValue { old, new });
            }
        }
        out
    }

    /// Stores the object and posts `CFGSettingsObjectWasCreated` (first save)
    /// or `CFGSettingsObjectDidChange` (with `modified`). Returns what changed.
    /// If writing fails, `CFGManagerSaveFailed` is posted, the error returned
    /// and the changes stay pending so a later `save()` retries them.
    pub fn save(&self) -> Result<SaveOutcome> {
        let manager = ConfigurationManager::instance();
        let mut s = self.lock();
        if s.deleted {
            return Err(Error::InvalidState(format!("{} {} has been deleted", self.class.name, s.id)));
        }
        drop(s);
        let modified = self.pending_changes();
        s = self.lock();
        let created = s.is_new;
        if !created && modified.is_empty() {
            return Ok(SaveOutcome { created: false, modified });
        }
        let schema = self.class.schema();
        let only_runtime = !created && modified.keys().all(|p| schema.setting(p).is_some_and(|d| d.runtime));
        if !only_runtime {
            let key = object_key(&self.class, &s.id);
            let key_refs: Vec<&str> = key.iter().map(String::as_str).collect();
            // Keep whatever is stored that this schema does not know (settings
            // of extensions not registered in this run): no data is lost.
            let mut tree = match manager.get(&key_refs) {
                Ok(ConfigNode::Group(g)) => g,
                Ok(_) | Err(Error::NotFound(_)) => ConfigTree::new(),
                Err(e) => return Err(e),
            };
            for (path, def) in schema.settings() {
                remove_at(&mut tree, path);
                if let Some(v) = s.values.get(path).filter(|_| !def.runtime) {
                    insert_at(&mut tree, path, def.ty.to_storage(v));
                }
            }
            manager.update(&key_refs, tree)?;
            if let Err(e) = manager.save() {
                drop(schema);
                drop(s);
                self.post(n::CFGManagerSaveFailed {
                    object: self.sender(),
                    operation: "save".into(),
                    modified: modified_value(&modified),
                    exception: e.to_string(),
                });
                return Err(e);
            }
        }
        drop(schema);
        s.saved = s.values.clone();
        s.is_new = false;
        drop(s);
        if created {
            self.post(n::CFGSettingsObjectWasCreated {});
        } else {
            self.post(n::CFGSettingsObjectDidChange { modified: modified_value(&modified) });
        }
        Ok(SaveOutcome { created, modified })
    }

    /// Removes the object from the configuration and posts
    /// `CFGSettingsObjectWasDeleted`. Singletons refuse.
    pub fn delete(&self) -> Result<()> {
        if self.class.group.is_none() {
            return Err(Error::InvalidState(format!("{} cannot be deleted", self.class.name)));
        }
        let manager = ConfigurationManager::instance();
        let mut s = self.lock();
        if s.deleted {
            return Ok(());
        }
        let key = object_key(&self.class, &s.id);
        let key_refs: Vec<&str> = key.iter().map(String::as_str).collect();
        if !s.is_new {
            manager.delete(&key_refs)?;
            if let Err(e) = manager.save() {
                drop(s);
                self.post(n::CFGManagerSaveFailed {
                    object: self.sender(),
                    operation: "delete".into(),
                    modified: Value::Map(BTreeMap::new()),
                    exception: e.to_string(),
                });
                return Err(e);
            }
        }
        s.deleted = true;
        drop(s);
        self.post(n::CFGSettingsObjectWasDeleted {});
        Ok(())
    }

    fn post<N: TypedNotification>(&self, notification: N) {
        NotificationCenter::default_center().post(self.sender(), notification);
    }
}

/// The stored group of the object `id`, if it is stored.
fn stored_tree(class: &SettingsClass, id: &str) -> Option<ConfigTree> {
    let key = object_key(class, id);
    let key_refs: Vec<&str> = key.iter().map(String::as_str).collect();
    match ConfigurationManager::instance().get(&key_refs) {
        Ok(ConfigNode::Group(g)) => Some(g),
        _ => None,
    }
}

/// Reads one stored value with its definition. A value that does not load
/// is ignored (the setting keeps its default) and `CFGManagerLoadFailed`
/// is posted.
fn load_value(id: &str, path: &str, def: &SettingDef, node: &ConfigNode) -> Option<Value> {
    let loaded = match def.ty.from_storage(path, node) {
        Ok(Value::Null) if !def.nillable => Err(Error::setting(path, "None is not allowed")),
        Err(_) if is_secret(path) => Err(Error::setting(path, "stored value refused (secret values are never shown)")),
        other => other,
    };
    match loaded {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(object = %id, "ignoring stored setting: {e}");
            NotificationCenter::default_center().post(
                ConfigurationManager::instance().handle(),
                n::CFGManagerLoadFailed { attribute: path.into(), container: id.into(), error: e.to_string() },
            );
            None
        }
    }
}

fn read_state(class: &SettingsClass, id: &str) -> ObjectState {
    let (stored, is_new) = match stored_tree(class, id) {
        Some(g) => (g, false),
        None => (ConfigTree::new(), true),
    };
    let mut values = BTreeMap::new();
    for (path, def) in class.schema().settings() {
        if def.runtime {
            continue;
        }
        let Some(node) = node_at(&stored, path) else { continue };
        if let Some(v) = load_value(id, path, def, node).filter(|v| *v != def.default) {
            values.insert(path.to_owned(), v);
        }
    }
    ObjectState { id: id.to_owned(), saved: values.clone(), values, is_new, deleted: false }
}

/// What a `save()` did.
#[derive(Debug, Default)]
pub struct SaveOutcome {
    /// The object was stored for the first time.
    pub created: bool,
    /// Settings that changed (empty on creation).
    pub modified: BTreeMap<String, ModifiedValue>,
}

/// `modified` as notification data: path → `{old, new}`.
pub fn modified_value(modified: &BTreeMap<String, ModifiedValue>) -> Value {
    Value::Map(
        modified
            .iter()
            .map(|(k, m)| {
                (
                    k.clone(),
                    Value::Map(BTreeMap::from([("old".to_owned(), m.old.clone()), ("new".to_owned(), m.new.clone())])),
                )
            })
            .collect(),
    )
}

/// Settings whose values must never appear in errors or logs.
pub fn is_secret(path: &str) -> bool {
    path.rsplit('.').next().is_some_and(|last| last == "password" || last.ends_with("_key") || last == "ha1")
}

fn object_key(class: &SettingsClass, id: &str) -> Vec<String> {
    match class.group {
        Some(g) => vec![g.to_owned(), id.to_owned()],
        None => vec![id.to_owned()],
    }
}

fn node_at<'a>(tree: &'a ConfigTree, path: &str) -> Option<&'a ConfigNode> {
    let mut parts = path.split('.').peekable();
    let mut tree = tree;
    while let Some(part) = parts.next() {
        let node = tree.get(part)?;
        if parts.peek().is_none() {
            return Some(node);
        }
        match node {
            ConfigNode::Group(g) => tree = g,
            _ => return None,
        }
    }
    None
}

fn insert_at(tree: &mut ConfigTree, path: &str, node: ConfigNode) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut tree = tree;
    for part in parts {
        let entry = tree.entry(part.to_owned()).or_insert_with(|| ConfigNode::Group(ConfigTree::new()));
        if !matches!(entry, ConfigNode::Group(_)) {
            *entry = ConfigNode::Group(ConfigTree::new());
        }
        let ConfigNode::Group(g) = entry else { return };
        tree = g;
    }
    tree.insert(last.to_owned(), node);
}

/// Removes a setting and prunes the groups it leaves empty.
fn remove_at(tree: &mut ConfigTree, path: &str) {
    match path.split_once('.') {
        None => {
            tree.remove(path);
        }
        Some((head, rest)) => {
            if let Some(ConfigNode::Group(g)) = tree.get_mut(head) {
                remove_at(g, rest);
                if g.is_empty() {
                    tree.remove(head);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::NotificationRecorder;
    use crate::storage::MemoryBackend;
    use std::time::Duration;

    /// Serializes the tests that start the (process-wide) manager.
    static MANAGER: Mutex<()> = Mutex::new(());

    fn class(name: &'static str) -> Arc<SettingsClass> {
        SettingsClass::new(name, Some(name), schema::bonjour_account())
    }

    fn scalar(text: &str) -> ConfigNode {
        ConfigNode::Scalar(Some(text.to_owned()))
    }

    fn group(entries: &[(&str, ConfigNode)]) -> ConfigNode {
        ConfigNode::Group(entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    /// Starts the manager on a memory backend holding `tree`.
    fn start_with(tree: ConfigTree) -> Arc<MemoryBackend> {
        let backend = Arc::new(MemoryBackend::default());
        backend.save(&tree).unwrap();
        ConfigurationManager::instance().start(backend.clone()).unwrap();
        backend
    }

    fn stored(backend: &MemoryBackend, key: &[&str]) -> Option<ConfigNode> {
        let tree = backend.load().unwrap();
        let mut node = tree.get(key[0])?.clone();
        for part in &key[1..] {
            let ConfigNode::Group(g) = node else { return None };
            node = g.get(*part)?.clone();
        }
        Some(node)
    }

    #[test]
    fn definitions_are_validated() {
        let c = class("ValidationTests");
        let e = c.register_setting("gui.theme", "bool", Value::from("dark"), false).unwrap_err();
        assert!(matches!(&e, Error::InvalidSetting { setting, .. } if setting == "gui.theme"), "{e}");
        let e = c.register_setting("gui.theme", "str", Value::Null, false).unwrap_err();
        assert!(matches!(&e, Error::InvalidSetting { setting, .. } if setting == "gui.theme"), "{e}");
        let e = c.register_setting("gui.theme", "colour", Value::from("dark"), false).unwrap_err();
        assert!(matches!(&e, Error::InvalidArgument(m) if m.contains("colour") && m.contains("gui.theme")), "{e}");
        let e = c.register_setting("sip", "str", Value::from("x"), false).unwrap_err();
        assert!(matches!(&e, Error::InvalidArgument(m) if m.contains("group")), "a group is not a setting: {e}");
        let e = c.register_setting("enabled.more", "str", Value::from("x"), false).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "a setting has no children: {e}");
        assert!(c.register_setting("gui..theme", "str", Value::from("x"), false).is_err());
        assert!(c.register_setting("_private", "str", Value::from("x"), false).is_err());
        let e = c.register_setting("gui.api_key", "int", Value::from("s3cret-value"), false).unwrap_err();
        assert!(!e.to_string().contains("s3cret-value"), "secret defaults are not shown: {e}");
        assert!(c.schema().setting("gui.theme").is_none() && !c.schema().is_group("gui"), "nothing was added");

        // All or nothing.
        let mut ext = SettingsExtension::new();
        ext.setting("gui.theme", SettingType::Str, Value::from("dark"), false).group("gui.empty").setting(
            "gui.size",
            SettingType::Port,
            Value::Int(70000),
            false,
        );
        assert!(c.register(&ext).is_err());
        assert!(c.schema().setting("gui.theme").is_none() && !c.schema().is_group("gui.empty"));

        // Defaults are normalised; nillable settings may default to None.
        c.register_setting("media.ports", "port_range", Value::from("40000-40100"), false).unwrap();
        assert_eq!(c.schema().setting("media.ports").unwrap().default, datatypes::port_range(40000, 40100));
        c.register_setting("media.relay", "msrp_relay_address", Value::Null, true).unwrap();
        let mut ext = SettingsExtension::new();
        ext.group("gui.windows.main");
        c.register(&ext).unwrap();
        assert_eq!(c.schema().children("gui"), ["windows"]);

        // Overriding replaces the definition, built-in settings included.
        c.register_setting("media.ports", "str", Value::from("any"), false).unwrap();
        assert_eq!(c.schema().setting("media.ports").unwrap().ty, SettingType::Str);
        c.register_setting("sip.transport", "sip_transport", Value::from("tls"), false).unwrap();
        assert_eq!(c.schema().setting("sip.transport").unwrap().default, Value::from("tls"));
    }

    #[test]
    fn loaded_objects_see_new_settings_and_stored_values() {
        let _serial = MANAGER.lock().unwrap_or_else(PoisonError::into_inner);
        let c = class("LiveTests");
        let tree: ConfigTree = [(
            "LiveTests".to_owned(),
            group(&[(
                "stored@example.com",
                group(&[
                    ("enabled", scalar("false")),
                    ("gui", group(&[("theme", scalar("light")), ("font_size", scalar("not a number"))])),
                    ("extra", group(&[("count", scalar("7"))])),
                    ("unknown", scalar("kept")),
                ]),
            )]),
        )]
        .into();
        let backend = start_with(tree);
        let recorder = NotificationRecorder::new();
        let nc = NotificationCenter::default_center();
        nc.add_observer(recorder.clone(), Some("CFGManagerLoadFailed"), None);

        let stored_object = SettingsObject::load(c.clone(), "stored@example.com");
        let new_object = SettingsObject::load(c.clone(), "new@example.com");
        assert!(!stored_object.is_new() && new_object.is_new());
        assert!(matches!(stored_object.get("gui.theme"), Err(Error::NotFound(_))));
        // Objects that are gone are forgotten.
        drop(SettingsObject::load(c.clone(), "gone@example.com"));

        let mut ext = SettingsExtension::new();
        ext.setting("gui.theme", SettingType::Str, Value::from("dark"), false)
            .setting("gui.font_size", SettingType::Int { min: 1, max: 72 }, Value::Int(12), false)
            .setting("extra.count", SettingType::Int { min: 0, max: i64::MAX }, Value::Int(0), false);
        c.register(&ext).unwrap();
        assert_eq!(c.live().len(), 2, "the dropped object was pruned");

        assert_eq!(stored_object.get("gui.theme").unwrap(), Value::from("light"), "stored value picked up");
        assert_eq!(stored_object.get("extra.count").unwrap(), Value::Int(7));
        assert_eq!(stored_object.get("gui.font_size").unwrap(), Value::Int(12), "a refused value keeps the default");
        let failed = recorder.wait_for("CFGManagerLoadFailed", Duration::from_secs(10)).expect("CFGManagerLoadFailed");
        assert_eq!(failed.data.get("attribute"), Some(&Value::from("gui.font_size")));
        assert!(stored_object.pending_changes().is_empty(), "picking up stored values is not a change");
        assert_eq!(new_object.get("gui.theme").unwrap(), Value::from("dark"));
        assert_eq!(stored_object.children("gui"), ["font_size", "theme"]);

        // Saving writes the new settings and keeps what is still unknown.
        stored_object.set("gui.theme", Value::from("blue")).unwrap();
        let outcome = stored_object.save().unwrap();
        assert_eq!(outcome.modified.keys().collect::<Vec<_>>(), ["gui.theme"]);
        let key = ["LiveTests", "stored@example.com"];
        assert_eq!(stored(&backend, &[&key[..], &["gui", "theme"]].concat()), Some(scalar("blue")));
        assert_eq!(stored(&backend, &[&key[..], &["unknown"]].concat()), Some(scalar("kept")));
        assert_eq!(stored(&backend, &[&key[..], &["extra", "count"]].concat()), Some(scalar("7")));

        // An object loaded later uses the extended schema.
        let again = SettingsObject::load(c.clone(), "stored@example.com");
        assert_eq!(again.get("gui.theme").unwrap(), Value::from("blue"));

        // Overriding: the stored value is re-read with the new type, an
        // unsaved change is kept if the new type accepts it.
        new_object.set("gui.font_size", Value::Int(14)).unwrap();
        stored_object.set("extra.count", Value::Int(9)).unwrap();
        let mut ext = SettingsExtension::new();
        ext.setting("gui.font_size", SettingType::Int { min: 1, max: 100 }, Value::Int(10), false)
            .setting("extra.count", SettingType::Str, Value::from("none"), false)
            .setting("gui.theme", SettingType::Enum(&["dark", "light"]), Value::from("dark"), false);
        c.register(&ext).unwrap();
        assert_eq!(new_object.get("gui.font_size").unwrap(), Value::Int(14), "unsaved change kept");
        assert_eq!(stored_object.get("extra.count").unwrap(), Value::from("7"), "refused change dropped");
        assert_eq!(stored_object.saved_value("extra.count").unwrap(), Value::from("7"), "stored value re-read");
        assert_eq!(stored_object.get("gui.theme").unwrap(), Value::from("dark"), "blue is refused now");

        nc.discard_observer(&*recorder, Some("CFGManagerLoadFailed"), None);
        ConfigurationManager::instance().stop();
    }

    #[test]
    fn extensions_registered_before_start_apply_on_reload() {
        let _serial = MANAGER.lock().unwrap_or_else(PoisonError::into_inner);
        let c = SettingsClass::new("ReloadTests", None, schema::sipsimple_settings());
        // Loaded before the configuration is (as SIPSimpleSettings is).
        let object = SettingsObject::load(c.clone(), "ReloadTests");
        c.register_setting("logs.trace_notifications", "bool", Value::Bool(false), false).unwrap();
        assert_eq!(object.get("logs.trace_notifications").unwrap(), Value::Bool(false));
        let tree: ConfigTree =
            [("ReloadTests".to_owned(), group(&[("logs", group(&[("trace_notifications", scalar("yes"))]))]))].into();
        let _backend = start_with(tree);
        object.reload();
        assert_eq!(object.get("logs.trace_notifications").unwrap(), Value::Bool(true));
        ConfigurationManager::instance().stop();
    }
}
