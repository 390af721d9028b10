//! The SIP engine: the transports, the transaction layer and the user agent
//! core that answers what no component handles.
//!
//! One tokio task (on the core runtime) owns the sans-IO
//! [`TransactionLayer`]: it feeds it what the [`Transports`] receive,
//! the commands of the components (send a request) and the timer, then
//! drains what the layer wants sent and the events it reports. Components
//! talk to it through an [`Engine`] handle and get the responses to their
//! requests on a channel; the engine itself answers OPTIONS, MESSAGE
//! (posting `SIPEngineGotMessage`) and everything malformed or unsupported
//! with the status RFC 3261 asks for. With tracing on, every message sent
//! and received is posted as `SIPEngineSIPTrace`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sip::message::{self, Header, Message, Method, RequestPolicy};
use crate::sip::transaction::{Event, LayerEvent, TimerConfig, TransactionId, TransactionLayer, new_branch};
use crate::sip::transport::{Incoming, TransportConfig, TransportError, TransportKind, Transports};
use crate::value::Value;

/// How the engine is set up (from `SIPSimpleSettings` when SIPApplication starts it).
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Transports to listen on.
    pub transports: TransportConfig,
    /// The `User-Agent` / `Server` header value.
    pub user_agent: String,
    /// Transaction timers.
    pub timers: TimerConfig,
    /// Post `SIPEngineSIPTrace` for every message sent and received.
    pub trace_sip: bool,
    /// Body types accepted in MESSAGE requests; others get 415.
    pub message_content_types: Vec<String>,
    /// Post `SIPEngineLog` for engine log lines up to this level (1 error,
    /// 2 warning, 3 info, 4 debug, 5 trace); 0 posts none. Every line goes
    /// to `tracing` regardless.
    pub log_level: u8,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            transports: TransportConfig::default(),
            user_agent: crate::config::schema::default_user_agent(),
            timers: TimerConfig::default(),
            trace_sip: false,
            message_content_types: ["text/plain", "text/html", "message/cpim", "application/im-iscomposing+xml"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            log_level: 0,
        }
    }
}

/// The engine's log: every line goes to `tracing`, and those up to the
/// configured level are posted as `SIPEngineLog` too.
#[derive(Clone, Copy)]
struct EngineLog {
    handle: Handle,
    level: u8,
}

impl EngineLog {
    fn log(self, level: u8, message: impl Into<String>) {
        let message = message.into();
        match level {
            0 | 1 => tracing::error!("{message}"),
            2 => tracing::warn!("{message}"),
            3 => tracing::info!("{message}"),
            4 => tracing::debug!("{message}"),
            _ => tracing::trace!("{message}"),
        }
        if level <= self.level {
            NotificationCenter::default_center().post(self.handle, n::SIPEngineLog { level: level.into(), message });
        }
    }
}

/// Where a request goes (a resolved [`crate::lookup::Route`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Destination {
    /// The transport.
    pub transport: TransportKind,
    /// The address.
    pub address: SocketAddr,
    /// The name the TLS server certificate must carry.
    pub tls_name: Option<String>,
}

/// What a component hears about a request it sent through the engine.
#[derive(Debug)]
pub enum ResponseEvent {
    /// A provisional (1xx) response.
    Provisional(Message),
    /// The final response; a timeout arrives as a 408 and a transport
    /// failure as a 503 built locally. Nothing follows it.
    Final(Message),
}

/// What a component that serves requests hears from the engine (see
/// [`Engine::serve`]).
#[derive(Debug)]
pub enum RequestEvent {
    /// A new request in server transaction `transaction`: answer it with
    /// [`Engine::respond`].
    Request {
        /// The server transaction.
        transaction: TransactionId,
        /// The request.
        request: Message,
        /// Where it came from (a response goes back there).
        source: Destination,
    },
    /// A CANCEL for the INVITE of `transaction`: the engine has answered the
    /// CANCEL with 200; the INVITE still needs its final response (487).
    Cancelled {
        /// The INVITE's server transaction.
        transaction: TransactionId,
        /// The CANCEL.
        request: Message,
    },
    /// An ACK for a 2xx (its own transaction, RFC 3261 §17), or passed up by
    /// an INVITE server transaction.
    Ack {
        /// The ACK.
        request: Message,
        /// Where it came from.
        source: Destination,
    },
    /// A 2xx to an INVITE that matched no client transaction: a
    /// retransmission the dialog must ACK again, or a late fork.
    StrayResponse {
        /// The response.
        response: Message,
        /// Where it came from.
        source: Destination,
    },
}

enum Command {
    Send { request: Box<Message>, destination: Destination, events: mpsc::UnboundedSender<ResponseEvent> },
    Serve { methods: Vec<Method>, events: mpsc::UnboundedSender<RequestEvent> },
    Respond { transaction: TransactionId, response: Box<Message> },
    SendStateless { message: Box<Message>, destination: Destination },
    Stop,
}

/// A running SIP engine. Cheap to clone; [`Engine::stop`] ends it.
#[derive(Clone)]
pub struct Engine {
    commands: mpsc::UnboundedSender<Command>,
    locals: Vec<(TransportKind, SocketAddr)>,
    handle: Handle,
}

struct EngineObject;

static CURRENT: std::sync::Mutex<Option<Engine>> = std::sync::Mutex::new(None);

impl Engine {
    /// The engine SIPApplication runs, if it is running.
    pub fn current() -> Option<Engine> {
        CURRENT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Makes `engine` the one [`Engine::current`] returns (SIPApplication does this).
    pub fn set_current(engine: Option<Engine>) {
        *CURRENT.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = engine;
    }

    /// Starts an engine on the current tokio runtime. A TLS set-up failure
    /// does not stop the engine: it runs without TLS and the error is
    /// returned beside it (SIPApplication posts
    /// `SIPApplicationFailedToStartTLS`).
    pub async fn start(config: EngineConfig) -> Result<(Engine, Option<TransportError>)> {
        let (incoming_tx, incoming_rx) = mpsc::channel(1024);
        let (transports, tls_error) = Transports::start(config.transports.clone(), incoming_tx)
            .await
            .map_err(|e| Error::InvalidState(format!("the SIP engine cannot start: {e}")))?;
        let handle = handle::register(ObjectKind::Engine, Arc::new(EngineObject), Some("Engine".into()));
        let locals = transports.local_addresses().to_vec();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (send_errors, send_errors_rx) = mpsc::unbounded_channel();
        let log = EngineLog { handle, level: config.log_level };
        let listening: Vec<String> = locals.iter().map(|(k, a)| format!("{} {a}", k.name())).collect();
        log.log(3, format!("SIP engine started, listening on {}", listening.join(", ")));
        let driver = Driver {
            log,
            servers: Vec::new(),
            served: HashMap::new(),
            layer: TransactionLayer::new(config.timers),
            transports,
            clients: HashMap::new(),
            handle,
            policy: RequestPolicy {
                accepted_content_types: Some(
                    std::iter::once("application/sdp".to_owned())
                        .chain(config.message_content_types.iter().cloned())
                        .collect(),
                ),
                ..RequestPolicy::default()
            },
            config,
            pending_rejection: None,
            send_errors,
        };
        tokio::spawn(driver.run(incoming_rx, commands_rx, send_errors_rx));
        Ok((Engine { commands, locals, handle }, tls_error))
    }

    /// The engine's handle (the sender of its notifications).
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// Local address of each running transport.
    pub fn local_addresses(&self) -> &[(TransportKind, SocketAddr)] {
        &self.locals
    }

    /// Local address of `transport`, if it runs.
    pub fn local_address(&self, transport: TransportKind) -> Option<SocketAddr> {
        self.locals.iter().find(|(k, _)| *k == transport).map(|(_, a)| *a)
    }

    /// The address to put in Via and Contact for requests to `destination`:
    /// the transport's listening port and, when it listens on every
    /// interface, the local IP the system would use to reach `destination`.
    pub fn contact_address(&self, destination: &Destination) -> Option<SocketAddr> {
        let local = self.local_address(destination.transport)?;
        if !local.ip().is_unspecified() {
            return Some(local);
        }
        Some(SocketAddr::new(source_ip_for(destination.address.ip()), local.port()))
    }

    /// A new top Via for a request to `destination`
    /// (`SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK...`), for components that must know the
    /// branch (an INVITE's CANCEL copies it, RFC 3261 §9.1). `None` when the
    /// engine runs no such transport.
    pub fn new_via(&self, destination: &Destination) -> Option<String> {
        let address = self.contact_address(destination)?;
        Some(format!(
            "SIP/2.0/{} {};rport;branch={}",
            destination.transport.name().to_ascii_uppercase(),
            host_port(address),
            new_branch()
        ))
    }

    /// Sends `request` to `destination` in a new client transaction. The
    /// engine adds the top Via (with `rport`), Max-Forwards and User-Agent
    /// when missing. Responses arrive on the returned channel.
    pub fn send_request(
        &self,
        request: Message,
        destination: Destination,
    ) -> Result<mpsc::UnboundedReceiver<ResponseEvent>> {
        if !request.is_request() {
            return Err(Error::InvalidArgument("not a request".into()));
        }
        let (events, rx) = mpsc::unbounded_channel();
        self.commands
            .send(Command::Send { request: Box::new(request), destination, events })
            .map_err(|_| Error::InvalidState("the SIP engine is not running".into()))?;
        Ok(rx)
    }

    /// Routes requests with these methods to the returned channel instead of
    /// answering them (the engine answers OPTIONS and MESSAGE itself unless a
    /// component serves them, and the rest with 501). Serving INVITE also
    /// delivers CANCELs of served INVITEs, ACKs and stray 2xx responses to
    /// INVITEs. A later call for the same method takes it over.
    pub fn serve(&self, methods: &[Method]) -> Result<mpsc::UnboundedReceiver<RequestEvent>> {
        let (events, rx) = mpsc::unbounded_channel();
        self.commands
            .send(Command::Serve { methods: methods.to_vec(), events })
            .map_err(|_| Error::InvalidState("the SIP engine is not running".into()))?;
        Ok(rx)
    }

    /// Sends `response` in server transaction `transaction` (provisional or
    /// final). The engine adds `Server` when missing.
    pub fn respond(&self, transaction: TransactionId, response: Message) -> Result<()> {
        if response.is_request() {
            return Err(Error::InvalidArgument("not a response".into()));
        }
        self.commands
            .send(Command::Respond { transaction, response: Box::new(response) })
            .map_err(|_| Error::InvalidState("the SIP engine is not running".into()))
    }

    /// Sends `message` outside any transaction: the ACK for a 2xx (RFC 3261
    /// §13.2.2.4), or a 2xx retransmission. A request gets a top Via (with
    /// a new branch) and Max-Forwards when missing.
    pub fn send_stateless(&self, message: Message, destination: Destination) -> Result<()> {
        self.commands
            .send(Command::SendStateless { message: Box::new(message), destination })
            .map_err(|_| Error::InvalidState("the SIP engine is not running".into()))
    }

    /// Stops the engine: open transactions end, transports close.
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
        let _ = handle::release(self.handle);
    }
}

/// The local IP the system routes to `remote` from (no packet is sent).
fn source_ip_for(remote: IpAddr) -> IpAddr {
    let bind: SocketAddr = if remote.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    std::net::UdpSocket::bind(bind)
        .and_then(|s| s.connect(SocketAddr::new(remote, 9)).and_then(|_| s.local_addr()))
        .map(|a| a.ip())
        .unwrap_or(remote)
}

fn new_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

struct Driver {
    log: EngineLog,
    /// Components serving request methods.
    servers: Vec<(Method, mpsc::UnboundedSender<RequestEvent>)>,
    /// Served INVITE transactions still waiting for their final response.
    served: HashMap<TransactionId, mpsc::UnboundedSender<RequestEvent>>,
    layer: TransactionLayer<Message, Destination>,
    transports: Transports,
    /// Client transactions: who hears the responses, and the request (for
    /// the 408/503 built locally on a timeout or transport failure).
    clients: HashMap<TransactionId, (mpsc::UnboundedSender<ResponseEvent>, Message)>,
    handle: Handle,
    policy: RequestPolicy,
    config: EngineConfig,
    pending_rejection: Option<message::Rejection>,
    send_errors: mpsc::UnboundedSender<TransactionId>,
}

impl Driver {
    async fn run(
        mut self,
        mut incoming: mpsc::Receiver<Incoming>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut send_errors: mpsc::UnboundedReceiver<TransactionId>,
    ) {
        loop {
            let deadline = self.layer.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = incoming.recv() => match received {
                    Some(m) => self.on_incoming(m),
                    None => break,
                },
                command = commands.recv() => match command {
                    Some(Command::Send { request, destination, events }) => self.on_send(*request, destination, events),
                    Some(Command::Serve { methods, events }) => {
                        for method in methods {
                            self.servers.retain(|(m, _)| *m != method);
                            self.servers.push((method, events.clone()));
                        }
                    }
                    Some(Command::Respond { transaction, response }) => {
                        if response.status().is_some_and(|c| c >= 200) {
                            self.served.remove(&transaction);
                        }
                        self.respond(transaction, *response);
                    }
                    Some(Command::SendStateless { message, destination }) => self.on_send_stateless(*message, destination),
                    Some(Command::Stop) | None => break,
                },
                Some(id) = send_errors.recv() => {
                    let _ = self.layer.handle_transport_error(Instant::now(), id);
                }
                () = sleep => self.layer.handle_timeout(Instant::now()),
            }
            self.flush();
        }
        self.transports.close();
        self.log.log(3, "SIP engine stopped");
    }

    fn post<N: crate::notifications::TypedNotification>(&self, notification: N) {
        NotificationCenter::default_center().post(self.handle, notification);
    }

    fn trace(&self, received: bool, transport: TransportKind, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        if self.config.trace_sip {
            post_trace(self.handle, received, transport, from, to, bytes);
        }
    }

    fn on_incoming(&mut self, incoming: Incoming) {
        self.trace(true, incoming.transport, incoming.source, incoming.local, &incoming.bytes);
        let parsed = match message::parse_with(&incoming.bytes, &self.config.transports.limits) {
            Ok(m) => m,
            Err(e) => {
                self.log.log(4, format!("refusing an unparseable message from {}: {e}", incoming.source));
                if let Some(response) = stateless_rejection(&incoming.bytes, e.status_code()) {
                    let destination =
                        Destination { transport: incoming.transport, address: incoming.source, tls_name: None };
                    self.send_raw(destination, response);
                }
                return;
            }
        };
        self.pending_rejection = None;
        if parsed.is_request() {
            let check = message::check_request_with(&parsed, &self.policy);
            if let Err(rejection) = check {
                if parsed.method() == Some(&Method::Ack) {
                    return;
                }
                self.pending_rejection = Some(rejection);
            }
        } else if message::check_response(&parsed).is_err() {
            self.log.log(4, format!("dropping a malformed response from {}", incoming.source));
            return;
        }
        let owned = parsed.to_owned();
        let source = Destination { transport: incoming.transport, address: incoming.source, tls_name: None };
        if let Err(e) = self.layer.handle_message(Instant::now(), owned, source, incoming.transport.is_reliable()) {
            self.log.log(4, format!("message from {} not matched: {e}", incoming.source));
        }
    }

    fn on_send(
        &mut self,
        mut request: Message,
        destination: Destination,
        events: mpsc::UnboundedSender<ResponseEvent>,
    ) {
        if request.top_via().is_none() {
            let sent_by = self.sent_by(&destination);
            let via = format!(
                "SIP/2.0/{} {};rport;branch={}",
                destination.transport.name().to_ascii_uppercase(),
                host_port(sent_by),
                new_branch()
            );
            request.headers_mut().insert(0, Header::canonical("Via", via));
        }
        if request.header_value("Max-Forwards").is_none() {
            request.add_header("Max-Forwards", 70);
        }
        if request.header_value("User-Agent").is_none() {
            request.add_header("User-Agent", &self.config.user_agent);
        }
        let reliable = destination.transport.is_reliable();
        match self.layer.start_client(Instant::now(), request.clone(), destination, reliable) {
            Ok(id) => {
                self.clients.insert(id, (events, request));
            }
            Err(e) => {
                self.log.log(2, format!("cannot send a request: {e}"));
                let _ = events.send(ResponseEvent::Final(Message::response_to(&request, 400, "Bad Request")));
            }
        }
    }

    /// Sends bytes outside any transaction (a stateless rejection).
    /// Sends outside any transaction (stateless responses, ACKs for 2xx):
    /// at once when the transport can take it, so it keeps its order with
    /// the transaction sends around it (an ACK must not overtake a BYE);
    /// spawned only when the send must wait.
    fn send_raw(&self, destination: Destination, bytes: Vec<u8>) {
        let bytes = match self.transports.try_send_now(destination.transport, destination.address, None, bytes) {
            Ok(Ok(_)) => return,
            Ok(Err(e)) => {
                self.log.log(4, format!("cannot send a stateless message to {}: {e}", destination.address));
                return;
            }
            Err(bytes) => bytes,
        };
        let transports = self.transports.clone();
        let log = self.log;
        tokio::spawn(async move {
            let sent = transports.send(destination.transport, destination.address, None, bytes).await;
            if let Err(e) = sent {
                log.log(4, format!("cannot send a stateless message to {}: {e}", destination.address));
            }
        });
    }

    /// Sends what the layer queued and handles its events, until both are
    /// drained (handling an event, e.g. answering a request, queues more).
    fn flush(&mut self) {
        loop {
            self.send_transmits();
            let Some(event) = self.layer.poll_event() else { break };
            self.on_event(event);
        }
    }

    fn send_transmits(&mut self) {
        while let Some(transmit) = self.layer.poll_transmit() {
            let destination = transmit.remote.clone();
            let id = transmit.transaction;
            // In order when possible; spawned only when the send must wait
            // (a new connection, a full queue).
            let trace = self.config.trace_sip;
            let traced = trace.then(|| transmit.bytes.clone());
            let handle = self.handle;
            let local_hint = self.transports.local_address(destination.transport);
            let bytes = match self.transports.try_send_now(
                destination.transport,
                destination.address,
                destination.tls_name.as_deref(),
                transmit.bytes,
            ) {
                Ok(Ok(local)) => {
                    if let Some(bytes) = traced {
                        let local = if local.ip().is_unspecified() { local_hint.unwrap_or(local) } else { local };
                        post_trace(handle, false, destination.transport, local, destination.address, &bytes);
                    }
                    continue;
                }
                Ok(Err(e)) => {
                    self.log.log(3, format!("sending to {} failed: {e}", destination.address));
                    let _ = self.send_errors.send(id);
                    continue;
                }
                Err(bytes) => bytes,
            };
            let transports = self.transports.clone();
            let errors_tx = self.send_errors.clone();
            let log = self.log;
            tokio::spawn(async move {
                let result = transports
                    .send(destination.transport, destination.address, destination.tls_name.as_deref(), bytes.clone())
                    .await;
                match result {
                    Ok(local) => {
                        if trace {
                            let local = if local.ip().is_unspecified() { local_hint.unwrap_or(local) } else { local };
                            post_trace(handle, false, destination.transport, local, destination.address, &bytes);
                        }
                    }
                    Err(e) => {
                        log.log(3, format!("sending to {} failed: {e}", destination.address));
                        let _ = errors_tx.send(id);
                    }
                }
            });
        }
    }

    fn on_event(&mut self, event: LayerEvent<Message, Destination>) {
        match event {
            LayerEvent::NewRequest { id, request, source, cancels } => self.on_request(id, request, source, cancels),
            LayerEvent::Transaction { id, event } => self.on_transaction_event(id, event),
            LayerEvent::Ack { request, source, .. } => {
                if let Some(server) = self.server_for(&Method::Invite) {
                    let _ = server.send(RequestEvent::Ack { request, source });
                }
            }
            LayerEvent::StrayResponse { response, source } => {
                let invite_2xx = response.status().is_some_and(|c| (200..300).contains(&c))
                    && response.cseq_parts().is_some_and(|(_, m)| m == "INVITE");
                if invite_2xx && let Some(server) = self.server_for(&Method::Invite) {
                    let _ = server.send(RequestEvent::StrayResponse { response, source });
                }
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn respond(&mut self, id: TransactionId, response: Message) {
        let response = if response.header_value("Server").is_none() {
            response.header("Server", &self.config.user_agent)
        } else {
            response
        };
        if let Err(e) = self.layer.send_response(Instant::now(), id, response) {
            self.log.log(4, format!("cannot respond: {e}"));
        }
    }

    fn server_for(&self, method: &Method) -> Option<mpsc::UnboundedSender<RequestEvent>> {
        self.servers.iter().find(|(m, tx)| m == method && !tx.is_closed()).map(|(_, tx)| tx.clone())
    }

    fn allowed_methods(&self) -> String {
        let mut methods: Vec<String> = ["OPTIONS", "MESSAGE", "ACK", "CANCEL"].map(str::to_owned).to_vec();
        for (m, tx) in &self.servers {
            let name = m.to_string();
            if !tx.is_closed() && !methods.contains(&name) {
                methods.push(name);
            }
        }
        methods.join(", ")
    }

    /// The address Via names for messages to `destination`.
    fn sent_by(&self, destination: &Destination) -> SocketAddr {
        self.transports
            .local_address(destination.transport)
            .map(|local| {
                if local.ip().is_unspecified() {
                    SocketAddr::new(source_ip_for(destination.address.ip()), local.port())
                } else {
                    local
                }
            })
            .unwrap_or(destination.address)
    }

    fn trace_sent(&self, destination: &Destination, bytes: &[u8]) {
        self.trace(false, destination.transport, self.sent_by(destination), destination.address, bytes);
    }

    fn on_send_stateless(&mut self, mut message: Message, destination: Destination) {
        if message.is_request() {
            if message.top_via().is_none() {
                let via = format!(
                    "SIP/2.0/{} {};rport;branch={}",
                    destination.transport.name().to_ascii_uppercase(),
                    host_port(self.sent_by(&destination)),
                    new_branch()
                );
                message.headers_mut().insert(0, Header::canonical("Via", via));
            }
            if message.header_value("Max-Forwards").is_none() {
                message.add_header("Max-Forwards", 70);
            }
        }
        let bytes = message.to_bytes();
        self.trace_sent(&destination, &bytes);
        self.send_raw(destination, bytes);
    }

    fn on_request(&mut self, id: TransactionId, request: Message, source: Destination, cancels: Option<TransactionId>) {
        if let Some(rejection) = self.pending_rejection.take() {
            let response = rejection.response(&request).with_to_tag(&new_tag());
            self.respond(id, response);
            return;
        }
        let method = request.method().cloned();
        if let Some(method) = &method
            && *method != Method::Cancel
            && let Some(server) = self.server_for(method)
        {
            if *method == Method::Invite {
                self.served.insert(id, server.clone());
            }
            if server.send(RequestEvent::Request { transaction: id, request: request.clone(), source }).is_ok() {
                return;
            }
            self.served.remove(&id);
            self.servers.retain(|(m, _)| m != method);
        }
        match method {
            Some(Method::Options) => {
                let response = Message::response_to(&request, 200, "OK")
                    .with_to_tag(&new_tag())
                    .header("Allow", self.allowed_methods())
                    .header("Accept", self.config.message_content_types.join(", "));
                self.respond(id, response);
            }
            Some(Method::Message) => self.on_message(id, request),
            Some(Method::Cancel) => {
                let code = if cancels.is_some() { 200 } else { 481 };
                self.respond(id, Message::response_to(&request, code, "").with_to_tag(&new_tag()));
                if let Some(invite) = cancels
                    && let Some(server) = self.served.get(&invite)
                {
                    let _ = server.send(RequestEvent::Cancelled { transaction: invite, request });
                }
            }
            _ => {
                // Sessions, subscriptions and the rest come with their components.
                let response = Message::response_to(&request, 501, "")
                    .with_to_tag(&new_tag())
                    .header("Allow", self.allowed_methods());
                self.respond(id, response);
            }
        }
    }

    fn on_message(&mut self, id: TransactionId, request: Message) {
        let content_type = request.content_type().map(|t| t.to_string()).unwrap_or_else(|| "text/plain".to_owned());
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !self.config.message_content_types.iter().any(|t| t.eq_ignore_ascii_case(&essence)) {
            let response = Message::response_to(&request, 415, "")
                .with_to_tag(&new_tag())
                .header("Accept", self.config.message_content_types.join(", "));
            self.respond(id, response);
            return;
        }
        let headers: Vec<Value> = request
            .headers()
            .iter()
            .map(|h| Value::List(vec![Value::from(h.name()), Value::from(h.value())]))
            .collect();
        self.post(n::SIPEngineGotMessage {
            request_uri: request.uri().map(|u| u.to_string()).unwrap_or_default(),
            from_header: request.header_value("From").unwrap_or_default().to_owned(),
            to_header: request.header_value("To").unwrap_or_default().to_owned(),
            content_type: essence,
            body: String::from_utf8_lossy(request.body()).into_owned(),
            headers: Value::List(headers),
        });
        self.respond(id, Message::response_to(&request, 200, "OK").with_to_tag(&new_tag()));
    }

    fn on_transaction_event(&mut self, id: TransactionId, event: Event<Message>) {
        let Some((events, request)) = self.clients.get(&id) else { return };
        match event {
            Event::Provisional(m) => {
                let _ = events.send(ResponseEvent::Provisional(m));
            }
            Event::Final(m) => {
                let _ = events.send(ResponseEvent::Final(m));
            }
            Event::Timeout(_) | Event::TransportError => {
                let code = event.status_code().unwrap_or(408);
                let _ = events.send(ResponseEvent::Final(Message::response_to(request, code, "")));
            }
            Event::Terminated => {
                self.clients.remove(&id);
            }
            _ => {}
        }
    }
}

/// Posts `SIPEngineSIPTrace` for a message sent or received.
fn post_trace(
    handle: Handle,
    received: bool,
    transport: TransportKind,
    from: SocketAddr,
    to: SocketAddr,
    bytes: &[u8],
) {
    NotificationCenter::default_center().post(
        handle,
        n::SIPEngineSIPTrace {
            received,
            transport: transport.name().into(),
            source_ip: from.ip().to_string(),
            source_port: from.port().into(),
            destination_ip: to.ip().to_string(),
            destination_port: to.port().into(),
            data: String::from_utf8_lossy(bytes).into_owned(),
        },
    );
}

fn host_port(address: SocketAddr) -> String {
    match address.ip() {
        IpAddr::V6(ip) => format!("[{ip}]:{}", address.port()),
        IpAddr::V4(ip) => format!("{ip}:{}", address.port()),
    }
}

/// A response with `code` to a request the parser refused, built from its
/// raw header lines (Via, From, To, Call-ID and CSeq are copied verbatim, as
/// RFC 3261 §8.2.6 asks), or `None` when the bytes are not a request or carry
/// no Via to answer to. Responses are never answered.
fn stateless_rejection(bytes: &[u8], code: u16) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(bytes);
    let head = text.split("\r\n\r\n").next().unwrap_or(&text);
    let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
    let first = lines.next()?;
    if first.starts_with("SIP/") || first.split_whitespace().count() < 3 || first.starts_with("ACK ") {
        return None;
    }
    let mut fields: Vec<String> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
            continue;
        }
        let Some((name, _)) = line.split_once(':') else { continue };
        let name = name.trim().to_ascii_lowercase();
        if matches!(name.as_str(), "via" | "v" | "from" | "f" | "to" | "t" | "call-id" | "i" | "cseq") {
            fields.push(line.to_owned());
        }
    }
    let has_via = fields.iter().any(|f| {
        let name = f.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        name == "via" || name == "v"
    });
    if !has_via {
        return None;
    }
    let mut out = format!("SIP/2.0 {code} {}\r\n", message::reason_phrase(code));
    for field in fields {
        if field.contains(['\r', '\0']) {
            continue;
        }
        out.push_str(&field);
        out.push_str("\r\n");
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}
