//! The sans-IO INVITE session state machine (RFC 3261 §13–15, RFC 3264
//! offer/answer carried as opaque SDP bodies).
//!
//! [`InviteSession`] is fed the time, the application's calls (connect,
//! accept, reject, end, propose...) and what the engine delivers (requests
//! of its dialog, final and provisional responses, ACKs, CANCELs), and
//! answers with [`Output`]s: requests to send in a client transaction,
//! stateless sends (the ACK for a 2xx), responses, and [`SessionEvent`]s
//! that become `SIPSession*` notifications. What the SDP says is not its
//! business: the Session object above builds offers and answers from its
//! streams.
//!
//! States follow the original middleware: `None` → `connecting` /
//! `incoming` → `accepting` → `connected` ⇄ `sending_proposal` /
//! `received_proposal` → `terminating` → `terminated`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::account::Credentials;
use crate::sip::auth::{Challenge, DigestClient};
use crate::sip::dialog::Dialog;
use crate::sip::engine::Destination;
use crate::sip::message::{Message, Method, NameAddr, Uri};
use crate::sip::transaction::TransactionId;

/// A session's state, as the original names it (`state` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// A new session (`None`).
    Null,
    /// Our INVITE is out (`connecting`).
    Connecting,
    /// A received INVITE waits for accept/reject (`incoming`).
    Incoming,
    /// We accepted; waiting for the ACK (`accepting`).
    Accepting,
    /// Established (`connected`).
    Connected,
    /// Our re-INVITE is out (`sending_proposal`).
    SendingProposal,
    /// The peer's re-INVITE waits for our answer (`received_proposal`).
    ReceivedProposal,
    /// Ending (`terminating`).
    Terminating,
    /// Ended (`terminated`).
    Terminated,
}

impl SessionState {
    /// The original's name: `None` is `None` there (here `"None"`).
    pub fn name(self) -> &'static str {
        match self {
            SessionState::Null => "None",
            SessionState::Connecting => "connecting",
            SessionState::Incoming => "incoming",
            SessionState::Accepting => "accepting",
            SessionState::Connected => "connected",
            SessionState::SendingProposal => "sending_proposal",
            SessionState::ReceivedProposal => "received_proposal",
            SessionState::Terminating => "terminating",
            SessionState::Terminated => "terminated",
        }
    }
}

/// Who did it: `local` or `remote`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Originator {
    /// This side.
    Local,
    /// The peer.
    Remote,
}

impl Originator {
    /// `"local"` or `"remote"`.
    pub fn name(self) -> &'static str {
        match self {
            Originator::Local => "local",
            Originator::Remote => "remote",
        }
    }
}

/// What a session reports (each becomes a `SIPSession*` notification, or
/// tells the Session object to act on its streams).
#[derive(Clone, Debug, PartialEq)]
pub enum SessionEvent {
    /// `connect` sent the INVITE.
    NewOutgoing,
    /// An INVITE arrived; `offer` is its SDP (empty when it carried none).
    NewIncoming {
        /// The offer.
        offer: Vec<u8>,
    },
    /// 180 Ringing.
    GotRingIndication,
    /// Any provisional response but 100.
    GotProvisionalResponse {
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// The final answer arrived (or we accepted); the ACK follows.
    WillStart,
    /// Established: `remote_sdp` is the peer's offer or answer.
    DidStart {
        /// The peer's SDP.
        remote_sdp: Vec<u8>,
    },
    /// The session failed before it started. Nothing follows.
    DidFail {
        /// Who made it fail.
        originator: Originator,
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: String,
        /// Why, in words (`user_request`, `missing ACK`...).
        failure_reason: String,
    },
    /// The session is about to end.
    WillEnd {
        /// Who ends it.
        originator: Originator,
    },
    /// The session ended.
    DidEnd {
        /// Who ended it.
        originator: Originator,
        /// Why (`user_request`, or an error).
        end_reason: String,
    },
    /// The peer sent a re-INVITE: answer it with `accept_proposal` or `reject_proposal`.
    GotProposal {
        /// The peer's offer (empty for an offerless re-INVITE).
        offer: Vec<u8>,
    },
    /// Our re-INVITE was accepted; `answer` is the peer's SDP.
    ProposalAccepted {
        /// The peer's answer.
        answer: Vec<u8>,
    },
    /// A re-INVITE was refused (or cancelled: 487).
    ProposalRejected {
        /// Who proposed.
        originator: Originator,
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// A transaction of the dialog completed.
    DidProcessTransaction {
        /// Who started it.
        originator: Originator,
        /// Its method.
        method: String,
        /// The final status code.
        code: u16,
        /// The reason phrase.
        reason: String,
        /// For INVITE transactions: whether the ACK came (None otherwise).
        ack_received: Option<bool>,
    },
}

/// What the session asks its driver to do.
#[derive(Debug)]
pub enum Output {
    /// Send `request` in a new client transaction; pass every response to
    /// [`InviteSession::handle_response`] with `tag`.
    Send {
        /// Echo this with the responses.
        tag: u64,
        /// The request.
        request: Box<Message>,
        /// Where to.
        destination: Destination,
    },
    /// Send outside any transaction (the ACK for a 2xx).
    SendStateless {
        /// The message.
        message: Box<Message>,
        /// Where to.
        destination: Destination,
    },
    /// Answer server transaction `transaction`.
    Respond {
        /// The transaction.
        transaction: TransactionId,
        /// The response.
        response: Box<Message>,
    },
    /// Report this.
    Event(SessionEvent),
}

/// An error from a call made in the wrong state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} is not allowed in state {state}")]
pub struct IllegalState {
    /// What was called.
    pub operation: &'static str,
    /// The state the session was in.
    pub state: &'static str,
}

/// Timing of a session.
#[derive(Clone, Debug)]
pub struct SessionTimers {
    /// T1: the first 2xx retransmission interval.
    pub t1: Duration,
    /// T2: the longest 2xx retransmission interval.
    pub t2: Duration,
    /// How long an outgoing INVITE may go unanswered (`sip.invite_timeout`).
    pub invite_timeout: Duration,
    /// The session interval we ask for (RFC 4028 `Session-Expires`).
    pub session_expires: Duration,
    /// The shortest session interval we accept (`Min-SE`).
    pub min_se: Duration,
}

impl Default for SessionTimers {
    fn default() -> Self {
        SessionTimers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            invite_timeout: Duration::from_secs(90),
            session_expires: Duration::from_secs(1800),
            min_se: Duration::from_secs(90),
        }
    }
}

/// One hop to try for the initial INVITE: where to send, the Route header
/// to put (the outbound proxy, if any), and our Contact through it.
#[derive(Clone, Debug)]
pub struct SessionRoute {
    /// Where to send.
    pub destination: Destination,
    /// The Route header value (`<sip:proxy;lr>`), if any.
    pub route: Option<String>,
    /// Our Contact for this route.
    pub contact: NameAddr<'static>,
    /// The start of our Via through this route, `SIP/2.0/UDP host:port`
    /// (the session adds `;rport;branch=...`, so a CANCEL can copy it).
    pub via: String,
}

/// Our outgoing INVITE and its progress.
struct PendingInvite {
    tag: u64,
    request: Message,
    /// The INVITE as last sent (with Via, Route and Contact).
    sent: Option<Message>,
    routes: Vec<SessionRoute>,
    route_index: usize,
    provisional: bool,
    cancel_requested: bool,
}

/// A 2xx we send until the ACK arrives.
struct PendingAck {
    transaction: TransactionId,
    response: Message,
    next_retransmit: Instant,
    interval: Duration,
    give_up: Instant,
    /// The re-INVITE case: no session start on the ACK.
    reinvite: bool,
}

impl PendingAck {
    /// Retransmit `response` from T1 on, doubling, for 64·T1 (RFC 3261 §13.3.1.4).
    fn new(now: Instant, t1: Duration, transaction: TransactionId, response: Message, reinvite: bool) -> PendingAck {
        PendingAck { transaction, response, next_retransmit: now + t1, interval: t1, give_up: now + t1 * 64, reinvite }
    }
}

/// The peer's INVITE or re-INVITE waiting for our final answer.
struct ReceivedInvite {
    transaction: TransactionId,
    request: Message,
}

/// One INVITE session. See the module documentation.
pub struct InviteSession {
    state: SessionState,
    timers: SessionTimers,
    local_identity: NameAddr<'static>,
    dialog: Option<Dialog>,
    /// Where in-dialog requests go (the first hop of the initial INVITE,
    /// or where the peer's INVITE came from).
    next_hop: Option<Destination>,
    contact: Option<NameAddr<'static>>,
    /// Our Contact carries `isfocus` (RFC 4579): we host a conference.
    is_focus: bool,
    invite: Option<PendingInvite>,
    reinvite: Option<(u64, Message)>,
    received: Option<ReceivedInvite>,
    pending_ack: Option<PendingAck>,
    bye_tag: Option<u64>,
    invite_deadline: Option<Instant>,
    local_tag: String,
    next_tag: u64,
    outputs: VecDeque<Output>,
    remote_user_agent: Option<String>,
    /// The offer of the peer's initial INVITE, for `DidStart`.
    received_offer: Option<Vec<u8>>,
    /// The start of our Via (`SIP/2.0/UDP host:port`).
    via: Option<String>,
    /// Answers 401/407 challenges with the account's credentials.
    digest: Option<DigestClient>,
    /// Our last BYE (to answer a challenge to it).
    last_bye: Option<Message>,
    /// Requests already answered with credentials once (by tag).
    authorized: std::collections::HashSet<u64>,
    /// The RFC 4028 session timer, once negotiated.
    session_timer: Option<SessionTimer>,
    /// Our refresh UPDATE in flight.
    refresh_tag: Option<u64>,
    /// Our last SDP, for refreshes by re-INVITE.
    local_sdp: Vec<u8>,
    /// The session timer agreed in our 200, started by the ACK.
    pending_timer: Option<(Duration, bool)>,
    /// Whether the peer allows UPDATE (refreshes use it, else re-INVITE).
    peer_allows_update: bool,
}

/// A negotiated RFC 4028 session timer.
#[derive(Clone, Copy, Debug)]
struct SessionTimer {
    interval: Duration,
    /// We send the refreshes (else the peer does).
    we_refresh: bool,
    /// When we refresh next (when we are the refresher).
    refresh_at: Option<Instant>,
    /// When the session is over unless refreshed (RFC 4028 §10).
    expire_at: Instant,
}

impl SessionTimer {
    fn new(now: Instant, interval: Duration, we_refresh: bool) -> SessionTimer {
        let interval = interval.max(Duration::from_secs(2));
        let grace = (interval / 3).min(Duration::from_secs(32));
        SessionTimer {
            interval,
            we_refresh,
            refresh_at: we_refresh.then(|| now + interval / 2),
            expire_at: now + interval - grace,
        }
    }
}

impl SessionTimer {
    /// A refresh went through: start over, with the interval `message`
    /// gives (or the same one).
    fn restart(&mut self, now: Instant, message: &Message) {
        let (interval, _) = session_expires(message).unwrap_or((self.interval, None));
        *self = SessionTimer::new(now, interval, self.we_refresh);
    }
}

/// `contact` with the `isfocus` parameter (once).
fn with_focus(contact: NameAddr<'static>) -> NameAddr<'static> {
    if contact.params().contains("isfocus") { contact } else { contact.with_param("isfocus", None) }
}

/// `Session-Expires: N;refresher=uac|uas` → (N, refresher).
fn session_expires(message: &Message) -> Option<(Duration, Option<String>)> {
    let value = message.header_value("Session-Expires").or_else(|| message.header_value("x"))?;
    let mut parts = value.split(';');
    let seconds: u64 = parts.next()?.trim().parse().ok()?;
    let refresher = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("refresher"))
        .map(|(_, v)| v.trim().to_ascii_lowercase());
    Some((Duration::from_secs(seconds), refresher))
}

fn supports_timer(message: &Message) -> bool {
    ["Supported", "k", "Require"]
        .iter()
        .any(|h| message.headers().values(h).any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("timer"))))
}

impl InviteSession {
    /// A new session in state `None` for `local_identity` (the account's
    /// address, with display name).
    pub fn new(local_identity: NameAddr<'static>, timers: SessionTimers) -> InviteSession {
        InviteSession {
            state: SessionState::Null,
            timers,
            local_identity,
            dialog: None,
            next_hop: None,
            contact: None,
            is_focus: false,
            invite: None,
            reinvite: None,
            received: None,
            pending_ack: None,
            bye_tag: None,
            invite_deadline: None,
            local_tag: token(),
            next_tag: 0,
            outputs: VecDeque::new(),
            remote_user_agent: None,
            received_offer: None,
            via: None,
            digest: None,
            last_bye: None,
            authorized: Default::default(),
            session_timer: None,
            refresh_tag: None,
            pending_timer: None,
            local_sdp: Vec::new(),
            peer_allows_update: false,
        }
    }

    /// The credentials that answer 401/407 challenges to our requests.
    pub fn set_credentials(&mut self, credentials: &Credentials) {
        self.digest = Some(DigestClient::from_credentials(credentials));
    }

    /// The `(Proxy-)Authorization` header answering the challenge in
    /// `response` to `request`, once per request.
    fn authorization(&mut self, tag: u64, request: &Message, response: &Message) -> Option<(&'static str, String)> {
        let code = response.status()?;
        if !(code == 401 || code == 407) || self.authorized.contains(&tag) {
            return None;
        }
        let digest = self.digest.as_mut()?;
        let header = if code == 401 { "WWW-Authenticate" } else { "Proxy-Authenticate" };
        let challenge = Challenge::parse_all(response.headers().values(header)).ok()?.into_iter().next()?;
        let method = request.method()?.to_string();
        let uri = request.uri()?.to_string();
        let value = digest.respond(&method, &uri, request.body(), &challenge).ok()?;
        Some((if code == 401 { "Authorization" } else { "Proxy-Authorization" }, value))
    }

    /// Remembers what the peer's `Allow` says (UPDATE for refreshes).
    fn note_peer(&mut self, message: &Message) {
        self.peer_allows_update =
            message.headers().values("Allow").any(|v| v.split(',').any(|m| m.trim().eq_ignore_ascii_case("UPDATE")));
    }

    /// Sends the session refresh: an UPDATE when the peer allows it, else
    /// a re-INVITE with our last SDP.
    fn send_refresh(&mut self, now: Instant) {
        let Some(timer) = self.session_timer.as_mut() else { return };
        timer.refresh_at = None;
        let interval = timer.interval;
        let (Some(dialog), Some(hop)) = (self.dialog.as_mut(), self.next_hop.clone()) else { return };
        let refresher = if dialog.is_uac() { "uac" } else { "uas" };
        let method = if self.peer_allows_update { Method::Update } else { Method::Invite };
        let mut request = dialog
            .create_request(method.clone())
            .header("Supported", "timer")
            .header("Session-Expires", format!("{};refresher={refresher}", interval.as_secs()));
        if let Some(contact) = &self.contact {
            request.add_header("Contact", contact);
        }
        if method == Method::Invite && !self.local_sdp.is_empty() {
            request = request.with_body("application/sdp", self.local_sdp.clone());
        }
        let _ = now;
        let tag = self.send(request, hop);
        self.refresh_tag = Some(tag);
    }

    /// Our identity (the account's address, with display name).
    pub fn local_identity(&self) -> &NameAddr<'static> {
        &self.local_identity
    }

    /// The transport of the session's next hop, once known.
    pub fn transport(&self) -> Option<crate::sip::transport::TransportKind> {
        self.next_hop.as_ref().map(|hop| hop.transport)
    }

    /// Marks our Contact with `isfocus` (RFC 4579, `is_focus` of `connect`
    /// and `accept`): before `connect`, or before `accept` of an incoming
    /// session.
    pub fn set_focus(&mut self, is_focus: bool) {
        self.is_focus = is_focus;
        if !is_focus {
            return;
        }
        if let Some(contact) = self.contact.take() {
            let contact = with_focus(contact);
            if let Some(dialog) = self.dialog.as_mut() {
                dialog.set_local_target(contact.clone());
            }
            self.contact = Some(contact);
        }
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The peer's User-Agent (or Server) header, once seen.
    pub fn remote_user_agent(&self) -> Option<&str> {
        self.remote_user_agent.as_deref()
    }

    /// The dialog, once there is one.
    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Whether outputs wait for [`InviteSession::poll_output`].
    pub fn has_output(&self) -> bool {
        !self.outputs.is_empty()
    }

    /// When [`InviteSession::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ack = self.pending_ack.as_ref().map(|p| p.next_retransmit.min(p.give_up));
        let timer = self
            .session_timer
            .filter(|_| {
                matches!(
                    self.state,
                    SessionState::Connected | SessionState::SendingProposal | SessionState::ReceivedProposal
                )
            })
            .map(|t| t.refresh_at.map_or(t.expire_at, |r| r.min(t.expire_at)));
        [ack, self.invite_deadline, timer].into_iter().flatten().min()
    }

    fn guard(&self, operation: &'static str, allowed: &[SessionState]) -> Result<(), IllegalState> {
        if allowed.contains(&self.state) { Ok(()) } else { Err(IllegalState { operation, state: self.state.name() }) }
    }

    fn emit(&mut self, event: SessionEvent) {
        self.outputs.push_back(Output::Event(event));
    }

    fn new_tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag
    }

    /// `request` with our Via on top (a new branch), unless it has one.
    fn with_via(&self, mut request: Message) -> Message {
        if request.top_via().is_none()
            && let Some(via) = &self.via
        {
            let value = format!("{via};rport;branch={}", crate::sip::transaction::new_branch());
            request.headers_mut().insert(0, crate::sip::message::Header::canonical("Via", value));
        }
        request
    }

    fn send(&mut self, request: Message, destination: Destination) -> u64 {
        let request = self.with_via(request);
        let tag = self.new_tag();
        self.outputs.push_back(Output::Send { tag, request: Box::new(request), destination });
        tag
    }

    fn respond(&mut self, transaction: TransactionId, response: Message) {
        self.outputs.push_back(Output::Respond { transaction, response: Box::new(response) });
    }

    fn processed(&mut self, originator: Originator, method: &str, code: u16, reason: &str, ack: Option<bool>) {
        self.emit(SessionEvent::DidProcessTransaction {
            originator,
            method: method.to_owned(),
            code,
            reason: reason.to_owned(),
            ack_received: ack,
        });
    }

    // ----- outgoing --------------------------------------------------------

    /// `connect`: sends the INVITE with `offer` to `to` through the first of
    /// `routes` (the others are tried on a timeout, a transport failure or a
    /// 503 before any provisional response).
    pub fn connect(
        &mut self,
        now: Instant,
        to: NameAddr<'static>,
        routes: Vec<SessionRoute>,
        offer: Vec<u8>,
        subject: Option<&str>,
    ) -> Result<(), IllegalState> {
        self.guard("connect", &[SessionState::Null])?;
        if routes.is_empty() {
            self.state = SessionState::Terminated;
            self.emit(SessionEvent::DidFail {
                originator: Originator::Local,
                code: 0,
                reason: "No route".into(),
                failure_reason: "no route to the destination".into(),
            });
            return Ok(());
        }
        let mut request = Message::request(Method::Invite, to.uri().clone())
            .header("From", self.local_identity.clone().with_tag(&self.local_tag))
            .header("To", &to)
            .header("Call-ID", token())
            .header("CSeq", "1 INVITE")
            .header("Allow", ALLOW)
            .header("Supported", "timer")
            .header("Session-Expires", self.timers.session_expires.as_secs())
            .header("Min-SE", self.timers.min_se.as_secs());
        if let Some(subject) = subject {
            request.add_header("Subject", subject.replace(['\r', '\n'], " "));
        }
        self.local_sdp = offer.clone();
        let request = if offer.is_empty() { request } else { request.with_body("application/sdp", offer) };
        self.state = SessionState::Connecting;
        self.emit(SessionEvent::NewOutgoing);
        self.invite_deadline = Some(now + self.timers.invite_timeout);
        self.invite = Some(PendingInvite {
            tag: 0,
            request,
            sent: None,
            routes,
            route_index: 0,
            provisional: false,
            cancel_requested: false,
        });
        self.send_invite_on_route();
        Ok(())
    }

    fn send_invite_on_route(&mut self) {
        let Some(pending) = self.invite.as_mut() else { return };
        let route = pending.routes[pending.route_index].clone();
        let mut request = pending.request.clone();
        if let Some(r) = &route.route {
            request.headers_mut().insert(0, crate::sip::message::Header::canonical("Route", r.clone()));
        }
        let contact = if self.is_focus { with_focus(route.contact.clone()) } else { route.contact.clone() };
        request.add_header("Contact", &contact);
        self.contact = Some(contact);
        self.next_hop = Some(route.destination.clone());
        self.via = Some(route.via.clone());
        let request = self.with_via(request);
        let tag = self.send(request.clone(), route.destination);
        if let Some(pending) = self.invite.as_mut() {
            pending.tag = tag;
            pending.sent = Some(request);
        }
    }

    /// A response to a request this session sent with `tag`.
    pub fn handle_response(&mut self, now: Instant, tag: u64, response: &Message) {
        let code = response.status().unwrap_or(500);
        if let Some(agent) = response.header_value("Server") {
            self.remote_user_agent.get_or_insert_with(|| agent.to_owned());
        }
        if self.invite.as_ref().is_some_and(|p| p.tag == tag) {
            return self.invite_response(now, code, response);
        }
        if self.reinvite.as_ref().is_some_and(|(t, _)| *t == tag) {
            return self.reinvite_response(code, response);
        }
        if self.refresh_tag == Some(tag) && code >= 200 {
            self.refresh_tag = None;
            let method = response.cseq_parts().map(|(_, m)| m.to_owned()).unwrap_or_default();
            let reason = response.reason().unwrap_or_default().to_owned();
            if method == "INVITE"
                && let (Some(dialog), Some(hop)) = (self.dialog.as_ref(), self.next_hop.clone())
                && (200..300).contains(&code)
                && let Some((cseq, _)) = response.cseq_parts()
            {
                let ack = dialog.create_ack(cseq);
                self.outputs.push_back(Output::SendStateless { message: Box::new(ack), destination: hop });
            }
            self.processed(Originator::Local, &method, code, &reason, (method == "INVITE").then_some(true));
            if (200..300).contains(&code)
                && let Some(timer) = self.session_timer.as_mut()
            {
                timer.restart(now, response);
            } else if code == 481 || code == 408 {
                self.emit(SessionEvent::WillEnd { originator: Originator::Local });
                self.finish_end(Originator::Remote, format!("{code} {reason}"));
            }
            return;
        }
        if self.bye_tag == Some(tag)
            && let Some(bye) = self.last_bye.clone()
            && let Some((name, value)) = self.authorization(tag, &bye, response)
            && let (Some(dialog), Some(hop)) = (self.dialog.as_mut(), self.next_hop.clone())
        {
            let mut again = dialog.create_request(Method::Bye);
            again.add_header(name, value);
            let again = self.with_via(again);
            let new_tag = self.send(again.clone(), hop);
            self.authorized.insert(new_tag);
            self.bye_tag = Some(new_tag);
            self.last_bye = Some(again);
            return;
        }
        if self.bye_tag == Some(tag) && code >= 200 {
            self.bye_tag = None;
            let reason = response.reason().unwrap_or_default().to_owned();
            self.processed(Originator::Local, "BYE", code, &reason, None);
            self.finish_end(Originator::Local, "user_request".into());
        }
        // A 2xx retransmission after our ACK: ACK it again.
        if (200..300).contains(&code)
            && response.cseq_parts().is_some_and(|(_, m)| m == "INVITE")
            && let (Some(dialog), Some(hop)) = (self.dialog.as_ref(), self.next_hop.clone())
            && dialog.matches(response)
            && let Some((cseq, _)) = response.cseq_parts()
        {
            let ack = dialog.create_ack(cseq);
            self.outputs.push_back(Output::SendStateless { message: Box::new(ack), destination: hop });
        }
    }

    fn invite_response(&mut self, now: Instant, code: u16, response: &Message) {
        let reason = response.reason().unwrap_or_default().to_owned();
        if code < 200 {
            if code == 100 {
                return;
            }
            if let Some(p) = self.invite.as_mut() {
                p.provisional = true;
            }
            if response.to_tag().is_some() && self.dialog.is_none() {
                self.dialog = self.invite.as_ref().and_then(|p| Dialog::uac(&p.request, response).ok());
            }
            if self.invite.as_ref().is_some_and(|p| p.cancel_requested) {
                self.send_cancel();
                return;
            }
            if code == 180 {
                self.emit(SessionEvent::GotRingIndication);
            }
            self.emit(SessionEvent::GotProvisionalResponse { code, reason });
            return;
        }
        self.invite_deadline = None;
        if (200..300).contains(&code) {
            let Some(pending) = self.invite.take() else { return };
            let sent = self.sent_invite(&pending);
            let dialog = match self.dialog.take() {
                Some(mut d) if d.matches(response) => {
                    let _ = d.handle_response(response);
                    Some(d)
                }
                _ => Dialog::uac(&sent, response).ok(),
            };
            self.dialog = dialog;
            let cseq = sent.cseq_parts().map(|(n, _)| n).unwrap_or(1);
            if let (Some(dialog), Some(hop)) = (self.dialog.as_ref(), self.next_hop.clone()) {
                let ack = dialog.create_ack(cseq);
                if !pending.cancel_requested {
                    self.emit(SessionEvent::WillStart);
                }
                self.outputs.push_back(Output::SendStateless { message: Box::new(ack), destination: hop });
            }
            self.processed(Originator::Local, "INVITE", code, &reason, Some(true));
            if pending.cancel_requested {
                // Answered while we cancelled: end it at once.
                self.send_bye();
                self.state = SessionState::Terminated;
                self.emit(SessionEvent::DidFail {
                    originator: Originator::Local,
                    code: 487,
                    reason: "Session Cancelled".into(),
                    failure_reason: "user_request".into(),
                });
                return;
            }
            self.note_peer(response);
            if let Some((interval, refresher)) = session_expires(response) {
                let we_refresh = refresher.as_deref() != Some("uas");
                self.session_timer = Some(SessionTimer::new(now, interval, we_refresh));
            }
            self.state = SessionState::Connected;
            self.emit(SessionEvent::DidStart { remote_sdp: response.body().to_vec() });
            return;
        }
        // A challenge: answer it once with the credentials, on the same route.
        let challenged =
            self.invite.as_ref().filter(|p| !p.cancel_requested).and_then(|p| p.sent.clone().map(|sent| (p.tag, sent)));
        if let Some((tag, sent)) = challenged
            && let Some((name, value)) = self.authorization(tag, &sent, response)
        {
            if let Some(p) = self.invite.as_mut() {
                let cseq = p.request.cseq_parts().map(|(n, _)| n).unwrap_or(1) + 1;
                p.request.headers_mut().set("CSeq", format!("{cseq} INVITE"));
                p.request.headers_mut().remove("Authorization");
                p.request.headers_mut().remove("Proxy-Authorization");
                p.request.add_header(name, value);
            }
            self.processed(Originator::Local, "INVITE", code, &reason, Some(true));
            self.invite_deadline = Some(now + self.timers.invite_timeout);
            self.send_invite_on_route();
            if let Some(p) = self.invite.as_ref() {
                self.authorized.insert(p.tag);
            }
            self.authorized.insert(tag);
            return;
        }
        // A failure: try the next route when nothing answered yet.
        if let Some(p) = self.invite.as_mut()
            && !p.provisional
            && !p.cancel_requested
            && (code == 408 || code == 503)
            && p.route_index + 1 < p.routes.len()
        {
            p.route_index += 1;
            let cseq = p.request.cseq_parts().map(|(n, _)| n).unwrap_or(1) + 1;
            p.request.headers_mut().set("CSeq", format!("{cseq} INVITE"));
            self.invite_deadline = Some(now + self.timers.invite_timeout);
            self.send_invite_on_route();
            return;
        }
        let pending = self.invite.take();
        self.processed(Originator::Local, "INVITE", code, &reason, Some(true));
        self.state = SessionState::Terminated;
        if let Some(d) = self.dialog.as_mut() {
            d.terminate();
        }
        let event = if pending.is_some_and(|p| p.cancel_requested) {
            SessionEvent::DidFail {
                originator: Originator::Local,
                code: 487,
                reason: "Session Cancelled".into(),
                failure_reason: "user_request".into(),
            }
        } else {
            SessionEvent::DidFail { originator: Originator::Remote, code, failure_reason: reason.clone(), reason }
        };
        self.emit(event);
    }

    /// The INVITE as last sent (with the Contact of its route).
    fn sent_invite(&self, pending: &PendingInvite) -> Message {
        pending.sent.clone().unwrap_or_else(|| pending.request.clone())
    }

    fn send_cancel(&mut self) {
        let Some(pending) = self.invite.as_ref() else { return };
        let Some(hop) = self.next_hop.clone() else { return };
        let cancel = cancel_of(pending.sent.as_ref().unwrap_or(&pending.request));
        let _ = self.send(cancel, hop);
    }

    // ----- incoming --------------------------------------------------------

    /// A new INVITE for this (new) session, in server transaction
    /// `transaction`, received from `source`. Answers 100 Trying.
    pub fn handle_invite(
        &mut self,
        transaction: TransactionId,
        request: &Message,
        source: Destination,
        contact: NameAddr<'static>,
        via: String,
    ) -> Result<(), IllegalState> {
        self.guard("handle_invite", &[SessionState::Null])?;
        self.via = Some(via);
        let dialog = match Dialog::uas(request, &self.local_tag, contact.clone()) {
            Ok(d) => d,
            Err(_) => {
                self.respond(
                    transaction,
                    Message::response_to(request, 400, "Bad Request").with_to_tag(&self.local_tag),
                );
                self.state = SessionState::Terminated;
                return Ok(());
            }
        };
        if let Some(agent) = request.header_value("User-Agent") {
            self.remote_user_agent = Some(agent.to_owned());
        }
        self.respond(transaction, Message::response_to(request, 100, "Trying"));
        self.dialog = Some(dialog);
        self.contact = Some(contact);
        self.next_hop = Some(source);
        self.received = Some(ReceivedInvite { transaction, request: request.clone() });
        self.received_offer = Some(request.body().to_vec());
        self.state = SessionState::Incoming;
        self.emit(SessionEvent::NewIncoming { offer: request.body().to_vec() });
        Ok(())
    }

    /// `send_ring_indication`: 180 Ringing on an incoming session.
    pub fn send_ring_indication(&mut self) -> Result<(), IllegalState> {
        self.guard("send_ring_indication", &[SessionState::Incoming])?;
        self.respond_to_received(180, "Ringing", Vec::new(), false);
        Ok(())
    }

    fn respond_to_received(&mut self, code: u16, reason: &str, sdp: Vec<u8>, keep: bool) -> Option<Message> {
        let received = self.received.take()?;
        let dialog = self.dialog.as_mut()?;
        let mut response = dialog.create_response(&received.request, code, reason);
        if !sdp.is_empty() {
            response = response.with_body("application/sdp", sdp);
        }
        if (200..300).contains(&code) {
            response.add_header("Allow", ALLOW);
            if let Some((interval, uac_refreshes)) = self.pending_timer {
                let refresher = if uac_refreshes { "uac" } else { "uas" };
                response.add_header("Session-Expires", format!("{};refresher={refresher}", interval.as_secs()));
                response.add_header("Require", "timer");
            }
        }
        self.respond(received.transaction, response.clone());
        if code < 200 || keep {
            self.received = Some(received);
        }
        Some(response)
    }

    /// `accept`: answers the INVITE with 200 and `answer`, then waits for
    /// the ACK (retransmitting the 200 meanwhile).
    pub fn accept(&mut self, now: Instant, answer: Vec<u8>) -> Result<(), IllegalState> {
        self.guard("accept", &[SessionState::Incoming])?;
        let transaction = self.received.as_ref().map(|r| r.transaction);
        let timer = self.received.as_ref().and_then(|r| {
            let (interval, refresher) = session_expires(&r.request)?;
            let uac_refreshes = match refresher.as_deref() {
                Some("uas") => false,
                Some(_) => true,
                None => supports_timer(&r.request),
            };
            Some((interval.max(self.timers.min_se), uac_refreshes))
        });
        if let Some(r) = self.received.as_ref() {
            let request = r.request.clone();
            self.note_peer(&request);
        }
        self.pending_timer = timer;
        self.local_sdp = answer.clone();
        let Some(response) = self.respond_to_received(200, "OK", answer, false) else {
            return Err(IllegalState { operation: "accept", state: self.state.name() });
        };
        self.state = SessionState::Accepting;
        self.emit(SessionEvent::WillStart);
        if let Some(transaction) = transaction {
            self.pending_ack = Some(PendingAck::new(now, self.timers.t1, transaction, response, false));
        }
        Ok(())
    }

    /// `reject(code, reason)`: answers the INVITE with a final failure.
    pub fn reject(&mut self, code: u16, reason: Option<&str>) -> Result<(), IllegalState> {
        self.guard("reject", &[SessionState::Incoming])?;
        let (code, reason) = final_failure(code, 603, reason);
        self.state = SessionState::Terminating;
        self.respond_to_received(code, &reason, Vec::new(), false);
        self.processed(Originator::Remote, "INVITE", code, &reason, Some(false));
        self.state = SessionState::Terminated;
        self.emit(SessionEvent::DidFail {
            originator: Originator::Local,
            code,
            reason,
            failure_reason: "user_request".into(),
        });
        Ok(())
    }

    /// The ACK of the dialog arrived.
    pub fn handle_ack(&mut self, now: Instant, ack: &Message) {
        let Some(pending) = self.pending_ack.as_ref() else { return };
        if !self.dialog.as_ref().is_some_and(|d| d.matches(ack)) {
            return;
        }
        let reinvite = pending.reinvite;
        self.pending_ack = None;
        if reinvite {
            self.processed(Originator::Remote, "INVITE", 200, "OK", Some(true));
            return;
        }
        if self.state == SessionState::Accepting {
            if let Some((interval, uac_refreshes)) = self.pending_timer.take() {
                // We are the UAS: we refresh when the UAC does not.
                self.session_timer = Some(SessionTimer::new(now, interval, !uac_refreshes));
            }
            let offer = self.received_offer.take().unwrap_or_default();
            self.processed(Originator::Remote, "INVITE", 200, "OK", Some(true));
            self.state = SessionState::Connected;
            self.emit(SessionEvent::DidStart { remote_sdp: offer });
        }
    }

    /// The peer cancelled its INVITE (the engine answered the CANCEL).
    pub fn handle_cancel(&mut self, transaction: TransactionId) {
        if self.received.as_ref().is_none_or(|r| r.transaction != transaction) {
            return;
        }
        let incoming = self.state == SessionState::Incoming;
        self.respond_to_received(487, "Request Terminated", Vec::new(), false);
        if incoming {
            self.processed(Originator::Remote, "INVITE", 487, "Request Terminated", Some(false));
            self.state = SessionState::Terminated;
            self.emit(SessionEvent::DidFail {
                originator: Originator::Remote,
                code: 487,
                reason: "Request Terminated".into(),
                failure_reason: "Request Terminated".into(),
            });
        } else if self.state == SessionState::ReceivedProposal {
            self.state = SessionState::Connected;
            self.emit(SessionEvent::ProposalRejected {
                originator: Originator::Remote,
                code: 487,
                reason: "Request Terminated".into(),
            });
        }
    }

    /// A request inside the dialog (re-INVITE, BYE, INFO, OPTIONS...) in
    /// server transaction `transaction`, now.
    pub fn handle_request(&mut self, transaction: TransactionId, request: &Message) {
        self.handle_request_at(Instant::now(), transaction, request);
    }

    /// [`InviteSession::handle_request`] at time `now`.
    pub fn handle_request_at(&mut self, now: Instant, transaction: TransactionId, request: &Message) {
        let Some(dialog) = self.dialog.as_mut() else {
            self.respond(
                transaction,
                Message::response_to(request, 481, "Call/Transaction Does Not Exist").with_to_tag(&token()),
            );
            return;
        };
        if let Err(rejection) = dialog.handle_request(request) {
            let response = rejection.response(request);
            self.respond(transaction, response);
            return;
        }
        let method = request.method().cloned().unwrap_or(Method::Options);
        match method {
            Method::Bye => {
                let response = dialog.create_response(request, 200, "OK");
                self.respond(transaction, response);
                self.processed(Originator::Remote, "BYE", 200, "OK", None);
                match self.state {
                    SessionState::Connected
                    | SessionState::SendingProposal
                    | SessionState::ReceivedProposal
                    | SessionState::Accepting => {
                        self.emit(SessionEvent::WillEnd { originator: Originator::Remote });
                        self.finish_end(Originator::Remote, "user_request".into());
                    }
                    SessionState::Incoming => {
                        self.respond_to_received(487, "Request Terminated", Vec::new(), false);
                        self.state = SessionState::Terminated;
                        self.emit(SessionEvent::DidFail {
                            originator: Originator::Remote,
                            code: 487,
                            reason: "Request Terminated".into(),
                            failure_reason: "Request Terminated".into(),
                        });
                    }
                    _ => {}
                }
            }
            Method::Invite => {
                if self.state == SessionState::SendingProposal || self.received.is_some() {
                    let response = dialog.create_response(request, 491, "Request Pending");
                    self.respond(transaction, response);
                    return;
                }
                if self.state != SessionState::Connected {
                    let response = dialog.create_response(request, 500, "Server Internal Error");
                    self.respond(transaction, response.header("Retry-After", rand_retry()));
                    return;
                }
                if let Some(timer) = self.session_timer.as_mut() {
                    timer.restart(now, request);
                }
                self.received = Some(ReceivedInvite { transaction, request: request.clone() });
                self.state = SessionState::ReceivedProposal;
                self.emit(SessionEvent::GotProposal { offer: request.body().to_vec() });
            }
            Method::Update => {
                let mut response = dialog.create_response(request, 200, "OK");
                if let Some(timer) = self.session_timer.as_mut() {
                    timer.restart(now, request);
                    let refresher = if timer.we_refresh == dialog.is_uac() { "uac" } else { "uas" };
                    response
                        .add_header("Session-Expires", format!("{};refresher={refresher}", timer.interval.as_secs()));
                }
                self.respond(transaction, response);
            }
            Method::Options | Method::Info => {
                let response = dialog.create_response(request, 200, "OK");
                self.respond(transaction, response);
            }
            _ => {
                let response = dialog.create_response(request, 501, "Not Implemented").header("Allow", ALLOW);
                self.respond(transaction, response);
            }
        }
    }

    /// `accept_proposal`: answers the peer's re-INVITE with 200 and `answer`.
    pub fn accept_proposal(&mut self, now: Instant, answer: Vec<u8>) -> Result<(), IllegalState> {
        self.guard("accept_proposal", &[SessionState::ReceivedProposal])?;
        let transaction = self.received.as_ref().map(|r| r.transaction);
        let Some(response) = self.respond_to_received(200, "OK", answer, false) else {
            return Err(IllegalState { operation: "accept_proposal", state: self.state.name() });
        };
        self.state = SessionState::Connected;
        if let Some(transaction) = transaction {
            self.pending_ack = Some(PendingAck::new(now, self.timers.t1, transaction, response, true));
        }
        Ok(())
    }

    /// `reject_proposal(code, reason)`: refuses the peer's re-INVITE.
    pub fn reject_proposal(&mut self, code: u16, reason: Option<&str>) -> Result<(), IllegalState> {
        self.guard("reject_proposal", &[SessionState::ReceivedProposal])?;
        let (code, reason) = final_failure(code, 488, reason);
        self.respond_to_received(code, &reason, Vec::new(), false);
        self.processed(Originator::Remote, "INVITE", code, &reason, Some(false));
        self.state = SessionState::Connected;
        self.emit(SessionEvent::ProposalRejected { originator: Originator::Remote, code, reason });
        Ok(())
    }

    /// Sends a re-INVITE with `offer` (adding or removing streams, hold,
    /// unhold): `sending_proposal` until the answer.
    pub fn propose(&mut self, offer: Vec<u8>) -> Result<(), IllegalState> {
        self.guard("propose", &[SessionState::Connected])?;
        let (Some(request), Some(hop)) = (self.new_reinvite(offer, None), self.next_hop.clone()) else {
            return Err(IllegalState { operation: "propose", state: self.state.name() });
        };
        self.state = SessionState::SendingProposal;
        let tag = self.send(request.clone(), hop);
        self.reinvite = Some((tag, request));
        Ok(())
    }

    /// A re-INVITE of the dialog carrying `offer` (and credentials), with
    /// our Contact and Via.
    fn new_reinvite(&mut self, offer: Vec<u8>, authorization: Option<(&str, String)>) -> Option<Message> {
        let mut request = self.dialog.as_mut()?.create_request(Method::Invite).header("Allow", ALLOW);
        if let Some(contact) = &self.contact {
            request.add_header("Contact", contact);
        }
        if let Some((name, value)) = authorization {
            request.add_header(name, value);
        }
        Some(self.with_via(request.with_body("application/sdp", offer)))
    }

    fn reinvite_response(&mut self, code: u16, response: &Message) {
        if code < 200 {
            return;
        }
        let Some((tag, request)) = self.reinvite.take() else { return };
        if let Some(authorization) = self.authorization(tag, &request, response)
            && let Some(hop) = self.next_hop.clone()
            && let Some(again) = self.new_reinvite(request.body().to_vec(), Some(authorization))
        {
            let new_tag = self.send(again.clone(), hop);
            self.authorized.insert(new_tag);
            self.reinvite = Some((new_tag, again));
            return;
        }
        let reason = response.reason().unwrap_or_default().to_owned();
        if let Some(d) = self.dialog.as_mut() {
            let _ = d.handle_response(response);
        }
        if (200..300).contains(&code) {
            if let (Some(dialog), Some(hop)) = (self.dialog.as_ref(), self.next_hop.clone()) {
                let cseq = request.cseq_parts().map(|(n, _)| n).unwrap_or(1);
                let ack = dialog.create_ack(cseq);
                self.outputs.push_back(Output::SendStateless { message: Box::new(ack), destination: hop });
            }
            self.processed(Originator::Local, "INVITE", code, &reason, Some(true));
            if self.state == SessionState::SendingProposal {
                self.state = SessionState::Connected;
            }
            self.emit(SessionEvent::ProposalAccepted { answer: response.body().to_vec() });
            return;
        }
        self.processed(Originator::Local, "INVITE", code, &reason, Some(true));
        if self.state == SessionState::SendingProposal {
            self.state = SessionState::Connected;
        }
        self.emit(SessionEvent::ProposalRejected { originator: Originator::Local, code, reason: reason.clone() });
        if code == 481 || code == 408 {
            // The dialog is gone (RFC 3261 §12.2.1.2).
            self.emit(SessionEvent::WillEnd { originator: Originator::Local });
            self.finish_end(Originator::Remote, format!("{code} {reason}"));
        }
    }

    /// `cancel_proposal`: CANCELs our pending re-INVITE.
    pub fn cancel_proposal(&mut self) -> Result<(), IllegalState> {
        self.guard("cancel_proposal", &[SessionState::SendingProposal])?;
        let (Some((_, invite)), Some(hop)) = (self.reinvite.as_ref(), self.next_hop.clone()) else {
            return Ok(());
        };
        let cancel = cancel_of(invite);
        let _ = self.send(cancel, hop);
        Ok(())
    }

    // ----- ending ----------------------------------------------------------

    /// `end`: cancels an outgoing INVITE, declines an incoming one, or sends
    /// BYE on an established session. Does nothing once terminating.
    pub fn end(&mut self, _now: Instant) {
        match self.state {
            SessionState::Null => {
                self.state = SessionState::Terminated;
            }
            SessionState::Connecting => {
                let provisional = self.invite.as_ref().is_some_and(|p| p.provisional);
                if let Some(p) = self.invite.as_mut() {
                    p.cancel_requested = true;
                }
                self.state = SessionState::Terminating;
                if provisional {
                    self.send_cancel();
                }
            }
            SessionState::Incoming => {
                let _ = self.reject(603, Some("Decline"));
            }
            SessionState::Accepting
            | SessionState::Connected
            | SessionState::SendingProposal
            | SessionState::ReceivedProposal => {
                if self.state == SessionState::ReceivedProposal {
                    self.respond_to_received(487, "Request Terminated", Vec::new(), false);
                }
                self.pending_ack = None;
                self.state = SessionState::Terminating;
                self.emit(SessionEvent::WillEnd { originator: Originator::Local });
                self.send_bye();
                if self.bye_tag.is_none() {
                    self.finish_end(Originator::Local, "user_request".into());
                }
            }
            SessionState::Terminating | SessionState::Terminated => {}
        }
    }

    fn send_bye(&mut self) {
        let (Some(dialog), Some(hop)) = (self.dialog.as_mut(), self.next_hop.clone()) else { return };
        let bye = dialog.create_request(Method::Bye);
        let bye = self.with_via(bye);
        let tag = self.send(bye.clone(), hop);
        self.bye_tag = Some(tag);
        self.last_bye = Some(bye);
    }

    fn finish_end(&mut self, originator: Originator, end_reason: String) {
        if self.state == SessionState::Terminated {
            return;
        }
        self.state = SessionState::Terminated;
        self.pending_ack = None;
        if let Some(d) = self.dialog.as_mut() {
            d.terminate();
        }
        self.emit(SessionEvent::DidEnd { originator, end_reason });
    }

    /// Time passed: 2xx retransmissions, the missing ACK, the INVITE timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(deadline) = self.invite_deadline
            && now >= deadline
        {
            self.invite_deadline = None;
            // Nobody answered in time: cancel (RFC 3261 §9.1 needs a 1xx first).
            let provisional = self.invite.as_ref().is_some_and(|p| p.provisional);
            if provisional {
                self.send_cancel();
            }
            self.invite = None;
            self.state = SessionState::Terminated;
            self.emit(SessionEvent::DidFail {
                originator: Originator::Local,
                code: 408,
                reason: "Request Timeout".into(),
                failure_reason: "no answer".into(),
            });
            return;
        }
        if matches!(
            self.state,
            SessionState::Connected | SessionState::SendingProposal | SessionState::ReceivedProposal
        ) && let Some(timer) = self.session_timer
        {
            if now >= timer.expire_at {
                // RFC 4028 §10: no refresh in time — the session is over.
                self.session_timer = None;
                self.emit(SessionEvent::WillEnd { originator: Originator::Local });
                self.state = SessionState::Terminating;
                self.send_bye();
                self.finish_end(Originator::Local, "session timer expired".into());
                return;
            }
            if timer.refresh_at.is_some_and(|r| now >= r) && self.refresh_tag.is_none() {
                self.send_refresh(now);
            }
        }
        let Some(pending) = self.pending_ack.as_mut() else { return };
        if now >= pending.give_up {
            let reinvite = pending.reinvite;
            self.pending_ack = None;
            if reinvite {
                self.processed(Originator::Remote, "INVITE", 200, "OK", Some(false));
                return;
            }
            // RFC 3261 §13.3.1.4: no ACK — end the session with BYE.
            self.processed(Originator::Remote, "INVITE", 200, "OK", Some(false));
            self.send_bye();
            self.state = SessionState::Terminated;
            self.emit(SessionEvent::DidFail {
                originator: Originator::Local,
                code: 0,
                reason: String::new(),
                failure_reason: "missing ACK".into(),
            });
            return;
        }
        if now >= pending.next_retransmit {
            pending.interval = (pending.interval * 2).min(self.timers.t2);
            pending.next_retransmit = now + pending.interval;
            let (transaction, response) = (pending.transaction, pending.response.clone());
            self.respond(transaction, response);
        }
    }
}

/// A failure status to answer with: `code` when it is 300–699, else
/// `default`; `reason`, else the standard phrase.
fn final_failure(code: u16, default: u16, reason: Option<&str>) -> (u16, String) {
    let code = if (300..700).contains(&code) { code } else { default };
    (code, reason.map(str::to_owned).unwrap_or_else(|| crate::sip::message::reason_phrase(code).to_owned()))
}

/// The CANCEL of `invite` as sent (RFC 3261 §9.1): its Request-URI, top
/// Via, Route, From, To, Call-ID and CSeq number.
fn cancel_of(invite: &Message) -> Message {
    let mut cancel = Message::request(Method::Cancel, invite.uri().cloned().unwrap_or_else(|| Uri::sip("invalid")));
    for name in ["Via", "Route", "From", "To", "Call-ID"] {
        for value in invite.headers().values(name) {
            cancel.add_header(name, value);
        }
    }
    let cseq = invite.cseq_parts().map(|(n, _)| n).unwrap_or(1);
    cancel.add_header("CSeq", format!("{cseq} CANCEL"));
    cancel
}

/// Methods a session serves (the Allow header).
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, MESSAGE";

fn token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn rand_retry() -> u32 {
    rand::random::<u32>() % 10
}
