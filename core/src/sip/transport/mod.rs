//! SIP transports: UDP, TCP and TLS over IPv4 and IPv6 (a thin tokio driver).
//!
//! The transports only move bytes: datagrams on UDP, framed messages on
//! TCP/TLS (framing by Content-Length, see [`crate::sip::message::frame`]).
//! Everything received is handed to the engine as an [`Incoming`]; the engine
//! sends through [`Transports::send`], which reuses an open connection to the
//! destination or opens one. Limits on message size and header count come
//! from [`crate::sip::message::Limits`] so a hostile peer cannot exhaust
//! memory. CRLF keep-alives (RFC 5626) are answered on streams.

mod stream;
mod tls;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use crate::sip::message::Limits;
pub(crate) use tls::Tls;
pub use tls::TlsConfig;

/// A SIP transport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportKind {
    /// UDP datagrams.
    Udp,
    /// TCP streams.
    Tcp,
    /// TLS over TCP.
    Tls,
}

impl TransportKind {
    /// The lowercase name (`udp`, `tcp`, `tls`) used in URIs and settings.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Udp => "udp",
            TransportKind::Tcp => "tcp",
            TransportKind::Tls => "tls",
        }
    }
    /// Parses `udp`, `tcp` or `tls` (any case).
    pub fn parse(s: &str) -> Option<TransportKind> {
        match s.to_ascii_lowercase().as_str() {
            "udp" => Some(TransportKind::Udp),
            "tcp" => Some(TransportKind::Tcp),
            "tls" => Some(TransportKind::Tls),
            _ => None,
        }
    }
    /// True for stream transports.
    pub fn is_reliable(self) -> bool {
        self != TransportKind::Udp
    }
    /// The default port (5060, or 5061 for TLS).
    pub fn default_port(self) -> u16 {
        if self == TransportKind::Tls { 5061 } else { 5060 }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One message (or datagram) received.
#[derive(Debug)]
pub struct Incoming {
    /// The transport it came on.
    pub transport: TransportKind,
    /// Where it came from.
    pub source: SocketAddr,
    /// The local address it arrived at.
    pub local: SocketAddr,
    /// The message bytes (one whole message for streams).
    pub bytes: Vec<u8>,
}

/// What to listen on.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// Transports to start.
    pub kinds: Vec<TransportKind>,
    /// Address to bind (IPv4 or IPv6 unspecified, or loopback in tests).
    pub bind_ip: IpAddr,
    /// UDP port (0 = any free port).
    pub udp_port: u16,
    /// TCP port (0 = any free port).
    pub tcp_port: u16,
    /// TLS port (0 = any free port).
    pub tls_port: u16,
    /// TLS settings (CA list, certificate, verification).
    pub tls: TlsConfig,
    /// Message limits.
    pub limits: Limits,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            kinds: vec![TransportKind::Udp, TransportKind::Tcp],
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            udp_port: 0,
            tcp_port: 0,
            tls_port: 0,
            tls: TlsConfig::default(),
            limits: Limits::default(),
        }
    }
}

/// Errors of the transport layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Binding a listening socket failed.
    #[error("cannot listen on {transport} {address}: {source}")]
    Bind {
        /// The transport.
        transport: TransportKind,
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The transport is not running.
    #[error("the {0} transport is not running")]
    NotRunning(TransportKind),
    /// Sending failed.
    #[error("cannot send over {transport} to {destination}: {reason}")]
    Send {
        /// The transport.
        transport: TransportKind,
        /// The destination.
        destination: SocketAddr,
        /// Why.
        reason: String,
    },
    /// TLS could not be set up (bad CA list, certificate or key).
    #[error("TLS: {0}")]
    Tls(String),
}

struct Shared {
    incoming: mpsc::Sender<Incoming>,
    limits: Limits,
    /// Open connections by transport, peer and (for TLS connections we
    /// opened) the name the server's certificate was verified for.
    connections: Mutex<HashMap<stream::ConnectionKey, stream::Connection>>,
    tls: Option<tls::Tls>,
}

/// The running transports. Cheap to clone; dropping the last clone does not
/// stop the tasks: call [`Transports::close`].
#[derive(Clone)]
pub struct Transports {
    shared: Arc<Shared>,
    udp: Option<Arc<UdpSocket>>,
    locals: Vec<(TransportKind, SocketAddr)>,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Transports {
    /// Starts the configured transports on the current tokio runtime. A TLS
    /// failure is returned separately so the engine can run without TLS
    /// (and post `SIPApplicationFailedToStartTLS`).
    pub async fn start(
        config: TransportConfig,
        incoming: mpsc::Sender<Incoming>,
    ) -> Result<(Transports, Option<TransportError>), TransportError> {
        let mut tls_error = None;
        let tls = if config.kinds.contains(&TransportKind::Tls) {
            match tls::Tls::new(&config.tls) {
                Ok(t) => Some(t),
                Err(e) => {
                    tls_error = Some(e);
                    None
                }
            }
        } else {
            None
        };
        let shared = Arc::new(Shared { incoming, limits: config.limits, connections: Mutex::new(HashMap::new()), tls });
        let mut transports =
            Transports { shared, udp: None, locals: Vec::new(), tasks: Arc::new(Mutex::new(Vec::new())) };
        for kind in &config.kinds {
            match kind {
                TransportKind::Udp => {
                    let address = SocketAddr::new(config.bind_ip, config.udp_port);
                    let socket = UdpSocket::bind(address).await.map_err(|source| TransportError::Bind {
                        transport: *kind,
                        address,
                        source,
                    })?;
                    let local = socket.local_addr().map_err(|source| TransportError::Bind {
                        transport: *kind,
                        address,
                        source,
                    })?;
                    let socket = Arc::new(socket);
                    transports.locals.push((TransportKind::Udp, local));
                    transports.udp = Some(socket.clone());
                    let shared = transports.shared.clone();
                    transports.spawn(udp_receive_loop(socket, local, shared));
                }
                TransportKind::Tcp | TransportKind::Tls => {
                    if *kind == TransportKind::Tls && transports.shared.tls.is_none() {
                        continue;
                    }
                    // Without a certificate the TLS listener still holds its
                    // port (the one Via and Contact name, as connections are
                    // reused), but refuses the handshakes it cannot serve.
                    let port = if *kind == TransportKind::Tcp { config.tcp_port } else { config.tls_port };
                    let address = SocketAddr::new(config.bind_ip, port);
                    let listener = TcpListener::bind(address).await.map_err(|source| TransportError::Bind {
                        transport: *kind,
                        address,
                        source,
                    })?;
                    let local = listener.local_addr().map_err(|source| TransportError::Bind {
                        transport: *kind,
                        address,
                        source,
                    })?;
                    transports.locals.push((*kind, local));
                    let shared = transports.shared.clone();
                    let tasks = transports.tasks.clone();
                    transports.spawn(stream::accept_loop(*kind, listener, local, shared, tasks));
                }
            }
        }
        Ok((transports, tls_error))
    }

    fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(&self, future: F) {
        let handle = tokio::spawn(future);
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner).push(handle);
    }

    /// The local address of each running transport.
    pub fn local_addresses(&self) -> &[(TransportKind, SocketAddr)] {
        &self.locals
    }

    /// The local address of `kind`, if it runs.
    pub fn local_address(&self, kind: TransportKind) -> Option<SocketAddr> {
        self.locals.iter().find(|(k, _)| *k == kind).map(|(_, a)| *a)
    }

    /// Sends `bytes` to `destination` over `kind`. Streams reuse an open
    /// connection to the destination or open one (`tls_name` is the name the
    /// server certificate must carry; the IP is used if `None`).
    pub async fn send(
        &self,
        kind: TransportKind,
        destination: SocketAddr,
        tls_name: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<SocketAddr, TransportError> {
        match kind {
            TransportKind::Udp => {
                let socket = self.udp.as_ref().ok_or(TransportError::NotRunning(kind))?;
                let destination = match (socket.local_addr(), destination) {
                    // An IPv6 socket reaches IPv4 peers through mapped addresses.
                    (Ok(SocketAddr::V6(_)), SocketAddr::V4(v4)) => {
                        SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
                    }
                    _ => destination,
                };
                socket.send_to(&bytes, destination).await.map_err(|e| TransportError::Send {
                    transport: kind,
                    destination,
                    reason: e.to_string(),
                })?;
                socket.local_addr().map_err(|e| TransportError::Send {
                    transport: kind,
                    destination,
                    reason: e.to_string(),
                })
            }
            TransportKind::Tcp | TransportKind::Tls => {
                stream::send(&self.shared, &self.tasks, kind, destination, tls_name, bytes).await
            }
        }
    }

    /// Sends at once when that needs no waiting: over UDP (unless the
    /// socket buffer is full) or an established TCP/TLS connection with room
    /// in its queue, so messages sent one after the other leave in order.
    /// Gives the bytes back when the caller must use [`Transports::send`].
    pub fn try_send_now(
        &self,
        kind: TransportKind,
        destination: SocketAddr,
        tls_name: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<Result<SocketAddr, TransportError>, Vec<u8>> {
        match kind {
            TransportKind::Udp => {
                let Some(socket) = self.udp.as_ref() else { return Ok(Err(TransportError::NotRunning(kind))) };
                let target = match (socket.local_addr(), destination) {
                    (Ok(SocketAddr::V6(_)), SocketAddr::V4(v4)) => {
                        SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
                    }
                    _ => destination,
                };
                match socket.try_send_to(&bytes, target) {
                    Ok(_) => Ok(socket.local_addr().map_err(|e| TransportError::Send {
                        transport: kind,
                        destination,
                        reason: e.to_string(),
                    })),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(bytes),
                    Err(e) => Ok(Err(TransportError::Send { transport: kind, destination, reason: e.to_string() })),
                }
            }
            TransportKind::Tcp | TransportKind::Tls => {
                stream::try_send_now(&self.shared, kind, destination, tls_name, bytes)
            }
        }
    }

    /// Closes every connection and stops every task.
    pub fn close(&self) {
        self.shared.connections.lock().unwrap_or_else(PoisonError::into_inner).clear();
        for task in self.tasks.lock().unwrap_or_else(PoisonError::into_inner).drain(..) {
            task.abort();
        }
    }
}

async fn udp_receive_loop(socket: Arc<UdpSocket>, local: SocketAddr, shared: Arc<Shared>) {
    let mut buffer = vec![0u8; 65_536];
    loop {
        match socket.recv_from(&mut buffer).await {
            Ok((len, source)) => {
                let data = &buffer[..len];
                // Keep-alive datagrams (CRLF) and oversized junk are dropped here.
                if data.iter().all(|b| *b == b'\r' || *b == b'\n') || len > shared.limits.max_message_size {
                    continue;
                }
                let source = unmap(source);
                let message = Incoming { transport: TransportKind::Udp, source, local, bytes: data.to_vec() };
                if shared.incoming.send(message).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // ICMP errors surface here on some systems; keep receiving.
                tracing::debug!("udp receive error: {e}");
            }
        }
    }
}

/// Turns an IPv4-mapped IPv6 address back into IPv4.
pub fn unmap(address: SocketAddr) -> SocketAddr {
    match address {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => address,
        },
        v4 => v4,
    }
}

/// The unspecified address of the family of `ip`.
pub fn unspecified_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}
