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

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use super::message::{
    ByteRange, Continuation, Event, FailureReport, Head, Limits, Method, MsrpUri, Parser, Scheme, encode_end_line,
    new_message_id, reason_phrase,
};
use super::sdp::ConnectionRole;
use super::session::{MsrpEvent, MsrpSession, MsrpSessionConfig};
use crate::sip::transport::{Tls, TlsConfig};

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

/// A connection handed by the listener to the session it is for.
struct Accepted {
    io: BoxedIo,
    /// Bytes already read (they start with the first request).
    read: Vec<u8>,
    /// The Message-ID of the first request when it was an empty binding
    /// SEND (its events are not reported).
    bind_message_id: Option<String>,
}

type Waiting = Arc<Mutex<Vec<(MsrpUri, oneshot::Sender<Accepted>)>>>;

/// Accepts MSRP connections on one port and hands each to the session
/// whose local URI is the first To-Path URI of its first request; a
/// connection for no session gets 481 and is closed.
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
        let waiting: Waiting = Arc::new(Mutex::new(Vec::new()));
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

    fn register(&self, uri: MsrpUri) -> oneshot::Receiver<Accepted> {
        let (sender, receiver) = oneshot::channel();
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.retain(|(_, s)| !s.is_closed());
        waiting.push((uri, sender));
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
                    tracing::debug!(%error, "MSRP accept failed");
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
                        tracing::debug!(%error, "MSRP TLS handshake failed");
                        return;
                    }
                },
                None => Box::new(tcp),
            };
            route(io, waiting).await;
        });
    }
}

/// How long an accepted connection waits for the session its first request
/// names to start listening before it is answered 481.
const SESSION_ARRIVAL_GRACE: Duration = Duration::from_secs(2);

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
    let take = |to: &MsrpUri| {
        let mut waiting = waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let index = waiting.iter().position(|(uri, s)| !s.is_closed() && uri.is_equivalent(to))?;
        Some(waiting.swap_remove(index).1)
    };
    // The peer may connect as soon as it has our answer, before our side
    // starts its stream: give the session a moment to arrive.
    let deadline = tokio::time::Instant::now() + SESSION_ARRIVAL_GRACE;
    let sender = match &to {
        Some(to) => loop {
            if let Some(sender) = take(to) {
                break Some(sender);
            }
            if tokio::time::Instant::now() >= deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        },
        None => None,
    };
    match sender {
        Some(sender) if head.method().is_some() => {
            let is_bind = head.method() == Some(&Method::Send)
                && head.headers.byte_range.is_some_and(|r| r.total == Some(0))
                && head.headers.content_type.is_none();
            let bind_message_id = if is_bind { head.headers.message_id.clone() } else { None };
            let _ = sender.send(Accepted { io, read, bind_message_id });
        }
        _ => {
            tracing::debug!(to = ?head.headers.to_path.first().map(ToString::to_string), "MSRP connection for no session");
            if let Some(response) = head.response(481, Some(reason_phrase(481))) {
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
    Close,
}

/// A running MSRP connection: send commands through it; its events come
/// on the receiver returned by [`MsrpConnection::connect`]. Dropping every
/// clone closes the connection.
#[derive(Clone, Debug)]
pub struct MsrpConnection {
    commands: mpsc::UnboundedSender<Command>,
}

/// How an [`MsrpConnection`] is made.
#[derive(Clone, Debug, Default)]
pub struct MsrpConnectOptions {
    /// TLS for `msrps` remote URIs when connecting.
    pub tls: Option<MsrpTls>,
    /// The listener a passive connection waits on.
    pub listener: Option<MsrpListener>,
    /// The session endpoint's settings.
    pub session: MsrpSessionConfig,
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
    ) -> Result<(MsrpConnection, mpsc::UnboundedReceiver<MsrpEvent>), MsrpTransportError> {
        let (Some(local), Some(first_hop)) = (local_path.last().cloned(), remote_path.first().cloned()) else {
            return Err(MsrpTransportError::EmptyPath);
        };
        let (command_sender, commands) = mpsc::unbounded_channel();
        let (event_sender, events) = mpsc::unbounded_channel();
        let connecting = match role {
            ConnectionRole::Active => Connecting::Active { to: first_hop, tls: options.tls },
            ConnectionRole::Passive => {
                let listener = options.listener.ok_or(MsrpTransportError::NoListener)?;
                Connecting::Passive { accepted: listener.register(local) }
            }
        };
        let binding = match role {
            ConnectionRole::Active => Some(binding_send(&remote_path, &local_path)),
            ConnectionRole::Passive => None,
        };
        let session = MsrpSession::new(local_path, remote_path, options.session);
        runtime.spawn(run(session, connecting, binding, commands, event_sender));
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

    /// Closes the connection: pending messages fail and
    /// [`MsrpEvent::Closed`] follows.
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close);
    }
}

enum Connecting {
    Active { to: MsrpUri, tls: Option<MsrpTls> },
    Passive { accepted: oneshot::Receiver<Accepted> },
}

enum Input {
    Bytes(Vec<u8>),
    Lost(String),
}

fn apply(session: &mut MsrpSession, command: Command, events: &mpsc::UnboundedSender<MsrpEvent>) -> bool {
    match command {
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
                let _ =
                    events.send(MsrpEvent::MessageNotDelivered { message_id, code: 400, reason: error.to_string() });
            }
            true
        }
        Command::Close => false,
    }
}

async fn open(connecting: Connecting) -> Result<Accepted, String> {
    match connecting {
        Connecting::Passive { accepted } => accepted.await.map_err(|_| "the listener stopped".to_owned()),
        Connecting::Active { to, tls } => {
            let port = to.port.ok_or_else(|| format!("no port in {to}"))?;
            let host = to.host.trim_start_matches('[').trim_end_matches(']').to_owned();
            let tcp = TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("connect to {to}: {e}"))?;
            let _ = tcp.set_nodelay(true);
            let io: BoxedIo = match to.scheme {
                Scheme::Msrps => {
                    let tls = tls.ok_or_else(|| format!("no TLS settings for {to}"))?;
                    Box::new(tls.tls.connect(&host, tcp).await.map_err(|e| format!("TLS to {to}: {e}"))?)
                }
                Scheme::Msrp => Box::new(tcp),
            };
            Ok(Accepted { io, read: Vec::new(), bind_message_id: None })
        }
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

fn is_bind_event(event: &MsrpEvent, bind_message_id: Option<&str>) -> bool {
    let Some(bind) = bind_message_id else { return false };
    match event {
        MsrpEvent::MessageReceived { message_id, .. } | MsrpEvent::ChunkReceived { message_id, .. } => {
            message_id == bind
        }
        _ => false,
    }
}

async fn run(
    mut session: MsrpSession,
    connecting: Connecting,
    binding: Option<Vec<u8>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<MsrpEvent>,
) {
    // Connect, queueing the messages sent meanwhile.
    let opening = open(connecting);
    tokio::pin!(opening);
    let opened = loop {
        tokio::select! {
            opened = &mut opening => break opened,
            command = commands.recv() => {
                let keep = command.is_some_and(|c| apply(&mut session, c, &events));
                if !keep {
                    break Err("closed".to_owned());
                }
            }
        }
    };
    let reason = match opened {
        Ok(accepted) => drive(&mut session, accepted, binding, &mut commands, &events).await,
        Err(reason) => reason,
    };
    tracing::debug!(reason, "MSRP connection ended");
    commands.close();
    while let Ok(command) = commands.try_recv() {
        apply(&mut session, command, &events);
    }
    session.handle_connection_lost();
    while let Some(event) = session.poll_event() {
        let _ = events.send(event);
    }
}

/// Runs a connected session until it ends; returns why.
async fn drive(
    session: &mut MsrpSession,
    accepted: Accepted,
    binding: Option<Vec<u8>>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    events: &mpsc::UnboundedSender<MsrpEvent>,
) -> String {
    let Accepted { io, read, bind_message_id } = accepted;
    let (mut reader, mut writer) = tokio::io::split(io);
    let (input_sender, mut input) = mpsc::unbounded_channel::<Input>();
    let (output, mut output_receiver) = mpsc::unbounded_channel::<Vec<u8>>();
    // Writing never holds up reading: a writer task takes the bytes.
    let writer_input = input_sender.clone();
    let writer_task = tokio::spawn(async move {
        while let Some(bytes) = output_receiver.recv().await {
            if let Err(error) = writer.write_all(&bytes).await {
                let _ = writer_input.send(Input::Lost(format!("write failed: {error}")));
                return;
            }
        }
        let _ = writer.shutdown().await;
    });
    let reader_task = tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) => {
                    let _ = input_sender.send(Input::Lost("connection closed by the peer".to_owned()));
                    return;
                }
                Ok(n) => {
                    if input_sender.send(Input::Bytes(buffer[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    let _ = input_sender.send(Input::Lost(format!("read failed: {error}")));
                    return;
                }
            }
        }
    });
    if let Some(binding) = binding {
        let _ = output.send(binding);
    }
    if !read.is_empty() {
        session.handle_bytes(Instant::now(), &read);
    }
    let reason = loop {
        while let Some(bytes) = session.poll_transmit() {
            let _ = output.send(bytes);
        }
        while let Some(event) = session.poll_event() {
            if !is_bind_event(&event, bind_message_id.as_deref()) {
                let _ = events.send(event);
            }
        }
        if session.is_closed() {
            break "the session closed".to_owned();
        }
        let deadline = session.poll_timeout();
        let timer = async move {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            command = commands.recv() => {
                let keep = command.is_some_and(|c| apply(session, c, events));
                if !keep {
                    break "closed locally".to_owned();
                }
            }
            received = input.recv() => match received {
                Some(Input::Bytes(bytes)) => session.handle_bytes(Instant::now(), &bytes),
                Some(Input::Lost(reason)) => break reason,
                None => break "connection ended".to_owned(),
            },
            () = timer => session.handle_timeout(Instant::now()),
        }
    };
    reader_task.abort();
    drop(output);
    // Let the writer flush what was queued, then close.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), writer_task).await;
    reason
}
