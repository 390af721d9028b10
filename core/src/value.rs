//! Dynamic values carried by notification data and settings.
//!
//! Notifications are built in Rust from typed fields, but every language edge
//! sees them the same way: a map of field name → [`Value`]. Object references
//! (an account, the application...) stay handles so observers can compare them
//! with the objects they hold.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::handle::Handle;

/// A value a binding attached itself (a Python object, say). The core never
/// looks inside; it only keeps it alive and compares identities.
pub trait ForeignObject: Any + Send + Sync {
    /// A stable identity while the object is alive (e.g. the object's address).
    fn identity(&self) -> usize;
    /// Text used when the value has to be shown as JSON.
    fn describe(&self) -> String;
    /// Access for the binding that created the value.
    fn as_any(&self) -> &dyn Any;
}

/// One dynamic value.
#[derive(Clone, Default)]
pub enum Value {
    /// No value (`None` in Python, `null` in JSON).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A text string.
    String(String),
    /// A moment in time (the `timestamp` field).
    Timestamp(SystemTime),
    /// Raw bytes (file data, RFB data, binary message content); shared, so
    /// that posting a notification does not copy them.
    Bytes(Arc<[u8]>),
    /// An ordered list.
    List(Vec<Value>),
    /// A map with text keys.
    Map(BTreeMap<String, Value>),
    /// A handle to a core object (account, application, ...).
    Object(Handle),
    /// A value owned by a language binding.
    Foreign(Arc<dyn ForeignObject>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "None"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Timestamp(t) => write!(f, "{}", unix_seconds(*t)),
            Value::Bytes(b) => write!(f, "<{} bytes>", b.len()),
            Value::List(l) => f.debug_list().entries(l).finish(),
            Value::Map(m) => f.debug_map().entries(m).finish(),
            Value::Object(h) => write!(f, "{h:?}"),
            Value::Foreign(o) => write!(f, "{}", o.describe()),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => a == b,
            (Value::Foreign(a), Value::Foreign(b)) => a.identity() == b.identity(),
            _ => false,
        }
    }
}

/// Seconds since the Unix epoch as a float (the original's `time()`).
pub fn unix_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

impl Value {
    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// The number as a float, if this is a float or an integer.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    /// The handle, if this is an object reference.
    pub fn as_object(&self) -> Option<Handle> {
        match self {
            Value::Object(h) => Some(*h),
            _ => None,
        }
    }
    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
    /// The map, if this is one.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// JSON form used at the C and uniffi edges. Handles become
    /// `{"handle": <id>, "type": "<kind>"}`; timestamps become float seconds.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(x) => serde_json::Number::from_f64(*x).map(J::Number).unwrap_or(J::Null),
            Value::String(s) => J::String(s.clone()),
            Value::Timestamp(t) => serde_json::Number::from_f64(unix_seconds(*t)).map(J::Number).unwrap_or(J::Null),
            Value::Bytes(b) => J::String(crate::base64::encode(b)),
            Value::List(l) => J::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Value::Object(h) => handle_json(*h),
            Value::Foreign(o) => J::String(o.describe()),
        }
    }

    /// Builds a value from JSON (as sent by an application through C or uniffi).
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::String(s.clone()),
            J::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            J::Object(o) => Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect()),
        }
    }
}

fn handle_json(h: Handle) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("handle".into(), serde_json::Value::from(h.raw()));
    m.insert("type".into(), serde_json::Value::from(h.kind().name()));
    if let Some(label) = crate::handle::label(h) {
        m.insert("id".into(), serde_json::Value::from(label));
    }
    serde_json::Value::Object(m)
}

macro_rules! value_from {
    ($($t:ty => $v:ident),* $(,)?) => {$(
        impl From<$t> for Value { fn from(x: $t) -> Self { Value::$v(x.into()) } }
    )*};
}
value_from!(bool => Bool, i64 => Int, i32 => Int, u32 => Int, u16 => Int, f64 => Float, String => String, &str => String, Handle => Object);

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(x: Option<T>) -> Self {
        x.map(Into::into).unwrap_or(Value::Null)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(x: Vec<T>) -> Self {
        Value::List(x.into_iter().map(Into::into).collect())
    }
}
