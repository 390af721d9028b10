//! Generation-checked handles for every object the API hands out.
//!
//! A [`Handle`] is a 64-bit value: object kind (8 bits), generation (24 bits)
//! and slot index (32 bits). The global table maps it back to the object. When
//! an object goes away its slot's generation moves on, so an old handle is
//! recognised as stale instead of reaching a different object.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::{Error, Result};

/// What kind of object a handle refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum ObjectKind {
    /// The `SIPApplication` singleton.
    Application = 1,
    /// A `NotificationCenter`.
    NotificationCenter = 2,
    /// An observer registration made through a language edge.
    Observer = 3,
    /// A pull queue of notifications (C run-loop integration).
    NotificationQueue = 4,
    /// A `MemoryStorage` or `FileStorage`.
    Storage = 5,
    /// The `AccountManager` singleton.
    AccountManager = 6,
    /// An `Account`.
    Account = 7,
    /// The `BonjourAccount` singleton.
    BonjourAccount = 8,
    /// A singleton settings object such as `SIPSimpleSettings`.
    Settings = 9,
    /// The `ConfigurationManager` singleton.
    ConfigurationManager = 10,
    /// A `DNSLookup`.
    DnsLookup = 11,
    /// The `DNSManager` singleton.
    DnsManager = 12,
    /// The SIP engine (transports, transactions).
    Engine = 13,
    /// A paging-mode `Message` (SIP MESSAGE request).
    Message = 14,
    /// An INVITE `Session`.
    Session = 15,
    /// An `AudioStream` (RTP audio media stream of a session).
    AudioStream = 16,
    /// A mixer on a sound device (`AudioMixer`): the application's voice
    /// and alert mixers.
    AudioMixer = 17,
    /// An `AudioDevice` (a mixer's sound device as a port).
    AudioDevice = 18,
    /// An `AudioBridge`.
    AudioBridge = 19,
    /// A `WavePlayer`.
    WavePlayer = 20,
    /// A `WaveRecorder`.
    WaveRecorder = 21,
    /// An `AudioConference`.
    AudioConference = 22,
    /// A `ChatStream` (MSRP chat media stream of a session).
    ChatStream = 23,
    /// A `FileTransferStream` (MSRP file transfer media stream of a session).
    FileTransferStream = 24,
    /// A `DesktopSharingStream` (RFB over MSRP media stream of a session).
    DesktopSharingStream = 25,
    /// A desktop sharing handler (`InternalVNCViewerHandler`,
    /// `InternalVNCServerHandler`, `ExternalVNCViewerHandler`,
    /// `ExternalVNCServerHandler`).
    DesktopSharingHandler = 26,
}

impl ObjectKind {
    /// The class name the original middleware uses for this kind.
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Application => "SIPApplication",
            ObjectKind::NotificationCenter => "NotificationCenter",
            ObjectKind::Observer => "Observer",
            ObjectKind::NotificationQueue => "NotificationQueue",
            ObjectKind::Storage => "Storage",
            ObjectKind::AccountManager => "AccountManager",
            ObjectKind::Account => "Account",
            ObjectKind::BonjourAccount => "BonjourAccount",
            ObjectKind::Settings => "SIPSimpleSettings",
            ObjectKind::ConfigurationManager => "ConfigurationManager",
            ObjectKind::DnsLookup => "DNSLookup",
            ObjectKind::DnsManager => "DNSManager",
            ObjectKind::Engine => "Engine",
            ObjectKind::Message => "Message",
            ObjectKind::Session => "Session",
            ObjectKind::AudioStream => "AudioStream",
            ObjectKind::AudioMixer => "AudioMixer",
            ObjectKind::AudioDevice => "AudioDevice",
            ObjectKind::AudioBridge => "AudioBridge",
            ObjectKind::WavePlayer => "WavePlayer",
            ObjectKind::WaveRecorder => "WaveRecorder",
            ObjectKind::AudioConference => "AudioConference",
            ObjectKind::ChatStream => "ChatStream",
            ObjectKind::FileTransferStream => "FileTransferStream",
            ObjectKind::DesktopSharingStream => "DesktopSharingStream",
            ObjectKind::DesktopSharingHandler => "DesktopSharingHandler",
        }
    }

    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => ObjectKind::Application,
            2 => ObjectKind::NotificationCenter,
            3 => ObjectKind::Observer,
            4 => ObjectKind::NotificationQueue,
            5 => ObjectKind::Storage,
            6 => ObjectKind::AccountManager,
            7 => ObjectKind::Account,
            8 => ObjectKind::BonjourAccount,
            9 => ObjectKind::Settings,
            10 => ObjectKind::ConfigurationManager,
            11 => ObjectKind::DnsLookup,
            12 => ObjectKind::DnsManager,
            13 => ObjectKind::Engine,
            14 => ObjectKind::Message,
            15 => ObjectKind::Session,
            16 => ObjectKind::AudioStream,
            17 => ObjectKind::AudioMixer,
            18 => ObjectKind::AudioDevice,
            19 => ObjectKind::AudioBridge,
            20 => ObjectKind::WavePlayer,
            21 => ObjectKind::WaveRecorder,
            22 => ObjectKind::AudioConference,
            23 => ObjectKind::ChatStream,
            24 => ObjectKind::FileTransferStream,
            25 => ObjectKind::DesktopSharingStream,
            26 => ObjectKind::DesktopSharingHandler,
            _ => return None,
        })
    }
}

/// A generation-checked reference to a core object. `0` is never valid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(u64);

impl Handle {
    /// The raw 64-bit value (what C and the bindings carry).
    pub fn raw(self) -> u64 {
        self.0
    }
    /// Rebuilds a handle from its raw value. Validity is checked on use.
    pub fn from_raw(raw: u64) -> Handle {
        Handle(raw)
    }
    /// The kind encoded in the handle, `None` if the value is garbage.
    pub fn try_kind(self) -> Option<ObjectKind> {
        ObjectKind::from_u8((self.0 >> 56) as u8)
    }
    /// The kind encoded in the handle (panics never: garbage maps to Observer
    /// only through `try_kind`; this is for handles the core made itself).
    pub fn kind(self) -> ObjectKind {
        self.try_kind().unwrap_or(ObjectKind::Observer)
    }
    fn generation(self) -> u32 {
        ((self.0 >> 32) & 0x00ff_ffff) as u32
    }
    fn index(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.try_kind(), label(*self)) {
            (Some(k), Some(l)) => write!(f, "{}(id={l:?})", k.name()),
            (Some(k), None) => write!(f, "{}(handle={:#x})", k.name(), self.0),
            (None, _) => write!(f, "Handle({:#x})", self.0),
        }
    }
}

struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

struct Entry {
    kind: ObjectKind,
    object: Arc<dyn Any + Send + Sync>,
    label: Option<String>,
}

struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

static TABLE: Mutex<Table> = Mutex::new(Table { slots: Vec::new(), free: Vec::new() });

fn table() -> MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers `object` and returns its new handle. `label` is shown in debug
/// output and JSON (an account's SIP id, for instance).
pub fn register<T: Any + Send + Sync>(kind: ObjectKind, object: Arc<T>, label: Option<String>) -> Handle {
    let mut t = table();
    let index = match t.free.pop() {
        Some(i) => i,
        None => {
            t.slots.push(Slot { generation: 0, entry: None });
            t.slots.len() - 1
        }
    };
    let slot = &mut t.slots[index];
    slot.generation = (slot.generation % 0x00ff_ffff) + 1;
    slot.entry = Some(Entry { kind, object, label });
    Handle(((kind as u64) << 56) | ((slot.generation as u64) << 32) | index as u64)
}

/// Makes `handle` stale. Releasing an already stale handle is an error.
pub fn release(handle: Handle) -> Result<()> {
    let mut t = table();
    let index = handle.index();
    match t.slots.get_mut(index) {
        Some(slot)
            if slot.generation == handle.generation()
                && slot.entry.as_ref().is_some_and(|e| Some(e.kind) == handle.try_kind()) =>
        {
            slot.entry = None;
            t.free.push(index);
            Ok(())
        }
        _ => Err(Error::InvalidHandle("stale or unknown handle".into())),
    }
}

/// Resolves `handle` to an object of type `T` registered as `kind`.
pub fn resolve<T: Any + Send + Sync>(handle: Handle, kind: ObjectKind) -> Result<Arc<T>> {
    let object = resolve_any(handle)?;
    let actual = handle.try_kind();
    if actual != Some(kind) {
        return Err(Error::InvalidHandle(format!(
            "handle refers to {}, expected {}",
            actual.map(ObjectKind::name).unwrap_or("nothing"),
            kind.name()
        )));
    }
    object.downcast::<T>().map_err(|_| Error::InvalidHandle(format!("handle is not a {}", kind.name())))
}

/// Resolves `handle` to its object, whatever its kind.
pub fn resolve_any(handle: Handle) -> Result<Arc<dyn Any + Send + Sync>> {
    if handle.0 == 0 {
        return Err(Error::InvalidHandle("NULL handle".into()));
    }
    let t = table();
    match t.slots.get(handle.index()) {
        Some(Slot { generation, entry: Some(e) })
            if *generation == handle.generation() && Some(e.kind) == handle.try_kind() =>
        {
            Ok(e.object.clone())
        }
        _ => Err(Error::InvalidHandle("stale or unknown handle".into())),
    }
}

/// True while `handle` refers to a live object.
pub fn is_live(handle: Handle) -> bool {
    resolve_any(handle).is_ok()
}

/// The label given at registration (or later), if the handle is live.
pub fn label(handle: Handle) -> Option<String> {
    let t = table();
    match t.slots.get(handle.index()) {
        Some(Slot { generation, entry: Some(e) }) if *generation == handle.generation() => e.label.clone(),
        _ => None,
    }
}

/// Changes the label of a live handle.
pub fn set_label(handle: Handle, new_label: Option<String>) {
    let mut t = table();
    if let Some(Slot { generation, entry: Some(e) }) = t.slots.get_mut(handle.index())
        && *generation == handle.generation()
    {
        e.label = new_label;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_and_wrong_kind_handles_are_errors() {
        let h = register(ObjectKind::Storage, Arc::new(5u32), None);
        assert_eq!(*resolve::<u32>(h, ObjectKind::Storage).unwrap(), 5);
        assert!(resolve::<u32>(h, ObjectKind::Account).is_err());
        assert!(resolve::<String>(h, ObjectKind::Storage).is_err());
        release(h).unwrap();
        assert!(resolve::<u32>(h, ObjectKind::Storage).is_err());
        assert!(release(h).is_err());
        let h2 = register(ObjectKind::Storage, Arc::new(6u32), None);
        assert_ne!(h, h2);
        assert!(resolve::<u32>(h, ObjectKind::Storage).is_err());
        assert!(resolve_any(Handle::from_raw(0)).is_err());
        assert!(resolve_any(Handle::from_raw(u64::MAX)).is_err());
    }
}
