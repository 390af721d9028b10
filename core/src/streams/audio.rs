//! [`AudioStream`]: RTP audio (the original's `sipsimple.streams.rtp.AudioStream`).
//!
//! - `initialize` binds an RTP/RTCP socket pair (an even port and the next
//!   one) in the `rtp.port_range` setting, on the SIP engine's address, and
//!   puts the stream's port in the voice mixer ([`AudioEngine`]): its slot
//!   ([`AudioStream::slot`]) produces what the peer says and consumes what
//!   the application connects to it.
//! - `get_local_media` builds the m-line with [`sdp::offer_answer`]: codecs
//!   from `rtp.audio_codec_list` (the account's, else the global one),
//!   SDES SRTP per the account's `rtp.encryption.enabled` and
//!   `rtp.encryption.key_negotiation` (`opportunistic` and `sdes_optional`:
//!   optional; `sdes_mandatory`: required; `zrtp`, not implemented: optional).
//! - `start` runs the media task on the core runtime. The voice mixer is the
//!   clock: every tick it hands the stream the frame to send (what it heard
//!   in the previous tick) and takes the next decoded frame. For each tick
//!   the task encodes (after resampling to the codec's rate), packetizes
//!   with [`RtpSession`], protects with SRTP when negotiated and sends; or
//!   sends the tick's RFC 4733 event packet instead while a DTMF digit
//!   ([`AudioStream::send_dtmf`]) is going out. Datagrams in are
//!   unprotected and checked by the RTP session (symmetric RTP latching),
//!   telephone events become `AudioStreamGotDTMF`, audio goes to the jitter
//!   buffer; each tick plays one frame out of it, decoded (concealed when
//!   lost) and resampled to the mixer rate.
//! - `start_recording` writes the conversation (what the stream sends mixed
//!   with what it receives) to a WAV file at the mixer rate.
//!
//! [`sdp::offer_answer`]: crate::sdp::offer_answer

use std::any::Any;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Notify, mpsc};

use super::engine::AudioEngine;
use super::lock;
use super::{MediaStream, MediaStreamType, StreamDirection};
use crate::account::Account;
use crate::audio::objects::StreamAudio;
use crate::audio::{AudioPort, Codec, Resampler, SlotId, WaveRecorder, codec_by_name, frame_samples};
use crate::error::{Error, Result};
use crate::handle::{self, Handle, ObjectKind};
use crate::notification::NotificationCenter;
use crate::notifications as n;
use crate::rtp::dtmf::{DtmfConfig, DtmfDigit, DtmfReceiver, DtmfSender};
use crate::rtp::jitter::{JitterBuffer, JitterConfig, JitterStats, Playout};
use crate::rtp::session::{PacketKind, RtpConfig, RtpEvent, RtpSession, RtpStatistics};
use crate::rtp::srtp::{self, InlineKey, SrtpSession};
use crate::sdp::offer_answer::{
    AudioCodec, AudioCodecs, AudioConfig, AudioFormat, AudioOffer, KeyGenerator, NegotiatedAudio, RandomKeys, SrtpMode,
    SrtpSuite, negotiate_answer, offer_direction,
};
use crate::sdp::{MediaDescription, SessionDescription};
use crate::session::Session;
use crate::value::Value;

/// Priority of the audio stream type in the registry.
pub const AUDIO_PRIORITY: i32 = 1;
/// Decoded frames waiting for the mixer at most (older ones are dropped):
/// after a stall of the media task its frames play late instead of being
/// lost, and a lasting backlog is drained (see [`DRAIN_AFTER_TICKS`]).
const MAX_RECEIVED_FRAMES: usize = 12;
/// Mixer ticks with more than two decoded frames waiting before one is
/// dropped, bringing the extra delay back slowly.
const DRAIN_AFTER_TICKS: u32 = 25;
/// Mixer ticks waiting for the media task at most.
const MAX_PENDING_TICKS: usize = 25;
/// Port pairs tried in `rtp.port_range` before giving up.
const MAX_BIND_ATTEMPTS: usize = 64;

/// A packet seen by a [`PacketTap`].
#[derive(Debug)]
pub struct TappedPacket<'a> {
    /// True for a packet we sent, false for one we received.
    pub sent: bool,
    /// RTP or RTCP (by the socket, for received packets).
    pub kind: PacketKind,
    /// The peer's address (destination or source).
    pub address: SocketAddr,
    /// The datagram as on the wire (SRTP-protected when SRTP is on).
    pub data: &'a [u8],
}

/// A callback seeing every datagram of a stream as it crosses the socket
/// (for diagnostics and tests). It runs on the core runtime: keep it short.
pub type PacketTap = Arc<dyn Fn(&TappedPacket<'_>) + Send + Sync>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    New,
    Initialized,
    Started,
    Ended,
}

/// What the last `get_local_media` produced, for `start`/`update`.
enum Pending {
    Offer(Box<AudioOffer>),
    Answer(Box<NegotiatedAudio>),
}

struct Inner {
    state: State,
    direction: Option<StreamDirection>,
    config: Option<AudioConfig>,
    sockets: Option<(UdpSocket, UdpSocket)>,
    pending: Option<Pending>,
    /// Our last offer once answered: a provisional answer (early media) is
    /// followed by the final one to the same offer.
    answered_offer: Option<Box<AudioOffer>>,
    negotiated: Option<NegotiatedAudio>,
    hold_local: bool,
    hold_remote: bool,
    slot: Option<SlotId>,
    sample_rate: u32,
    commands: Option<mpsc::UnboundedSender<Command>>,
    recording: Option<PathBuf>,
    deactivated: bool,
    /// The stream's bridge with the voice device and the stream's port.
    audio: Option<StreamAudio>,
}

/// What the media task shares with the stream object.
#[derive(Default)]
struct MediaStatus {
    remote_received: Option<SocketAddr>,
    rtp: RtpStatistics,
    jitter: JitterStats,
    srtp_active: bool,
    running: bool,
}

/// The statistics of a running stream (`statistics`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AudioStreamStatistics {
    /// RTP/RTCP counters and estimates.
    pub rtp: RtpStatistics,
    /// Jitter buffer counters.
    pub jitter: JitterStats,
}

/// One RTP audio stream (see the module documentation).
pub struct AudioStream {
    account: Arc<Account>,
    handle: OnceLock<Handle>,
    inner: Mutex<Inner>,
    port: Arc<Mutex<StreamPort>>,
    status: Arc<Mutex<MediaStatus>>,
    tap: Arc<Mutex<Option<PacketTap>>>,
    /// The offer it was created from (incoming), with the m-line index.
    remote_offer: Mutex<Option<(SessionDescription, usize)>>,
}

impl std::fmt::Debug for AudioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioStream").field("handle", &self.handle()).field("state", &self.inner().state).finish()
    }
}

impl AudioStream {
    /// A new audio stream for a session of `account` (`AudioStream(account)`).
    pub fn new(account: &Arc<Account>) -> Arc<AudioStream> {
        let stream = Arc::new(AudioStream {
            account: account.clone(),
            handle: OnceLock::new(),
            inner: Mutex::new(Inner {
                state: State::New,
                direction: None,
                config: None,
                sockets: None,
                pending: None,
                answered_offer: None,
                negotiated: None,
                hold_local: false,
                hold_remote: false,
                slot: None,
                sample_rate: 0,
                commands: None,
                recording: None,
                deactivated: false,
                audio: None,
            }),
            port: Arc::new(Mutex::new(StreamPort::default())),
            status: Arc::new(Mutex::new(MediaStatus::default())),
            tap: Arc::new(Mutex::new(None)),
            remote_offer: Mutex::new(None),
        });
        let h =
            handle::register(ObjectKind::AudioStream, stream.clone(), Some(format!("AudioStream of {}", account.id())));
        let _ = stream.handle.set(h);
        stream
    }

    /// The registry entry of the audio stream type.
    pub fn stream_class() -> MediaStreamType {
        MediaStreamType { type_name: "audio", priority: AUDIO_PRIORITY, new_from_sdp: AudioStream::new_from_sdp }
    }

    /// `new_from_sdp`: a stream for m-line `index` of `remote_sdp` when it
    /// is audio over RTP we can answer with the account's settings;
    /// `Ok(None)` when it is no audio m-line (or a disabled one), `Err` when
    /// it cannot be answered (no common codec, SRTP refused...).
    pub fn new_from_sdp(
        account: &Arc<Account>,
        remote_sdp: &SessionDescription,
        index: usize,
    ) -> Result<Option<Arc<dyn MediaStream>>> {
        let Some(media) = remote_sdp.media.get(index) else { return Ok(None) };
        if !media.is_media("audio") || media.is_disabled() {
            return Ok(None);
        }
        let probe = audio_config(account, IpAddr::V4(Ipv4Addr::LOCALHOST), 9);
        negotiate_answer(remote_sdp, index, &probe, &mut RandomKeys)
            .map_err(|e| Error::InvalidArgument(format!("audio m-line {index}: {e}")))?;
        let stream = AudioStream::new(account);
        *lock(&stream.remote_offer) = Some((remote_sdp.clone(), index));
        Ok(Some(stream))
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    fn post_fail(&self, context: &str, reason: &str) {
        tracing::warn!("audio stream {context} failed: {reason}");
        NotificationCenter::default_center()
            .post(self.handle(), n::MediaStreamDidFail { context: context.into(), reason: reason.into() });
    }

    /// The account.
    pub fn account(&self) -> &Arc<Account> {
        &self.account
    }

    /// The stream's bridge (`bridge`): it holds the voice device (`device`)
    /// and, while the stream runs, the stream itself. `None` before
    /// `initialize` and after `end`.
    pub fn bridge(&self) -> Option<Arc<crate::audio::objects::AudioBridge>> {
        self.inner().audio.as_ref().map(StreamAudio::bridge)
    }

    /// The voice device in the stream's bridge (`device`); mute it to mute
    /// the call. `None` before `initialize` and after `end`.
    pub fn device(&self) -> Option<Arc<crate::audio::objects::AudioDevice>> {
        self.inner().audio.as_ref().map(StreamAudio::device)
    }

    /// The stream as an audio port (its `consumer_slot` and `producer_slot`),
    /// to add it to other bridges. `None` before `initialize` and after `end`.
    pub fn port(&self) -> Option<Arc<dyn crate::audio::objects::AudioPortObject>> {
        self.inner().audio.as_ref().map(StreamAudio::port)
    }

    /// The voice mixer slot of the stream (its `consumer_slot` and
    /// `producer_slot`), once initialized: connect a player's slot to it to
    /// send audio, connect it to a recorder's slot to hear the peer.
    pub fn slot(&self) -> Option<SlotId> {
        self.inner().slot
    }

    /// `sample_rate`: the sample rate of the negotiated codec, once started.
    pub fn sample_rate(&self) -> Option<u32> {
        self.inner().negotiated.as_ref().map(|n| n.codec.sample_rate())
    }

    /// `codec`: the negotiated codec's name (`PCMU`, `opus`...), once started.
    pub fn codec(&self) -> Option<&'static str> {
        self.inner().negotiated.as_ref().map(|n| n.codec.name())
    }

    /// `srtp_active`: whether SRTP protects the media.
    pub fn srtp_active(&self) -> bool {
        lock(&self.status).srtp_active
    }

    /// `local_rtp_address`: the address written in our SDP.
    pub fn local_rtp_address(&self) -> Option<IpAddr> {
        self.inner().config.as_ref().map(|c| c.address)
    }

    /// `local_rtp_port`: our RTP port (RTCP is the next one).
    pub fn local_rtp_port(&self) -> Option<u16> {
        self.inner().config.as_ref().map(|c| c.rtp_port)
    }

    /// `remote_rtp_address_sdp` and `remote_rtp_port_sdp`: where the peer's
    /// SDP says to send RTP.
    pub fn remote_rtp_address_sdp(&self) -> Option<SocketAddr> {
        self.inner().negotiated.as_ref().map(|n| n.remote_rtp)
    }

    /// `remote_rtp_address_received` and `remote_rtp_port_received`: where
    /// the peer's RTP really comes from (the latched address).
    pub fn remote_rtp_address_received(&self) -> Option<SocketAddr> {
        lock(&self.status).remote_received
    }

    /// `recording_filename`: the WAV file being recorded, if any.
    pub fn recording_filename(&self) -> Option<PathBuf> {
        self.inner().recording.clone()
    }

    /// `statistics`: RTP and jitter buffer counters (zero before start).
    pub fn statistics(&self) -> AudioStreamStatistics {
        let status = lock(&self.status);
        AudioStreamStatistics { rtp: status.rtp, jitter: status.jitter }
    }

    /// Whether the media task runs.
    pub fn is_running(&self) -> bool {
        lock(&self.status).running
    }

    /// Sees every datagram the stream sends and receives (diagnostics,
    /// tests); `None` removes the tap.
    pub fn set_packet_tap(&self, tap: Option<PacketTap>) {
        *lock(&self.tap) = tap;
    }

    /// `send_dtmf(digit)`: sends one digit (`0-9`, `*`, `#`, `A-D`) as
    /// RFC 4733 telephone events. The stream must be started and the peer
    /// must have accepted `telephone-event`.
    pub fn send_dtmf(&self, digit: char) -> Result<()> {
        let digit = DtmfDigit::from_char(digit)
            .ok_or_else(|| Error::InvalidArgument(format!("{digit:?} is no DTMF digit (0-9, *, #, A-D)")))?;
        let inner = self.inner();
        if inner.state != State::Started {
            return Err(Error::InvalidState("send_dtmf needs a started audio stream".into()));
        }
        if inner.negotiated.as_ref().is_none_or(|n| n.telephone_event.is_none()) {
            return Err(Error::InvalidState("the peer did not accept telephone-event".into()));
        }
        match &inner.commands {
            Some(c) if c.send(Command::Dtmf(digit)).is_ok() => Ok(()),
            _ => Err(Error::InvalidState("the audio stream's media task is not running".into())),
        }
    }

    /// `start_recording(filename)`: records the conversation into a 16-bit
    /// mono WAV file at the mixer rate (missing directories are created).
    /// Posts `AudioStreamWillStartRecordingAudio` and
    /// `AudioStreamDidStartRecordingAudio`.
    pub fn start_recording(&self, filename: impl AsRef<Path>) -> Result<()> {
        let path = std::path::absolute(filename.as_ref()).unwrap_or_else(|_| filename.as_ref().to_path_buf());
        let rate = {
            let inner = self.inner();
            if !matches!(inner.state, State::Initialized | State::Started) {
                return Err(Error::InvalidState("start_recording needs an initialized audio stream".into()));
            }
            if inner.recording.is_some() {
                return Err(Error::InvalidState("the stream is recording already".into()));
            }
            inner.sample_rate
        };
        let name = path.display().to_string();
        let center = NotificationCenter::default_center();
        center.post(self.handle(), n::AudioStreamWillStartRecordingAudio { filename: name.clone() });
        let mut recorder = WaveRecorder::new(&path, rate)?;
        recorder.start()?;
        lock(&self.port).recorder = Some(recorder);
        self.inner().recording = Some(path);
        center.post(self.handle(), n::AudioStreamDidStartRecordingAudio { filename: name });
        Ok(())
    }

    /// `stop_recording()`: completes the WAV file. Posts
    /// `AudioStreamWillStopRecordingAudio` and
    /// `AudioStreamDidStopRecordingAudio`; does nothing when not recording.
    pub fn stop_recording(&self) -> Result<()> {
        let Some(path) = self.inner().recording.take() else { return Ok(()) };
        let name = path.display().to_string();
        let center = NotificationCenter::default_center();
        center.post(self.handle(), n::AudioStreamWillStopRecordingAudio { filename: name.clone() });
        let recorder = lock(&self.port).recorder.take();
        let result = match recorder {
            Some(mut r) => r.stop().map_err(Error::from),
            None => Ok(()),
        };
        center.post(self.handle(), n::AudioStreamDidStopRecordingAudio { filename: name });
        result
    }

    fn directions(inner: &Inner) -> (bool, bool) {
        match &inner.negotiated {
            Some(n) if !inner.hold_local => (n.direction.sends(), n.direction.receives()),
            _ => (false, false),
        }
    }

    fn send_update(&self, inner: &Inner) {
        if let (Some(commands), Some(negotiated)) = (&inner.commands, &inner.negotiated) {
            let (sends, receives) = Self::directions(inner);
            let _ = commands.send(Command::Update(Box::new(MediaParams {
                negotiated: negotiated.clone(),
                sends,
                receives,
            })));
        }
    }

    /// The outcome of the last offer or answer, and whether the peer made
    /// the offer (then its direction tells whether it holds us).
    fn negotiate(
        &self,
        inner: &mut Inner,
        remote_sdp: &SessionDescription,
        index: usize,
    ) -> Result<(NegotiatedAudio, bool)> {
        let offer = match inner.pending.take() {
            Some(Pending::Offer(offer)) => offer,
            Some(Pending::Answer(negotiated)) => return Ok((*negotiated, true)),
            None => inner
                .answered_offer
                .take()
                .ok_or_else(|| Error::InvalidState("no offer or answer was made for this stream".into()))?,
        };
        let negotiated = offer
            .process_answer(remote_sdp, index)
            .map(|n| (n, false))
            .map_err(|e| Error::InvalidArgument(format!("answer: {e}")));
        inner.answered_offer = Some(offer);
        negotiated
    }
}

impl MediaStream for AudioStream {
    fn stream_type(&self) -> &'static str {
        "audio"
    }

    fn priority(&self) -> i32 {
        AUDIO_PRIORITY
    }

    fn handle(&self) -> Handle {
        self.handle.get().copied().unwrap_or_default()
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn initialize(&self, session: &Session, direction: StreamDirection) -> Result<()> {
        let result = (|| {
            let mut inner = self.inner();
            if inner.state != State::New {
                return Err(Error::InvalidState("the audio stream was initialized already".into()));
            }
            let engine = AudioEngine::instance();
            engine.start()?;
            let rate = engine.sample_rate().ok_or_else(|| Error::InvalidState("no voice mixer".into()))?;
            let bind_ip = crate::sip::engine::Engine::current()
                .and_then(|e| e.local_address(crate::sip::transport::TransportKind::Udp))
                .map(|a| a.ip())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            let advertised = session
                .media_address()
                .or_else(|| (!bind_ip.is_unspecified()).then_some(bind_ip))
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            let (rtp, rtcp) = bind_pair(bind_ip, port_range())?;
            let port = rtp.local_addr().map_err(|e| Error::Internal(e.to_string()))?.port();
            let config = audio_config(&self.account, advertised, port);
            {
                let mut p = lock(&self.port);
                p.frame_len = frame_samples(rate);
                p.active = false;
            }
            let port_ref: crate::audio::SharedPort = self.port.clone();
            let slot = engine.with_mixer(|m| m.add_port(port_ref))?;
            inner.slot = Some(slot);
            if let Some(mixer) = engine.voice_mixer() {
                // Heard and spoken on the voice device, as in the original.
                inner.audio = Some(StreamAudio::new(self.handle(), &mixer, slot)?);
            }
            inner.sample_rate = rate;
            inner.sockets = Some((rtp, rtcp));
            inner.config = Some(config);
            inner.direction = Some(direction);
            inner.state = State::Initialized;
            tracing::debug!("audio stream {:?}: RTP on {advertised}:{port}, mixer slot {slot}", self.handle());
            Ok(())
        })();
        match &result {
            Ok(()) => NotificationCenter::default_center().post(self.handle(), n::MediaStreamDidInitialize {}),
            Err(e) => self.post_fail("initialize", &e.to_string()),
        }
        result
    }

    fn get_local_media(&self, remote_sdp: Option<&SessionDescription>, index: usize) -> Result<MediaDescription> {
        let mut inner = self.inner();
        let Some(mut config) = inner.config.clone() else {
            return Err(Error::InvalidState("get_local_media needs an initialized audio stream".into()));
        };
        config.direction = offer_direction(inner.hold_local, inner.hold_remote);
        if let Some(negotiated) = &inner.negotiated {
            config.keep_payload_types(negotiated);
        }
        // Renegotiations keep our SRTP key (RFC 4568 §7.1.4 allows it), so a
        // re-INVITE does not re-key a running stream.
        let mut previous_key =
            inner.negotiated.as_ref().and_then(|n| n.srtp.as_ref()).map(|p| p.local_key.as_bytes().to_vec());
        let mut keys = move |buf: &mut [u8]| match previous_key.take() {
            Some(key) if key.len() == buf.len() => buf.copy_from_slice(&key),
            _ => RandomKeys.fill_key(buf),
        };
        match remote_sdp {
            None => {
                let offer = AudioOffer::new(&config, &mut keys);
                let media = offer.media().clone();
                inner.pending = Some(Pending::Offer(Box::new(offer)));
                inner.answered_offer = None;
                Ok(media)
            }
            Some(offer) => {
                config.direction = if inner.hold_local { offer_direction(true, false) } else { config.direction };
                let answer = negotiate_answer(offer, index, &config, &mut keys)
                    .map_err(|e| Error::InvalidArgument(format!("audio m-line {index}: {e}")))?;
                inner.pending = Some(Pending::Answer(Box::new(answer.negotiated)));
                inner.answered_offer = None;
                Ok(answer.media)
            }
        }
    }

    fn start(&self, _local_sdp: &SessionDescription, remote_sdp: &SessionDescription, index: usize) -> Result<()> {
        let result = (|| {
            let mut inner = self.inner();
            if inner.state != State::Initialized {
                return Err(Error::InvalidState("start needs an initialized audio stream".into()));
            }
            let (negotiated, peer_offered) = self.negotiate(&mut inner, remote_sdp, index)?;
            let (rtp_socket, rtcp_socket) =
                inner.sockets.take().ok_or_else(|| Error::InvalidState("the stream has no sockets".into()))?;
            inner.hold_remote = peer_offered && negotiated.remote_on_hold();
            inner.negotiated = Some(negotiated.clone());
            let (sends, receives) = Self::directions(&inner);
            let params = MediaParams { negotiated, sends, receives };
            let media = Media::new(&self.account.id().to_string(), params, inner.sample_rate)?;
            let srtp_active = media.rtp.srtp_active();
            let (commands, receiver) = mpsc::unbounded_channel();
            let notify = {
                let mut p = lock(&self.port);
                p.ticks.clear();
                p.received.clear();
                p.active = true;
                p.notify.clone()
            };
            {
                let mut status = lock(&self.status);
                status.srtp_active = srtp_active;
                status.running = true;
            }
            let task = MediaTask {
                media,
                port: self.port.clone(),
                notify,
                commands: receiver,
                status: self.status.clone(),
                tap: self.tap.clone(),
                handle: self.handle(),
            };
            let runtime = tokio::runtime::Handle::try_current()
                .ok()
                .or_else(crate::session::SessionManager::runtime)
                .ok_or_else(|| Error::InvalidState("the core runtime is not running".into()))?;
            runtime.spawn(task.run(rtp_socket, rtcp_socket));
            inner.commands = Some(commands);
            inner.state = State::Started;
            Ok(())
        })();
        match &result {
            Ok(()) => NotificationCenter::default_center().post(self.handle(), n::MediaStreamDidStart {}),
            Err(e) => self.post_fail("start", &e.to_string()),
        }
        result
    }

    fn validate_update(&self, remote_sdp: &SessionDescription, index: usize) -> bool {
        let Some(config) = self.inner().config.clone() else { return false };
        let Some(media) = remote_sdp.media.get(index) else { return false };
        if !media.is_media("audio") {
            return false;
        }
        if media.is_disabled() {
            return true;
        }
        negotiate_answer(remote_sdp, index, &config, &mut RandomKeys).is_ok()
    }

    fn update(&self, _local_sdp: &SessionDescription, remote_sdp: &SessionDescription, index: usize) -> Result<()> {
        let mut inner = self.inner();
        if inner.state != State::Started {
            return Err(Error::InvalidState("update needs a started audio stream".into()));
        }
        let (negotiated, peer_offered) = match self.negotiate(&mut inner, remote_sdp, index) {
            Ok(n) => n,
            Err(e) => {
                drop(inner);
                self.post_fail("update", &e.to_string());
                return Err(e);
            }
        };
        let hold_remote = if peer_offered { negotiated.remote_on_hold() } else { inner.hold_remote };
        let changed = inner.negotiated.as_ref().is_none_or(|old| {
            old.codec != negotiated.codec || old.remote_rtp != negotiated.remote_rtp || old.srtp != negotiated.srtp
        });
        let hold_changed = hold_remote != inner.hold_remote;
        inner.hold_remote = hold_remote;
        inner.negotiated = Some(negotiated);
        self.send_update(&inner);
        drop(inner);
        let center = NotificationCenter::default_center();
        if hold_changed {
            center.post(
                self.handle(),
                n::AudioStreamDidChangeHoldState { originator: "remote".into(), on_hold: hold_remote },
            );
        }
        if changed {
            center.post(self.handle(), n::AudioStreamDidChangeRTPParameters {});
        }
        Ok(())
    }

    fn hold(&self) {
        let mut inner = self.inner();
        if inner.hold_local {
            return;
        }
        inner.hold_local = true;
        self.send_update(&inner);
        drop(inner);
        NotificationCenter::default_center()
            .post(self.handle(), n::AudioStreamDidChangeHoldState { originator: "local".into(), on_hold: true });
    }

    fn unhold(&self) {
        let mut inner = self.inner();
        if !inner.hold_local {
            return;
        }
        inner.hold_local = false;
        self.send_update(&inner);
        drop(inner);
        NotificationCenter::default_center()
            .post(self.handle(), n::AudioStreamDidChangeHoldState { originator: "local".into(), on_hold: false });
    }

    fn deactivate(&self) {
        self.inner().deactivated = true;
    }

    fn end(&self) {
        let (slot, commands) = {
            let mut inner = self.inner();
            if inner.state == State::Ended {
                return;
            }
            inner.state = State::Ended;
            inner.sockets = None;
            inner.pending = None;
            (inner.slot.take(), inner.commands.take())
        };
        let audio = self.inner().audio.take();
        if let Some(audio) = audio {
            audio.close();
        }
        let center = NotificationCenter::default_center();
        center.post(self.handle(), n::MediaStreamWillEnd {});
        let _ = self.stop_recording();
        lock(&self.port).active = false;
        if let Some(slot) = slot {
            let _ = AudioEngine::instance().with_mixer(|m| m.remove_slot(slot));
        }
        match commands {
            // The media task posts MediaStreamDidEnd once its RTCP BYE is out.
            Some(commands) if commands.send(Command::Stop).is_ok() => {}
            _ => center.post(self.handle(), n::MediaStreamDidEnd {}),
        }
    }

    fn hold_supported(&self) -> bool {
        true
    }

    fn on_hold_by_local(&self) -> bool {
        self.inner().hold_local
    }

    fn on_hold_by_remote(&self) -> bool {
        self.inner().hold_remote
    }
}

// ----- settings ------------------------------------------------------------

fn account_setting(account: &Account, path: &str) -> Option<Value> {
    account.settings().get(path).ok().filter(|v| !matches!(v, Value::Null))
}

fn global_setting(path: &str) -> Option<Value> {
    crate::settings::SIPSimpleSettings::instance().settings().get(path).ok().filter(|v| !matches!(v, Value::Null))
}

fn codec_names(value: &Value) -> Vec<String> {
    match value {
        Value::List(items) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        Value::String(s) => s.split(',').map(|s| s.trim().to_owned()).collect(),
        _ => Vec::new(),
    }
}

/// The codecs of `rtp.audio_codec_list`: the account's, else the global one.
fn codecs(account: &Account) -> AudioCodecs {
    account_setting(account, "rtp.audio_codec_list")
        .or_else(|| global_setting("rtp.audio_codec_list"))
        .and_then(|v| AudioCodecs::from_names(codec_names(&v)).ok())
        .unwrap_or_default()
}

/// The SRTP policy from the account's `rtp.encryption.*` settings.
fn srtp_mode(account: &Account) -> SrtpMode {
    if account_setting(account, "rtp.encryption.enabled").and_then(|v| v.as_bool()) == Some(false) {
        return SrtpMode::Disabled;
    }
    match account_setting(account, "rtp.encryption.key_negotiation").as_ref().and_then(Value::as_str) {
        Some("sdes_mandatory") => SrtpMode::Required,
        _ => SrtpMode::Optional,
    }
}

fn audio_config(account: &Account, address: IpAddr, rtp_port: u16) -> AudioConfig {
    let mut config = AudioConfig::new(address, rtp_port);
    config.codecs = codecs(account);
    config.srtp = srtp_mode(account);
    config
}

fn port_range() -> (u16, u16) {
    let range = global_setting("rtp.port_range");
    let get = |key: &str| {
        range
            .as_ref()
            .and_then(Value::as_map)
            .and_then(|m| m.get(key))
            .and_then(Value::as_int)
            .and_then(|p| u16::try_from(p).ok())
    };
    match (get("start"), get("end")) {
        (Some(start), Some(end)) if start < end => (start, end),
        _ => (50000, 50500),
    }
}

/// Binds RTP on an even port of `range` and RTCP on the next one.
fn bind_pair(ip: IpAddr, (start, end): (u16, u16)) -> Result<(UdpSocket, UdpSocket)> {
    let first = start + (start % 2);
    let pairs = usize::from(end.saturating_sub(first)) / 2;
    if pairs == 0 {
        return Err(Error::InvalidArgument(format!("rtp.port_range {start}-{end} holds no RTP/RTCP port pair")));
    }
    let offset = rand::random_range(0..pairs);
    for i in 0..pairs.min(MAX_BIND_ATTEMPTS) {
        let port = first + 2 * u16::try_from((offset + i) % pairs).unwrap_or(0);
        let Ok(rtp) = UdpSocket::bind(SocketAddr::new(ip, port)) else { continue };
        let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(ip, port + 1)) else { continue };
        if rtp.set_nonblocking(true).is_ok() && rtcp.set_nonblocking(true).is_ok() {
            return Ok((rtp, rtcp));
        }
    }
    Err(Error::InvalidState(format!("no free RTP/RTCP port pair in {start}-{end} on {ip}")))
}

// ----- the mixer port ------------------------------------------------------

/// The stream's port in the voice mixer (see the module documentation).
struct StreamPort {
    /// One entry per mixer tick: the frame to send (`None`: nothing was
    /// connected to the stream, send silence).
    ticks: VecDeque<Option<Vec<i16>>>,
    /// What the mixer gave the stream in the current tick.
    last_put: Option<Vec<i16>>,
    /// Decoded frames at the mixer rate, for the next ticks.
    received: VecDeque<Vec<i16>>,
    notify: Arc<Notify>,
    recorder: Option<WaveRecorder>,
    frame_len: usize,
    /// Whether the media task runs (ticks are queued only then).
    active: bool,
    /// Consecutive ticks with more than two decoded frames waiting.
    backlog_ticks: u32,
}

impl Default for StreamPort {
    fn default() -> Self {
        StreamPort {
            ticks: VecDeque::new(),
            last_put: None,
            received: VecDeque::new(),
            notify: Arc::new(Notify::new()),
            recorder: None,
            frame_len: 0,
            active: false,
            backlog_ticks: 0,
        }
    }
}

impl AudioPort for StreamPort {
    fn get_frame(&mut self, frame: &mut [i16]) -> bool {
        let local = self.last_put.take();
        self.backlog_ticks = if self.received.len() > 2 { self.backlog_ticks + 1 } else { 0 };
        if self.backlog_ticks >= DRAIN_AFTER_TICKS {
            self.backlog_ticks = 0;
            self.received.pop_front();
        }
        let remote = self.received.pop_front();
        if let Some(recorder) = self.recorder.as_mut() {
            let mut mix = vec![0i16; frame.len()];
            for source in [&local, &remote].into_iter().flatten() {
                for (m, s) in mix.iter_mut().zip(source) {
                    *m = m.saturating_add(*s);
                }
            }
            recorder.put_frame(&mix);
        }
        if self.active {
            if self.ticks.len() >= MAX_PENDING_TICKS {
                self.ticks.pop_front();
            }
            self.ticks.push_back(local);
            self.notify.notify_one();
        }
        match remote {
            Some(remote) => {
                let n = remote.len().min(frame.len());
                frame[..n].copy_from_slice(&remote[..n]);
                true
            }
            None => false,
        }
    }

    fn put_frame(&mut self, frame: &[i16]) {
        self.last_put = Some(frame.to_vec());
    }
}

// ----- the media task ------------------------------------------------------

struct MediaParams {
    negotiated: NegotiatedAudio,
    sends: bool,
    receives: bool,
}

enum Command {
    Dtmf(DtmfDigit),
    Update(Box<MediaParams>),
    Stop,
}

struct Decoder {
    codec: AudioCodec,
    decoder: Box<dyn Codec>,
    resampler: Resampler,
}

/// The sans-IO media pipeline of one started stream.
struct Media {
    rtp: RtpSession,
    params: MediaParams,
    encoder: Box<dyn Codec>,
    to_codec: Resampler,
    decoder: Option<Decoder>,
    jitter: JitterBuffer,
    jitter_clock: u32,
    dtmf_out: Option<DtmfSender>,
    dtmf_in: DtmfReceiver,
    mixer_rate: u32,
    silence: Vec<i16>,
}

fn srtp_session(negotiated: &NegotiatedAudio) -> Result<Option<SrtpSession>> {
    let Some(params) = &negotiated.srtp else { return Ok(None) };
    let suite = match params.suite {
        SrtpSuite::AesCm128HmacSha1_80 => srtp::CryptoSuite::AesCm128HmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32 => srtp::CryptoSuite::AesCm128HmacSha1_32,
    };
    let key = |k: &crate::sdp::offer_answer::SrtpKey| {
        srtp::SrtpKey::from_bytes(k.as_bytes()).map(InlineKey::new).map_err(|e| Error::InvalidArgument(e.to_string()))
    };
    let session = SrtpSession::new(suite, &key(&params.local_key)?, &key(&params.remote_key)?)
        .map_err(|e| Error::InvalidArgument(format!("SRTP: {e}")))?;
    Ok(Some(session))
}

fn receive_event_type(negotiated: &NegotiatedAudio) -> Option<u8> {
    negotiated.receive.iter().find(|p| matches!(p.format, AudioFormat::TelephoneEvent { .. })).map(|p| p.payload_type)
}

fn rtp_timeout() -> Option<Duration> {
    global_setting("rtp.timeout").and_then(|v| v.as_int()).filter(|t| *t > 0).map(|t| Duration::from_secs(t as u64))
}

impl Media {
    fn new(cname: &str, params: MediaParams, mixer_rate: u32) -> Result<Media> {
        let negotiated = &params.negotiated;
        let codec = negotiated.codec;
        let mut config = RtpConfig::new(codec.rtp_clock_rate(), negotiated.remote_rtp, cname);
        config.remote_rtcp = Some(negotiated.remote_rtcp);
        config.payload_types = negotiated.receive.iter().map(|p| p.payload_type).collect();
        config.event_payload_type = receive_event_type(negotiated);
        config.rtp_timeout = if params.receives { rtp_timeout() } else { None };
        let mut rtp = RtpSession::new(config, Instant::now(), SystemTime::now());
        rtp.set_srtp(srtp_session(negotiated)?);
        let encoder = codec_by_name(codec.name())?;
        let to_codec = Resampler::new(mixer_rate, encoder.clock_rate())?;
        let jitter_clock = codec.rtp_clock_rate();
        Ok(Media {
            rtp,
            dtmf_out: negotiated.telephone_event.map(|te| DtmfSender::new(DtmfConfig::new(te.clock_rate))),
            params,
            encoder,
            to_codec,
            decoder: None,
            jitter: JitterBuffer::new(JitterConfig::new(jitter_clock / crate::audio::FRAMES_PER_SECOND)),
            jitter_clock,
            dtmf_in: DtmfReceiver::new(),
            mixer_rate,
            silence: vec![0; frame_samples(mixer_rate)],
        })
    }

    /// A renegotiation: new remote address, codec, keys or directions.
    fn update(&mut self, now: Instant, params: MediaParams) -> Result<()> {
        let (old, new) = (&self.params.negotiated, &params.negotiated);
        if old.remote_rtp != new.remote_rtp || old.remote_rtcp != new.remote_rtcp {
            self.rtp.set_remote(new.remote_rtp, Some(new.remote_rtcp), false);
        }
        if old.codec != new.codec {
            self.encoder = codec_by_name(new.codec.name())?;
            self.to_codec = Resampler::new(self.mixer_rate, self.encoder.clock_rate())?;
            self.rtp.set_clock_rate(new.codec.rtp_clock_rate());
        }
        if old.srtp != new.srtp {
            self.rtp.set_srtp(srtp_session(new)?);
        }
        if old.telephone_event != new.telephone_event {
            self.dtmf_out = new.telephone_event.map(|te| DtmfSender::new(DtmfConfig::new(te.clock_rate)));
        }
        self.rtp.set_payload_types(new.receive.iter().map(|p| p.payload_type).collect(), receive_event_type(new));
        if params.receives != self.params.receives {
            self.rtp.set_rtp_timeout(now, if params.receives { rtp_timeout() } else { None });
        }
        self.params = params;
        Ok(())
    }

    /// One mixer tick: send the frame the mixer gave (or this tick's DTMF
    /// packet) and play one frame out of the jitter buffer.
    fn tick(&mut self, now: Instant, local: Option<Vec<i16>>) -> Option<Vec<i16>> {
        let increment = self.encoder.rtp_timestamp_increment();
        if self.params.sends {
            let event = self.dtmf_out.as_mut().and_then(|d| d.tick(self.rtp.next_timestamp()));
            match (event, self.params.negotiated.telephone_event) {
                (Some(event), Some(te)) => {
                    let _ = self.rtp.send_event(now, te.payload_type, &event.payload, event.timestamp, event.marker);
                    self.rtp.skip(increment);
                }
                _ => {
                    let pcm = local.as_deref().unwrap_or(&self.silence);
                    let pcm = self.to_codec.process_vec(pcm);
                    let payload = self.encoder.encode(&pcm);
                    let _ = self.rtp.send_frame(now, self.params.negotiated.payload_type, &payload, increment, false);
                }
            }
        } else {
            self.rtp.skip(increment);
        }
        let pcm = match self.jitter.tick() {
            Playout::Frame(packet) => self.decode(packet.payload_type, &packet.payload),
            Playout::Lost => self.decoder.as_mut().map(|d| {
                let pcm = d.decoder.conceal();
                d.resampler.process_vec(&pcm)
            }),
            Playout::Empty => None,
        };
        pcm.filter(|_| self.params.receives)
    }

    fn decode(&mut self, payload_type: u8, payload: &[u8]) -> Option<Vec<i16>> {
        let Some(AudioFormat::Codec(codec)) = self.params.negotiated.received_format(payload_type) else {
            return None;
        };
        if self.decoder.as_ref().is_none_or(|d| d.codec != codec) {
            let decoder = codec_by_name(codec.name()).ok()?;
            let resampler = Resampler::new(decoder.clock_rate(), self.mixer_rate).ok()?;
            self.decoder = Some(Decoder { codec, decoder, resampler });
        }
        let d = self.decoder.as_mut()?;
        let pcm = d.decoder.decode(payload);
        Some(d.resampler.process_vec(&pcm))
    }

    /// What the RTP session reported: media to the jitter buffer or the DTMF
    /// receiver, latching, timeouts.
    fn events(&mut self, stream: Handle, status: &Mutex<MediaStatus>) {
        while let Some(event) = self.rtp.poll_event() {
            match event {
                RtpEvent::Packet(packet) => {
                    if Some(packet.payload_type) == receive_event_type(&self.params.negotiated) {
                        self.jitter.push_other(packet.sequence_number, packet.timestamp, packet.ssrc);
                        if let Some(digit) = self.dtmf_in.handle_packet(packet.ssrc, packet.timestamp, &packet.payload)
                        {
                            NotificationCenter::default_center()
                                .post(stream, n::AudioStreamGotDTMF { digit: digit.to_char().to_string() });
                        }
                        continue;
                    }
                    let clock = self
                        .params
                        .negotiated
                        .received_format(packet.payload_type)
                        .map_or(self.jitter_clock, |f| f.clock_rate());
                    if clock != self.jitter_clock {
                        self.jitter_clock = clock;
                        self.jitter = JitterBuffer::new(JitterConfig::new(clock / crate::audio::FRAMES_PER_SECOND));
                    }
                    self.jitter.push(packet.into());
                }
                RtpEvent::Latched(address) => {
                    lock(status).remote_received = Some(address);
                    NotificationCenter::default_center().post(stream, n::AudioStreamDidChangeRTPParameters {});
                }
                RtpEvent::Timeout => NotificationCenter::default_center().post(stream, n::AudioStreamDidTimeout {}),
                RtpEvent::Bye { .. } => {}
            }
        }
    }
}

struct MediaTask {
    media: Media,
    port: Arc<Mutex<StreamPort>>,
    notify: Arc<Notify>,
    commands: mpsc::UnboundedReceiver<Command>,
    status: Arc<Mutex<MediaStatus>>,
    tap: Arc<Mutex<Option<PacketTap>>>,
    handle: Handle,
}

impl MediaTask {
    async fn run(mut self, rtp: UdpSocket, rtcp: UdpSocket) {
        let sockets =
            tokio::net::UdpSocket::from_std(rtp).and_then(|rtp| Ok((rtp, tokio::net::UdpSocket::from_std(rtcp)?)));
        let (rtp, rtcp) = match sockets {
            Ok(s) => s,
            Err(e) => {
                self.fail(&format!("cannot use the RTP sockets: {e}"));
                return;
            }
        };
        let (mut rtp_buf, mut rtcp_buf) = (vec![0u8; 2048], vec![0u8; 2048]);
        loop {
            let deadline = self.media.rtp.poll_timeout();
            let timer = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            let mut stop = false;
            tokio::select! {
                r = rtp.recv_from(&mut rtp_buf) => if let Ok((len, from)) = r {
                    self.tap(false, PacketKind::Rtp, from, &rtp_buf[..len]);
                    self.media.rtp.handle_datagram(Instant::now(), from, &rtp_buf[..len]);
                },
                r = rtcp.recv_from(&mut rtcp_buf) => if let Ok((len, from)) = r {
                    self.tap(false, PacketKind::Rtcp, from, &rtcp_buf[..len]);
                    self.media.rtp.handle_rtcp(Instant::now(), from, &rtcp_buf[..len]);
                },
                () = self.notify.notified() => {
                    let ticks: Vec<Option<Vec<i16>>> = lock(&self.port).ticks.drain(..).collect();
                    let now = Instant::now();
                    for local in ticks {
                        if let Some(pcm) = self.media.tick(now, local) {
                            let mut port = lock(&self.port);
                            if port.received.len() >= MAX_RECEIVED_FRAMES {
                                port.received.pop_front();
                            }
                            port.received.push_back(pcm);
                        }
                    }
                }
                () = timer => self.media.rtp.handle_timeout(Instant::now()),
                command = self.commands.recv() => match command {
                    Some(Command::Dtmf(digit)) => {
                        if let Some(d) = self.media.dtmf_out.as_mut() {
                            d.send(digit);
                        }
                    }
                    Some(Command::Update(params)) => {
                        if let Err(e) = self.media.update(Instant::now(), *params) {
                            NotificationCenter::default_center().post(
                                self.handle,
                                n::MediaStreamDidFail { context: "update".into(), reason: e.to_string() },
                            );
                        }
                    }
                    Some(Command::Stop) | None => {
                        self.media.rtp.close(Instant::now());
                        stop = true;
                    }
                },
            }
            self.media.events(self.handle, &self.status);
            while let Some(t) = self.media.rtp.poll_transmit() {
                let socket = if t.socket == PacketKind::Rtp { &rtp } else { &rtcp };
                self.tap(true, t.kind, t.destination, &t.contents);
                if let Err(e) = socket.send_to(&t.contents, t.destination).await {
                    tracing::debug!("audio stream {:?}: sending to {}: {e}", self.handle, t.destination);
                }
            }
            {
                let mut status = lock(&self.status);
                status.rtp = self.media.rtp.statistics();
                status.jitter = self.media.jitter.stats();
            }
            if stop {
                break;
            }
        }
        lock(&self.status).running = false;
        NotificationCenter::default_center().post(self.handle, n::MediaStreamDidEnd {});
    }

    fn tap(&self, sent: bool, kind: PacketKind, address: SocketAddr, data: &[u8]) {
        let tap = lock(&self.tap).clone();
        if let Some(tap) = tap {
            tap(&TappedPacket { sent, kind, address, data });
        }
    }

    fn fail(&self, reason: &str) {
        lock(&self.status).running = false;
        let center = NotificationCenter::default_center();
        center.post(self.handle, n::MediaStreamDidFail { context: "media".into(), reason: reason.into() });
        center.post(self.handle, n::MediaStreamDidEnd {});
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::analysis::{dominant_frequency, sine};
    use crate::sdp::offer_answer::LocalSdp;

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// Both sides' negotiated audio, as a call between `codecs` would agree.
    fn negotiate(codecs: &str, srtp: SrtpMode) -> (NegotiatedAudio, NegotiatedAudio) {
        let config = |port| {
            let mut c = AudioConfig::new(LOCALHOST, port);
            c.codecs = AudioCodecs::parse(codecs).unwrap();
            c.srtp = srtp;
            c
        };
        let offer = AudioOffer::new(&config(40000), &mut RandomKeys);
        let offer_sdp = LocalSdp::new(LOCALHOST).offer(vec![offer.media().clone()]);
        let answer = negotiate_answer(&offer_sdp, 0, &config(40002), &mut RandomKeys).unwrap();
        let answer_sdp = LocalSdp::new(LOCALHOST).answer(&offer_sdp, vec![answer.media.clone()]).unwrap();
        (offer.process_answer(&answer_sdp, 0).unwrap(), answer.negotiated)
    }

    /// Two media pipelines wired back to back, the mixer at `rate`: a 1 kHz
    /// tone fed to one comes out of the other.
    fn tone_through(codecs: &str, srtp: SrtpMode, rate: u32) -> (f64, usize, bool) {
        let (a, b) = negotiate(codecs, srtp);
        let params = |negotiated| MediaParams { negotiated, sends: true, receives: true };
        let mut alice = Media::new("alice@127.0.0.1", params(a), rate).unwrap();
        let mut bob = Media::new("bob@127.0.0.1", params(b), rate).unwrap();
        let status = Mutex::new(MediaStatus::default());
        let tone = sine(1000.0, 10000.0, rate, frame_samples(rate) * 100);
        let start = Instant::now();
        let mut heard = Vec::new();
        for (i, frame) in tone.chunks(frame_samples(rate)).enumerate() {
            let now = start + Duration::from_millis(20 * i as u64);
            assert!(alice.tick(now, Some(frame.to_vec())).is_none(), "nothing heard from bob yet");
            while let Some(t) = alice.rtp.poll_transmit() {
                if t.kind == PacketKind::Rtp {
                    bob.rtp.handle_datagram(now, SocketAddr::new(LOCALHOST, 40000), &t.contents);
                }
            }
            bob.events(Handle::default(), &status);
            heard.extend(bob.tick(now, None).unwrap_or_default());
        }
        let secure = alice.rtp.srtp_active() && bob.rtp.srtp_active();
        let frequency = dominant_frequency(&heard[heard.len() / 2..], rate).unwrap_or(0.0);
        (frequency, heard.len() / frame_samples(rate), secure)
    }

    #[test]
    fn a_tone_crosses_two_pipelines_for_each_codec_with_and_without_srtp() {
        for (codecs, srtp, rate) in [
            ("PCMU", SrtpMode::Disabled, 32000),
            ("PCMA", SrtpMode::Required, 16000),
            ("G722", SrtpMode::Optional, 48000),
            ("opus", SrtpMode::Required, 32000),
        ] {
            let (frequency, frames, secure) = tone_through(codecs, srtp, rate);
            assert!((frequency - 1000.0).abs() < 10.0, "{codecs}: {frequency} Hz");
            // 100 frames sent; the jitter buffer holds back its 60 ms.
            assert!(frames >= 95, "{codecs}: {frames} frames heard");
            assert_eq!(secure, srtp != SrtpMode::Disabled, "{codecs}");
        }
    }

    #[test]
    fn the_port_hands_each_tick_to_the_media_task_and_plays_what_was_decoded() {
        let mut port = StreamPort { frame_len: 160, active: true, ..StreamPort::default() };
        let mut frame = vec![0i16; 160];
        assert!(!port.get_frame(&mut frame), "nothing decoded yet");
        port.put_frame(&[7; 160]);
        port.received.push_back(vec![3; 160]);
        assert!(port.get_frame(&mut frame));
        assert_eq!(frame, vec![3; 160]);
        let ticks: Vec<_> = port.ticks.drain(..).collect();
        assert_eq!(ticks, [None, Some(vec![7; 160])], "silence, then what the mixer gave");
        for _ in 0..2 * MAX_PENDING_TICKS {
            port.get_frame(&mut frame);
        }
        assert_eq!(port.ticks.len(), MAX_PENDING_TICKS, "a stalled task costs a bounded queue");
    }

    #[test]
    fn port_pairs_are_even_and_consecutive_inside_the_range() {
        let (rtp, rtcp) = bind_pair(LOCALHOST, (41001, 41100)).unwrap();
        let (p, q) = (rtp.local_addr().unwrap().port(), rtcp.local_addr().unwrap().port());
        assert!(p % 2 == 0 && q == p + 1 && (41002..=41098).contains(&p), "{p} {q}");
        assert!(bind_pair(LOCALHOST, (41001, 41002)).is_err(), "no pair fits");
    }
}
