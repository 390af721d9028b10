//! TCP and TLS connections: accepting, connecting, framing and keep-alives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{Incoming, Shared, TransportError, TransportKind, unmap};
use crate::sip::message::{Framing, frame};

/// How long connecting may take before the send fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection that sent unframeable input stays open for the answer.
const CLOSE_GRACE: Duration = Duration::from_millis(500);
/// Messages waiting to be written on one connection.
const WRITE_QUEUE: usize = 256;

/// The writing side of an open connection.
#[derive(Clone)]
pub(super) struct Connection {
    writer: mpsc::Sender<Vec<u8>>,
    local: SocketAddr,
}

type Tasks = Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>;

/// Transport, peer, and the verified server name of TLS connections we opened
/// (`None` for accepted connections and plain TCP).
pub(super) type ConnectionKey = (TransportKind, SocketAddr, Option<String>);

pub(super) async fn accept_loop(
    kind: TransportKind,
    listener: TcpListener,
    local: SocketAddr,
    shared: Arc<Shared>,
    tasks: Tasks,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!("{kind} accept failed: {e}");
                continue;
            }
        };
        let peer = unmap(peer);
        let shared = shared.clone();
        let handle = tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let (tx, rx) = mpsc::channel(WRITE_QUEUE);
            let key = (kind, peer, None);
            register(&shared, key.clone(), Connection { writer: tx.clone(), local });
            match kind {
                TransportKind::Tls => match shared.tls.as_ref() {
                    Some(tls) => match tls.accept(tcp).await {
                        Ok(stream) => run(key, stream, local, shared, tx, rx).await,
                        Err(e) => {
                            tracing::debug!("TLS handshake with {peer} failed: {e}");
                            forget(&shared, &key, &tx);
                        }
                    },
                    None => forget(&shared, &key, &tx),
                },
                _ => run(key, tcp, local, shared, tx, rx).await,
            }
        });
        tasks.lock().unwrap_or_else(PoisonError::into_inner).push(handle);
    }
}

fn register(shared: &Shared, key: ConnectionKey, connection: Connection) {
    shared.connections.lock().unwrap_or_else(PoisonError::into_inner).insert(key, connection);
}

/// Removes the connection under `key` if it is still the one writing to `tx`.
fn forget(shared: &Shared, key: &ConnectionKey, tx: &mpsc::Sender<Vec<u8>>) {
    let mut connections = shared.connections.lock().unwrap_or_else(PoisonError::into_inner);
    if connections.get(key).is_some_and(|c| c.writer.same_channel(tx)) {
        connections.remove(key);
    }
}

/// The connection a message to `destination` should use: for a verified
/// name only a connection verified for that name; otherwise any.
fn find(
    shared: &Shared,
    kind: TransportKind,
    destination: SocketAddr,
    name: Option<&str>,
) -> Option<(ConnectionKey, Connection)> {
    let connections = shared.connections.lock().unwrap_or_else(PoisonError::into_inner);
    match name {
        Some(name) => {
            let key = (kind, destination, Some(name.to_owned()));
            connections.get(&key).cloned().map(|c| (key, c))
        }
        None => connections
            .iter()
            .find(|((k, a, _), _)| *k == kind && *a == destination)
            .map(|(key, c)| (key.clone(), c.clone())),
    }
}

/// Reads framed messages from a connection until it closes, and writes what
/// is queued for it.
async fn run<S: AsyncRead + AsyncWrite + Send + 'static>(
    key: ConnectionKey,
    stream: S,
    local: SocketAddr,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Vec<u8>>,
    mut rx: mpsc::Receiver<Vec<u8>>,
) {
    let (kind, peer) = (key.0, key.1);
    let (mut reader, mut writer) = tokio::io::split(stream);
    let writer_task = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let mut buffer: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 16_384];
    let mut closing = false;
    'read: loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        loop {
            match frame(&buffer, &shared.limits) {
                Framing::Incomplete => {
                    if buffer.len() > shared.limits.max_message_size {
                        tracing::debug!("{kind} {peer}: message over the size limit; closing");
                        break 'read;
                    }
                    break;
                }
                Framing::KeepAlive { len } => {
                    // RFC 5626: a double-CRLF ping is answered with a single CRLF pong.
                    if buffer[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                        let _ = tx.try_send(b"\r\n".to_vec());
                    }
                    buffer.drain(..len);
                }
                Framing::Complete { len } => {
                    let bytes: Vec<u8> = buffer.drain(..len).collect();
                    let message = Incoming { transport: kind, source: peer, local, bytes };
                    if shared.incoming.send(message).await.is_err() {
                        break 'read;
                    }
                }
                Framing::Error(e) => {
                    // Let the engine answer what it can (a 400 built from the
                    // raw headers), then close once that had time to go out.
                    tracing::debug!("{kind} {peer}: unframeable input ({e}); closing");
                    if buffer.len() <= shared.limits.max_message_size {
                        let bytes = std::mem::take(&mut buffer);
                        let _ = shared.incoming.send(Incoming { transport: kind, source: peer, local, bytes }).await;
                        closing = true;
                    }
                    break 'read;
                }
            }
        }
    }
    if closing {
        tokio::time::sleep(CLOSE_GRACE).await;
    }
    forget(&shared, &key, &tx);
    drop(tx);
    writer_task.abort();
}

/// Sends over an open connection to `destination`, or connects first.
/// Queues `bytes` on an established connection without waiting; gives
/// them back when there is none or its queue is full.
pub(super) fn try_send_now(
    shared: &Arc<Shared>,
    kind: TransportKind,
    destination: SocketAddr,
    tls_name: Option<&str>,
    bytes: Vec<u8>,
) -> Result<Result<SocketAddr, TransportError>, Vec<u8>> {
    let name = if kind == TransportKind::Tls { tls_name } else { None };
    let Some((key, connection)) = find(shared, kind, destination, name) else { return Err(bytes) };
    match connection.writer.try_send(bytes) {
        Ok(()) => Ok(Ok(connection.local)),
        Err(mpsc::error::TrySendError::Full(bytes)) => Err(bytes),
        Err(mpsc::error::TrySendError::Closed(bytes)) => {
            forget(shared, &key, &connection.writer);
            Err(bytes)
        }
    }
}

pub(super) async fn send(
    shared: &Arc<Shared>,
    tasks: &Tasks,
    kind: TransportKind,
    destination: SocketAddr,
    tls_name: Option<&str>,
    bytes: Vec<u8>,
) -> Result<SocketAddr, TransportError> {
    let fail = |reason: String| TransportError::Send { transport: kind, destination, reason };
    let name = if kind == TransportKind::Tls { tls_name } else { None };
    let bytes = match find(shared, kind, destination, name) {
        Some((key, connection)) => match connection.writer.send(bytes).await {
            Ok(()) => return Ok(connection.local),
            Err(mpsc::error::SendError(bytes)) => {
                forget(shared, &key, &connection.writer);
                bytes
            }
        },
        None => bytes,
    };
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(destination))
        .await
        .map_err(|_| fail("connection timed out".into()))?
        .map_err(|e| fail(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let local = unmap(tcp.local_addr().map_err(|e| fail(e.to_string()))?);
    let (tx, rx) = mpsc::channel(WRITE_QUEUE);
    tx.try_send(bytes).map_err(|_| fail("write queue full".into()))?;
    let shared2 = shared.clone();
    let handle = match kind {
        TransportKind::Tls => {
            let tls = shared.tls.as_ref().ok_or(TransportError::NotRunning(kind))?;
            let name = tls_name.map(str::to_owned).unwrap_or_else(|| destination.ip().to_string());
            let stream = tls.connect(&name, tcp).await.map_err(|e| fail(e.to_string()))?;
            let key = (kind, destination, Some(name));
            register(shared, key.clone(), Connection { writer: tx.clone(), local });
            tokio::spawn(run(key, stream, local, shared2, tx, rx))
        }
        _ => {
            let key = (kind, destination, None);
            register(shared, key.clone(), Connection { writer: tx.clone(), local });
            tokio::spawn(run(key, tcp, local, shared2, tx, rx))
        }
    };
    tasks.lock().unwrap_or_else(PoisonError::into_inner).push(handle);
    Ok(local)
}
