//! Media streams: the [`MediaStream`] contract between a
//! [`Session`] and its streams (the original's
//! `IMediaStream`), the [`MediaStreamRegistry`] that picks a stream type for
//! each m-line of an incoming offer, the RTP [`AudioStream`], and the
//! application's voice mixer ([`AudioEngine`]) audio streams play into.
//!
//! How a session drives its streams:
//!
//! - Outgoing: the application creates streams ([`AudioStream::new`]) and
//!   passes them to `Session::connect_with_streams`. The session awaits
//!   [`MediaStream::prepare`] (an MSRP relay reservation), calls
//!   [`MediaStream::initialize`] (`outgoing`), builds the offer from
//!   [`MediaStream::get_local_media`] (`None`: an offer), and when the answer
//!   arrives and the ACK is sent, [`MediaStream::start`] with both SDPs.
//! - Incoming: for each m-line of the offer the registry asks the stream
//!   types, highest [`MediaStreamType::priority`] first, for a stream
//!   ([`MediaStreamType::new_from_sdp`]); `SIPSessionNewIncoming` lists them.
//!   `Session::accept_streams` prepares and initializes the accepted ones (`incoming`),
//!   answers with their [`MediaStream::get_local_media`] (`Some(offer)`) and
//!   starts them when the ACK arrives. An offer no stream type takes is
//!   refused with 488.
//! - Re-INVITEs that keep the streams: [`MediaStream::validate_update`] (no
//!   side effects), then the answer and [`MediaStream::update`].
//! - The end: [`MediaStream::deactivate`] before the BYE, [`MediaStream::end`]
//!   after; `end` is called on every stream that was initialized, even after
//!   `MediaStreamDidFail`.
//!
//! Every stream posts `MediaStreamDidInitialize` or `MediaStreamDidFail` from
//! `initialize`, `MediaStreamDidStart` or `MediaStreamDidFail` from `start`,
//! and `MediaStreamWillEnd` then `MediaStreamDidEnd` from `end`; the sender is
//! the stream's handle.
//!
//! Differences from the original, on purpose: `get_local_media` takes the
//! remote offer being answered (`None` for an offer), as the later
//! `get_local_media(remote_sdp=None, index=0)` of sipsimple does, instead of
//! a `for_offer` flag with the offer remembered elsewhere; stream types are
//! registered as [`MediaStreamType`] values (a name, a priority and a
//! constructor) rather than by a metaclass.

use std::any::Any;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use crate::account::Account;
use crate::error::Result;
use crate::handle::Handle;
use crate::sdp::{MediaDescription, SessionDescription};
use crate::session::Session;

mod audio;
pub mod chat;
pub mod desktop_sharing;
mod engine;
pub mod file_transfer;
pub mod msrp_base;

pub use audio::{AudioStream, PacketTap, TappedPacket};
pub use chat::{ChatMessageOptions, ChatStream};
pub use desktop_sharing::{DesktopSharingHandler, DesktopSharingHandlerKind, DesktopSharingRole, DesktopSharingStream};
pub use engine::AudioEngine;
pub use file_transfer::FileTransferStream;

/// Locks `m`, tolerating a poisoned lock (a panic elsewhere must not stop
/// the streams).
pub(crate) fn lock<T: ?Sized>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Which way the negotiation that brought a stream went: `incoming` when it
/// came from the peer's offer, `outgoing` when we offered it. It may differ
/// from the session's direction (re-INVITEs go either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamDirection {
    /// The peer offered the stream.
    Incoming,
    /// We offered the stream.
    Outgoing,
}

impl StreamDirection {
    /// `"incoming"` or `"outgoing"`.
    pub fn name(self) -> &'static str {
        match self {
            StreamDirection::Incoming => "incoming",
            StreamDirection::Outgoing => "outgoing",
        }
    }
}

/// The contract between a Session and each of its media streams (the
/// original's `IMediaStream`; see the module documentation for the order of
/// the calls). Every method returns at once: work that takes time runs on
/// the core runtime and reports through notifications.
pub trait MediaStream: Send + Sync + 'static {
    /// The stream type (`type`): `"audio"`, later `"chat"`...
    fn stream_type(&self) -> &'static str;
    /// The priority of the stream type (`priority`): higher types are asked
    /// first for an incoming m-line.
    fn priority(&self) -> i32;
    /// The stream's handle: the sender of its notifications and what
    /// session notifications list in `streams`.
    fn handle(&self) -> Handle;
    /// The stream as `Any`, to reach the concrete type
    /// (`stream.as_any().downcast::<AudioStream>()`).
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// Work that needs the network before the stream can be initialized
    /// (an MSRP relay reservation): a future the session awaits on the core
    /// runtime before [`MediaStream::initialize`]. `None` (the default)
    /// when there is none. An error fails the stream.
    fn prepare(&self, _direction: StreamDirection) -> Option<PrepareFuture> {
        None
    }
    /// Prepares the stream for `session` (binds its transport). Posts
    /// `MediaStreamDidInitialize`, or `MediaStreamDidFail` and returns the
    /// error.
    fn initialize(&self, session: &Session, direction: StreamDirection) -> Result<()>;
    /// Our m-line: an offer when `remote_sdp` is `None`, else the answer to
    /// m-line `index` of the peer's offer `remote_sdp`. Reflects the hold
    /// state. Call after `initialize`.
    fn get_local_media(&self, remote_sdp: Option<&SessionDescription>, index: usize) -> Result<MediaDescription>;
    /// Starts the media once the negotiation is complete: `local_sdp` and
    /// `remote_sdp` are the whole descriptions, `index` the stream's m-line.
    /// Posts `MediaStreamDidStart`, or `MediaStreamDidFail` and returns the
    /// error.
    fn start(&self, local_sdp: &SessionDescription, remote_sdp: &SessionDescription, index: usize) -> Result<()>;
    /// Whether the peer's re-offer of m-line `index` is acceptable. No side
    /// effects: the update may never be applied.
    fn validate_update(&self, remote_sdp: &SessionDescription, index: usize) -> bool;
    /// Applies a completed renegotiation (started by either side).
    fn update(&self, local_sdp: &SessionDescription, remote_sdp: &SessionDescription, index: usize) -> Result<()>;
    /// Stops sending and receiving now, if hold is supported; later
    /// `get_local_media` calls offer the hold.
    fn hold(&self);
    /// Leaves hold; later `get_local_media` calls show it.
    fn unhold(&self);
    /// The stream is about to be removed (re-INVITE or BYE): from now on the
    /// peer closing the transport is normal.
    fn deactivate(&self);
    /// Closes the transport: posts `MediaStreamWillEnd` at once and
    /// `MediaStreamDidEnd` when done. Ending twice does nothing.
    fn end(&self);
    /// Whether the stream supports hold (`hold_supported`).
    fn hold_supported(&self) -> bool;
    /// Held by us (`on_hold_by_local`).
    fn on_hold_by_local(&self) -> bool;
    /// Held by the peer (`on_hold_by_remote`).
    fn on_hold_by_remote(&self) -> bool;
    /// Held by either side (`on_hold`).
    fn on_hold(&self) -> bool {
        self.on_hold_by_local() || self.on_hold_by_remote()
    }
}

/// What [`MediaStream::prepare`] returns.
pub type PrepareFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'static>>;

/// The constructor of a stream type from an incoming m-line: `Ok(None)` when
/// the m-line is not of this type, `Err` when it is but cannot be accepted
/// (no common codec, SRTP refused...), `Ok(Some(stream))` otherwise. No side
/// effects beyond creating the stream object (no socket is bound before
/// `initialize`).
pub type NewFromSdp = fn(&Arc<Account>, &SessionDescription, usize) -> Result<Option<Arc<dyn MediaStream>>>;

/// The class side of a stream type: its `type`, `priority` and
/// `new_from_sdp`.
#[derive(Clone, Copy, Debug)]
pub struct MediaStreamType {
    /// The stream type (`"audio"`).
    pub type_name: &'static str,
    /// Higher priorities are asked first.
    pub priority: i32,
    /// Builds a stream for an incoming m-line.
    pub new_from_sdp: NewFromSdp,
}

/// The stream types incoming offers are matched against, in descending
/// priority (the original's `MediaStreamRegistry`). [`AudioStream`],
/// [`ChatStream`], [`FileTransferStream`] and [`DesktopSharingStream`] are
/// registered by default.
pub struct MediaStreamRegistry {
    types: RwLock<Vec<MediaStreamType>>,
}

static REGISTRY: LazyLock<MediaStreamRegistry> = LazyLock::new(|| MediaStreamRegistry {
    types: RwLock::new(vec![
        FileTransferStream::stream_class(),
        AudioStream::stream_class(),
        ChatStream::stream_class(),
        DesktopSharingStream::stream_class(),
    ]),
});

impl MediaStreamRegistry {
    /// The singleton.
    pub fn instance() -> &'static MediaStreamRegistry {
        &REGISTRY
    }

    /// Registers a stream type; one already registered under the same name
    /// is replaced.
    pub fn add(&self, stream_type: MediaStreamType) {
        let mut types = self.types.write().unwrap_or_else(PoisonError::into_inner);
        types.retain(|t| t.type_name != stream_type.type_name);
        types.push(stream_type);
        types.sort_by_key(|t| std::cmp::Reverse(t.priority));
    }

    /// The registered types, highest priority first.
    pub fn types(&self) -> Vec<MediaStreamType> {
        self.types.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// A stream for m-line `index` of `remote_sdp`: the first type, by
    /// priority, that takes it. `Err` carries the last refusal when types
    /// recognised the m-line but could not accept it; `Ok(None)` when no
    /// type recognised it.
    pub fn stream_for(
        &self,
        account: &Arc<Account>,
        remote_sdp: &SessionDescription,
        index: usize,
    ) -> Result<Option<Arc<dyn MediaStream>>> {
        let mut refusal = None;
        for stream_type in self.types() {
            match (stream_type.new_from_sdp)(account, remote_sdp, index) {
                Ok(Some(stream)) => return Ok(Some(stream)),
                Ok(None) => {}
                Err(e) => refusal = Some(e),
            }
        }
        match refusal {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }
}

/// The handles of `streams`, as session notifications carry them.
pub fn stream_handles<'a>(streams: impl IntoIterator<Item = &'a Arc<dyn MediaStream>>) -> crate::value::Value {
    crate::value::Value::List(streams.into_iter().map(|s| crate::value::Value::Object(s.handle())).collect())
}
