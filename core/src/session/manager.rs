//! `Session` objects and the `SessionManager` that runs them.
//!
//! The manager serves INVITE (and BYE, INFO, UPDATE) on the SIP engine. A
//! new INVITE becomes a `Session` of the account its Request-URI names
//! (`SIPSessionNewIncoming`); requests, ACKs, CANCELs and responses of a
//! dialog go to its session. One task on the core runtime drives every
//! session's [`InviteSession`] machine: it sends what the machines ask,
//! runs their timers and posts their events as `SIPSession*`
//! notifications, with the Session as sender.
//!
//! This layer carries SDP bodies as they are; the stream objects that
//! build and read them sit above it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use tokio::sync::mpsc;

use super::machine::{InviteSession, Originator, Output, SessionEvent, SessionRoute, SessionState, SessionTimers};
use crate::account::{Account, AccountManager};
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sip::dialog::DialogId;
use crate::sip::engine::{Destination, Engine, RequestEvent, ResponseEvent};
use crate::sip::message::{Message, Method, NameAddr, Uri};
use crate::sip::transaction::TransactionId;
use crate::value::Value;

/// One INVITE session (`sipsimple.session.Session`).
pub struct Session {
    account: Arc<Account>,
    machine: Mutex<InviteSession>,
    handle: OnceLock<Handle>,
    direction: Mutex<Option<&'static str>>,
    local_sdp: Mutex<Vec<u8>>,
    remote_sdp: Mutex<Vec<u8>>,
}

impl Session {
    /// `Session(account)`: a new session in state `None`.
    pub fn new(account: &Arc<Account>) -> Arc<Session> {
        let identity =
            NameAddr::new(Uri::parse(&account.uri()).map(Uri::into_owned).unwrap_or_else(|_| Uri::sip("invalid")));
        let identity = match account.settings().get("display_name").ok().and_then(|v| v.as_str().map(str::to_owned)) {
            Some(name) if !name.is_empty() => identity.with_display_name(&name),
            _ => identity,
        };
        let mut machine = InviteSession::new(identity, timers());
        machine.set_credentials(&account.credentials());
        let session = Arc::new(Session {
            account: account.clone(),
            machine: Mutex::new(machine),
            handle: OnceLock::new(),
            direction: Mutex::new(None),
            local_sdp: Mutex::new(Vec::new()),
            remote_sdp: Mutex::new(Vec::new()),
        });
        let h = handle::register(ObjectKind::Session, session.clone(), Some(format!("Session of {}", account.id())));
        let _ = session.handle.set(h);
        session
    }

    /// The session's handle (the sender of its notifications).
    pub fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    /// `account`.
    pub fn account(&self) -> &Arc<Account> {
        &self.account
    }

    fn machine(&self) -> MutexGuard<'_, InviteSession> {
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `state` (`None`, `connecting`, `incoming`, ... `terminated`).
    pub fn state(&self) -> SessionState {
        self.machine().state()
    }

    /// `direction`: `incoming`, `outgoing`, or None before either.
    pub fn direction(&self) -> Option<&'static str> {
        *self.direction.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `remote_user_agent`, once known.
    pub fn remote_user_agent(&self) -> Option<String> {
        self.machine().remote_user_agent().map(str::to_owned)
    }

    /// The dialog's route set (from Record-Route), as URIs; empty before
    /// the dialog exists.
    pub fn dialog_route_set(&self) -> Vec<String> {
        self.machine().dialog().map(|d| d.route_set().iter().map(|u| u.to_string()).collect()).unwrap_or_default()
    }

    /// The peer's last SDP (offer or answer).
    pub fn remote_sdp(&self) -> Vec<u8> {
        self.remote_sdp.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Our last SDP (offer or answer).
    pub fn local_sdp(&self) -> Vec<u8> {
        self.local_sdp.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_local_sdp(&self, sdp: &[u8]) {
        *self.local_sdp.lock().unwrap_or_else(PoisonError::into_inner) = sdp.to_vec();
    }

    /// `connect`: calls `to` (a SIP URI) with `offer`, through the
    /// account's outbound proxy or the routes DNS gives for the target's
    /// domain, tried in order. Returns at once; the progress is posted.
    pub fn connect(self: &Arc<Self>, to: &str, offer: Vec<u8>, subject: Option<String>) -> Result<()> {
        let manager = SessionManager::instance();
        let (engine, runtime) = manager.running()?;
        let target = if to.contains(':') { to.to_owned() } else { format!("sip:{to}") };
        let to = NameAddr::new(
            Uri::parse(&target).map_err(|e| Error::InvalidArgument(format!("invalid URI {to:?}: {e}")))?.into_owned(),
        );
        if self.state() != SessionState::Null {
            return Err(Error::InvalidState(format!("connect is not allowed in state {}", self.state().name())));
        }
        *self.direction.lock().unwrap_or_else(PoisonError::into_inner) = Some("outgoing");
        self.set_local_sdp(&offer);
        manager.add(self.clone());
        let session = self.clone();
        runtime.spawn(async move {
            let routes = match crate::paging::routes(&engine, &session.account, to.uri()).await {
                Ok(routes) => routes
                    .into_iter()
                    .filter_map(|(route, destination)| {
                        let contact = session.account.contact().uri_for(&engine, &destination).ok()?;
                        let proxy = session
                            .account
                            .settings()
                            .get("sip.outbound_proxy")
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned));
                        let via = via_start(&engine, &destination)?;
                        Some(SessionRoute {
                            route: proxy.map(|_| format!("<{};lr>", route.get_uri())),
                            destination,
                            contact: NameAddr::new(contact),
                            via,
                        })
                    })
                    .collect(),
                Err(_) => Vec::new(),
            };
            let result = session.machine().connect(Instant::now(), to, routes, offer, subject.as_deref());
            if result.is_ok() {
                SessionManager::instance().wake();
            }
        });
        Ok(())
    }

    fn call<T>(
        &self,
        f: impl FnOnce(&mut InviteSession) -> std::result::Result<T, super::machine::IllegalState>,
    ) -> Result<T> {
        let result = f(&mut self.machine()).map_err(|e| Error::InvalidState(e.to_string()));
        SessionManager::instance().wake();
        result
    }

    /// `send_ring_indication`: 180 Ringing.
    pub fn send_ring_indication(&self) -> Result<()> {
        self.call(|m| m.send_ring_indication())
    }

    /// `accept`: answers the incoming INVITE with `answer`.
    pub fn accept(&self, answer: Vec<u8>) -> Result<()> {
        self.set_local_sdp(&answer);
        self.call(|m| m.accept(Instant::now(), answer))
    }

    /// `reject(code=603, reason=None)`.
    pub fn reject(&self, code: u16, reason: Option<&str>) -> Result<()> {
        self.call(|m| m.reject(code, reason))
    }

    /// `end`: CANCEL, decline or BYE as the state asks.
    pub fn end(&self) -> Result<()> {
        self.call(|m| {
            m.end(Instant::now());
            Ok(())
        })
    }

    /// Sends a re-INVITE with `offer` (streams added or removed, hold).
    pub fn propose(&self, offer: Vec<u8>) -> Result<()> {
        self.set_local_sdp(&offer);
        self.call(|m| m.propose(offer))
    }

    /// `accept_proposal` with our `answer`.
    pub fn accept_proposal(&self, answer: Vec<u8>) -> Result<()> {
        self.set_local_sdp(&answer);
        self.call(|m| m.accept_proposal(Instant::now(), answer))
    }

    /// `reject_proposal(code=488, reason=None)`.
    pub fn reject_proposal(&self, code: u16, reason: Option<&str>) -> Result<()> {
        self.call(|m| m.reject_proposal(code, reason))
    }

    /// `cancel_proposal`.
    pub fn cancel_proposal(&self) -> Result<()> {
        self.call(|m| m.cancel_proposal())
    }
}

fn timers() -> SessionTimers {
    let settings = crate::settings::SIPSimpleSettings::instance();
    let invite_timeout = settings.settings().get("sip.invite_timeout").ok().and_then(|v| v.as_int()).unwrap_or(90);
    SessionTimers {
        invite_timeout: std::time::Duration::from_secs(u64::try_from(invite_timeout).unwrap_or(90).max(1)),
        ..SessionTimers::default()
    }
}

/// What the manager's task hears besides the engine's requests.
enum Wake {
    /// A session changed: drain its outputs.
    Poke,
    /// A response to a request a session sent.
    Response { session: Handle, tag: u64, response: Message },
}

/// How long `SessionManager.stop` waits for the sessions to end.
pub const END_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The `SessionManager` singleton.
pub struct SessionManager {
    state: Mutex<ManagerState>,
}

#[derive(Default)]
struct ManagerState {
    engine: Option<Engine>,
    runtime: Option<tokio::runtime::Handle>,
    wake: Option<mpsc::UnboundedSender<Wake>>,
    sessions: Vec<Arc<Session>>,
}

static SESSION_MANAGER: LazyLock<SessionManager> =
    LazyLock::new(|| SessionManager { state: Mutex::new(ManagerState::default()) });

impl SessionManager {
    /// The singleton.
    pub fn instance() -> &'static SessionManager {
        &SESSION_MANAGER
    }

    fn lock(&self) -> MutexGuard<'_, ManagerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn running(&self) -> Result<(Engine, tokio::runtime::Handle)> {
        let s = self.lock();
        match (&s.engine, &s.runtime) {
            (Some(e), Some(r)) => Ok((e.clone(), r.clone())),
            _ => Err(Error::InvalidState("the SessionManager is not running (start the SIPApplication)".into())),
        }
    }

    fn wake(&self) {
        if let Some(w) = self.lock().wake.as_ref() {
            let _ = w.send(Wake::Poke);
        }
    }

    fn add(&self, session: Arc<Session>) {
        let mut s = self.lock();
        if !s.sessions.iter().any(|x| Arc::ptr_eq(x, &session)) {
            s.sessions.push(session);
        }
    }

    /// `sessions`: the sessions neither new nor terminated.
    pub fn sessions(&self) -> Vec<Arc<Session>> {
        self.lock()
            .sessions
            .iter()
            .filter(|s| !matches!(s.state(), SessionState::Null | SessionState::Terminated))
            .cloned()
            .collect()
    }

    /// Starts serving INVITEs on `engine` (SIPApplication does this).
    pub fn start(&self, engine: &Engine) -> Result<()> {
        let requests = engine.serve(&[Method::Invite, Method::Bye, Method::Info, Method::Update])?;
        let (wake, wakes) = mpsc::unbounded_channel();
        {
            let mut s = self.lock();
            s.engine = Some(engine.clone());
            s.runtime = Some(tokio::runtime::Handle::current());
            s.wake = Some(wake.clone());
        }
        tokio::spawn(run(engine.clone(), requests, wakes, wake));
        Ok(())
    }

    /// Ends every session and waits (up to [`END_GRACE`]) for them to
    /// terminate, then stops serving. SIPApplication.stop calls it on its
    /// stop thread; never call it on the runtime thread.
    pub fn stop(&self) {
        let sessions: Vec<Arc<Session>> = self.lock().sessions.clone();
        for session in &sessions {
            let _ = session.end();
        }
        let deadline = Instant::now() + END_GRACE;
        while sessions.iter().any(|s| s.state() != SessionState::Terminated) && Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut s = self.lock();
        s.engine = None;
        s.runtime = None;
        s.wake = None;
    }
}

async fn run(
    engine: Engine,
    mut requests: mpsc::UnboundedReceiver<RequestEvent>,
    mut wakes: mpsc::UnboundedReceiver<Wake>,
    wake: mpsc::UnboundedSender<Wake>,
) {
    let manager = SessionManager::instance();
    // Server transactions of INVITEs, by session.
    let mut invites: HashMap<TransactionId, Handle> = HashMap::new();
    loop {
        // Drain every session's outputs.
        let sessions: Vec<Arc<Session>> = manager.lock().sessions.clone();
        for session in &sessions {
            drain(&engine, session, &wake, &mut invites);
        }
        manager
            .lock()
            .sessions
            .retain(|s| s.state() != SessionState::Terminated || s.machine().poll_timeout().is_some());
        let deadline = sessions.iter().filter_map(|s| s.machine().poll_timeout()).min();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = requests.recv() => match event {
                Some(event) => on_request(&engine, event, &mut invites),
                None => break,
            },
            Some(w) = wakes.recv() => {
                if let Wake::Response { session, tag, response } = w
                    && let Some(s) = find(|s| s.handle() == session)
                {
                    if response.status().is_some_and(|c| c >= 200) && !response.body().is_empty() {
                        *s.remote_sdp.lock().unwrap_or_else(PoisonError::into_inner) = response.body().to_vec();
                    }
                    s.machine().handle_response(Instant::now(), tag, &response);
                }
            }
            () = sleep => {
                let now = Instant::now();
                for s in &sessions {
                    s.machine().handle_timeout(now);
                }
            }
        }
        if manager.lock().wake.is_none() && manager.sessions().is_empty() {
            break;
        }
    }
}

fn find(pred: impl Fn(&Session) -> bool) -> Option<Arc<Session>> {
    SessionManager::instance().lock().sessions.iter().find(|s| pred(s)).cloned()
}

fn dialog_session(id: &DialogId) -> Option<Arc<Session>> {
    find(|s| s.machine().dialog().is_some_and(|d| d.id() == id))
}

fn on_request(engine: &Engine, event: RequestEvent, invites: &mut HashMap<TransactionId, Handle>) {
    let now = Instant::now();
    match event {
        RequestEvent::Request { transaction, request, source } => {
            if request.to_tag().is_some() {
                match DialogId::of_received_request(&request).and_then(|id| dialog_session(&id)) {
                    Some(session) => {
                        if request.method() == Some(&Method::Invite) {
                            invites.insert(transaction, session.handle());
                            if !request.body().is_empty() {
                                *session.remote_sdp.lock().unwrap_or_else(PoisonError::into_inner) =
                                    request.body().to_vec();
                            }
                        }
                        session.machine().handle_request(transaction, &request);
                    }
                    None => {
                        let response = Message::response_to(&request, 481, "Call/Transaction Does Not Exist");
                        let _ = engine.respond(transaction, response);
                    }
                }
                return;
            }
            if request.method() != Some(&Method::Invite) {
                let response = Message::response_to(&request, 481, "Call/Transaction Does Not Exist")
                    .with_to_tag(&format!("{:08x}", rand::random::<u32>()));
                let _ = engine.respond(transaction, response);
                return;
            }
            on_new_invite(engine, transaction, request, source, invites);
        }
        RequestEvent::Ack { request, .. } => {
            if let Some(session) = DialogId::of_received_request(&request).and_then(|id| dialog_session(&id)) {
                session.machine().handle_ack(now, &request);
            }
        }
        RequestEvent::Cancelled { transaction, .. } => {
            if let Some(h) = invites.get(&transaction)
                && let Some(session) = find(|s| s.handle() == *h)
            {
                session.machine().handle_cancel(transaction);
            }
        }
        RequestEvent::StrayResponse { response, .. } => {
            if let Some(session) = DialogId::of_received_response(&response).and_then(|id| dialog_session(&id)) {
                session.machine().handle_response(now, 0, &response);
            }
        }
    }
}

fn on_new_invite(
    engine: &Engine,
    transaction: TransactionId,
    request: Message,
    source: Destination,
    invites: &mut HashMap<TransactionId, Handle>,
) {
    let uri = request.uri().map(|u| u.to_string()).unwrap_or_default();
    let account = AccountManager::instance().find_account(&uri);
    let Some(account) = account else {
        let response =
            Message::response_to(&request, 404, "Not Found").with_to_tag(&format!("{:08x}", rand::random::<u32>()));
        let _ = engine.respond(transaction, response);
        return;
    };
    let session = Session::new(&account);
    *session.direction.lock().unwrap_or_else(PoisonError::into_inner) = Some("incoming");
    *session.remote_sdp.lock().unwrap_or_else(PoisonError::into_inner) = request.body().to_vec();
    let contact = account
        .contact()
        .uri_for(engine, &source)
        .map(NameAddr::new)
        .unwrap_or_else(|_| NameAddr::new(Uri::sip("invalid")));
    invites.insert(transaction, session.handle());
    let via = via_start(engine, &source).unwrap_or_else(|| "SIP/2.0/UDP invalid".into());
    let _ = session.machine().handle_invite(transaction, &request, source, contact, via);
    SessionManager::instance().add(session);
}

/// `SIP/2.0/<T> <address>` for requests to `destination`.
fn via_start(engine: &Engine, destination: &Destination) -> Option<String> {
    let via = engine.new_via(destination)?;
    via.split(';').next().map(str::to_owned)
}

fn drain(
    engine: &Engine,
    session: &Arc<Session>,
    wake: &mpsc::UnboundedSender<Wake>,
    invites: &mut HashMap<TransactionId, Handle>,
) {
    loop {
        let output = session.machine().poll_output();
        let Some(output) = output else { break };
        match output {
            Output::Send { tag, request, destination } => match engine.send_request(*request, destination) {
                Ok(mut events) => {
                    let (wake, h) = (wake.clone(), session.handle());
                    tokio::spawn(async move {
                        // Every response, 2xx retransmissions included.
                        while let Some(event) = events.recv().await {
                            let response = match event {
                                ResponseEvent::Provisional(m) | ResponseEvent::Final(m) => m,
                            };
                            if wake.send(Wake::Response { session: h, tag, response }).is_err() {
                                break;
                            }
                        }
                    });
                }
                Err(_) => {
                    let _ = wake.send(Wake::Response {
                        session: session.handle(),
                        tag,
                        response: Message::response(503, "Service Unavailable"),
                    });
                }
            },
            Output::SendStateless { message, destination } => {
                let _ = engine.send_stateless(*message, destination);
            }
            Output::Respond { transaction, response } => {
                if response.status().is_some_and(|c| c >= 200) {
                    invites.remove(&transaction);
                }
                let _ = engine.respond(transaction, *response);
            }
            Output::Event(event) => post(session, event),
        }
    }
}

fn post(session: &Session, event: SessionEvent) {
    let center = NotificationCenter::default_center();
    let h = session.handle();
    let streams = || Value::List(Vec::new());
    match event {
        SessionEvent::NewOutgoing => center.post(h, n::SIPSessionNewOutgoing { streams: streams() }),
        SessionEvent::NewIncoming { .. } => center.post(h, n::SIPSessionNewIncoming { streams: streams() }),
        SessionEvent::GotRingIndication => center.post(h, n::SIPSessionGotRingIndication {}),
        SessionEvent::GotProvisionalResponse { code, reason } => {
            center.post(h, n::SIPSessionGotProvisionalResponse { code: code.into(), reason })
        }
        SessionEvent::WillStart => center.post(h, n::SIPSessionWillStart {}),
        SessionEvent::DidStart { remote_sdp } => {
            if !remote_sdp.is_empty() {
                *session.remote_sdp.lock().unwrap_or_else(PoisonError::into_inner) = remote_sdp;
            }
            center.post(h, n::SIPSessionDidStart { streams: streams() })
        }
        SessionEvent::DidFail { originator, code, reason, failure_reason } => center.post(
            h,
            n::SIPSessionDidFail { originator: originator.name().into(), code: code.into(), reason, failure_reason },
        ),
        SessionEvent::WillEnd { originator } => {
            center.post(h, n::SIPSessionWillEnd { originator: originator.name().into() })
        }
        SessionEvent::DidEnd { originator, end_reason } => {
            center.post(h, n::SIPSessionDidEnd { originator: originator.name().into(), end_reason })
        }
        SessionEvent::GotProposal { .. } => center
            .post(h, n::SIPSessionGotProposal { originator: Originator::Remote.name().into(), streams: streams() }),
        SessionEvent::ProposalAccepted { .. } => center.post(
            h,
            n::SIPSessionGotAcceptProposal {
                originator: Originator::Local.name().into(),
                streams: streams(),
                proposed_streams: streams(),
            },
        ),
        SessionEvent::ProposalRejected { originator, code, reason } => center.post(
            h,
            n::SIPSessionGotRejectProposal {
                originator: originator.name().into(),
                code: code.into(),
                reason,
                streams: streams(),
            },
        ),
        SessionEvent::DidProcessTransaction { originator, method, code, reason, ack_received } => center.post(
            h,
            n::SIPSessionDidProcessTransaction {
                originator: originator.name().into(),
                method,
                code: code.into(),
                reason,
                ack_received: ack_received.map_or(Value::from("unknown"), Value::from),
            },
        ),
    }
}
