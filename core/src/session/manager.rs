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
//! Two ways to carry media: raw SDP bodies (`connect`, `accept`,
//! `propose`, `accept_proposal`: the caller builds and reads them), or media
//! streams ([`crate::streams`]): `connect_with_streams` initializes the
//! streams and offers their m-lines; an incoming offer becomes proposed
//! streams through the [`MediaStreamRegistry`] (`SIPSessionNewIncoming`
//! lists them; an offer that is malformed or that no stream type takes is
//! refused with 488 and `SIPSessionDidFail`), `accept_streams` answers with
//! the accepted ones; the streams start when the ACK is sent or received,
//! before `SIPSessionDidStart`, are updated by re-INVITEs that keep them,
//! and end with the session.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Instant, SystemTime};

use tokio::sync::mpsc;

use super::machine::{InviteSession, Originator, Output, SessionEvent, SessionRoute, SessionState, SessionTimers};
use crate::account::{Account, AccountManager};
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::sdp::offer_answer::{LocalSdp, validate_answer};
use crate::sdp::{MediaDescription, SessionDescription};
use crate::sip::dialog::DialogId;
use crate::sip::engine::{Destination, Engine, RequestEvent, ResponseEvent};
use crate::sip::message::{Message, Method, NameAddr, Uri};
use crate::sip::transaction::TransactionId;
use crate::streams::{MediaStream, MediaStreamRegistry, StreamDirection, stream_handles};
use crate::value::Value;

/// A stream with the index of its m-line.
type IndexedStream = (usize, Arc<dyn MediaStream>);

/// The media side of a session that uses stream objects.
#[derive(Default)]
struct MediaState {
    /// Streams are in use (`connect_with_streams`, or an offer the registry took).
    uses_streams: bool,
    /// The active streams.
    streams: Vec<IndexedStream>,
    /// Streams offered by us (outgoing) or by the peer (incoming), not yet active.
    proposed: Vec<IndexedStream>,
    /// Every stream initialized: each is ended with the session.
    initialized: Vec<Arc<dyn MediaStream>>,
    /// Our `o=` line and its versions.
    local: Option<LocalSdp>,
    /// The address our SDP advertises.
    address: Option<IpAddr>,
    /// The peer's offer being answered.
    offer: Option<SessionDescription>,
    /// Replaces the machine's `failure_reason` in `SIPSessionDidFail`.
    failure_reason: Option<String>,
    /// The session is being ended because its streams failed to start: post
    /// `SIPSessionDidFail` instead of `SIPSessionWillEnd`/`DidEnd`.
    failed_after_start: bool,
    /// The INVITE's offer was refused: no `SIPSessionNewIncoming`.
    refused_offer: bool,
    /// Our pending re-INVITE built from the streams, if any.
    our_proposal: Option<OurProposal>,
    /// `hold()`/`unhold()` called while a re-INVITE could not be sent: the
    /// hold state to offer once the session is `connected` again.
    pending_hold: Option<bool>,
    /// The streams started on early media (a 1xx with SDP).
    early_media: bool,
    /// The peer's proposal is being refused because its streams could not
    /// be set up (`SIPSessionHadProposalFailure` replaces the rejection).
    proposal_failure: bool,
    /// Our SDP before our pending re-INVITE: the session goes back to it
    /// when the re-INVITE fails (RFC 3264 §8).
    negotiated_local_sdp: Option<Vec<u8>>,
    /// The handles of every stream this session made or was given: released
    /// with the session's own handle.
    stream_handles: Vec<Handle>,
}

/// What our pending, stream-built re-INVITE does.
enum OurProposal {
    /// Hold or unhold.
    Hold,
    /// Adds these streams (`add_stream`).
    Add(Vec<IndexedStream>),
    /// Removes these streams (`remove_stream`); they end with the answer.
    Remove(Vec<IndexedStream>),
}

/// Where a `connect` offer comes from.
enum OfferSource {
    Raw(Vec<u8>),
    Streams,
}

/// One INVITE session (`sipsimple.session.Session`).
pub struct Session {
    account: Arc<Account>,
    machine: Mutex<InviteSession>,
    handle: OnceLock<Handle>,
    direction: Mutex<Option<&'static str>>,
    local_sdp: Mutex<Vec<u8>>,
    remote_sdp: Mutex<Vec<u8>>,
    media: Mutex<MediaState>,
    times: Mutex<SessionTimes>,
}

/// When the session started and stopped, and who the peer is.
#[derive(Default)]
struct SessionTimes {
    start_time: Option<SystemTime>,
    stop_time: Option<SystemTime>,
    remote_identity: Option<String>,
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
            media: Mutex::new(MediaState::default()),
            times: Mutex::new(SessionTimes::default()),
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

    /// Releases the session's handle and its streams' (they become stale).
    fn release_handles(&self) {
        let streams = std::mem::take(&mut self.media().stream_handles);
        for h in streams.into_iter().chain([self.handle()]) {
            let _ = handle::release(h);
        }
    }

    fn times(&self) -> MutexGuard<'_, SessionTimes> {
        self.times.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `transport`: `udp`, `tcp` or `tls`, once the route is known.
    pub fn transport(&self) -> Option<&'static str> {
        self.machine().transport().map(|t| t.name())
    }

    /// `start_time`: when the session started (`SIPSessionDidStart`).
    pub fn start_time(&self) -> Option<SystemTime> {
        self.times().start_time
    }

    /// `stop_time`: when the session ended or failed.
    pub fn stop_time(&self) -> Option<SystemTime> {
        self.times().stop_time
    }

    /// `local_identity`: our address (`"Alice" <sip:alice@example.com>`).
    pub fn local_identity(&self) -> String {
        self.machine().local_identity().to_string()
    }

    /// `remote_identity`: the peer's address (the To of our INVITE, the
    /// From of theirs), once known.
    pub fn remote_identity(&self) -> Option<String> {
        if let Some(dialog) = self.machine().dialog() {
            return Some(identity_without_tag(&dialog.remote_address().to_string()));
        }
        self.times().remote_identity.clone()
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

    fn media(&self) -> MutexGuard<'_, MediaState> {
        self.media.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `streams`: the active streams.
    pub fn streams(&self) -> Vec<Arc<dyn MediaStream>> {
        self.media().streams.iter().map(|(_, s)| s.clone()).collect()
    }

    /// `proposed_streams`: the streams of the pending offer (ours while
    /// connecting, the peer's while incoming); empty when none is pending.
    pub fn proposed_streams(&self) -> Vec<Arc<dyn MediaStream>> {
        self.media().proposed.iter().map(|(_, s)| s.clone()).collect()
    }

    /// The local address the session's SDP advertises (the one its SIP
    /// messages come from), once known: streams bind and advertise it.
    pub fn media_address(&self) -> Option<IpAddr> {
        self.media().address
    }

    /// `connect`: calls `to` (a SIP URI) with `offer`, through the
    /// account's outbound proxy or the routes DNS gives for the target's
    /// domain, tried in order. Returns at once; the progress is posted.
    pub fn connect(self: &Arc<Self>, to: &str, offer: Vec<u8>, subject: Option<String>) -> Result<()> {
        self.connect_inner(to, OfferSource::Raw(offer), subject)
    }

    /// `connect(to_header, routes, streams, subject)`: calls `to` offering
    /// `streams`. Once the route is known the streams are initialized and
    /// the offer is built from their m-lines; they start when the call is
    /// answered (before `SIPSessionDidStart`). A stream that cannot be set
    /// up makes the session fail (`SIPSessionDidFail`).
    pub fn connect_with_streams(
        self: &Arc<Self>,
        to: &str,
        streams: Vec<Arc<dyn MediaStream>>,
        subject: Option<String>,
    ) -> Result<()> {
        if streams.is_empty() {
            return Err(Error::InvalidArgument("connect needs at least one stream".into()));
        }
        if self.state() != SessionState::Null {
            return Err(Error::InvalidState(format!("connect is not allowed in state {}", self.state().name())));
        }
        {
            let mut media = self.media();
            media.uses_streams = true;
            media.stream_handles.extend(streams.iter().map(|s| s.handle()));
            media.proposed = streams.into_iter().enumerate().collect();
        }
        self.connect_inner(to, OfferSource::Streams, subject)
    }

    fn connect_inner(self: &Arc<Self>, to: &str, offer: OfferSource, subject: Option<String>) -> Result<()> {
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
        self.times().remote_identity = Some(to.to_string());
        if let OfferSource::Raw(offer) = &offer {
            self.set_local_sdp(offer);
        }
        manager.add(self.clone());
        let session = self.clone();
        runtime.spawn(async move {
            // Through an outbound proxy the INVITE names it in a Route header.
            let via_proxy = session.account.settings().get("sip.outbound_proxy").is_ok_and(|v| v.as_str().is_some());
            let mut routes: Vec<SessionRoute> = match crate::paging::routes(&engine, &session.account, to.uri()).await {
                Ok(routes) => routes
                    .into_iter()
                    .filter_map(|(route, destination)| {
                        let contact = session.account.contact().uri_for(&engine, &destination).ok()?;
                        let via = via_start(&engine, &destination)?;
                        Some(SessionRoute {
                            route: via_proxy.then(|| format!("<{};lr>", route.get_uri())),
                            destination,
                            contact: NameAddr::new(contact),
                            via,
                        })
                    })
                    .collect(),
                Err(_) => Vec::new(),
            };
            let offer = match offer {
                OfferSource::Raw(offer) => offer,
                OfferSource::Streams if routes.is_empty() => Vec::new(),
                OfferSource::Streams => {
                    session.media().address = engine.contact_address(&routes[0].destination).map(|a| a.ip());
                    let proposed: Vec<Arc<dyn MediaStream>> =
                        session.media().proposed.iter().map(|(_, s)| s.clone()).collect();
                    let prepared = prepare_all(&proposed, StreamDirection::Outgoing).await;
                    match prepared.and_then(|()| session.make_offer()) {
                        Ok(offer) => offer,
                        Err(e) => {
                            // No route makes the machine fail at once; say why.
                            session.media().failure_reason = Some(format!("media stream failed: {e}"));
                            routes.clear();
                            Vec::new()
                        }
                    }
                }
            };
            let result = session.machine().connect(Instant::now(), to, routes, offer, subject.as_deref());
            if result.is_ok() {
                SessionManager::instance().wake();
            }
        });
        Ok(())
    }

    /// Initializes the proposed streams and builds our offer from them.
    fn make_offer(&self) -> Result<Vec<u8>> {
        let proposed = self.media().proposed.clone();
        let mut lines = Vec::with_capacity(proposed.len());
        for (index, stream) in &proposed {
            stream.initialize(self, StreamDirection::Outgoing)?;
            self.media().initialized.push(stream.clone());
            lines.push(stream.get_local_media(None, *index)?);
        }
        let mut media = self.media();
        let address = media.address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let sdp = media.local.get_or_insert_with(|| LocalSdp::new(address)).offer(lines).to_bytes();
        drop(media);
        self.set_local_sdp(&sdp);
        Ok(sdp)
    }

    /// `accept(streams)`: answers the incoming offer with `streams`, a
    /// subset of [`Session::proposed_streams`]; the other m-lines are
    /// refused (port 0). The accepted streams are initialized now and
    /// started when the ACK arrives. When none can be set up the INVITE is
    /// rejected with 488 and an error returned.
    pub fn accept_streams(&self, streams: &[Arc<dyn MediaStream>]) -> Result<()> {
        if self.state() != SessionState::Incoming {
            return Err(Error::InvalidState(format!("accept is not allowed in state {}", self.state().name())));
        }
        let Some(preparing) = self.prepare_then(streams, StreamDirection::Incoming, |session, prepared| {
            if prepared.is_empty() {
                session.media().failure_reason = Some("media stream failed: no stream could be set up".into());
                let _ = session.reject(488, None);
            } else if let Err(e) = session.accept_prepared_streams(&prepared) {
                tracing::warn!("accepting the session failed: {e}");
            }
        }) else {
            return self.accept_prepared_streams(streams);
        };
        preparing
    }

    /// `accept_streams` once the streams are prepared.
    fn accept_prepared_streams(&self, streams: &[Arc<dyn MediaStream>]) -> Result<()> {
        if self.state() != SessionState::Incoming {
            return Err(Error::InvalidState(format!("accept is not allowed in state {}", self.state().name())));
        }
        let (offer, proposed) = {
            let media = self.media();
            let offer = media.offer.clone().ok_or_else(|| {
                Error::InvalidState("the INVITE carried no offer streams can answer; use accept with an SDP".into())
            })?;
            (offer, media.proposed.clone())
        };
        let accepted: Vec<IndexedStream> =
            proposed.into_iter().filter(|(_, s)| streams.iter().any(|x| x.handle() == s.handle())).collect();
        if accepted.is_empty() {
            return Err(Error::InvalidArgument("none of the streams was proposed by the peer".into()));
        }
        let mut lines: Vec<MediaDescription> = offer.media.iter().map(MediaDescription::disabled).collect();
        let (active, failure) = self.answer_with(&offer, accepted, &mut lines);
        if active.is_empty() {
            let reason = failure.unwrap_or_else(|| "no stream could be set up".into());
            self.media().failure_reason = Some(format!("media stream failed: {reason}"));
            self.reject(488, None)?;
            return Err(Error::InvalidState(format!("no stream could be set up: {reason}")));
        }
        let answer = {
            let mut media = self.media();
            let address = media.address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
            let answer = media
                .local
                .get_or_insert_with(|| LocalSdp::new(address))
                .answer(&offer, lines)
                .map_err(|e| Error::Internal(format!("cannot build the answer: {e}")))?;
            media.streams = active;
            media.proposed.clear();
            media.offer = None;
            answer.to_bytes()
        };
        self.accept_sdp(answer)
    }

    /// Initializes the `accepted` streams of the peer's `offer` and puts
    /// their answers in `lines`. Returns the streams that are ready and the
    /// last failure (a stream that failed is ended).
    fn answer_with(
        &self,
        offer: &SessionDescription,
        accepted: Vec<IndexedStream>,
        lines: &mut [MediaDescription],
    ) -> (Vec<IndexedStream>, Option<String>) {
        let mut ready = Vec::new();
        let mut failure = None;
        for (index, stream) in accepted {
            if let Err(e) = stream.initialize(self, StreamDirection::Incoming) {
                failure = Some(e.to_string());
                continue;
            }
            self.media().initialized.push(stream.clone());
            match stream.get_local_media(Some(offer), index) {
                Ok(line) => {
                    lines[index] = line;
                    ready.push((index, stream));
                }
                Err(e) => {
                    failure = Some(e.to_string());
                    stream.end();
                }
            }
        }
        (ready, failure)
    }

    fn call<T>(
        &self,
        f: impl FnOnce(&mut InviteSession) -> std::result::Result<T, super::machine::IllegalState>,
    ) -> Result<T> {
        let result = f(&mut self.machine()).map_err(|e| Error::InvalidState(e.to_string()));
        SessionManager::instance().wake();
        result
    }

    /// `is_focus`: our Contact carries `isfocus` (RFC 4579), as the
    /// original's `connect(..., is_focus=True)` and `accept(..., is_focus=True)`
    /// do. Call it before `connect` or `accept`.
    pub fn set_is_focus(&self, is_focus: bool) {
        self.machine().set_focus(is_focus);
    }

    /// `send_ring_indication`: 180 Ringing.
    pub fn send_ring_indication(&self) -> Result<()> {
        self.call(|m| m.send_ring_indication())
    }

    /// `accept` with a raw SDP `answer` built by the caller: the proposed
    /// streams are dropped and the session carries no stream objects.
    pub fn accept(&self, answer: Vec<u8>) -> Result<()> {
        if self.state() == SessionState::Incoming {
            let mut media = self.media();
            media.uses_streams = false;
            media.proposed.clear();
        }
        self.accept_sdp(answer)
    }

    fn accept_sdp(&self, answer: Vec<u8>) -> Result<()> {
        self.set_local_sdp(&answer);
        self.call(|m| m.accept(Instant::now(), answer))
    }

    /// `on_hold`: some stream is on hold, by either side.
    pub fn on_hold(&self) -> bool {
        self.streams().iter().any(|s| s.on_hold())
    }

    /// `hold()`: puts every stream that supports hold on hold (they stop
    /// sending and receiving at once) and offers the hold in a re-INVITE.
    /// `SIPSessionDidChangeHoldState` follows the answer. Needs an
    /// established session with streams and no pending proposal.
    pub fn hold(&self) -> Result<()> {
        self.change_hold(true)
    }

    /// `unhold()`: the reverse of [`Session::hold`].
    pub fn unhold(&self) -> Result<()> {
        self.change_hold(false)
    }

    fn change_hold(&self, hold: bool) -> Result<()> {
        let operation = if hold { "hold" } else { "unhold" };
        match self.state() {
            SessionState::Connected => {}
            SessionState::Terminating | SessionState::Terminated => {
                return Err(Error::InvalidState(format!(
                    "{operation} is not allowed in state {}",
                    self.state().name()
                )));
            }
            // Sent as soon as the session is connected and idle again.
            _ => {
                self.media().pending_hold = Some(hold);
                return Ok(());
            }
        }
        let streams = self.media().streams.clone();
        if streams.is_empty() {
            return Err(Error::InvalidState(format!("{operation} needs a session with streams")));
        }
        for (_, stream) in streams.iter().filter(|(_, s)| s.hold_supported()) {
            if hold {
                stream.hold();
            } else {
                stream.unhold();
            }
        }
        let offer = self.local_offer(self.current_lines()?);
        self.media().our_proposal = Some(OurProposal::Hold);
        let result = self.propose(offer);
        if result.is_err() {
            self.media().our_proposal = None;
        }
        result
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
        let negotiated = self.local_sdp();
        self.set_local_sdp(&offer);
        let result = self.call(|m| m.propose(offer));
        if result.is_ok() {
            self.media().negotiated_local_sdp = Some(negotiated);
        } else {
            self.set_local_sdp(&negotiated);
        }
        result
    }

    /// `accept_proposal` with our `answer`.
    pub fn accept_proposal(&self, answer: Vec<u8>) -> Result<()> {
        self.set_local_sdp(&answer);
        self.call(|m| m.accept_proposal(Instant::now(), answer))
    }

    /// `add_stream(stream)`: proposes one more stream to the peer in a
    /// re-INVITE (`SIPSessionGotProposal`, originator `local`). The stream is
    /// initialized now; when the peer accepts it, it starts and
    /// `SIPSessionGotAcceptProposal` and `SIPSessionDidRenegotiateStreams`
    /// follow. A refusal (or `cancel_proposal`) posts
    /// `SIPSessionGotRejectProposal` and ends the stream. Needs a
    /// `connected` session.
    pub fn add_stream(&self, stream: Arc<dyn MediaStream>) -> Result<()> {
        self.require_connected("add_stream")?;
        {
            let media = self.media();
            if !media.uses_streams {
                return Err(Error::InvalidState("add_stream needs a session with streams".into()));
            }
            if media.initialized.iter().any(|s| s.handle() == stream.handle()) {
                return Err(Error::InvalidArgument("the stream was used in this session already".into()));
            }
        }
        let streams = [stream.clone()];
        let Some(preparing) = self.prepare_then(&streams, StreamDirection::Outgoing, |session, prepared| {
            if let Some(stream) = prepared.into_iter().next()
                && let Err(e) = session.add_prepared_stream(stream.clone())
            {
                tracing::warn!("adding a stream failed: {e}");
                stream.end();
            }
        }) else {
            return self.add_prepared_stream(stream);
        };
        preparing
    }

    /// `add_stream` once the stream is prepared.
    fn add_prepared_stream(&self, stream: Arc<dyn MediaStream>) -> Result<()> {
        self.require_connected("add_stream")?;
        self.media().stream_handles.push(stream.handle());
        stream.initialize(self, StreamDirection::Outgoing)?;
        self.media().initialized.push(stream.clone());
        let mut lines = match self.current_lines() {
            Ok(lines) => lines,
            Err(e) => {
                stream.end();
                return Err(e);
            }
        };
        let index = lines.len();
        match stream.get_local_media(None, index) {
            Ok(line) => lines.push(line),
            Err(e) => {
                stream.end();
                return Err(e);
            }
        }
        let added = vec![(index, stream.clone())];
        let offer = self.local_offer(lines);
        {
            let mut media = self.media();
            media.proposed = added.clone();
            media.our_proposal = Some(OurProposal::Add(added));
        }
        if let Err(e) = self.propose(offer) {
            let mut media = self.media();
            media.proposed.clear();
            media.our_proposal = None;
            drop(media);
            stream.end();
            return Err(e);
        }
        NotificationCenter::default_center().post(
            self.handle(),
            n::SIPSessionGotProposal {
                originator: Originator::Local.name().into(),
                streams: stream_handles(std::slice::from_ref(&stream)),
            },
        );
        Ok(())
    }

    /// `remove_stream(stream)`: stops an active stream and tells the peer
    /// in a re-INVITE that disables its m-line; the stream ends when the
    /// answer (or refusal) arrives. The stream is removed locally whatever
    /// the peer answers; `SIPSessionDidRenegotiateStreams` (action
    /// `remove`) follows the answer. Needs a `connected` session.
    pub fn remove_stream(&self, stream: &Arc<dyn MediaStream>) -> Result<()> {
        self.require_connected("remove_stream")?;
        let removed: Vec<IndexedStream> = {
            let media = self.media();
            media.streams.iter().filter(|(_, s)| s.handle() == stream.handle()).cloned().collect()
        };
        if removed.is_empty() {
            return Err(Error::InvalidArgument("the stream is not active in this session".into()));
        }
        let mut lines = self.current_lines()?;
        for (index, _) in &removed {
            if let Some(line) = lines.get_mut(*index) {
                *line = MediaDescription::disabled(line);
            }
        }
        // Keep only the other streams' m-lines live.
        let offer = self.local_offer(lines);
        {
            let mut media = self.media();
            media.streams.retain(|(_, s)| s.handle() != stream.handle());
            media.our_proposal = Some(OurProposal::Remove(removed.clone()));
        }
        // The streams stop now and end once the peer has the offer: a
        // connection-oriented stream (MSRP) closed before the peer knows
        // would fail there instead of being removed.
        for (_, s) in &removed {
            s.deactivate();
        }
        if let Err(e) = self.propose(offer) {
            self.media().our_proposal = None;
            end_indexed(&removed);
            renegotiated(self, "remove", &removed);
            return Err(e);
        }
        Ok(())
    }

    /// `accept_proposal(streams)`: accepts the peer's proposal of new
    /// streams with `streams`, a subset of [`Session::proposed_streams`];
    /// the others are refused (port 0). The accepted streams start at once;
    /// `SIPSessionGotAcceptProposal` and `SIPSessionDidRenegotiateStreams`
    /// follow. When none can be set up the proposal is rejected with 488
    /// and `SIPSessionHadProposalFailure` posted.
    pub fn accept_proposal_streams(&self, streams: &[Arc<dyn MediaStream>]) -> Result<()> {
        if self.state() != SessionState::ReceivedProposal {
            return Err(Error::InvalidState(format!(
                "accept_proposal is not allowed in state {}",
                self.state().name()
            )));
        }
        let Some(preparing) = self.prepare_then(streams, StreamDirection::Incoming, |session, prepared| {
            let result = if prepared.is_empty() {
                session.reject_proposal(488, None)
            } else {
                session.accept_prepared_proposal(&prepared)
            };
            if let Err(e) = result {
                tracing::warn!("accepting the proposal failed: {e}");
            }
        }) else {
            return self.accept_prepared_proposal(streams);
        };
        preparing
    }

    /// `accept_proposal_streams` once the streams are prepared.
    fn accept_prepared_proposal(&self, streams: &[Arc<dyn MediaStream>]) -> Result<()> {
        if self.state() != SessionState::ReceivedProposal {
            return Err(Error::InvalidState(format!(
                "accept_proposal is not allowed in state {}",
                self.state().name()
            )));
        }
        let (offer, proposed, active) = {
            let media = self.media();
            let offer = media.offer.clone().ok_or_else(|| {
                Error::InvalidState("the proposal carries no streams; use accept_proposal with an SDP".into())
            })?;
            if media.proposed.is_empty() {
                return Err(Error::InvalidState(
                    "the proposal carries no streams; use accept_proposal with an SDP".into(),
                ));
            }
            (offer, media.proposed.clone(), media.streams.clone())
        };
        let accepted: Vec<IndexedStream> =
            proposed.iter().filter(|(_, s)| streams.iter().any(|x| x.handle() == s.handle())).cloned().collect();
        if accepted.is_empty() {
            return Err(Error::InvalidArgument("none of the streams was proposed by the peer".into()));
        }
        let mut lines: Vec<MediaDescription> = offer.media.iter().map(MediaDescription::disabled).collect();
        for (index, stream) in &active {
            if offer.media.get(*index).is_some_and(|m| !m.is_disabled()) {
                lines[*index] = stream.get_local_media(Some(&offer), *index)?;
            }
        }
        let (ready, mut failure) = self.answer_with(&offer, accepted, &mut lines);
        if ready.is_empty() {
            let reason = failure.unwrap_or_else(|| "no stream could be set up".into());
            self.proposal_failed(&proposed, &reason);
            return Err(Error::InvalidState(format!("no stream could be set up: {reason}")));
        }
        let answer = {
            let mut media = self.media();
            let address = media.address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
            media
                .local
                .get_or_insert_with(|| LocalSdp::new(address))
                .answer(&offer, lines)
                .map_err(|e| Error::Internal(format!("cannot build the answer: {e}")))?
        };
        let bytes = answer.to_bytes();
        self.set_local_sdp(&bytes);
        self.call(|m| m.accept_proposal(Instant::now(), bytes))?;
        for (index, stream) in &active {
            let _ = stream.update(&answer, &offer, *index);
        }
        let mut started = Vec::new();
        for (index, stream) in ready {
            match stream.start(&answer, &offer, index) {
                Ok(()) => started.push((index, stream)),
                Err(e) => {
                    failure = Some(e.to_string());
                    stream.end();
                }
            }
        }
        {
            let mut media = self.media();
            media.streams.extend(started.iter().cloned());
            media.proposed.clear();
        }
        let center = NotificationCenter::default_center();
        if started.is_empty() {
            center.post(
                self.handle(),
                n::SIPSessionHadProposalFailure {
                    failure_reason: failure.unwrap_or_default(),
                    streams: indexed_handles(&proposed),
                },
            );
            return Ok(());
        }
        center.post(
            self.handle(),
            n::SIPSessionGotAcceptProposal {
                originator: Originator::Remote.name().into(),
                streams: indexed_handles(&started),
                proposed_streams: indexed_handles(&proposed),
            },
        );
        renegotiated(self, "add", &started);
        Ok(())
    }

    /// A received proposal could not be set up: refuse it with 488 and
    /// post `SIPSessionHadProposalFailure`.
    fn proposal_failed(&self, proposed: &[IndexedStream], reason: &str) {
        self.media().proposal_failure = true;
        let _ = self.call(|m| m.reject_proposal(488, None));
        NotificationCenter::default_center().post(
            self.handle(),
            n::SIPSessionHadProposalFailure {
                failure_reason: format!("media stream failed: {reason}"),
                streams: indexed_handles(proposed),
            },
        );
    }

    /// When some of `streams` need preparing ([`MediaStream::prepare`]),
    /// runs the preparations on the core runtime and then `then` with the
    /// streams that are ready (the others failed and were ended), and
    /// returns `Some(Ok(()))` at once; `None` when nothing needs preparing,
    /// so the caller goes on at once.
    fn prepare_then(
        &self,
        streams: &[Arc<dyn MediaStream>],
        direction: StreamDirection,
        then: impl FnOnce(&Arc<Session>, Vec<Arc<dyn MediaStream>>) + Send + 'static,
    ) -> Option<Result<()>> {
        let preparing: Vec<_> = streams.iter().map(|s| (s.clone(), s.prepare(direction))).collect();
        if preparing.iter().all(|(_, p)| p.is_none()) {
            return None;
        }
        let session = match handle::resolve::<Session>(self.handle(), ObjectKind::Session) {
            Ok(session) => session,
            Err(e) => return Some(Err(e)),
        };
        let Some(runtime) = SessionManager::runtime() else {
            return Some(Err(Error::InvalidState("the core runtime is not running".into())));
        };
        runtime.spawn(async move {
            let mut ready = Vec::new();
            for (stream, preparation) in preparing {
                let result = match preparation {
                    Some(preparation) => preparation.await,
                    None => Ok(()),
                };
                match result {
                    Ok(()) => ready.push(stream),
                    Err(e) => {
                        tracing::warn!("stream {:?} could not be prepared: {e}", stream.handle());
                        stream.end();
                    }
                }
            }
            then(&session, ready);
        });
        Some(Ok(()))
    }

    fn require_connected(&self, operation: &str) -> Result<()> {
        if self.state() != SessionState::Connected {
            return Err(Error::InvalidState(format!("{operation} is not allowed in state {}", self.state().name())));
        }
        Ok(())
    }

    /// Our current m-lines, rebuilt from the active streams (a new offer
    /// keeps every m-line, RFC 3264 §8): the others are disabled.
    fn current_lines(&self) -> Result<Vec<MediaDescription>> {
        let previous = SessionDescription::parse(&self.local_sdp())
            .map_err(|e| Error::Internal(format!("our last SDP does not parse: {e}")))?;
        let mut lines: Vec<MediaDescription> = previous.media.iter().map(MediaDescription::disabled).collect();
        let streams = self.media().streams.clone();
        for (index, stream) in &streams {
            if let Some(line) = lines.get_mut(*index) {
                *line = stream.get_local_media(None, *index)?;
            }
        }
        Ok(lines)
    }

    /// A new offer (next `o=` version) with `lines`.
    fn local_offer(&self, lines: Vec<MediaDescription>) -> Vec<u8> {
        let mut media = self.media();
        let address = media.address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        media.local.get_or_insert_with(|| LocalSdp::new(address)).offer(lines).to_bytes()
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
    /// Terminated sessions whose handles still resolve, oldest first.
    retired: std::collections::VecDeque<Arc<Session>>,
}

/// How many terminated sessions keep their handles (and their streams'):
/// an application can read a session's attributes after `SIPSessionDidEnd`
/// until this many newer sessions have ended, or the application starts
/// again. Older handles are stale.
pub const RETAINED_SESSIONS: usize = 64;

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

    /// Keeps a terminated session's handles for a while (see
    /// [`RETAINED_SESSIONS`]), releasing the oldest beyond that.
    fn retire(&self, session: Arc<Session>) {
        let released: Vec<Arc<Session>> = {
            let mut s = self.lock();
            s.retired.push_back(session);
            let excess = s.retired.len().saturating_sub(RETAINED_SESSIONS);
            s.retired.drain(..excess).collect()
        };
        for session in released {
            session.release_handles();
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
        // The sessions of the previous run are gone for good, including
        // those that had not finished their SIP timers when it stopped.
        let previous: Vec<Arc<Session>> = {
            let mut s = self.lock();
            let mut previous: Vec<Arc<Session>> = s.retired.drain(..).collect();
            previous.append(&mut s.sessions);
            previous
        };
        for session in previous {
            session.release_handles();
        }
        let (wake, wakes) = mpsc::unbounded_channel();
        {
            let mut s = self.lock();
            s.engine = Some(engine.clone());
            s.runtime = Some(tokio::runtime::Handle::current());
            s.wake = Some(wake.clone());
        }
        watch_stream_failures();
        if let Err(e) = crate::streams::AudioEngine::instance().start() {
            tracing::error!("the voice mixer failed to start: {e}");
        }
        tokio::spawn(run(engine.clone(), requests, wakes, wake));
        Ok(())
    }

    /// The core runtime, while the manager runs (for streams that spawn
    /// their media tasks).
    pub fn runtime() -> Option<tokio::runtime::Handle> {
        Self::instance().lock().runtime.clone()
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
        crate::streams::AudioEngine::instance().stop();
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
        let finished: Vec<Arc<Session>> = {
            let mut state = manager.lock();
            let (done, live) = std::mem::take(&mut state.sessions).into_iter().partition(|s| {
                // A session ended by the application since the drain above
                // still has its last messages and events to deliver.
                let machine = s.machine();
                machine.state() == SessionState::Terminated && machine.poll_timeout().is_none() && !machine.has_output()
            });
            state.sessions = live;
            done
        };
        for session in finished {
            manager.retire(session);
        }
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
                    if response.status().is_some_and(|c| (101..200).contains(&c))
                        && !response.body().is_empty()
                        && s.state() == SessionState::Connecting
                    {
                        start_early_media(&s, response.body());
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

/// Watches for active streams failing during the call (their transport
/// broke): a session whose only stream failed is ended; otherwise the
/// stream is removed by re-INVITE, or locally when a re-INVITE cannot be
/// sent now (`SIPSessionDidRenegotiateStreams` either way).
fn watch_stream_failures() {
    static WATCHING: OnceLock<()> = OnceLock::new();
    WATCHING.get_or_init(|| {
        let observer = Arc::new(|notification: &crate::notification::Notification| {
            let Some(stream) = notification.sender.as_object() else { return };
            let context = notification.data.get("context").and_then(|v| v.as_str().map(str::to_owned));
            if !matches!(context.as_deref(), Some("media" | "update")) {
                return;
            }
            let found = SessionManager::instance().lock().sessions.iter().find_map(|session| {
                let failed = session.media().streams.iter().find(|(_, s)| s.handle() == stream).cloned();
                failed.map(|f| (session.clone(), f))
            });
            if let Some((session, failed)) = found {
                stream_failed(&session, failed);
            }
        });
        NotificationCenter::default_center().add_observer(observer, Some("MediaStreamDidFail"), None);
    });
}

fn stream_failed(session: &Session, (index, stream): IndexedStream) {
    tracing::warn!("session {:?}: stream {:?} failed during the call", session.handle(), stream.handle());
    if session.media().streams.len() == 1 {
        let _ = session.end();
        return;
    }
    if session.remove_stream(&stream).is_err() {
        session.media().streams.retain(|(_, s)| s.handle() != stream.handle());
        stream.deactivate();
        stream.end();
        renegotiated(session, "remove", &[(index, stream)]);
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
    session.times().remote_identity =
        request.header_value("From").or_else(|| request.header_value("f")).map(identity_without_tag);
    *session.remote_sdp.lock().unwrap_or_else(PoisonError::into_inner) = request.body().to_vec();
    let refusal = propose_streams(&session, request.body());
    session.media().address = engine.contact_address(&source).map(|a| a.ip());
    let contact = account
        .contact()
        .uri_for(engine, &source)
        .map(NameAddr::new)
        .unwrap_or_else(|_| NameAddr::new(Uri::sip("invalid")));
    invites.insert(transaction, session.handle());
    let via = via_start(engine, &source).unwrap_or_else(|| "SIP/2.0/UDP invalid".into());
    let _ = session.machine().handle_invite(transaction, &request, source, contact, via);
    if let Some(reason) = refusal {
        tracing::info!("refusing an INVITE with 488: {reason}");
        {
            let mut media = session.media();
            media.refused_offer = true;
            media.failure_reason = Some(reason);
        }
        let _ = session.machine().reject(488, None);
    }
    SessionManager::instance().add(session);
}

/// Makes the proposed streams of an incoming INVITE's offer, one per m-line
/// a registered stream type takes. Returns why the offer is refused (488):
/// it is malformed, or no m-line was taken.
fn propose_streams(session: &Session, body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let offer = match SessionDescription::parse(body) {
        Ok(offer) => offer,
        Err(e) => return Some(format!("malformed SDP offer: {e}")),
    };
    let registry = MediaStreamRegistry::instance();
    let mut proposed = Vec::new();
    let mut refusal = None;
    for index in 0..offer.media.len() {
        match registry.stream_for(&session.account, &offer, index) {
            Ok(Some(stream)) => proposed.push((index, stream)),
            Ok(None) => {}
            Err(e) => refusal = Some(e.to_string()),
        }
    }
    if proposed.is_empty() {
        return Some(refusal.unwrap_or_else(|| "no acceptable media stream in the offer".into()));
    }
    let mut media = session.media();
    media.uses_streams = true;
    media.stream_handles.extend(proposed.iter().map(|(_, s)| s.handle()));
    media.proposed = proposed;
    media.offer = Some(offer);
    None
}

/// A From or To header value without its parameters (the tag).
fn identity_without_tag(value: &str) -> String {
    match NameAddr::parse(value) {
        Ok(address) => {
            let plain = NameAddr::new(address.uri().clone());
            match address.display_name() {
                Some(name) if !name.is_empty() => plain.with_display_name(&name).to_string(),
                _ => plain.to_string(),
            }
        }
        Err(_) => value.to_owned(),
    }
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
    apply_pending_hold(session);
}

/// Sends a `hold()`/`unhold()` that had to wait, once the session is
/// `connected` with no re-INVITE pending.
fn apply_pending_hold(session: &Session) {
    if session.state() != SessionState::Connected {
        return;
    }
    let hold = {
        let mut media = session.media();
        if media.streams.is_empty() {
            return;
        }
        media.pending_hold.take()
    };
    if let Some(hold) = hold
        && let Err(e) = session.change_hold(hold)
    {
        tracing::warn!(
            "session {:?}: the deferred {} failed: {e}",
            session.handle(),
            if hold { "hold" } else { "unhold" }
        );
    }
}

/// A provisional response with SDP (early media, RFC 3960) to our
/// INVITE: the offered streams start on it, so early audio (ringback,
/// announcements) plays; the final answer then updates them.
fn start_early_media(session: &Session, early_sdp: &[u8]) {
    let proposed = {
        let media = session.media();
        if !media.uses_streams || media.early_media || session.direction() != Some("outgoing") {
            return;
        }
        media.proposed.clone()
    };
    let (Ok(local), Ok(remote)) =
        (SessionDescription::parse(&session.local_sdp()), SessionDescription::parse(early_sdp))
    else {
        tracing::info!("session {:?}: ignoring unparsable early media SDP", session.handle());
        return;
    };
    if let Err(e) = validate_answer(&local, &remote) {
        tracing::info!("session {:?}: ignoring unusable early media SDP: {e}", session.handle());
        return;
    }
    let mut started = Vec::new();
    for (index, stream) in &proposed {
        if remote.media.get(*index).is_some_and(|m| !m.is_disabled()) && stream.start(&local, &remote, *index).is_ok() {
            started.push((*index, stream.clone()));
        }
    }
    if started.is_empty() {
        return;
    }
    let mut media = session.media();
    media.early_media = true;
    media.proposed.retain(|(_, s)| !started.iter().any(|(_, x)| x.handle() == s.handle()));
    media.streams = started;
}

/// Starts the session's streams once it is established (`remote_sdp` is
/// the peer's answer, or its offer when we answered). Returns false when
/// none could start: the session is then ended and reported failed.
fn start_streams(session: &Session, remote_sdp: &[u8]) -> bool {
    // Streams started on early media are updated by the answer; the others start now.
    let (early, streams) = {
        let mut media = session.media();
        if !media.uses_streams {
            return true;
        }
        if media.early_media {
            (std::mem::take(&mut media.streams), std::mem::take(&mut media.proposed))
        } else {
            if media.streams.is_empty() {
                media.streams = std::mem::take(&mut media.proposed);
            }
            (Vec::new(), media.streams.clone())
        }
    };
    let local = SessionDescription::parse(&session.local_sdp());
    let remote = SessionDescription::parse(remote_sdp);
    let (local, remote) = match (local, remote) {
        (Ok(local), Ok(remote)) => (local, remote),
        (_, Err(e)) | (Err(e), _) => {
            fail_started(session, format!("malformed SDP answer: {e}"));
            return false;
        }
    };
    if session.direction() == Some("outgoing")
        && let Err(e) = validate_answer(&local, &remote)
    {
        fail_started(session, format!("unusable SDP answer: {e}"));
        return false;
    }
    let mut started = Vec::new();
    let mut failure = None;
    for (index, stream) in early {
        if remote.media.get(index).is_none_or(MediaDescription::is_disabled) {
            stream.deactivate();
            stream.end();
            continue;
        }
        match stream.update(&local, &remote, index) {
            Ok(()) => started.push((index, stream)),
            Err(e) => {
                failure = Some(e.to_string());
                stream.end();
            }
        }
    }
    for (index, stream) in streams {
        if remote.media.get(index).is_none_or(MediaDescription::is_disabled) {
            // Refused by the peer.
            stream.deactivate();
            stream.end();
            continue;
        }
        match stream.start(&local, &remote, index) {
            Ok(()) => started.push((index, stream)),
            Err(e) => {
                failure = Some(e.to_string());
                stream.end();
            }
        }
    }
    if started.is_empty() {
        let reason = failure.unwrap_or_else(|| "every stream was refused".into());
        fail_started(session, format!("media stream failed: {reason}"));
        return false;
    }
    session.media().streams = started;
    true
}

/// Ends an established session whose streams could not start, reporting
/// `SIPSessionDidFail` instead of `WillEnd`/`DidEnd`.
fn fail_started(session: &Session, reason: String) {
    tracing::warn!("session {:?} failed: {reason}", session.handle());
    {
        let mut media = session.media();
        media.failed_after_start = true;
        media.failure_reason = Some(reason);
    }
    session.machine().end(Instant::now());
}

/// Answers a re-INVITE on a session with streams when it keeps the same
/// m-lines (hold, unhold, a codec or address change, a refresh): each
/// stream validates its m-line, answers it and is updated. Returns false
/// when the application must decide (streams added, or no streams in use).
fn answer_reoffer(session: &Session, offer: &[u8]) -> bool {
    let streams = {
        let media = session.media();
        if !media.uses_streams || media.streams.is_empty() || offer.is_empty() {
            return false;
        }
        media.streams.clone()
    };
    let reject = |reason: String| {
        tracing::info!("refusing a re-INVITE with 488: {reason}");
        let _ = session.machine().reject_proposal(488, None);
        true
    };
    let offer = match SessionDescription::parse(offer) {
        Ok(offer) => offer,
        Err(e) => return reject(format!("malformed SDP offer: {e}")),
    };
    let previous = SessionDescription::parse(&session.local_sdp()).map(|l| l.media.len()).unwrap_or(0);
    if offer.media.len() < previous {
        // RFC 3264 §8: m-lines are never removed from an offer.
        return reject(format!("the offer has {} m-lines, fewer than the {previous} negotiated", offer.media.len()));
    }
    if offer.media[previous..].iter().any(|m| !m.is_disabled()) {
        return propose_added_streams(session, offer, previous, &streams);
    }
    if let Some((index, _)) = streams.iter().find(|(index, s)| !s.validate_update(&offer, *index)) {
        return reject(format!("m-line {index} cannot be updated"));
    }
    let mut lines: Vec<MediaDescription> = offer.media.iter().map(MediaDescription::disabled).collect();
    for (index, stream) in &streams {
        if offer.media[*index].is_disabled() {
            continue;
        }
        match stream.get_local_media(Some(&offer), *index) {
            Ok(line) => lines[*index] = line,
            Err(e) => return reject(e.to_string()),
        }
    }
    let answer = {
        let mut media = session.media();
        let address = media.address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        match media.local.get_or_insert_with(|| LocalSdp::new(address)).answer(&offer, lines) {
            Ok(answer) => answer,
            Err(e) => {
                drop(media);
                return reject(e.to_string());
            }
        }
    };
    let bytes = answer.to_bytes();
    session.set_local_sdp(&bytes);
    if session.machine().accept_proposal(Instant::now(), bytes).is_err() {
        return false;
    }
    let held_before = hold_state(&streams, Originator::Remote);
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    for (index, stream) in streams {
        if offer.media[index].is_disabled() {
            stream.deactivate();
            stream.end();
            removed.push((index, stream));
        } else {
            let _ = stream.update(&answer, &offer, index);
            kept.push((index, stream));
        }
    }
    let held_after = hold_state(&kept, Originator::Remote);
    session.media().streams = kept;
    if !removed.is_empty() {
        renegotiated(session, "remove", &removed);
    }
    if held_after != held_before {
        let (on_hold, partial) = held_after;
        NotificationCenter::default_center().post(
            session.handle(),
            n::SIPSessionDidChangeHoldState { originator: Originator::Remote.name().into(), on_hold, partial },
        );
    }
    true
}

/// The peer's re-INVITE adds m-lines from `first_new` on: each becomes a
/// proposed stream if a registered type takes it, and the application
/// decides (`SIPSessionGotProposal`, then `accept_proposal(streams)` or
/// `reject_proposal`). An offer whose new m-lines no type takes, or which
/// changes the running streams in a way they refuse, gets 488.
fn propose_added_streams(
    session: &Session,
    offer: SessionDescription,
    first_new: usize,
    streams: &[IndexedStream],
) -> bool {
    if let Some((index, _)) = streams.iter().find(|(index, s)| !s.validate_update(&offer, *index)) {
        tracing::info!("refusing a re-INVITE with 488: m-line {index} cannot be updated");
        let _ = session.machine().reject_proposal(488, None);
        return true;
    }
    let registry = MediaStreamRegistry::instance();
    let proposed: Vec<IndexedStream> = (first_new..offer.media.len())
        .filter(|&index| !offer.media[index].is_disabled())
        .filter_map(|index| registry.stream_for(&session.account, &offer, index).ok().flatten().map(|s| (index, s)))
        .collect();
    if proposed.is_empty() {
        tracing::info!("refusing a re-INVITE with 488: no acceptable new media stream");
        let _ = session.machine().reject_proposal(488, None);
        return true;
    }
    {
        let mut media = session.media();
        media.stream_handles.extend(proposed.iter().map(|(_, s)| s.handle()));
        media.proposed = proposed.clone();
        media.offer = Some(offer);
    }
    NotificationCenter::default_center().post(
        session.handle(),
        n::SIPSessionGotProposal { originator: Originator::Remote.name().into(), streams: indexed_handles(&proposed) },
    );
    true
}

/// The handles of indexed streams, as a notification value.
fn indexed_handles(streams: &[IndexedStream]) -> Value {
    Value::List(streams.iter().map(|(_, s)| Value::Object(s.handle())).collect())
}

/// Posts `SIPSessionDidRenegotiateStreams` (`add` or `remove`).
/// Awaits the preparation of every stream ([`MediaStream::prepare`]); the
/// first failure is the result.
async fn prepare_all(streams: &[Arc<dyn MediaStream>], direction: StreamDirection) -> Result<()> {
    for stream in streams {
        if let Some(preparation) = stream.prepare(direction) {
            preparation.await?;
        }
    }
    Ok(())
}

fn end_indexed(streams: &[IndexedStream]) {
    for (_, stream) in streams {
        stream.end();
    }
}

fn renegotiated(session: &Session, action: &str, streams: &[IndexedStream]) {
    NotificationCenter::default_center().post(
        session.handle(),
        n::SIPSessionDidRenegotiateStreams { action: action.into(), streams: indexed_handles(streams) },
    );
}

/// The peer answered our `add_stream` re-INVITE: start the streams it
/// accepted (a live m-line), end the ones it refused (port 0).
fn added_streams_answered(session: &Session, added: Vec<IndexedStream>, answer: &[u8]) {
    let center = NotificationCenter::default_center();
    let parsed = match (SessionDescription::parse(&session.local_sdp()), SessionDescription::parse(answer)) {
        (Ok(local), Ok(remote)) => {
            validate_answer(&local, &remote).map(|()| (local, remote)).map_err(|e| e.to_string())
        }
        (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
    };
    let (local, remote) = match parsed {
        Ok(pair) => pair,
        Err(e) => {
            for (_, stream) in &added {
                stream.end();
            }
            session.media().proposed.clear();
            center.post(
                session.handle(),
                n::SIPSessionHadProposalFailure {
                    failure_reason: format!("unusable SDP answer: {e}"),
                    streams: indexed_handles(&added),
                },
            );
            return;
        }
    };
    let active = session.media().streams.clone();
    for (index, stream) in &active {
        let _ = stream.update(&local, &remote, *index);
    }
    let mut started = Vec::new();
    let mut failure = None;
    for (index, stream) in &added {
        if remote.media.get(*index).is_none_or(MediaDescription::is_disabled) {
            stream.deactivate();
            stream.end();
            continue;
        }
        match stream.start(&local, &remote, *index) {
            Ok(()) => started.push((*index, stream.clone())),
            Err(e) => {
                failure = Some(e.to_string());
                stream.end();
            }
        }
    }
    {
        let mut media = session.media();
        media.proposed.clear();
        media.streams.extend(started.iter().cloned());
    }
    if started.is_empty() {
        match failure {
            Some(reason) => center.post(
                session.handle(),
                n::SIPSessionHadProposalFailure {
                    failure_reason: format!("media stream failed: {reason}"),
                    streams: indexed_handles(&added),
                },
            ),
            // Every new m-line came back with port 0.
            None => center.post(
                session.handle(),
                n::SIPSessionGotRejectProposal {
                    originator: Originator::Local.name().into(),
                    code: 488,
                    reason: "Not Acceptable Here".into(),
                    streams: indexed_handles(&added),
                },
            ),
        }
        return;
    }
    center.post(
        session.handle(),
        n::SIPSessionGotAcceptProposal {
            originator: Originator::Local.name().into(),
            streams: indexed_handles(&started),
            proposed_streams: indexed_handles(&added),
        },
    );
    renegotiated(session, "add", &started);
}

/// The peer answered our `remove_stream` re-INVITE: the other streams
/// follow the answer.
fn removal_answered(session: &Session, removed: &[IndexedStream], answer: &[u8]) {
    end_indexed(removed);
    if let (Ok(local), Ok(remote)) =
        (SessionDescription::parse(&session.local_sdp()), SessionDescription::parse(answer))
    {
        let active = session.media().streams.clone();
        for (index, stream) in &active {
            let _ = stream.update(&local, &remote, *index);
        }
    }
    renegotiated(session, "remove", removed);
}

/// Whether some stream is held by `originator`, and whether only some of
/// the streams that support hold are.
fn hold_state(streams: &[IndexedStream], originator: Originator) -> (bool, bool) {
    let held: Vec<bool> = streams
        .iter()
        .filter(|(_, s)| s.hold_supported())
        .map(|(_, s)| match originator {
            Originator::Local => s.on_hold_by_local(),
            Originator::Remote => s.on_hold_by_remote(),
        })
        .collect();
    let on_hold = held.iter().any(|h| *h);
    (on_hold, on_hold && held.iter().any(|h| !*h))
}

/// The answer to our hold/unhold re-INVITE arrived: update the streams and
/// report the new hold state.
fn reoffer_answered(session: &Session, answer: &[u8]) {
    let streams = session.media().streams.clone();
    match (SessionDescription::parse(&session.local_sdp()), SessionDescription::parse(answer)) {
        (Ok(local), Ok(remote)) if validate_answer(&local, &remote).is_ok() => {
            for (index, stream) in &streams {
                let _ = stream.update(&local, &remote, *index);
            }
        }
        _ => tracing::warn!("session {:?}: unusable answer to our re-INVITE", session.handle()),
    }
    let (on_hold, partial) = hold_state(&streams, Originator::Local);
    NotificationCenter::default_center().post(
        session.handle(),
        n::SIPSessionDidChangeHoldState { originator: Originator::Local.name().into(), on_hold, partial },
    );
}

/// Every initialized stream: deactivated before the BYE.
fn deactivate_streams(session: &Session) {
    let streams = session.media().initialized.clone();
    for stream in streams {
        stream.deactivate();
    }
}

/// Every initialized stream ended (the session is over).
fn end_streams(session: &Session) {
    let streams = {
        let mut media = session.media();
        media.streams.clear();
        media.proposed.clear();
        std::mem::take(&mut media.initialized)
    };
    for stream in streams {
        stream.end();
    }
}

fn post(session: &Session, event: SessionEvent) {
    let center = NotificationCenter::default_center();
    let h = session.handle();
    let streams = || Value::List(Vec::new());
    let active = || stream_handles(&session.streams());
    let proposed = || stream_handles(&session.proposed_streams());
    match event {
        SessionEvent::NewOutgoing => center.post(h, n::SIPSessionNewOutgoing { streams: proposed() }),
        SessionEvent::NewIncoming { .. } => {
            if !session.media().refused_offer {
                center.post(h, n::SIPSessionNewIncoming { streams: proposed() })
            }
        }
        SessionEvent::GotRingIndication => center.post(h, n::SIPSessionGotRingIndication {}),
        SessionEvent::GotProvisionalResponse { code, reason } => {
            center.post(h, n::SIPSessionGotProvisionalResponse { code: code.into(), reason })
        }
        SessionEvent::WillStart => center.post(h, n::SIPSessionWillStart {}),
        SessionEvent::DidStart { remote_sdp } => {
            if !remote_sdp.is_empty() {
                *session.remote_sdp.lock().unwrap_or_else(PoisonError::into_inner) = remote_sdp;
            }
            session.times().start_time = Some(SystemTime::now());
            if start_streams(session, &session.remote_sdp()) {
                center.post(h, n::SIPSessionDidStart { streams: active() })
            }
        }
        SessionEvent::DidFail { originator, code, reason, failure_reason } => {
            session.times().stop_time = Some(SystemTime::now());
            end_streams(session);
            let failure_reason = session.media().failure_reason.clone().unwrap_or(failure_reason);
            center.post(
                h,
                n::SIPSessionDidFail {
                    originator: originator.name().into(),
                    code: code.into(),
                    reason,
                    failure_reason,
                },
            )
        }
        SessionEvent::WillEnd { originator } => {
            deactivate_streams(session);
            if !session.media().failed_after_start {
                center.post(h, n::SIPSessionWillEnd { originator: originator.name().into() })
            }
        }
        SessionEvent::DidEnd { originator, end_reason } => {
            session.times().stop_time = Some(SystemTime::now());
            end_streams(session);
            let failed = {
                let media = session.media();
                media.failed_after_start.then(|| media.failure_reason.clone().unwrap_or_default())
            };
            match failed {
                Some(failure_reason) => center.post(
                    h,
                    n::SIPSessionDidFail {
                        originator: Originator::Local.name().into(),
                        code: 0,
                        reason: String::new(),
                        failure_reason,
                    },
                ),
                None => center.post(h, n::SIPSessionDidEnd { originator: originator.name().into(), end_reason }),
            }
        }
        SessionEvent::GotProposal { offer } => {
            if !answer_reoffer(session, &offer) {
                center.post(
                    h,
                    n::SIPSessionGotProposal { originator: Originator::Remote.name().into(), streams: streams() },
                )
            }
        }
        SessionEvent::ProposalAccepted { answer } => {
            let ours = {
                let mut media = session.media();
                media.negotiated_local_sdp = None;
                media.our_proposal.take()
            };
            if ours.is_some() {
                *session.remote_sdp.lock().unwrap_or_else(PoisonError::into_inner) = answer.clone();
            }
            match ours {
                Some(OurProposal::Hold) => reoffer_answered(session, &answer),
                Some(OurProposal::Add(added)) => added_streams_answered(session, added, &answer),
                Some(OurProposal::Remove(removed)) => removal_answered(session, &removed, &answer),
                None => center.post(
                    h,
                    n::SIPSessionGotAcceptProposal {
                        originator: Originator::Local.name().into(),
                        streams: streams(),
                        proposed_streams: streams(),
                    },
                ),
            }
        }
        SessionEvent::ProposalRejected { originator, code, reason } => {
            let ours = if originator == Originator::Local {
                let (ours, negotiated) = {
                    let mut media = session.media();
                    (media.our_proposal.take(), media.negotiated_local_sdp.take())
                };
                if let Some(negotiated) = negotiated {
                    session.set_local_sdp(&negotiated);
                }
                ours
            } else {
                None
            };
            let rejected = match originator {
                Originator::Local => match ours {
                    Some(OurProposal::Add(added)) => {
                        session.media().proposed.clear();
                        for (_, stream) in &added {
                            stream.end();
                        }
                        Some(indexed_handles(&added))
                    }
                    Some(OurProposal::Remove(removed)) => {
                        // Removed locally whatever the peer says.
                        end_indexed(&removed);
                        renegotiated(session, "remove", &removed);
                        None
                    }
                    Some(OurProposal::Hold) | None => Some(streams()),
                },
                Originator::Remote => {
                    let mut media = session.media();
                    let proposed = indexed_handles(&std::mem::take(&mut media.proposed));
                    media.offer = None;
                    (!std::mem::take(&mut media.proposal_failure)).then_some(proposed)
                }
            };
            if let Some(rejected) = rejected {
                center.post(
                    h,
                    n::SIPSessionGotRejectProposal {
                        originator: originator.name().into(),
                        code: code.into(),
                        reason,
                        streams: rejected,
                    },
                )
            }
        }
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
