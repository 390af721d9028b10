//! The tokio driver of an [`MsrpSession`]: one TCP or TLS connection and one
//! session endpoint, run as a task on a given runtime.
//!
//! - [`MsrpConnection::connect`] starts a connection: the active side
//!   connects to the first URI of the remote path and binds the connection
//!   with an empty SEND (`Byte-Range: 1-0/0`, RFC 4975 §5.4); the passive
//!   side waits until the [`MsrpListener`] hands it the connection whose
//!   first request is addressed to its own URI.
//! - Commands ([`MsrpConnection::send_message`], [`MsrpConnection::close`])
//!   never block: they go to the task through a channel.
//! - What happens comes out as [`MsrpEvent`] values on the receiver
//!   returned with the connection. The stream of events ends with
//!   [`MsrpEvent::Closed`]; every message still pending then has had its
//!   [`MsrpEvent::MessageNotDelivered`].
//!
//! TLS uses the SIP transport's rustls setup ([`TlsConfig`]): the same
//! certificate verification and the same certificate file.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use super::library_log::{LogLevel, library_log, trace_enabled};
use super::message::{
    ByteRange, Continuation, Event, FailureReport, Head, Header, Limits, Method, MsrpUri, Parser, Scheme,
    encode_end_line, new_message_id, reason_phrase,
};
use super::sdp::ConnectionRole;
use super::session::{MsrpEvent, MsrpSession, MsrpSessionConfig, SendError, StreamedMessage, fix_transaction_id};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sip::transport::{Tls, TlsConfig};
use crate::value::Value;

/// Why a connection or listener could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MsrpTransportError {
    /// The TLS settings are unusable (unreadable CA list or certificate).
    #[error("TLS: {0}")]
    Tls(String),
    /// A passive connection needs a listener.
    #[error("a passive MSRP connection needs a listener")]
    NoListener,
    /// A path is empty.
    #[error("the MSRP path is empty")]
    EmptyPath,
    /// Binding the listening socket failed.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Why [`MsrpConnection::send_message`] refused a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MsrpSendError {
    /// The connection is closed.
    #[error("the MSRP connection is closed")]
    Closed,
    /// The byte range to send is not within the message.
    #[error("the byte range is not within the message")]
    Range,
}

/// TLS for MSRP (`msrps` URIs): client and, with a certificate, server side.
#[derive(Clone)]
pub struct MsrpTls {
    tls: Arc<Tls>,
}

impl std::fmt::Debug for MsrpTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MsrpTls")
    }
}

impl MsrpTls {
    /// TLS from the same settings as SIP: the CA list verifies the peer
    /// when connecting; the certificate file lets a listener accept.
    pub fn new(config: &TlsConfig) -> Result<MsrpTls, MsrpTransportError> {
        let tls = Tls::new(config).map_err(|e| MsrpTransportError::Tls(e.to_string()))?;
        Ok(MsrpTls { tls: Arc::new(tls) })
    }
}

/// A byte stream: TCP or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type BoxedIo = Box<dyn Io>;

/// An open MSRP connection (TCP, or TLS over TCP) not yet driven by an
/// [`MsrpConnection`]: for a relay, open it with [`MsrpIo::connect`],
/// authenticate on it (it reads and writes bytes), then hand it over with
/// [`MsrpConnectOptions::connected`].
pub struct MsrpIo {
    io: BoxedIo,
}

impl std::fmt::Debug for MsrpIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MsrpIo")
    }
}

impl MsrpIo {
    /// Connects to the host and port of `uri`: TCP for `msrp`, TLS (which
    /// needs `tls`, verifying the host name) for `msrps`.
    pub async fn connect(uri: &MsrpUri, tls: Option<&MsrpTls>) -> Result<MsrpIo, String> {
        let port = uri.port.ok_or_else(|| format!("no port in {uri}"))?;
        let host = uri.host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let tcp = TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("connect to {uri}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let io: BoxedIo = match uri.scheme {
            Scheme::Msrps => {
                let tls = tls.ok_or_else(|| format!("no TLS settings for {uri}"))?;
                Box::new(tls.tls.connect(&host, tcp).await.map_err(|e| format!("TLS to {uri}: {e}"))?)
            }
            Scheme::Msrp => Box::new(tcp),
        };
        Ok(MsrpIo { io })
    }

    /// Wraps any byte stream (a TCP or TLS stream opened elsewhere).
    pub fn from_stream<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(stream: S) -> MsrpIo {
        MsrpIo { io: Box::new(stream) }
    }
}

impl AsyncRead for MsrpIo {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for MsrpIo {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A connection handed by the listener to the session it is for.
struct Accepted {
    io: BoxedIo,
    /// Bytes already read (they start with the first request).
    read: Vec<u8>,
}

/// The sessions a listener knows of.
#[derive(Default)]
struct Registry {
    /// Sessions waiting for their connection.
    waiting: Vec<(MsrpUri, oneshot::Sender<Accepted>)>,
    /// Session URIs announced by [`MsrpListener::expect`], with when.
    expected: Vec<(MsrpUri, tokio::time::Instant)>,
    /// Session URIs that took their connection, the latest last (at most
    /// [`BOUND_MEMORY`]): another connection for one gets 506.
    bound: std::collections::VecDeque<MsrpUri>,
}

/// How many bound session URIs a listener remembers.
const BOUND_MEMORY: usize = 64;

struct Shared {
    registry: Mutex<Registry>,
    /// Wakes the connections that wait for their session.
    registered: tokio::sync::Notify,
}

type Waiting = Arc<Shared>;

/// Accepts MSRP connections on one port and hands each to the session
/// whose local URI is the first To-Path URI of its first request; a
/// connection for no session gets 481 and is closed, one for a session that
/// has its connection already 506 (RFC 4975 §7.3.1).
#[derive(Clone)]
pub struct MsrpListener {
    local_addr: SocketAddr,
    waiting: Waiting,
    stop: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for MsrpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpListener").field("local_addr", &self.local_addr).finish()
    }
}

/// Largest first request head read before a connection is matched.
const MAX_FIRST_REQUEST: usize = 64 * 1024;

impl MsrpListener {
    /// Listens on `address` (port 0 picks one) on `runtime`; with `tls`
    /// (which needs a certificate) connections are TLS. Must be called
    /// from within a tokio runtime context or with one given: it does not
    /// wait.
    pub fn bind(
        runtime: &Handle,
        address: SocketAddr,
        tls: Option<MsrpTls>,
    ) -> Result<MsrpListener, MsrpTransportError> {
        let std_listener = std::net::TcpListener::bind(address)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| MsrpTransportError::Bind { address, source })?;
        let local_addr = std_listener.local_addr().map_err(|source| MsrpTransportError::Bind { address, source })?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(std_listener).map_err(|source| MsrpTransportError::Bind { address, source })?
        };
        let waiting: Waiting =
            Arc::new(Shared { registry: Mutex::new(Registry::default()), registered: tokio::sync::Notify::new() });
        let stop = Arc::new(tokio::sync::Notify::new());
        runtime.spawn(accept_loop(listener, tls, waiting.clone(), stop.clone()));
        Ok(MsrpListener { local_addr, waiting, stop })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections (connections already handed over go on).
    pub fn close(&self) {
        self.stop.notify_one();
    }

    /// Announces a session URI before the session starts (at initialize,
    /// before our SDP goes out): a connection for it that arrives first is
    /// held until the session connects (up to [`EXPECTED_SESSION_HOLD`])
    /// instead of being answered 481. Undone by [`MsrpListener::forget`]
    /// or when the session connects.
    pub fn expect(&self, local_uri: MsrpUri) {
        let now = tokio::time::Instant::now();
        let mut registry = self.waiting.registry.lock().unwrap_or_else(PoisonError::into_inner);
        registry.expected.retain(|(uri, since)| {
            now.saturating_duration_since(*since) < EXPECTED_SESSION_LIFETIME && !uri.is_equivalent(&local_uri)
        });
        registry.expected.push((local_uri, now));
    }

    /// Forgets a URI given to [`MsrpListener::expect`] whose session will
    /// not connect (the stream ended first); a connection held for it gets
    /// 481.
    pub fn forget(&self, local_uri: &MsrpUri) {
        self.waiting
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .expected
            .retain(|(uri, _)| !uri.is_equivalent(local_uri));
        self.waiting.registered.notify_waiters();
    }

    fn register(&self, uri: MsrpUri) -> oneshot::Receiver<Accepted> {
        let (sender, receiver) = oneshot::channel();
        {
            let mut registry = self.waiting.registry.lock().unwrap_or_else(PoisonError::into_inner);
            registry.waiting.retain(|(_, s)| !s.is_closed());
            registry.expected.retain(|(expected, _)| !expected.is_equivalent(&uri));
            registry.waiting.push((uri, sender));
        }
        self.waiting.registered.notify_waiters();
        receiver
    }
}

async fn accept_loop(listener: TcpListener, tls: Option<MsrpTls>, waiting: Waiting, stop: Arc<tokio::sync::Notify>) {
    loop {
        let tcp = tokio::select! {
            _ = stop.notified() => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(error) => {
                    library_log(LogLevel::Warning, &format!("MSRP accept failed: {error}"));
                    continue;
                }
            },
        };
        let tls = tls.clone();
        let waiting = waiting.clone();
        tokio::spawn(async move {
            let io: BoxedIo = match tls {
                Some(tls) => match tls.tls.accept(tcp).await {
                    Ok(stream) => Box::new(stream),
                    Err(error) => {
                        library_log(LogLevel::Warning, &format!("MSRP TLS handshake failed: {error}"));
                        return;
                    }
                },
                None => Box::new(tcp),
            };
            route(io, waiting).await;
        });
    }
}

/// How long an accepted connection waits for a session its first request
/// names, and that was not announced with [`MsrpListener::expect`], to
/// start listening before it is answered 481.
const SESSION_ARRIVAL_GRACE: Duration = Duration::from_secs(2);

/// How long a connection for a session announced with
/// [`MsrpListener::expect`] is held for it.
pub const EXPECTED_SESSION_HOLD: Duration = Duration::from_secs(32);

/// How long a URI given to [`MsrpListener::expect`] is remembered when its
/// session neither connects nor is forgotten.
const EXPECTED_SESSION_LIFETIME: Duration = Duration::from_secs(600);

enum Routing {
    Session(oneshot::Sender<Accepted>),
    Wait(tokio::time::Instant),
    NoSession,
    /// The session has its connection already (506).
    Bound,
}

/// Where the connection whose first request is addressed to `to` goes.
fn routing(shared: &Shared, to: &MsrpUri, arrived: tokio::time::Instant) -> Routing {
    let now = tokio::time::Instant::now();
    let mut registry = shared.registry.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(index) = registry.waiting.iter().position(|(uri, s)| !s.is_closed() && uri.is_equivalent(to)) {
        let (uri, sender) = registry.waiting.swap_remove(index);
        if registry.bound.len() >= BOUND_MEMORY {
            registry.bound.pop_front();
        }
        registry.bound.push_back(uri);
        return Routing::Session(sender);
    }
    if registry.bound.iter().any(|uri| uri.is_equivalent(to)) {
        return Routing::Bound;
    }
    let expected = registry
        .expected
        .iter()
        .any(|(uri, since)| uri.is_equivalent(to) && now.saturating_duration_since(*since) < EXPECTED_SESSION_LIFETIME);
    let deadline = arrived + if expected { EXPECTED_SESSION_HOLD } else { SESSION_ARRIVAL_GRACE };
    if now >= deadline { Routing::NoSession } else { Routing::Wait(deadline) }
}

/// Reads the first request head of an accepted connection and hands the
/// connection to its session, or answers 481 and closes it.
async fn route(mut io: BoxedIo, waiting: Waiting) {
    let mut parser = Parser::new(Limits::default());
    let mut read = Vec::new();
    let mut buffer = vec![0u8; 8192];
    let head = loop {
        match io.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                read.extend_from_slice(&buffer[..n]);
                parser.feed(&buffer[..n]);
            }
        }
        match parser.next_event() {
            Ok(Some(Event::Head(head))) => break head,
            Ok(None) if read.len() <= MAX_FIRST_REQUEST => continue,
            _ => return,
        }
    };
    let to = head.headers.to_path.first().cloned();
    // The peer may connect as soon as it has our answer, before our side
    // starts its stream: the session is held for when announced, else
    // given a moment to arrive.
    let arrived = tokio::time::Instant::now();
    let sender = match &to {
        Some(to) if head.method().is_some() => loop {
            let registered = waiting.registered.notified();
            tokio::pin!(registered);
            registered.as_mut().enable();
            match routing(&waiting, to, arrived) {
                Routing::Session(sender) => break Ok(sender),
                Routing::NoSession => break Err(481),
                Routing::Bound => break Err(506),
                Routing::Wait(deadline) => {
                    // Woken by a registration; polled now and then for a
                    // session that went away.
                    let poll = (tokio::time::Instant::now() + Duration::from_millis(250)).min(deadline);
                    tokio::select! {
                        () = registered => {}
                        () = tokio::time::sleep_until(poll) => {}
                    }
                }
            }
        },
        _ => Err(481),
    };
    match sender {
        Ok(sender) => {
            let _ = sender.send(Accepted { io, read });
        }
        Err(code) => {
            let to = head.headers.to_path.first().map(ToString::to_string).unwrap_or_default();
            let why = if code == 506 { "a session bound to another connection" } else { "no session" };
            library_log(LogLevel::Info, &format!("MSRP connection for {why} ({to}): {code}"));
            if let Some(response) = head.response(code, Some(reason_phrase(code))) {
                let mut out = Vec::new();
                response.encode(false, &mut out);
                encode_end_line(&response.transaction_id, Continuation::Complete, false, &mut out);
                let _ = io.write_all(&out).await;
            }
            let _ = io.shutdown().await;
        }
    }
}

enum Command {
    Send { message_id: String, content_type: String, body: Vec<u8>, success_report: bool },
    Request { head: Box<Head>, body: Option<(String, Vec<u8>)> },
    Abort { message_id: String },
    SendFile { message: StreamedMessage, file: std::fs::File },
    Close,
}

/// The events of an [`MsrpConnection`], in order, ending with
/// [`MsrpEvent::Closed`]. The channel is bounded: while it is full the
/// connection stops reading from the socket, so a slow consumer slows the
/// peer down instead of piling data up in memory.
pub type MsrpEventReceiver = mpsc::Receiver<MsrpEvent>;

/// How many events wait in an [`MsrpEventReceiver`] at most.
const EVENT_QUEUE: usize = 64;

/// A running MSRP connection: send commands through it; its events come
/// on the receiver returned by [`MsrpConnection::connect`]. Dropping every
/// clone closes the connection.
#[derive(Clone, Debug)]
pub struct MsrpConnection {
    commands: mpsc::UnboundedSender<Command>,
}

/// How an [`MsrpConnection`] is made.
#[derive(Debug, Default)]
pub struct MsrpConnectOptions {
    /// TLS for `msrps` remote URIs when connecting.
    pub tls: Option<MsrpTls>,
    /// The listener a passive connection waits on.
    pub listener: Option<MsrpListener>,
    /// The session endpoint's settings.
    pub session: MsrpSessionConfig,
    /// An open connection to use instead of connecting or waiting on the
    /// listener (a relay's, after AUTH). With the active role the binding
    /// SEND is still written first.
    pub connected: Option<MsrpIo>,
}

impl MsrpConnection {
    /// Starts a connection on `runtime` and returns at once. `local_path`
    /// ends with our URI; `remote_path` is the To-Path (its first URI is
    /// connected to when `role` is active). The events arrive on the
    /// returned receiver.
    pub fn connect(
        runtime: &Handle,
        local_path: Vec<MsrpUri>,
        remote_path: Vec<MsrpUri>,
        role: ConnectionRole,
        options: MsrpConnectOptions,
    ) -> Result<(MsrpConnection, MsrpEventReceiver), MsrpTransportError> {
        let (Some(local), Some(first_hop)) = (local_path.last().cloned(), remote_path.first().cloned()) else {
            return Err(MsrpTransportError::EmptyPath);
        };
        let (command_sender, commands) = mpsc::unbounded_channel();
        let (event_sender, events) = mpsc::channel(EVENT_QUEUE);
        let connecting = match (options.connected, role) {
            (Some(io), _) => Connecting::Connected(io),
            (None, ConnectionRole::Active) => Connecting::Active { to: first_hop, tls: options.tls },
            (None, ConnectionRole::Passive) => {
                let listener = options.listener.ok_or(MsrpTransportError::NoListener)?;
                Connecting::Passive { accepted: listener.register(local) }
            }
        };
        let binding = match role {
            ConnectionRole::Active => Some(binding_send(&remote_path, &local_path)),
            ConnectionRole::Passive => None,
        };
        let session = MsrpSession::new(local_path, remote_path, options.session);
        runtime.spawn(run(session, connecting, binding, commands, event_sender, trace_enabled()));
        Ok((MsrpConnection { commands: command_sender }, events))
    }

    /// Queues a message; its Message-ID is returned at once. Its outcome
    /// comes as [`MsrpEvent::MessageDelivered`] or
    /// [`MsrpEvent::MessageNotDelivered`] (with `success_report`, delivered
    /// means the peer's success REPORT covered it).
    pub fn send_message(
        &self,
        content_type: &str,
        body: Vec<u8>,
        success_report: bool,
    ) -> Result<String, MsrpSendError> {
        let message_id = new_message_id();
        self.commands
            .send(Command::Send {
                message_id: message_id.clone(),
                content_type: content_type.to_owned(),
                body,
                success_report,
            })
            .map_err(|_| MsrpSendError::Closed)?;
        Ok(message_id)
    }

    /// Sends bytes `[range.start, range.end)` (0-based) of `file` as a
    /// message of `total` bytes, read from disk as the connection takes
    /// them (on a blocking thread, a few chunks ahead: never the whole file
    /// in memory). Its chunks carry Byte-Range `range.start + 1`-`end`/
    /// `total`, Success-Report `yes` and `headers` (Content-Disposition,
    /// ...). Returns the Message-ID at once; progress comes as
    /// [`MsrpEvent::ChunkDelivered`], then [`MsrpEvent::MessageDelivered`]
    /// — or [`MsrpEvent::MessageNotDelivered`] (500 when the file cannot be
    /// read or is shorter than the range).
    pub fn send_file(
        &self,
        content_type: &str,
        file: std::fs::File,
        range: std::ops::Range<u64>,
        total: u64,
        headers: Vec<Header>,
    ) -> Result<String, MsrpSendError> {
        if range.start > range.end || range.end > total {
            return Err(MsrpSendError::Range);
        }
        let message_id = new_message_id();
        let message = StreamedMessage {
            message_id: Some(message_id.clone()),
            content_type: content_type.to_owned(),
            range,
            total,
            headers,
            success_report: true,
            failure_report: FailureReport::Yes,
        };
        self.commands.send(Command::SendFile { message, file }).map_err(|_| MsrpSendError::Closed)?;
        Ok(message_id)
    }

    /// Sends a request other than SEND (NICKNAME, AUTH, ...) built by the
    /// caller, e.g. `Head::request(Method::Nickname, vec![], vec![])`:
    /// empty To-Path and From-Path are filled in with the session's paths
    /// (give only the relay as To-Path for AUTH); `body` is a Content-Type
    /// and bytes. Returns the transaction id at once (the head's, unless
    /// it is invalid or occurs in the body); the response comes as
    /// [`MsrpEvent::ResponseReceived`] with it — 408 when none came in
    /// time or the connection closed first.
    pub fn send_request(&self, mut head: Head, body: Option<(String, Vec<u8>)>) -> Result<String, MsrpSendError> {
        fix_transaction_id(&mut head, body.as_ref().map_or(&[][..], |(_, bytes)| bytes));
        let transaction_id = head.transaction_id.clone();
        self.commands.send(Command::Request { head: Box::new(head), body }).map_err(|_| MsrpSendError::Closed)?;
        Ok(transaction_id)
    }

    /// Aborts a message being sent: when some of it was written, a chunk
    /// ending in `#` tells the peer; no further event comes for it.
    pub fn abort(&self, message_id: &str) {
        let _ = self.commands.send(Command::Abort { message_id: message_id.to_owned() });
    }

    /// Closes the connection: pending messages fail and
    /// [`MsrpEvent::Closed`] follows.
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close);
    }
}

enum Connecting {
    Active { to: MsrpUri, tls: Option<MsrpTls> },
    Passive { accepted: oneshot::Receiver<Accepted> },
    Connected(MsrpIo),
}

/// The file of a message of [`MsrpConnection::send_file`], read ahead on
/// a blocking thread.
struct Feed {
    message_id: String,
    pieces: mpsc::Receiver<Result<Vec<u8>, String>>,
}

/// The files being sent.
#[derive(Default)]
struct Feeds {
    feeds: Vec<Feed>,
    /// Notified by the reading threads after each piece.
    ready: Arc<tokio::sync::Notify>,
    /// Whether a message waits for bytes of its file.
    hungry: bool,
}

/// The smallest piece of a file read at once.
const FILE_PIECE: usize = 256 * 1024;

/// Pieces of a file read ahead of the connection, per file.
const READ_AHEAD: usize = 2;

impl Feeds {
    /// Starts reading a file.
    fn start(&mut self, message_id: String, file: std::fs::File, range: std::ops::Range<u64>, piece: usize) {
        let (sender, pieces) = mpsc::channel(READ_AHEAD);
        let ready = self.ready.clone();
        tokio::task::spawn_blocking(move || read_file(file, range, piece, &sender, &ready));
        self.feeds.push(Feed { message_id, pieces });
    }

    /// Gives the session the pieces read that its messages want; drops the
    /// files of messages no longer sent.
    fn feed(&mut self, session: &mut MsrpSession) {
        self.hungry = false;
        self.feeds.retain_mut(|feed| {
            loop {
                match session.body_wanted(&feed.message_id) {
                    None => return false,
                    Some(0) => return true,
                    Some(_) => {}
                }
                match feed.pieces.try_recv() {
                    Ok(Ok(piece)) => {
                        session.push_body(&feed.message_id, piece);
                    }
                    Ok(Err(reason)) => {
                        session.fail_message(&feed.message_id, 500, &reason);
                        return false;
                    }
                    Err(mpsc::error::TryRecvError::Empty) => {
                        self.hungry = true;
                        return true;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        session.fail_message(&feed.message_id, 500, "the file reader stopped");
                        return false;
                    }
                }
            }
        });
    }
}

/// Reads bytes `range` of `file` in pieces of `piece` bytes into `sender`
/// (which holds a few): on a blocking thread.
fn read_file(
    mut file: std::fs::File,
    range: std::ops::Range<u64>,
    piece: usize,
    sender: &mpsc::Sender<Result<Vec<u8>, String>>,
    ready: &tokio::sync::Notify,
) {
    use std::io::{Read, Seek};
    let result = (|| {
        file.seek(std::io::SeekFrom::Start(range.start)).map_err(|e| format!("cannot read the file: {e}"))?;
        let mut at = range.start;
        while at < range.end {
            let len = usize::try_from(range.end - at).unwrap_or(usize::MAX).min(piece);
            let mut bytes = Vec::with_capacity(len);
            (&mut file).take(len as u64).read_to_end(&mut bytes).map_err(|e| format!("cannot read the file: {e}"))?;
            if bytes.is_empty() {
                return Err(format!("the file ends at byte {at}, before {}", range.end));
            }
            at += bytes.len() as u64;
            if sender.blocking_send(Ok(bytes)).is_err() {
                return Ok(());
            }
            ready.notify_one();
        }
        Ok(())
    })();
    if let Err(reason) = result {
        let _ = sender.blocking_send(Err(reason));
        ready.notify_one();
    }
}

/// Applies a command; events it causes at once are queued in `failed`.
/// `false` for a close.
fn apply(session: &mut MsrpSession, feeds: &mut Feeds, command: Command, failed: &mut Vec<MsrpEvent>) -> bool {
    match command {
        Command::SendFile { message, file } => {
            let message_id = message.message_id.clone().unwrap_or_default();
            let range = message.range.clone();
            match session.send_streamed(Instant::now(), message) {
                Ok(message_id) => {
                    let piece = session.config().max_chunk_size.clamp(FILE_PIECE, 4 * FILE_PIECE);
                    feeds.start(message_id, file, range, piece);
                }
                Err(error) => {
                    failed.push(MsrpEvent::MessageNotDelivered { message_id, code: 400, reason: error.to_string() })
                }
            }
            true
        }
        Command::Send { message_id, content_type, body, success_report } => {
            let result = session.send_message(
                Instant::now(),
                Some(&message_id),
                &content_type,
                body,
                success_report,
                FailureReport::Yes,
            );
            if let Err(error) = result {
                failed.push(MsrpEvent::MessageNotDelivered { message_id, code: 400, reason: error.to_string() });
            }
            true
        }
        Command::Request { head, body } => {
            let transaction_id = head.transaction_id.clone();
            let request = (*head).clone();
            if let Err(error) = session.send_request(Instant::now(), *head, body) {
                let code = if matches!(error, SendError::Closed) { 408 } else { 400 };
                let response = request.response(code, Some(&error.to_string())).unwrap_or(request);
                failed.push(MsrpEvent::ResponseReceived {
                    transaction_id,
                    code,
                    comment: Some(error.to_string()),
                    head: Box::new(response),
                });
            }
            true
        }
        Command::Abort { message_id } => {
            session.abort(&message_id);
            true
        }
        Command::Close => false,
    }
}

async fn open(connecting: Connecting) -> Result<Accepted, String> {
    match connecting {
        Connecting::Passive { accepted } => accepted.await.map_err(|_| "the listener stopped".to_owned()),
        Connecting::Active { to, tls } => {
            let io = MsrpIo::connect(&to, tls.as_ref()).await?;
            Ok(Accepted { io: io.io, read: Vec::new() })
        }
        Connecting::Connected(io) => Ok(Accepted { io: io.io, read: Vec::new() }),
    }
}

/// The empty SEND that binds an active connection (RFC 4975 §5.4).
fn binding_send(remote_path: &[MsrpUri], local_path: &[MsrpUri]) -> Vec<u8> {
    let mut head = Head::request(Method::Send, remote_path.to_vec(), local_path.to_vec());
    head.headers.message_id = Some(new_message_id());
    head.headers.byte_range = Some(ByteRange { start: 1, end: Some(0), total: Some(0) });
    let mut out = Vec::new();
    head.encode(false, &mut out);
    encode_end_line(&head.transaction_id, Continuation::Complete, false, &mut out);
    out
}

/// Whether an event is about an empty SEND without Content-Type: the
/// binding SEND of the active side (RFC 4975 §5.4) or a keep-alive, not
/// reported.
fn is_bind_event(event: &MsrpEvent) -> bool {
    match event {
        MsrpEvent::MessageReceived { content_type: None, size: 0, .. } => true,
        MsrpEvent::ChunkReceived { byte_range, total: Some(0), .. } => byte_range.end == Some(0),
        _ => false,
    }
}

/// Most bytes queued toward the socket before the session is asked for
/// more (a SEND chunk is cut only when there is room for it).
const OUTPUT_LIMIT: usize = 512 * 1024;

/// Bytes read from the socket at once.
const READ_BUFFER: usize = 256 * 1024;

async fn run(
    mut session: MsrpSession,
    connecting: Connecting,
    binding: Option<Vec<u8>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<MsrpEvent>,
    trace: bool,
) {
    let mut pending = VecDeque::new();
    let mut feeds = Feeds::default();
    // Connect, queueing the messages sent meanwhile.
    let opening = open(connecting);
    tokio::pin!(opening);
    let opened = loop {
        let mut failed = Vec::new();
        let keep = tokio::select! {
            opened = &mut opening => break opened,
            command = commands.recv() => command.is_some_and(|c| apply(&mut session, &mut feeds, c, &mut failed)),
        };
        pending.extend(failed);
        if !keep {
            break Err("closed".to_owned());
        }
    };
    let reason = match opened {
        Ok(accepted) => {
            let mut driver = Driver {
                session: &mut session,
                feeds: &mut feeds,
                events: &events,
                pending,
                output: Output::default(),
                tracer: trace.then(Tracer::new),
            };
            let reason = driver.drive(accepted, binding, &mut commands).await;
            pending = driver.pending;
            reason
        }
        Err(reason) => reason,
    };
    library_log(LogLevel::Debug, &format!("MSRP connection ended: {reason}"));
    commands.close();
    let mut failed = Vec::new();
    while let Ok(command) = commands.try_recv() {
        apply(&mut session, &mut feeds, command, &mut failed);
    }
    pending.extend(failed);
    drop(feeds);
    session.handle_connection_lost();
    while let Some(event) = session.poll_event() {
        if !is_bind_event(&event) {
            pending.push_back(event);
        }
    }
    for event in pending {
        if events.send(event).await.is_err() {
            break;
        }
    }
}

/// Bytes queued toward the socket.
#[derive(Default)]
struct Output {
    queue: VecDeque<Vec<u8>>,
    /// Bytes of the first buffer already written.
    written: usize,
    /// Bytes queued and not yet written.
    len: usize,
    /// Whether a flush is due once the queue is empty (TLS buffers).
    flush: bool,
}

impl Output {
    fn push(&mut self, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            self.len += bytes.len();
            self.queue.push_back(bytes);
        }
    }

    fn slices(&self) -> Vec<std::io::IoSlice<'_>> {
        let mut slices = Vec::with_capacity(self.queue.len().min(64));
        for (index, bytes) in self.queue.iter().take(64).enumerate() {
            let skip = if index == 0 { self.written } else { 0 };
            slices.push(std::io::IoSlice::new(&bytes[skip..]));
        }
        slices
    }

    fn advance(&mut self, mut n: usize) {
        self.len -= n;
        self.flush = true;
        while n > 0 {
            let Some(front) = self.queue.front() else { return };
            let left = front.len() - self.written;
            if n >= left {
                n -= left;
                self.written = 0;
                self.queue.pop_front();
            } else {
                self.written += n;
                n = 0;
            }
        }
    }
}

/// Writes some of `slices` (how much), or flushes when there are none.
async fn write_or_flush<W: AsyncWrite + Unpin>(
    writer: &mut W,
    slices: &[std::io::IoSlice<'_>],
) -> std::io::Result<Option<usize>> {
    if slices.is_empty() { writer.flush().await.map(|()| None) } else { writer.write_vectored(slices).await.map(Some) }
}

/// Runs a connected session on its socket: one task reads, writes,
/// applies commands and hands out events.
struct Driver<'a> {
    session: &'a mut MsrpSession,
    feeds: &'a mut Feeds,
    events: &'a mpsc::Sender<MsrpEvent>,
    /// Events taken from the session, not yet taken by the channel. While
    /// there are some, nothing is read from the socket.
    pending: VecDeque<MsrpEvent>,
    output: Output,
    /// Posts MSRPTransportTrace (with `logs.trace_msrp`).
    tracer: Option<Tracer>,
}

impl Driver<'_> {
    fn write(&mut self, bytes: Vec<u8>) {
        if let Some(tracer) = &self.tracer {
            tracer.outgoing(&bytes);
        }
        self.output.push(bytes);
    }

    fn read(&mut self, bytes: &[u8]) {
        if let Some(tracer) = &mut self.tracer {
            tracer.incoming(bytes);
        }
        self.session.handle_bytes(Instant::now(), bytes);
    }

    /// Moves what the session has to write into the output queue (while it
    /// has room) and its events into the channel (while it has room).
    fn pump(&mut self) {
        loop {
            self.feeds.feed(self.session);
            let queued = self.output.len;
            while self.output.len < OUTPUT_LIMIT {
                match self.session.poll_transmit() {
                    Some(bytes) => self.write(bytes),
                    None => break,
                }
            }
            if self.output.len == queued || self.output.len >= OUTPUT_LIMIT {
                break;
            }
        }
        while let Some(event) = self.session.poll_event() {
            if !is_bind_event(&event) {
                self.pending.push_back(event);
            }
        }
        while !self.pending.is_empty() {
            match self.events.try_reserve() {
                Ok(permit) => {
                    if let Some(event) = self.pending.pop_front() {
                        permit.send(event);
                    }
                }
                Err(mpsc::error::TrySendError::Full(())) => break,
                // Nobody listens: the events are dropped.
                Err(mpsc::error::TrySendError::Closed(())) => self.pending.clear(),
            }
        }
    }

    /// Runs until the connection ends; returns why.
    async fn drive(
        &mut self,
        accepted: Accepted,
        binding: Option<Vec<u8>>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> String {
        let Accepted { io, read } = accepted;
        let (mut reader, mut writer) = tokio::io::split(io);
        if let Some(binding) = binding {
            self.write(binding);
        }
        if !read.is_empty() {
            self.read(&read);
        }
        let mut buffer = vec![0u8; READ_BUFFER];
        let reason = loop {
            self.pump();
            if self.session.is_closed() {
                break "the session closed".to_owned();
            }
            let deadline = self.session.poll_timeout();
            let timer = async move {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
                    None => std::future::pending().await,
                }
            };
            let writing = !self.output.queue.is_empty();
            let flushing = !writing && self.output.flush;
            let reading = self.pending.is_empty();
            let slices = self.output.slices();
            let file_ready = self.feeds.ready.notified();
            let mut failed = Vec::new();
            tokio::select! {
                command = commands.recv() => {
                    let keep = command.is_some_and(|c| apply(self.session, self.feeds, c, &mut failed));
                    if !keep {
                        break "closed locally".to_owned();
                    }
                }
                read = reader.read(&mut buffer), if reading => match read {
                    Ok(0) => break "connection closed by the peer".to_owned(),
                    Ok(n) => self.read(&buffer[..n]),
                    Err(error) => break format!("read failed: {error}"),
                },
                written = write_or_flush(&mut writer, &slices), if writing || flushing => match written {
                    Ok(Some(0)) => break "write failed: the connection is closed".to_owned(),
                    Ok(Some(n)) => {
                        drop(slices);
                        self.output.advance(n);
                    }
                    Ok(None) => self.output.flush = false,
                    Err(error) => break format!("write failed: {error}"),
                },
                permit = self.events.reserve(), if !reading => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.pending.pop_front() {
                            permit.send(event);
                        }
                    }
                    Err(_) => self.pending.clear(),
                },
                () = timer => self.session.handle_timeout(Instant::now()),
                () = file_ready, if self.feeds.hungry => {}
            }
            self.pending.extend(failed);
        };
        // Write what was queued (responses, the abort of a message), then
        // close; a peer that does not read gets two seconds.
        let flush = async {
            while let Some(bytes) = self.session.poll_transmit() {
                self.write(bytes);
            }
            for (index, bytes) in self.output.queue.iter().enumerate() {
                let skip = if index == 0 { self.output.written } else { 0 };
                writer.write_all(&bytes[skip..]).await?;
            }
            writer.shutdown().await
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), flush).await;
        reason
    }
}

/// Text bodies longer than this are traced as their size.
const TRACE_BODY: usize = 64 * 1024;

/// Posts an MSRPTransportTrace for every frame written and read: its text,
/// with a body that is not UTF-8 text (or is longer than [`TRACE_BODY`])
/// written as `[N bytes]`.
struct Tracer {
    /// Frames the bytes read into (a second parse, only while tracing).
    parser: Parser,
    frame: Option<(Box<Head>, Vec<u8>, u64)>,
    /// The bytes read could not be framed: the rest is traced as read.
    raw: bool,
}

impl Tracer {
    fn new() -> Tracer {
        Tracer { parser: Parser::new(Limits { max_body: usize::MAX, ..Limits::default() }), frame: None, raw: false }
    }

    fn post(direction: &str, data: String) {
        NotificationCenter::default_center()
            .post(Value::Null, n::MSRPTransportTrace { direction: direction.to_owned(), data });
    }

    /// One frame written (the session writes whole frames).
    fn outgoing(&self, bytes: &[u8]) {
        let end_line = memchr::memmem::rfind(bytes, b"\r\n-------").map_or(bytes.len(), |i| i + 2);
        let head_end = memchr::memmem::find(&bytes[..end_line], b"\r\n\r\n").map(|i| i + 4);
        let text = match head_end {
            Some(head_end) if head_end + 2 <= end_line => {
                let body = &bytes[head_end..end_line - 2];
                let mut text = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
                text.push_str(&body_text(body, body.len() as u64));
                text.push_str(&String::from_utf8_lossy(&bytes[end_line - 2..]));
                text
            }
            _ => String::from_utf8_lossy(bytes).into_owned(),
        };
        Tracer::post("outgoing", text);
    }

    /// Bytes read, in any split: a trace per frame completed.
    fn incoming(&mut self, bytes: &[u8]) {
        if self.raw {
            Tracer::post("incoming", String::from_utf8_lossy(bytes).into_owned());
            return;
        }
        self.parser.feed(bytes);
        loop {
            match self.parser.next_event() {
                Ok(None) => return,
                Ok(Some(Event::Head(head))) => self.frame = Some((head, Vec::new(), 0)),
                Ok(Some(Event::Body(piece))) => {
                    if let Some((_, body, len)) = &mut self.frame {
                        if body.len() + piece.len() <= TRACE_BODY {
                            body.extend_from_slice(piece);
                        }
                        *len += piece.len() as u64;
                    }
                }
                Ok(Some(Event::End(continuation))) => {
                    let Some((head, body, len)) = self.frame.take() else { continue };
                    let has_body = len > 0 || head.headers.content_type.is_some();
                    let mut text = Vec::new();
                    head.encode(has_body, &mut text);
                    let mut text = String::from_utf8_lossy(&text).into_owned();
                    if has_body {
                        text.push_str(&body_text(&body, len));
                    }
                    let mut end = Vec::new();
                    encode_end_line(&head.transaction_id, continuation, has_body, &mut end);
                    text.push_str(&String::from_utf8_lossy(&end));
                    Tracer::post("incoming", text);
                }
                Err(error) => {
                    self.frame = None;
                    if error.is_fatal() {
                        Tracer::post("incoming", format!("[unreadable MSRP data: {error}]"));
                        self.raw = true;
                        return;
                    }
                }
            }
        }
    }
}

/// A traced body: the text, or `[N bytes]`.
fn body_text(body: &[u8], len: u64) -> String {
    match std::str::from_utf8(body) {
        Ok(text) if body.len() as u64 == len => text.to_owned(),
        _ => format!("[{len} bytes]"),
    }
}
