//! Desktop sharing: RFB (the VNC protocol) carried over MSRP, the original's
//! `DesktopSharingStream` (`screensharing.py` in later releases) and its
//! four handlers.
//!
//! No standard defines desktop sharing over MSRP. The stream is an
//! `m=application ... TCP/MSRP *` (or `TCP/TLS/MSRP`) m-line accepting
//! `application/x-rfb`; besides the MSRP connection role (`a=setup`) it
//! carries the RFB role in `a=rfbsetup`: `active` for the side that views
//! (the VNC viewer), `passive` for the side that shares its screen (the
//! VNC server). An offer without `a=rfbsetup` is taken as `active`.
//!
//! A [`DesktopSharingHandler`] produces and consumes the RFB bytes; the
//! stream only carries them, as MSRP SENDs of Content-Type
//! `application/x-rfb` (no CPIM, no success report). One message is in
//! flight at a time, so that the byte stream keeps its order: each read of
//! outgoing RFB data (each `send`) becomes one message when the connection
//! keeps up; what comes while a message is in flight goes in the next one
//! (up to 1 MiB). Each message received is handed to the handler whole, in
//! order. The four handlers:
//!
//! - [`DesktopSharingHandler::internal_viewer`] and
//!   [`DesktopSharingHandler::internal_server`]: the application is the
//!   viewer or the server. It sends with [`DesktopSharingHandler::send`]
//!   (queued until the stream starts) and receives
//!   `DesktopSharingStreamGotData` notifications whose sender is the
//!   handler, as in the original.
//! - [`DesktopSharingHandler::external_viewer`]: listens on a TCP address
//!   (given or picked by the system, see [`DesktopSharingHandler::address`])
//!   from its creation; when the stream starts it accepts one connection
//!   from a VNC viewer within `connect_timeout` and bridges it to the
//!   stream both ways.
//! - [`DesktopSharingHandler::external_server`]: when the stream starts it
//!   connects to a VNC server that must already listen, within
//!   `connect_timeout`, and bridges it to the stream both ways.
//!
//! An external handler stops reading from its VNC program while 4 MiB it
//! read wait to be sent, so a fast program is slowed down to the pace of
//! the MSRP connection. The other way, what the peer sends waits for the
//! program without such a bound.
//!
//! When an external handler cannot connect or its connection breaks (or
//! the VNC program closes it), the handler posts
//! `DesktopSharingHandlerDidFail` (`context` `connecting`, `reading` or
//! `sending`, `failure`, `reason`) and its stream fails:
//! `MediaStreamDidFail` with context `media` and the handler's reason, the
//! context under which a session drops a stream that broke during the
//! call. The original used the handler's context there; the session would
//! not react to it.
//!
//! An incoming stream gets an internal handler of the role the offer asks
//! for (a server for an `active` peer); the application may replace it
//! with [`DesktopSharingStream::set_handler`] before the stream starts. A
//! handler serves one stream.
//!
//! Not provided, on purpose: the original's `incoming_queue` and
//! `outgoing_queue` attributes and `initialize(stream)` handler method
//! (eventlet plumbing between the stream and its handler; the handlers
//! here are the four above, not an interface applications implement).

use std::any::Any;
use std::collections::VecDeque;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::lock;
use super::msrp_base::{MsrpStreamBase, MsrpStreamHooks, MsrpStreamSpec, offered_msrp_media, runtime};
use super::{MediaStream, MediaStreamType, PrepareFuture, StreamDirection};
use crate::account::Account;
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::msrp::message::MsrpUri;
use crate::msrp::sdp::{MsrpMediaConfig, MsrpTransport};
use crate::msrp::session::{MsrpEvent, MsrpSessionConfig};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sdp::{Attribute, MediaDescription, SessionDescription};
use crate::session::Session;
use crate::value::Value;

/// The stream type name.
pub const DESKTOP_SHARING_TYPE: &str = "desktop-sharing";

/// Priority of the desktop sharing stream type in the registry.
pub const DESKTOP_SHARING_PRIORITY: i32 = 1;

/// The content type of RFB data in MSRP.
pub const RFB_CONTENT_TYPE: &str = "application/x-rfb";

/// The SDP attribute that carries the RFB role.
pub const RFBSETUP_ATTRIBUTE: &str = "rfbsetup";

/// How long an external handler waits for its VNC program by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The most bytes read from a VNC program at once.
const READ_SIZE: usize = 64 * 1024;

/// The most RFB bytes in one MSRP message (what waits while the previous
/// message is in flight goes in one message, up to this size).
const MAX_MESSAGE_SIZE: usize = 1024 * 1024;

/// The most bytes read from a VNC program and not yet taken into an MSRP
/// message: beyond it the bridge stops reading, and TCP slows the program
/// down.
const BRIDGE_BUFFER: usize = 4 * 1024 * 1024;

/// The RFB role of a handler: the side that views or the side whose
/// screen is shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DesktopSharingRole {
    /// The VNC viewer (`type` and `a=rfbsetup` `active`).
    Viewer,
    /// The VNC server (`type` and `a=rfbsetup` `passive`).
    Server,
}

impl DesktopSharingRole {
    /// `"active"` for the viewer, `"passive"` for the server: the handler's
    /// `type` and our `a=rfbsetup` value.
    pub fn name(self) -> &'static str {
        match self {
            DesktopSharingRole::Viewer => "active",
            DesktopSharingRole::Server => "passive",
        }
    }

    /// The role an `a=rfbsetup` value (or handler `type`) names, in any
    /// case.
    pub fn from_name(name: &str) -> Option<DesktopSharingRole> {
        match name.trim() {
            n if n.eq_ignore_ascii_case("active") => Some(DesktopSharingRole::Viewer),
            n if n.eq_ignore_ascii_case("passive") => Some(DesktopSharingRole::Server),
            _ => None,
        }
    }

    /// The other side's role.
    pub fn peer(self) -> DesktopSharingRole {
        match self {
            DesktopSharingRole::Viewer => DesktopSharingRole::Server,
            DesktopSharingRole::Server => DesktopSharingRole::Viewer,
        }
    }
}

/// Which of the four handlers a [`DesktopSharingHandler`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

impl DesktopSharingHandlerKind {
    /// The original's class name (`InternalVNCViewerHandler`...).
    pub fn name(self) -> &'static str {
        match self {
            DesktopSharingHandlerKind::InternalViewer => "InternalVNCViewerHandler",
            DesktopSharingHandlerKind::InternalServer => "InternalVNCServerHandler",
            DesktopSharingHandlerKind::ExternalViewer => "ExternalVNCViewerHandler",
            DesktopSharingHandlerKind::ExternalServer => "ExternalVNCServerHandler",
        }
    }

    /// The RFB role of handlers of this kind.
    pub fn role(self) -> DesktopSharingRole {
        match self {
            DesktopSharingHandlerKind::InternalViewer | DesktopSharingHandlerKind::ExternalViewer => {
                DesktopSharingRole::Viewer
            }
            DesktopSharingHandlerKind::InternalServer | DesktopSharingHandlerKind::ExternalServer => {
                DesktopSharingRole::Server
            }
        }
    }

    /// Whether the handler bridges to a VNC program over TCP.
    pub fn is_external(self) -> bool {
        matches!(self, DesktopSharingHandlerKind::ExternalViewer | DesktopSharingHandlerKind::ExternalServer)
    }
}

/// What ties a handler to the stream it serves.
#[derive(Clone)]
struct StreamLink {
    /// The stream's handle.
    stream: Handle,
    /// RFB bytes for the peer (the stream's outgoing queue).
    outgoing: mpsc::UnboundedSender<QueuedData>,
    /// What the bridge of an external handler may queue, in bytes.
    credit: Arc<Semaphore>,
    /// Makes the stream fail with this reason.
    fail: Arc<dyn Fn(&str) + Send + Sync>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for its stream to start.
    Idle,
    /// The stream started: data flows (external: connecting or bridging).
    Running,
    /// It posted `DesktopSharingHandlerDidFail`.
    Failed,
    /// Its stream ended.
    Stopped,
}

struct HandlerState {
    phase: Phase,
    link: Option<StreamLink>,
    /// External viewer: the listening socket, until a viewer connects.
    listener: Option<std::net::TcpListener>,
    /// External handlers: RFB bytes from the peer for the VNC program
    /// (taken by the bridge when the stream starts).
    from_peer: Option<mpsc::UnboundedReceiver<Vec<u8>>>,
    /// The connecting and bridging task of an external handler.
    task: Option<JoinHandle<()>>,
}

/// Why a handler failed: the `DesktopSharingHandlerDidFail` data.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Failure {
    context: &'static str,
    failure: String,
    reason: String,
}

impl Failure {
    fn io(context: &'static str, error: &std::io::Error) -> Failure {
        Failure { context, failure: format!("{:?}", error.kind()), reason: error.to_string() }
    }

    fn closed(context: &'static str, reason: &str) -> Failure {
        Failure { context, failure: "VNCConnectionError".into(), reason: reason.into() }
    }
}

/// A desktop sharing handler: what produces and consumes the RFB data of a
/// [`DesktopSharingStream`] (see the module documentation for the four
/// kinds). Handlers are registered objects
/// ([`ObjectKind::DesktopSharingHandler`]).
pub struct DesktopSharingHandler {
    kind: DesktopSharingHandlerKind,
    /// External handlers: the address listened on (viewer, as bound) or
    /// connected to (server).
    address: Option<(String, u16)>,
    connect_timeout: Duration,
    handle: OnceLock<Handle>,
    /// External handlers: RFB bytes from the peer for the VNC program.
    to_program: mpsc::UnboundedSender<Vec<u8>>,
    state: Mutex<HandlerState>,
}

impl std::fmt::Debug for DesktopSharingHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesktopSharingHandler")
            .field("kind", &self.kind)
            .field("handle", &self.handle())
            .field("address", &self.address)
            .field("phase", &lock(&self.state).phase)
            .finish()
    }
}

impl DesktopSharingHandler {
    fn create(
        kind: DesktopSharingHandlerKind,
        address: Option<(String, u16)>,
        connect_timeout: Duration,
        listener: Option<std::net::TcpListener>,
    ) -> Arc<DesktopSharingHandler> {
        let (to_program, from_peer) = mpsc::unbounded_channel();
        let handler = Arc::new(DesktopSharingHandler {
            kind,
            address,
            connect_timeout,
            handle: OnceLock::new(),
            to_program,
            state: Mutex::new(HandlerState {
                phase: Phase::Idle,
                link: None,
                listener,
                from_peer: kind.is_external().then_some(from_peer),
                task: None,
            }),
        });
        let label = match &handler.address {
            Some((host, port)) => format!("{} {host}:{port}", kind.name()),
            None => kind.name().to_owned(),
        };
        let h = handle::register(ObjectKind::DesktopSharingHandler, handler.clone(), Some(label));
        let _ = handler.handle.set(h);
        handler
    }

    /// `InternalVNCViewerHandler()`: the application views the peer's
    /// screen; it gets the server's RFB data as `DesktopSharingStreamGotData`
    /// and answers with [`DesktopSharingHandler::send`].
    pub fn internal_viewer() -> Arc<DesktopSharingHandler> {
        Self::create(DesktopSharingHandlerKind::InternalViewer, None, DEFAULT_CONNECT_TIMEOUT, None)
    }

    /// `InternalVNCServerHandler()`: the application shares its screen; it
    /// sends RFB data with [`DesktopSharingHandler::send`] and gets the
    /// viewer's as `DesktopSharingStreamGotData`.
    pub fn internal_server() -> Arc<DesktopSharingHandler> {
        Self::create(DesktopSharingHandlerKind::InternalServer, None, DEFAULT_CONNECT_TIMEOUT, None)
    }

    /// `ExternalVNCViewerHandler(address=(host, port), connect_timeout)`:
    /// listens on `host`:`port` now (`("localhost", 0)` in the original:
    /// port 0 lets the system pick, see [`DesktopSharingHandler::address`]);
    /// once the stream starts, a VNC viewer must connect within
    /// `connect_timeout`. Only one connection is accepted. Fails when the
    /// address cannot be listened on.
    pub fn external_viewer(host: &str, port: u16, connect_timeout: Duration) -> Result<Arc<DesktopSharingHandler>> {
        let addresses: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|e| Error::InvalidArgument(format!("VNC viewer address {host}:{port}: {e}")))?
            .collect();
        let listener = std::net::TcpListener::bind(&addresses[..])
            .map_err(|e| Error::InvalidArgument(format!("cannot listen on {host}:{port}: {e}")))?;
        listener.set_nonblocking(true).map_err(|e| Error::Internal(format!("VNC viewer listener: {e}")))?;
        let bound = listener.local_addr().map_err(|e| Error::Internal(format!("VNC viewer listener: {e}")))?;
        tracing::debug!("desktop sharing: waiting for a VNC viewer on {bound}");
        Ok(Self::create(
            DesktopSharingHandlerKind::ExternalViewer,
            Some((bound.ip().to_string(), bound.port())),
            connect_timeout,
            Some(listener),
        ))
    }

    /// `ExternalVNCServerHandler(address=(host, port), connect_timeout)`:
    /// once the stream starts, connects to the VNC server at `host`:`port`
    /// (which must already listen), giving up after `connect_timeout`.
    pub fn external_server(host: &str, port: u16, connect_timeout: Duration) -> Result<Arc<DesktopSharingHandler>> {
        if host.trim().is_empty() || port == 0 {
            return Err(Error::InvalidArgument(format!("invalid VNC server address {host}:{port}")));
        }
        Ok(Self::create(
            DesktopSharingHandlerKind::ExternalServer,
            Some((host.trim().to_owned(), port)),
            connect_timeout,
            None,
        ))
    }

    /// The handler's handle: the sender of its notifications.
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    /// Which of the four handlers this is.
    pub fn kind(&self) -> DesktopSharingHandlerKind {
        self.kind
    }

    /// The RFB role.
    pub fn role(&self) -> DesktopSharingRole {
        self.kind.role()
    }

    /// `type`: `"active"` for a viewer, `"passive"` for a server.
    pub fn handler_type(&self) -> &'static str {
        self.role().name()
    }

    /// `address`: for an external viewer handler the (ip, port) listened
    /// on; for an external server handler the (host, port) connected to;
    /// `None` for internal handlers.
    pub fn address(&self) -> Option<(String, u16)> {
        self.address.clone()
    }

    /// `connect_timeout`: how long an external handler waits for its VNC
    /// program once the stream starts.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The stream the handler serves, if any.
    pub fn stream(&self) -> Option<Handle> {
        lock(&self.state).link.as_ref().map(|link| link.stream)
    }

    /// `send(data)` (internal handlers): RFB bytes for the peer, in order
    /// (an MSRP message, or part of one). Queued until the stream starts. Fails for external
    /// handlers, for a handler that serves no stream, and once the stream
    /// ended.
    pub fn send(&self, data: impl Into<Vec<u8>>) -> Result<()> {
        if self.kind.is_external() {
            return Err(Error::InvalidState(format!("{} sends what its VNC program sends", self.kind.name())));
        }
        let state = lock(&self.state);
        let Some(link) = state.link.as_ref() else {
            return Err(Error::InvalidState("the handler serves no desktop sharing stream".into()));
        };
        if state.phase == Phase::Stopped {
            return Err(Error::InvalidState("the desktop sharing stream has ended".into()));
        }
        let data = data.into();
        if data.is_empty() {
            return Ok(());
        }
        link.outgoing
            .send(QueuedData { data, credit: 0 })
            .map_err(|_| Error::InvalidState("the desktop sharing stream has ended".into()))
    }

    /// Binds the handler to a stream (at most one).
    fn attach(&self, link: StreamLink) -> Result<()> {
        let mut state = lock(&self.state);
        if state.phase != Phase::Idle {
            return Err(Error::InvalidState("the handler was used by a stream already".into()));
        }
        match &state.link {
            Some(current) if current.stream != link.stream => {
                Err(Error::InvalidState("the handler serves another desktop sharing stream".into()))
            }
            _ => {
                state.link = Some(link);
                Ok(())
            }
        }
    }

    /// Unbinds the handler from `stream` (replaced before the start).
    fn detach(&self, stream: Handle) {
        let mut state = lock(&self.state);
        if state.link.as_ref().is_some_and(|link| link.stream == stream) && state.phase == Phase::Idle {
            state.link = None;
        }
    }

    /// The stream started: external handlers connect to their VNC program
    /// and bridge it.
    fn started(self: &Arc<Self>) {
        let mut state = lock(&self.state);
        if state.phase != Phase::Idle {
            return;
        }
        state.phase = Phase::Running;
        if !self.kind.is_external() {
            return;
        }
        let (Some(link), Some(from_peer)) = (state.link.clone(), state.from_peer.take()) else { return };
        let listener = state.listener.take();
        let runtime = match runtime() {
            Ok(runtime) => runtime,
            Err(e) => {
                drop(state);
                self.fail(Failure { context: "connecting", failure: "RuntimeError".into(), reason: e.to_string() });
                return;
            }
        };
        let handler = self.clone();
        state.task = Some(runtime.spawn(async move {
            let failure = match handler.open(listener).await {
                Ok(socket) => bridge(socket, from_peer, link, handler.closed_reason()).await,
                Err(failure) => failure,
            };
            handler.fail(failure);
        }));
    }

    /// What an external handler says when its program closes the
    /// connection.
    fn closed_reason(&self) -> &'static str {
        match self.kind {
            DesktopSharingHandlerKind::ExternalViewer => "connection with the VNC viewer was closed",
            _ => "connection to the VNC server was closed",
        }
    }

    /// The connection to the VNC program: the viewer that connected, or
    /// the server connected to.
    async fn open(&self, listener: Option<std::net::TcpListener>) -> std::result::Result<TcpStream, Failure> {
        let timed_out = || Failure {
            context: "connecting",
            failure: "TimedOut".into(),
            reason: format!("timed out after {:.1} s", self.connect_timeout.as_secs_f64()),
        };
        match self.kind {
            DesktopSharingHandlerKind::ExternalViewer => {
                let Some(listener) = listener else {
                    return Err(Failure::closed("connecting", "the VNC viewer listener is closed"));
                };
                let listener =
                    tokio::net::TcpListener::from_std(listener).map_err(|e| Failure::io("connecting", &e))?;
                let (socket, peer) = tokio::time::timeout(self.connect_timeout, listener.accept())
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(|e| Failure::io("connecting", &e))?;
                tracing::debug!("desktop sharing: VNC viewer connected from {peer}");
                Ok(socket)
            }
            _ => {
                let (host, port) = self.address.clone().unwrap_or_default();
                let socket = tokio::time::timeout(self.connect_timeout, TcpStream::connect((host.as_str(), port)))
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(|e| Failure::io("connecting", &e))?;
                tracing::debug!("desktop sharing: connected to the VNC server at {host}:{port}");
                Ok(socket)
            }
        }
    }

    /// RFB bytes from the peer.
    fn deliver(&self, data: Vec<u8>) {
        if self.kind.is_external() {
            let _ = self.to_program.send(data);
        } else {
            NotificationCenter::default_center()
                .post(self.handle(), n::DesktopSharingStreamGotData { data: Value::Bytes(data.into()) });
        }
    }

    /// Posts `DesktopSharingHandlerDidFail` (once, while running) and makes
    /// the stream fail.
    fn fail(&self, failure: Failure) {
        let link = {
            let mut state = lock(&self.state);
            if state.phase != Phase::Running {
                return;
            }
            state.phase = Phase::Failed;
            state.task = None;
            state.link.clone()
        };
        tracing::warn!("{} {:?} {} failed: {}", self.kind.name(), self.handle(), failure.context, failure.reason);
        NotificationCenter::default_center().post(
            self.handle(),
            n::DesktopSharingHandlerDidFail {
                context: failure.context.into(),
                failure: failure.failure,
                reason: failure.reason.clone(),
            },
        );
        if let Some(link) = link {
            (link.fail)(&failure.reason);
        }
    }

    /// The stream ended: stops bridging and closes the sockets.
    fn stop(&self) {
        let (task, listener) = {
            let mut state = lock(&self.state);
            state.phase = Phase::Stopped;
            (state.task.take(), state.listener.take())
        };
        if let Some(task) = task {
            task.abort();
        }
        drop(listener);
    }
}

/// Copies bytes both ways between a VNC program and the stream until one
/// side fails; returns why. Reading from the program waits while the
/// stream holds [`BRIDGE_BUFFER`] bytes of it.
async fn bridge(
    socket: TcpStream,
    mut from_peer: mpsc::UnboundedReceiver<Vec<u8>>,
    stream: StreamLink,
    closed_reason: &'static str,
) -> Failure {
    let _ = socket.set_nodelay(true);
    let (mut reader, mut writer) = socket.into_split();
    let reading = async {
        let mut buffer = vec![0u8; READ_SIZE];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) => return Failure::closed("reading", closed_reason),
                Ok(read) => {
                    // `read` is at most READ_SIZE: it fits in u32.
                    let credit = read as u32;
                    // The semaphore is never closed.
                    if let Ok(permit) = stream.credit.acquire_many(credit).await {
                        permit.forget();
                    }
                    let data = buffer[..read].to_vec();
                    if stream.outgoing.send(QueuedData { data, credit }).is_err() {
                        // The stream is going away; it stops the handler.
                        return std::future::pending().await;
                    }
                }
                Err(e) => return Failure::io("reading", &e),
            }
        }
    };
    let sending = async {
        while let Some(data) = from_peer.recv().await {
            if let Err(e) = writer.write_all(&data).await {
                return Failure::io("sending", &e);
            }
        }
        std::future::pending().await
    };
    tokio::select! {
        failure = reading => failure,
        failure = sending => failure,
    }
}

/// The MSRP stream type attributes of desktop sharing.
fn spec() -> MsrpStreamSpec {
    MsrpStreamSpec {
        stream_type: DESKTOP_SHARING_TYPE,
        priority: DESKTOP_SHARING_PRIORITY,
        media_type: "application",
        accept_types: vec![RFB_CONTENT_TYPE.to_owned()],
        accept_wrapped_types: Vec::new(),
        session: MsrpSessionConfig::default(),
    }
}

/// The RFB role an m-line asks for in `a=rfbsetup` (`active` when absent);
/// `Err` for another value.
fn rfbsetup_of(media: &MediaDescription) -> Result<DesktopSharingRole> {
    match media.attribute(RFBSETUP_ATTRIBUTE).and_then(|a| a.value.as_deref()) {
        None => Ok(DesktopSharingRole::Viewer),
        Some(value) => DesktopSharingRole::from_name(value)
            .ok_or_else(|| Error::InvalidArgument(format!("unknown rfbsetup value {value:?}"))),
    }
}

/// Whether an m-line's `a=accept-types` lists `application/x-rfb`.
fn accepts_rfb(media: &MediaDescription) -> bool {
    media
        .attribute("accept-types")
        .and_then(|a| a.value.as_deref())
        .is_some_and(|types| types.split_whitespace().any(|t| t.eq_ignore_ascii_case(RFB_CONTENT_TYPE)))
}

/// Whether a Content-Type (with any parameters) is RFB.
fn is_rfb(content_type: Option<&str>) -> bool {
    content_type.and_then(|t| t.split(';').next()).is_some_and(|t| t.trim().eq_ignore_ascii_case(RFB_CONTENT_TYPE))
}

/// RFB bytes on their way from a handler to the stream's writer.
#[derive(Debug)]
struct QueuedData {
    data: Vec<u8>,
    /// The credit the bridge took for them (0 for `send`), given back when
    /// the writer takes them.
    credit: u32,
}

/// RFB bytes waiting to be sent, taken in messages of at most
/// [`MAX_MESSAGE_SIZE`] bytes.
#[derive(Debug, Default)]
struct OutgoingBytes {
    pieces: VecDeque<Vec<u8>>,
    /// How much of the first piece was taken already.
    offset: usize,
    /// How many bytes wait.
    len: usize,
}

impl OutgoingBytes {
    fn push(&mut self, data: Vec<u8>) {
        if !data.is_empty() {
            self.len += data.len();
            self.pieces.push_back(data);
        }
    }

    fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    fn len(&self) -> usize {
        self.len
    }

    /// The next message: the bytes waiting, in order, up to the limit.
    fn take_message(&mut self) -> Vec<u8> {
        let body = self.take_up_to_limit();
        self.len -= body.len();
        body
    }

    fn take_up_to_limit(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        while let Some(front) = self.pieces.front() {
            let space = MAX_MESSAGE_SIZE - body.len();
            if space == 0 {
                break;
            }
            if body.is_empty() && self.offset == 0 && front.len() <= MAX_MESSAGE_SIZE {
                body = self.pieces.pop_front().unwrap_or_default();
                continue;
            }
            let available = &front[self.offset..];
            let taken = available.len().min(space);
            body.extend_from_slice(&available[..taken]);
            if taken == available.len() {
                self.pieces.pop_front();
                self.offset = 0;
            } else {
                self.offset += taken;
            }
        }
        body
    }
}

/// A desktop sharing media stream (see the module documentation).
pub struct DesktopSharingStream {
    base: MsrpStreamBase,
    handler: Mutex<Arc<DesktopSharingHandler>>,
    /// The RFB role the peer's offer asks of us (incoming streams).
    required_role: OnceLock<DesktopSharingRole>,
    /// RFB bytes for the peer, from the handler.
    outgoing: mpsc::UnboundedSender<QueuedData>,
    /// Taken by the writer task when the stream starts.
    outgoing_queue: Mutex<Option<mpsc::UnboundedReceiver<QueuedData>>>,
    /// What an external handler's bridge may queue (see [`BRIDGE_BUFFER`]).
    credit: Arc<Semaphore>,
    /// Sends the outgoing queue on the MSRP connection.
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Tells the writer which sent messages are finished (delivered or
    /// not).
    finished: Mutex<Option<mpsc::UnboundedSender<String>>>,
}

impl std::fmt::Debug for DesktopSharingStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesktopSharingStream")
            .field("base", &self.base)
            .field("handler", &*lock(&self.handler))
            .finish()
    }
}

impl DesktopSharingStream {
    /// `DesktopSharingStream(account, handler)`: a new stream of `account`
    /// whose RFB data `handler` produces and consumes. Fails when the
    /// handler serves another stream or was used already.
    pub fn new(account: &Arc<Account>, handler: Arc<DesktopSharingHandler>) -> Result<Arc<DesktopSharingStream>> {
        let (outgoing, queue) = mpsc::unbounded_channel();
        let stream = Arc::new_cyclic(|weak: &Weak<DesktopSharingStream>| {
            let hooks: Weak<dyn MsrpStreamHooks> = weak.clone();
            DesktopSharingStream {
                base: MsrpStreamBase::new(account, spec(), hooks),
                handler: Mutex::new(handler.clone()),
                required_role: OnceLock::new(),
                outgoing,
                outgoing_queue: Mutex::new(Some(queue)),
                credit: Arc::new(Semaphore::new(BRIDGE_BUFFER)),
                writer: Mutex::new(None),
                finished: Mutex::new(None),
            }
        });
        let h = handle::register(
            ObjectKind::DesktopSharingStream,
            stream.clone(),
            Some(format!("DesktopSharingStream of {}", account.id())),
        );
        stream.base.set_handle(h);
        if let Err(e) = handler.attach(stream.link()) {
            let _ = handle::release(h);
            return Err(e);
        }
        Ok(stream)
    }

    /// The registry entry of the desktop sharing stream type.
    pub fn stream_class() -> MediaStreamType {
        MediaStreamType {
            type_name: DESKTOP_SHARING_TYPE,
            priority: DESKTOP_SHARING_PRIORITY,
            new_from_sdp: DesktopSharingStream::new_from_sdp,
        }
    }

    /// `new_from_sdp`: a stream for m-line `index` of `remote_sdp` when it
    /// is an MSRP `application` m-line accepting `application/x-rfb`, with
    /// an internal handler of the role the offer asks for (a server when
    /// the peer's `a=rfbsetup` is `active` or absent, a viewer when it is
    /// `passive`); `Ok(None)` for other m-lines, `Err` when it cannot be
    /// answered (formats, paths, an unknown `rfbsetup`).
    pub fn new_from_sdp(
        account: &Arc<Account>,
        remote_sdp: &SessionDescription,
        index: usize,
    ) -> Result<Option<Arc<dyn MediaStream>>> {
        let Some(media) = offered_msrp_media(remote_sdp, index, "application") else { return Ok(None) };
        if !accepts_rfb(media) {
            return Ok(None);
        }
        if media.formats != ["*"] {
            return Err(Error::InvalidArgument("desktop sharing m-line: the format list must be *".into()));
        }
        let role = rfbsetup_of(media)?.peer();
        let transport = MsrpTransport::from_protocol(&media.protocol).unwrap_or_default();
        let mut probe = MsrpMediaConfig::new(MsrpUri::new(transport.scheme(), "127.0.0.1", 9, "probe"));
        probe.media_type = "application".to_owned();
        probe.accept_types = vec![RFB_CONTENT_TYPE.to_owned()];
        probe.answer(media).map_err(|e| Error::InvalidArgument(format!("desktop sharing m-line {index}: {e}")))?;
        let handler = match role {
            DesktopSharingRole::Viewer => DesktopSharingHandler::internal_viewer(),
            DesktopSharingRole::Server => DesktopSharingHandler::internal_server(),
        };
        let stream = DesktopSharingStream::new(account, handler)?;
        let _ = stream.required_role.set(role);
        stream.base.set_remote_offer(remote_sdp.clone(), index);
        Ok(Some(stream))
    }

    fn link(self: &Arc<Self>) -> StreamLink {
        let weak = Arc::downgrade(self);
        StreamLink {
            stream: self.base.handle(),
            outgoing: self.outgoing.clone(),
            credit: self.credit.clone(),
            fail: Arc::new(move |reason: &str| {
                if let Some(stream) = weak.upgrade() {
                    stream.handler_failed(reason);
                }
            }),
        }
    }

    /// The account.
    pub fn account(&self) -> &Arc<Account> {
        self.base.account()
    }

    /// `handler`: what produces and consumes the RFB data.
    pub fn handler(&self) -> Arc<DesktopSharingHandler> {
        lock(&self.handler).clone()
    }

    /// Sets `handler` (before the stream starts: an incoming stream's
    /// default is an internal handler). The role must stay the one the
    /// offer asks for (incoming) or was offered (once initialized). Fails
    /// when the handler serves another stream or was used already.
    pub fn set_handler(self: &Arc<Self>, handler: Arc<DesktopSharingHandler>) -> Result<()> {
        if self.base.is_started() || self.base.is_ended() {
            return Err(Error::InvalidState("the handler is set before the desktop sharing stream starts".into()));
        }
        let mut current = lock(&self.handler);
        if Arc::ptr_eq(&current, &handler) {
            return Ok(());
        }
        let fixed_role =
            self.required_role.get().copied().or_else(|| self.base.is_initialized().then(|| current.role()));
        if let Some(role) = fixed_role.filter(|role| *role != handler.role()) {
            return Err(Error::InvalidArgument(format!(
                "the stream needs a handler of type {} (a VNC {})",
                role.name(),
                match role {
                    DesktopSharingRole::Viewer => "viewer",
                    DesktopSharingRole::Server => "server",
                }
            )));
        }
        handler.attach(self.link())?;
        current.detach(self.base.handle());
        *current = handler;
        Ok(())
    }

    /// Our MSRP URI, once initialized.
    pub fn local_uri(&self) -> Option<String> {
        self.base.local_uri()
    }

    /// The peer's MSRP path, once negotiated.
    pub fn remote_path(&self) -> Vec<String> {
        self.base.remote_path()
    }

    /// The handler failed: the stream fails (the session then drops it).
    fn handler_failed(&self, reason: &str) {
        if self.base.is_ended() {
            return;
        }
        self.base.post_fail("media", reason);
    }

    /// Starts sending the outgoing queue on the connection: one message
    /// at a time, since the MSRP session alternates between the messages it
    /// is sending (their chunks could interleave and complete out of
    /// order); what arrives meanwhile goes in the next message.
    fn start_writer(&self) {
        let Some(connection) = self.base.connection() else { return };
        let Some(mut queue) = lock(&self.outgoing_queue).take() else { return };
        let Ok(runtime) = runtime() else { return };
        let (finished_sender, mut finished) = mpsc::unbounded_channel::<String>();
        *lock(&self.finished) = Some(finished_sender);
        let handle = self.base.handle();
        let credit = self.credit.clone();
        let task = runtime.spawn(async move {
            let mut pending = OutgoingBytes::default();
            let take = |pending: &mut OutgoingBytes, queued: QueuedData| {
                credit.add_permits(queued.credit as usize);
                pending.push(queued.data);
            };
            loop {
                if pending.is_empty() {
                    match queue.recv().await {
                        Some(queued) => take(&mut pending, queued),
                        None => return,
                    }
                }
                // What the bridge reads meanwhile waits in the queue, on
                // its credit.
                while pending.len() < MAX_MESSAGE_SIZE
                    && let Ok(queued) = queue.try_recv()
                {
                    take(&mut pending, queued);
                }
                let Ok(message_id) = connection.send_message(RFB_CONTENT_TYPE, pending.take_message(), false) else {
                    tracing::debug!("desktop sharing stream {handle:?}: the MSRP connection is closed");
                    return;
                };
                loop {
                    match finished.recv().await {
                        Some(done) if done == message_id => break,
                        Some(_) => {}
                        None => return,
                    }
                }
            }
        });
        *lock(&self.writer) = Some(task);
    }

    /// A sent message is finished: the writer may send the next.
    fn finished(&self, message_id: String) {
        if let Some(finished) = lock(&self.finished).as_ref() {
            let _ = finished.send(message_id);
        }
    }

    fn stop(&self) {
        if let Some(writer) = lock(&self.writer).take() {
            writer.abort();
        }
        self.handler().stop();
    }
}

impl MsrpStreamHooks for DesktopSharingStream {
    fn base(&self) -> &MsrpStreamBase {
        &self.base
    }

    fn started(&self, _base: &MsrpStreamBase) {
        self.start_writer();
        self.handler().started();
    }

    fn event(&self, _base: &MsrpStreamBase, event: MsrpEvent) {
        match event {
            MsrpEvent::MessageReceived { content_type, body, .. } => {
                if !is_rfb(content_type.as_deref()) {
                    tracing::debug!(
                        "desktop sharing stream {:?}: {content_type:?} message ignored",
                        self.base.handle()
                    );
                } else if !body.is_empty() {
                    self.handler().deliver(body);
                }
            }
            MsrpEvent::MessageDelivered { message_id } => self.finished(message_id),
            MsrpEvent::MessageNotDelivered { message_id, code, reason } => {
                tracing::warn!(
                    "desktop sharing stream {:?}: RFB data not delivered: {code} {reason}",
                    self.base.handle()
                );
                self.finished(message_id);
            }
            _ => {}
        }
    }

    fn closed(&self, _base: &MsrpStreamBase, _reason: &str) {
        self.stop();
    }
}

impl MediaStream for DesktopSharingStream {
    fn stream_type(&self) -> &'static str {
        DESKTOP_SHARING_TYPE
    }

    fn priority(&self) -> i32 {
        DESKTOP_SHARING_PRIORITY
    }

    fn handle(&self) -> Handle {
        self.base.handle()
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn prepare(&self, direction: StreamDirection) -> Option<PrepareFuture> {
        self.base.prepare(direction)
    }

    fn initialize(&self, session: &Session, direction: StreamDirection) -> Result<()> {
        self.base.initialize(session, direction)
    }

    fn get_local_media(&self, remote_sdp: Option<&SessionDescription>, index: usize) -> Result<MediaDescription> {
        let role = self.handler().role();
        if let Some(offer) = remote_sdp.and_then(|sdp| sdp.media.get(index))
            && rfbsetup_of(offer)? == role
        {
            return Err(Error::InvalidArgument(format!(
                "both sides of the desktop sharing stream are rfbsetup {}",
                role.name()
            )));
        }
        let mut media = self.base.get_local_media(remote_sdp, index)?;
        media.attributes.retain(|a| !a.name.eq_ignore_ascii_case(RFBSETUP_ATTRIBUTE));
        media.attributes.push(Attribute::new(RFBSETUP_ATTRIBUTE, role.name()));
        Ok(media)
    }

    fn start(&self, local_sdp: &SessionDescription, remote_sdp: &SessionDescription, index: usize) -> Result<()> {
        let role = self.handler().role();
        let answered = remote_sdp.media.get(index).filter(|m| m.has_attribute(RFBSETUP_ATTRIBUTE));
        if let Some(remote) = answered
            && rfbsetup_of(remote).ok() != Some(role.peer())
        {
            let reason = format!("the peer's rfbsetup does not complement ours ({})", role.name());
            self.base.post_fail("start", &reason);
            return Err(Error::InvalidArgument(reason));
        }
        self.base.start(local_sdp, remote_sdp, index)
    }

    fn validate_update(&self, remote_sdp: &SessionDescription, index: usize) -> bool {
        self.base.validate_update(remote_sdp, index)
    }

    fn update(&self, local_sdp: &SessionDescription, remote_sdp: &SessionDescription, index: usize) -> Result<()> {
        self.base.update(local_sdp, remote_sdp, index)
    }

    fn hold(&self) {}

    fn unhold(&self) {}

    fn deactivate(&self) {
        self.base.deactivate();
    }

    fn end(&self) {
        self.stop();
        self.base.end();
    }

    fn hold_supported(&self) -> bool {
        false
    }

    fn on_hold_by_local(&self) -> bool {
        false
    }

    fn on_hold_by_remote(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msrp::message::Scheme;

    fn media(attributes: &[(&str, &str)]) -> MediaDescription {
        let mut config = MsrpMediaConfig::new(MsrpUri::new(Scheme::Msrp, "127.0.0.1", 2855, "abc"));
        config.media_type = "application".to_owned();
        config.accept_types = vec![RFB_CONTENT_TYPE.to_owned()];
        let mut media = config.offer();
        media.attributes.retain(|a| a.name != "accept-types");
        for (name, value) in attributes {
            media.attributes.push(Attribute::new(*name, *value));
        }
        media
    }

    #[test]
    fn roles_follow_rfbsetup() {
        assert_eq!(DesktopSharingRole::Viewer.name(), "active");
        assert_eq!(DesktopSharingRole::Server.name(), "passive");
        assert_eq!(DesktopSharingRole::from_name("PASSIVE"), Some(DesktopSharingRole::Server));
        assert_eq!(DesktopSharingRole::from_name("actpass"), None);
        let offer = media(&[("accept-types", RFB_CONTENT_TYPE), ("rfbsetup", "passive")]);
        assert_eq!(rfbsetup_of(&offer).unwrap(), DesktopSharingRole::Server);
        let offer = media(&[("accept-types", RFB_CONTENT_TYPE)]);
        assert_eq!(rfbsetup_of(&offer).unwrap(), DesktopSharingRole::Viewer, "active by default");
        assert!(rfbsetup_of(&media(&[("rfbsetup", "both")])).is_err());
    }

    #[test]
    fn only_rfb_accepting_application_lines_are_desktop_sharing() {
        assert!(accepts_rfb(&media(&[("accept-types", "text/plain application/x-rfb")])));
        assert!(!accepts_rfb(&media(&[("accept-types", "text/plain")])));
        assert!(!accepts_rfb(&media(&[])));
        assert!(is_rfb(Some("application/X-RFB; v=1")));
        assert!(!is_rfb(Some("text/plain")));
        assert!(!is_rfb(None));
    }

    #[test]
    fn outgoing_bytes_are_taken_in_order_in_bounded_messages() {
        let mut pending = OutgoingBytes::default();
        let expected: Vec<u8> = (0..3 * MAX_MESSAGE_SIZE + 10).map(|i| (i % 251) as u8).collect();
        pending.push(expected[..5].to_vec());
        pending.push(Vec::new());
        pending.push(expected[5..2 * MAX_MESSAGE_SIZE + 7].to_vec());
        pending.push(expected[2 * MAX_MESSAGE_SIZE + 7..].to_vec());
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        while !pending.is_empty() {
            let message = pending.take_message();
            sizes.push(message.len());
            got.extend(message);
        }
        assert_eq!(got, expected);
        assert_eq!(sizes, [MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE, 10]);
        // A piece that fits goes as it is.
        pending.push(b"RFB 003.008\n".to_vec());
        assert_eq!(pending.take_message(), b"RFB 003.008\n");
        assert!(pending.is_empty());
    }

    #[test]
    fn handlers_have_their_role_and_addresses() {
        let viewer = DesktopSharingHandler::external_viewer("127.0.0.1", 0, DEFAULT_CONNECT_TIMEOUT).unwrap();
        let (host, port) = viewer.address().unwrap();
        assert_eq!(host, "127.0.0.1");
        assert_ne!(port, 0, "the real port is reported");
        assert_eq!((viewer.handler_type(), viewer.kind().name()), ("active", "ExternalVNCViewerHandler"));
        let server = DesktopSharingHandler::external_server("localhost", 5900, DEFAULT_CONNECT_TIMEOUT).unwrap();
        assert_eq!(server.address(), Some(("localhost".to_owned(), 5900)));
        assert_eq!(server.handler_type(), "passive");
        assert!(DesktopSharingHandler::external_server("", 5900, DEFAULT_CONNECT_TIMEOUT).is_err());
        assert_eq!(DesktopSharingHandler::internal_viewer().handler_type(), "active");
        assert_eq!(DesktopSharingHandler::internal_server().handler_type(), "passive");
        assert!(DesktopSharingHandler::internal_server().send(b"x".to_vec()).is_err(), "no stream");
        assert!(server.send(b"x".to_vec()).is_err(), "external handlers do not send");
        let resolved = handle::resolve::<DesktopSharingHandler>(viewer.handle(), ObjectKind::DesktopSharingHandler);
        assert!(Arc::ptr_eq(&resolved.unwrap(), &viewer));
    }
}
