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
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};

use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::notification::{NotificationCenter, NotificationData};
use crate::storage::{ConfigNode, ConfigTree, ConfigurationBackend};
use crate::value::Value;
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
pub struct SettingsClass {
    /// Class name, e.g. `Account`.
    pub name: &'static str,
    /// Tree group the objects live under (`Accounts`), or `None` for a top-level singleton.
    pub group: Option<&'static str>,
    schema: RwLock<Schema>,
}

impl SettingsClass {
    /// A class with the given schema.
    pub fn new(name: &'static str, group: Option<&'static str>, schema: Schema) -> Arc<Self> {
        Arc::new(SettingsClass { name, group, schema: RwLock::new(schema) })
    }
    /// Reads the schema.
    pub fn schema(&self) -> std::sync::RwLockReadGuard<'_, Schema> {
        self.schema.read().unwrap_or_else(PoisonError::into_inner)
    }
    /// Adds a setting to the class (`register_extension`).
    pub fn register_extension(&self, path: &str, def: SettingDef) -> Result<()> {
        if let Some(d) = def.default.clone().into_option() {
            def.ty.coerce(path, d)?;
        }
        self.schema.write().unwrap_or_else(PoisonError::into_inner).add_def(path, def)
    }
}

trait IntoOption {
    fn into_option(self) -> Option<Value>;
}
impl IntoOption for Value {
    fn into_option(self) -> Option<Value> {
        if self == Value::Null { None } else { Some(self) }
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
    state: Mutex<ObjectState>,
    sender: OnceLock<Handle>,
}

impl SettingsObject {
    /// Loads the object `id` of `class` from the configuration (state "new"
    /// if it is not stored yet). Values that fail to load keep their default
    /// and post `CFGManagerLoadFailed`.
    pub fn load(class: Arc<SettingsClass>, id: &str) -> SettingsObject {
        let state = read_state(&class, id);
        SettingsObject { class, state: Mutex::new(state), sender: OnceLock::new() }
    }

    /// Re-reads the object from the configuration (after the application
    /// restarted with another storage, say), dropping unsaved changes.
    pub fn reload(&self) {
        let id = self.id();
        let state = read_state(&self.class, &id);
        *self.lock() = state;
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
        let mut s = self.lock();
        if s.deleted {
            return Err(Error::InvalidState(format!("{} {} has been deleted", self.class.name, s.id)));
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
                self.post(
                    "CFGManagerSaveFailed",
                    NotificationData::new()
                        .with("object", self.sender())
                        .with("operation", "save")
                        .with("modified", modified_value(&modified))
                        .with("exception", e.to_string()),
                );
                return Err(e);
            }
        }
        drop(schema);
        s.saved = s.values.clone();
        s.is_new = false;
        drop(s);
        if created {
            self.post("CFGSettingsObjectWasCreated", NotificationData::new());
        } else {
            self.post(
                "CFGSettingsObjectDidChange",
                NotificationData::new().with("modified", modified_value(&modified)),
            );
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
                self.post(
                    "CFGManagerSaveFailed",
                    NotificationData::new()
                        .with("object", self.sender())
                        .with("operation", "delete")
                        .with("modified", Value::Map(BTreeMap::new()))
                        .with("exception", e.to_string()),
                );
                return Err(e);
            }
        }
        s.deleted = true;
        drop(s);
        self.post("CFGSettingsObjectWasDeleted", NotificationData::new());
        Ok(())
    }

    fn post(&self, name: &str, data: NotificationData) {
        NotificationCenter::default_center().post_notification(name, self.sender(), data);
    }
}

fn read_state(class: &SettingsClass, id: &str) -> ObjectState {
    let key = object_key(class, id);
    let key_refs: Vec<&str> = key.iter().map(String::as_str).collect();
    let (stored, is_new) = match ConfigurationManager::instance().get(&key_refs) {
        Ok(ConfigNode::Group(g)) => (g, false),
        _ => (ConfigTree::new(), true),
    };
    let mut values = BTreeMap::new();
    for (path, def) in class.schema().settings() {
        if def.runtime {
            continue;
        }
        let Some(node) = node_at(&stored, path) else { continue };
        let loaded = match def.ty.from_storage(path, node) {
            Ok(Value::Null) if !def.nillable => Err(Error::setting(path, "None is not allowed")),
            other => other,
        };
        match loaded {
            Ok(v) if v == def.default => {}
            Ok(v) => {
                values.insert(path.to_owned(), v);
            }
            Err(e) => {
                tracing::warn!(object = %id, "ignoring stored setting: {e}");
                NotificationCenter::default_center().post_notification(
                    "CFGManagerLoadFailed",
                    Value::Object(ConfigurationManager::instance().handle()),
                    NotificationData::new().with("attribute", path).with("container", id).with("error", e.to_string()),
                );
            }
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
