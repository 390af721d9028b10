//! `Session` and the `SessionManager`.

use std::sync::Arc;
use std::time::SystemTime;

use sipsimple_core::handle::{self, Handle, ObjectKind};
use sipsimple_core::session as core;

use crate::account::Account;
use crate::streams::MediaStream;
use crate::{Result, SipSimpleError};

/// One INVITE session (`Session`), incoming or outgoing.
///
/// Every method returns at once; the progress arrives as `SIPSession*`
/// notifications whose sender is the session (`handle()`). An incoming
/// session is announced by `SIPSessionNewIncoming`: get its object with
/// `Session.fromHandle(notification.sender.handle)`, and its proposed
/// streams with `proposedStreams()` (or `mediaStreamFromHandle` on the
/// `streams` of the data). A call in a state that does not allow it is
/// `InvalidState`. Two objects are equal when they refer to the same
/// session.
///
/// A terminated session keeps its handle (and its streams theirs) until 64
/// newer sessions have ended or the application starts again; then
/// `fromHandle` with it is `InvalidHandle`. An object obtained before
/// still reads the session's attributes.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Eq, Hash)]
pub struct Session {
    inner: Arc<core::Session>,
}

impl Session {
    pub(crate) fn wrap(inner: Arc<core::Session>) -> Arc<Session> {
        Arc::new(Session { inner })
    }
}

fn wrap_streams(streams: &[Arc<dyn sipsimple_core::streams::MediaStream>]) -> Vec<MediaStream> {
    streams.iter().map(MediaStream::wrap).collect()
}

#[uniffi::export]
impl Session {
    /// `Session(account)`: a new session in state `None`. `InvalidHandle`
    /// for a stale account.
    #[uniffi::constructor]
    pub fn new(account: Arc<Account>) -> Result<Arc<Self>> {
        let account = account.resolve()?;
        Ok(Session::wrap(core::Session::new(&account)))
    }

    /// The session whose handle is `handle` (the sender of a `SIPSession*`
    /// notification). `InvalidHandle` when it is no live session.
    #[uniffi::constructor]
    pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
        let inner = handle::resolve::<core::Session>(Handle::from_raw(handle), ObjectKind::Session)
            .map_err(|e| SipSimpleError::InvalidHandle { detail: format!("{handle:#x} is no session: {e}") })?;
        Ok(Session::wrap(inner))
    }

    /// The session's handle: the sender of its notifications.
    pub fn handle(&self) -> u64 {
        self.inner.handle().raw()
    }

    /// `connect(to, streams, subject)`: calls `to` (a SIP URI such as
    /// `sip:bob@example.com`) offering `streams` (at least one), through the
    /// account's outbound proxy or the routes DNS gives for the target's
    /// domain. Allowed in state `None` only. Posts `SIPSessionNewOutgoing`,
    /// then `SIPSessionGotRingIndication`, `SIPSessionWillStart` and
    /// `SIPSessionDidStart`, or `SIPSessionDidFail` (`code`, `reason`,
    /// `failure_reason`).
    #[uniffi::method(default(subject = None))]
    pub fn connect(&self, to: String, streams: Vec<MediaStream>, subject: Option<String>) -> Result<()> {
        let streams = MediaStream::all_to_core(&streams)?;
        Ok(self.inner.connect_with_streams(&to, streams, subject)?)
    }

    /// `is_focus`: our Contact carries `isfocus` (RFC 4579, we host a
    /// conference). Call it before `connect` or `accept`.
    pub fn set_is_focus(&self, is_focus: bool) {
        self.inner.set_is_focus(is_focus);
    }

    /// `send_ring_indication()`: answers an incoming session with 180
    /// Ringing.
    pub fn send_ring_indication(&self) -> Result<()> {
        Ok(self.inner.send_ring_indication()?)
    }

    /// `accept(streams)`: answers an incoming session with `streams`, a
    /// subset of `proposedStreams()`; the others are refused. Posts
    /// `SIPSessionWillStart` and `SIPSessionDidStart`, or
    /// `SIPSessionDidFail`.
    pub fn accept(&self, streams: Vec<MediaStream>) -> Result<()> {
        let streams = MediaStream::all_to_core(&streams)?;
        Ok(self.inner.accept_streams(&streams)?)
    }

    /// `reject(code=603, reason=None)`: refuses an incoming session (486
    /// Busy Here, 603 Decline...); `SIPSessionDidFail` follows on both
    /// sides. `reason` replaces the standard phrase of `code`.
    #[uniffi::method(default(code = 603, reason = None))]
    pub fn reject(&self, code: u16, reason: Option<String>) -> Result<()> {
        Ok(self.inner.reject(code, reason.as_deref())?)
    }

    /// `end()`: cancels, declines or hangs up, as the state asks. Posts
    /// `SIPSessionWillEnd` and `SIPSessionDidEnd` (or `SIPSessionDidFail`
    /// before the session started).
    pub fn end(&self) -> Result<()> {
        Ok(self.inner.end()?)
    }

    /// `hold()`: puts every stream that supports hold on hold and tells the
    /// peer in a re-INVITE; `SIPSessionDidChangeHoldState` follows. Called
    /// before the session is connected, or while a proposal is pending, the
    /// hold is offered as soon as the session is connected and idle.
    /// `InvalidState` once the session is ending.
    pub fn hold(&self) -> Result<()> {
        Ok(self.inner.hold()?)
    }

    /// `unhold()`: the reverse of `hold()`.
    pub fn unhold(&self) -> Result<()> {
        Ok(self.inner.unhold()?)
    }

    /// `add_stream(stream)`: proposes one more stream to the peer in a
    /// re-INVITE (`SIPSessionGotProposal`, originator `local`). When the peer
    /// accepts, the stream starts and `SIPSessionGotAcceptProposal` and
    /// `SIPSessionDidRenegotiateStreams` follow; a refusal (or
    /// `cancelProposal`) posts `SIPSessionGotRejectProposal` and ends the
    /// stream. Needs a `connected` session.
    pub fn add_stream(&self, stream: MediaStream) -> Result<()> {
        Ok(self.inner.add_stream(stream.to_core()?)?)
    }

    /// `remove_stream(stream)`: ends an active stream and tells the peer in
    /// a re-INVITE. The stream is removed locally whatever the peer answers;
    /// `SIPSessionDidRenegotiateStreams` (action `remove`) follows the
    /// answer. Needs a `connected` session.
    pub fn remove_stream(&self, stream: MediaStream) -> Result<()> {
        Ok(self.inner.remove_stream(&stream.to_core()?)?)
    }

    /// `accept_proposal(streams)`: accepts the peer's proposal
    /// (`SIPSessionGotProposal`, originator `remote`) with `streams`, a
    /// subset of `proposedStreams()`; the others are refused. The accepted
    /// streams start at once; `SIPSessionGotAcceptProposal` and
    /// `SIPSessionDidRenegotiateStreams` follow. When none can be set up the
    /// proposal is rejected with 488 and `SIPSessionHadProposalFailure`
    /// posted.
    pub fn accept_proposal(&self, streams: Vec<MediaStream>) -> Result<()> {
        let streams = MediaStream::all_to_core(&streams)?;
        Ok(self.inner.accept_proposal_streams(&streams)?)
    }

    /// `reject_proposal(code=488, reason=None)`: declines the peer's
    /// proposal.
    #[uniffi::method(default(code = 488, reason = None))]
    pub fn reject_proposal(&self, code: u16, reason: Option<String>) -> Result<()> {
        Ok(self.inner.reject_proposal(code, reason.as_deref())?)
    }

    /// `cancel_proposal()`: withdraws our pending proposal;
    /// `SIPSessionGotRejectProposal` with code 487 follows.
    pub fn cancel_proposal(&self) -> Result<()> {
        Ok(self.inner.cancel_proposal()?)
    }

    /// `state`: `None`, `connecting`, `incoming`, `accepting`, `connected`,
    /// `sending_proposal`, `received_proposal`, `terminating` or
    /// `terminated`.
    pub fn state(&self) -> String {
        self.inner.state().name().to_owned()
    }

    /// `account`: the account of the session.
    pub fn account(&self) -> Arc<Account> {
        Account::wrap(self.inner.account())
    }

    /// `direction`: `incoming` or `outgoing`; `None` before either.
    pub fn direction(&self) -> Option<String> {
        self.inner.direction().map(str::to_owned)
    }

    /// `transport`: `udp`, `tcp` or `tls`, once the route is known.
    pub fn transport(&self) -> Option<String> {
        self.inner.transport().map(str::to_owned)
    }

    /// `start_time`: when the session started (`SIPSessionDidStart`).
    pub fn start_time(&self) -> Option<SystemTime> {
        self.inner.start_time()
    }

    /// `stop_time`: when the session ended or failed.
    pub fn stop_time(&self) -> Option<SystemTime> {
        self.inner.stop_time()
    }

    /// `on_hold`: some stream is on hold, by either side.
    pub fn on_hold(&self) -> bool {
        self.inner.on_hold()
    }

    /// `remote_user_agent`: the peer's User-Agent (or Server), once known.
    pub fn remote_user_agent(&self) -> Option<String> {
        self.inner.remote_user_agent()
    }

    /// `local_identity`: our address, e.g. `"Alice" <sip:alice@example.com>`.
    pub fn local_identity(&self) -> String {
        self.inner.local_identity()
    }

    /// `remote_identity`: the peer's address, once known.
    pub fn remote_identity(&self) -> Option<String> {
        self.inner.remote_identity()
    }

    /// `streams`: the active streams.
    pub fn streams(&self) -> Vec<MediaStream> {
        wrap_streams(&self.inner.streams())
    }

    /// `proposed_streams`: the streams of the pending offer (ours while
    /// connecting or proposing, the peer's while incoming); empty when no
    /// offer is pending.
    pub fn proposed_streams(&self) -> Vec<MediaStream> {
        wrap_streams(&self.inner.proposed_streams())
    }
}

impl std::fmt::Display for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session(handle={:#x}, state={})", self.handle(), self.inner.state().name())
    }
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        self.handle() == other.handle()
    }
}

impl Eq for Session {}

impl std::hash::Hash for Session {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.handle().hash(state);
    }
}

/// The session registry singleton (`SessionManager`); the application
/// starts and stops it.
#[derive(uniffi::Object)]
pub struct SessionManager {
    inner: &'static core::SessionManager,
}

#[uniffi::export]
impl SessionManager {
    /// The session manager singleton.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(SessionManager { inner: core::SessionManager::instance() })
    }

    /// `sessions`: the sessions neither new nor terminated.
    pub fn sessions(&self) -> Vec<Arc<Session>> {
        self.inner.sessions().into_iter().map(Session::wrap).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_that_are_no_session_or_stream_are_errors() {
        assert!(matches!(Session::from_handle(0), Err(SipSimpleError::InvalidHandle { .. })));
        assert!(matches!(Session::from_handle(u64::MAX), Err(SipSimpleError::InvalidHandle { .. })));
        let other = handle::register(ObjectKind::Storage, Arc::new(()), None);
        assert!(matches!(Session::from_handle(other.raw()), Err(SipSimpleError::InvalidHandle { .. })));
        assert!(matches!(
            crate::streams::media_stream_from_handle(other.raw()),
            Err(SipSimpleError::InvalidHandle { .. })
        ));
        assert!(matches!(crate::AudioMixer::from_handle(other.raw()), Err(SipSimpleError::InvalidHandle { .. })));
        let _ = handle::release(other);
    }
}
