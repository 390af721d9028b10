//! Desktop sharing (RFB, the VNC protocol, over MSRP):
//! [`DesktopSharingHandler`] (the four handlers of the original) and
//! [`DesktopSharingStream`].

use std::sync::Arc;
use std::time::Duration;

use sipsimple_core::handle::{self, Handle, ObjectKind};
use sipsimple_core::streams as core;

use crate::account::Account;
use crate::streams::MediaStream;
use crate::{Result, SipSimpleError};

/// Which of the original's four handlers a [`DesktopSharingHandler`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum DesktopSharingHandlerKind {
    /// `InternalVNCViewerHandler`: the application views.
    InternalViewer,
    /// `InternalVNCServerHandler`: the application shares its screen.
    InternalServer,
    /// `ExternalVNCViewerHandler`: a VNC viewer connects to us over TCP.
    ExternalViewer,
    /// `ExternalVNCServerHandler`: we connect to a VNC server over TCP.
    ExternalServer,
}

impl From<core::DesktopSharingHandlerKind> for DesktopSharingHandlerKind {
    fn from(kind: core::DesktopSharingHandlerKind) -> Self {
        match kind {
            core::DesktopSharingHandlerKind::InternalViewer => DesktopSharingHandlerKind::InternalViewer,
            core::DesktopSharingHandlerKind::InternalServer => DesktopSharingHandlerKind::InternalServer,
            core::DesktopSharingHandlerKind::ExternalViewer => DesktopSharingHandlerKind::ExternalViewer,
            core::DesktopSharingHandlerKind::ExternalServer => DesktopSharingHandlerKind::ExternalServer,
        }
    }
}

/// A TCP address (`address` of the external handlers).
#[derive(Clone, Debug, PartialEq, Eq, Hash, uniffi::Record)]
pub struct SocketAddress {
    /// The host name or IP address.
    pub host: String,
    /// The port.
    pub port: u16,
}

fn timeout(seconds: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| SipSimpleError::InvalidArgument {
        detail: format!("connect_timeout {seconds} is no number of seconds"),
    })
}

/// A desktop sharing handler: what produces and consumes the RFB data of a
/// [`DesktopSharingStream`]. The internal ones let the application view
/// (`internalViewer`) or share its screen (`internalServer`): it sends RFB
/// bytes with `send` and gets the peer's as `DesktopSharingStreamGotData`
/// notifications (sender: the handler; `data`, the bytes). The external
/// ones bridge the stream to a VNC program over TCP; when that connection
/// cannot be made or breaks, the handler posts
/// `DesktopSharingHandlerDidFail` (`context`, `failure`, `reason`) and its
/// stream fails. A handler serves one stream. Two objects are equal when
/// they refer to the same handler.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Eq, Hash)]
pub struct DesktopSharingHandler {
    pub(crate) inner: Arc<core::DesktopSharingHandler>,
}

impl DesktopSharingHandler {
    fn wrap(inner: Arc<core::DesktopSharingHandler>) -> Arc<DesktopSharingHandler> {
        Arc::new(DesktopSharingHandler { inner })
    }
}

#[uniffi::export]
impl DesktopSharingHandler {
    /// `InternalVNCViewerHandler()`: the application views the peer's
    /// screen.
    #[uniffi::constructor]
    pub fn internal_viewer() -> Arc<Self> {
        DesktopSharingHandler::wrap(core::DesktopSharingHandler::internal_viewer())
    }

    /// `InternalVNCServerHandler()`: the application shares its screen.
    #[uniffi::constructor]
    pub fn internal_server() -> Arc<Self> {
        DesktopSharingHandler::wrap(core::DesktopSharingHandler::internal_server())
    }

    /// `ExternalVNCViewerHandler(address, connect_timeout)`: listens on
    /// `host`:`port` now (port 0: the system picks; see `address`); once
    /// the stream starts a VNC viewer must connect within
    /// `connect_timeout` seconds. `InvalidArgument` when the address
    /// cannot be listened on.
    #[uniffi::constructor(default(host = "localhost", port = 0, connect_timeout = 3.0))]
    pub fn external_viewer(host: String, port: u16, connect_timeout: f64) -> Result<Arc<Self>> {
        Ok(DesktopSharingHandler::wrap(core::DesktopSharingHandler::external_viewer(
            &host,
            port,
            timeout(connect_timeout)?,
        )?))
    }

    /// `ExternalVNCServerHandler(address, connect_timeout)`: once the stream
    /// starts, connects to the VNC server at `host`:`port` (which must
    /// already listen) within `connect_timeout` seconds. `InvalidArgument`
    /// for an empty host or port 0.
    #[uniffi::constructor(default(connect_timeout = 3.0))]
    pub fn external_server(host: String, port: u16, connect_timeout: f64) -> Result<Arc<Self>> {
        Ok(DesktopSharingHandler::wrap(core::DesktopSharingHandler::external_server(
            &host,
            port,
            timeout(connect_timeout)?,
        )?))
    }

    /// The handler whose handle is `handle` (a notification's sender).
    /// `InvalidHandle` when it is no live desktop sharing handler.
    #[uniffi::constructor]
    pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
        let inner =
            handle::resolve::<core::DesktopSharingHandler>(Handle::from_raw(handle), ObjectKind::DesktopSharingHandler)
                .map_err(|e| SipSimpleError::InvalidHandle {
                    detail: format!("{handle:#x} is no desktop sharing handler: {e}"),
                })?;
        Ok(DesktopSharingHandler::wrap(inner))
    }

    /// The handler's handle: the sender of its notifications.
    pub fn handle(&self) -> u64 {
        self.inner.handle().raw()
    }

    /// Which of the four handlers this is.
    pub fn kind(&self) -> DesktopSharingHandlerKind {
        self.inner.kind().into()
    }

    /// `type`: `active` for a viewer, `passive` for a server.
    pub fn handler_type(&self) -> String {
        self.inner.handler_type().to_owned()
    }

    /// `address`: the address an external viewer handler listens on or an
    /// external server handler connects to; `None` for internal handlers.
    pub fn address(&self) -> Option<SocketAddress> {
        self.inner.address().map(|(host, port)| SocketAddress { host, port })
    }

    /// `connect_timeout`: seconds an external handler waits for its VNC
    /// program once the stream starts.
    pub fn connect_timeout(&self) -> f64 {
        self.inner.connect_timeout().as_secs_f64()
    }

    /// `send(data)` (internal handlers): RFB bytes for the peer, one MSRP
    /// message, queued until the stream starts. `InvalidState` for an
    /// external handler, a handler that serves no stream, and once the
    /// stream ended.
    pub fn send(&self, data: Vec<u8>) -> Result<()> {
        Ok(self.inner.send(data)?)
    }
}

impl std::fmt::Display for DesktopSharingHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({:#x})", self.inner.kind().name(), self.handle())
    }
}

impl PartialEq for DesktopSharingHandler {
    fn eq(&self, other: &Self) -> bool {
        self.handle() == other.handle()
    }
}

impl Eq for DesktopSharingHandler {}

impl std::hash::Hash for DesktopSharingHandler {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.handle().hash(state);
    }
}

/// A desktop sharing stream (`DesktopSharingStream`): RFB data between
/// its [`DesktopSharingHandler`] and the peer's. Create one with an
/// account and a handler to offer it, or take the one a peer offered (its
/// `MediaStream` is `DesktopSharing`; it comes with an internal handler
/// of the role the offer asks for, which `setHandler` may replace before
/// accepting). Two objects are equal when they refer to the same stream.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Eq, Hash)]
pub struct DesktopSharingStream {
    pub(crate) inner: Arc<core::DesktopSharingStream>,
}

impl DesktopSharingStream {
    /// The binding object of a core stream.
    pub(crate) fn wrap(inner: Arc<core::DesktopSharingStream>) -> Arc<DesktopSharingStream> {
        Arc::new(DesktopSharingStream { inner })
    }
}

#[uniffi::export]
impl DesktopSharingStream {
    /// `DesktopSharingStream(account, handler)`. `InvalidHandle` for a
    /// stale account, `InvalidState` when the handler serves another
    /// stream or was used already.
    #[uniffi::constructor]
    pub fn new(account: Arc<Account>, handler: Arc<DesktopSharingHandler>) -> Result<Arc<Self>> {
        let account = account.resolve()?;
        Ok(DesktopSharingStream::wrap(core::DesktopSharingStream::new(&account, handler.inner.clone())?))
    }

    /// The desktop sharing stream whose handle is `handle`. `InvalidHandle`
    /// when it is no live desktop sharing stream.
    #[uniffi::constructor]
    pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
        let inner =
            handle::resolve::<core::DesktopSharingStream>(Handle::from_raw(handle), ObjectKind::DesktopSharingStream)
                .map_err(|e| SipSimpleError::InvalidHandle {
                detail: format!("{handle:#x} is no desktop sharing stream: {e}"),
            })?;
        Ok(DesktopSharingStream::wrap(inner))
    }

    /// The stream's handle: the sender of its notifications.
    pub fn handle(&self) -> u64 {
        core::MediaStream::handle(&*self.inner).raw()
    }

    /// This stream as a `MediaStream`, for `Session` methods.
    pub fn as_media_stream(self: Arc<Self>) -> MediaStream {
        MediaStream::DesktopSharing { stream: self }
    }

    /// The account the stream belongs to.
    pub fn account(&self) -> Arc<Account> {
        Account::wrap(self.inner.account())
    }

    /// `handler`: what produces and consumes the RFB data.
    pub fn handler(&self) -> Arc<DesktopSharingHandler> {
        DesktopSharingHandler::wrap(self.inner.handler())
    }

    /// Sets `handler` before the stream starts. `InvalidArgument` for a
    /// handler of the wrong role, `InvalidState` once started or for a
    /// handler that serves another stream.
    pub fn set_handler(&self, handler: Arc<DesktopSharingHandler>) -> Result<()> {
        Ok(self.inner.set_handler(handler.inner.clone())?)
    }

    /// `local_uri`: our MSRP URI, once initialized.
    pub fn local_uri(&self) -> Option<String> {
        self.inner.local_uri()
    }

    /// `remote_path`: the peer's MSRP path (its own URI last), once
    /// negotiated; empty before.
    pub fn remote_path(&self) -> Vec<String> {
        self.inner.remote_path()
    }
}

impl std::fmt::Display for DesktopSharingStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DesktopSharingStream({:#x})", self.handle())
    }
}

impl PartialEq for DesktopSharingStream {
    fn eq(&self, other: &Self) -> bool {
        self.handle() == other.handle()
    }
}

impl Eq for DesktopSharingStream {}

impl std::hash::Hash for DesktopSharingStream {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.handle().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handlers_have_their_kind_type_and_address() {
        let viewer = DesktopSharingHandler::internal_viewer();
        assert_eq!(
            (viewer.kind(), viewer.handler_type().as_str()),
            (DesktopSharingHandlerKind::InternalViewer, "active")
        );
        assert!(viewer.address().is_none());
        assert!(matches!(viewer.send(vec![1]), Err(SipSimpleError::InvalidState { .. })));
        let external = DesktopSharingHandler::external_viewer("127.0.0.1".into(), 0, 3.0).unwrap();
        let address = external.address().unwrap();
        assert_eq!(address.host, "127.0.0.1");
        assert_ne!(address.port, 0);
        assert!(DesktopSharingHandler::from_handle(external.handle()).unwrap() == external);
        assert!(DesktopSharingHandler::external_server(String::new(), 5900, 3.0).is_err());
        assert!(DesktopSharingHandler::external_server("h".into(), 1, -1.0).is_err());
        assert!(DesktopSharingStream::from_handle(0).is_err());
    }
}
