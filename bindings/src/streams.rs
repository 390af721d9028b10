//! Media streams: [`AudioStream`] (the MSRP streams are in `chat`,
//! `file_transfer` and `desktop_sharing`), the [`MediaStream`] value sessions take
//! and give, and [`media_stream_from_handle`] for the `streams` lists of
//! session notifications.

use std::net::SocketAddr;
use std::sync::Arc;

use sipsimple_core::handle::{self, Handle, ObjectKind};
use sipsimple_core::streams as core;

use crate::account::Account;
use crate::audio::{AudioBridge, AudioDevice, AudioPort};
use crate::chat::ChatStream;
use crate::desktop_sharing::DesktopSharingStream;
use crate::file_transfer::FileTransferStream;
use crate::{Result, SipSimpleError};

/// A media stream of a session, as `Session` methods take and return it.
///
/// Every stream type this binding knows is a variant holding its object; a
/// stream of a type registered by native code only is `Other` (it can be
/// read from a session, not passed back).
#[derive(Clone, uniffi::Enum)]
pub enum MediaStream {
    /// An RTP audio stream.
    Audio {
        /// The stream.
        stream: Arc<AudioStream>,
    },
    /// An MSRP chat stream.
    Chat {
        /// The stream.
        stream: Arc<ChatStream>,
    },
    /// An MSRP file transfer stream.
    FileTransfer {
        /// The stream.
        stream: Arc<FileTransferStream>,
    },
    /// A desktop sharing (RFB over MSRP) stream.
    DesktopSharing {
        /// The stream.
        stream: Arc<DesktopSharingStream>,
    },
    /// A stream of a type this binding does not wrap.
    Other {
        /// The stream's handle.
        handle: u64,
        /// The stream type (`type` in the original).
        stream_type: String,
    },
}

#[uniffi::export]
impl MediaStream {
    /// The stream's handle: the sender of its notifications and what the
    /// `streams` lists of session notifications carry.
    pub fn handle(&self) -> u64 {
        match self {
            MediaStream::Audio { stream } => stream.handle(),
            MediaStream::Chat { stream } => stream.handle(),
            MediaStream::FileTransfer { stream } => stream.handle(),
            MediaStream::DesktopSharing { stream } => stream.handle(),
            MediaStream::Other { handle, .. } => *handle,
        }
    }

    /// The stream type: `audio`, `chat`, `file-transfer`, `desktop-sharing`, ...
    pub fn stream_type(&self) -> String {
        match self {
            MediaStream::Audio { .. } => "audio".to_owned(),
            MediaStream::Chat { .. } => "chat".to_owned(),
            MediaStream::FileTransfer { .. } => "file-transfer".to_owned(),
            MediaStream::DesktopSharing { .. } => "desktop-sharing".to_owned(),
            MediaStream::Other { stream_type, .. } => stream_type.clone(),
        }
    }
}

impl MediaStream {
    /// The binding value of a core stream.
    pub(crate) fn wrap(stream: &Arc<dyn core::MediaStream>) -> MediaStream {
        let handle = stream.handle().raw();
        let stream_type = stream.stream_type();
        let any = stream.clone().as_any();
        if let Ok(audio) = any.clone().downcast::<core::AudioStream>() {
            return MediaStream::Audio { stream: Arc::new(AudioStream { inner: audio }) };
        }
        if let Ok(chat) = any.clone().downcast::<core::ChatStream>() {
            return MediaStream::Chat { stream: ChatStream::wrap(chat) };
        }
        if let Ok(transfer) = any.clone().downcast::<core::FileTransferStream>() {
            return MediaStream::FileTransfer { stream: FileTransferStream::wrap(transfer) };
        }
        if let Ok(sharing) = any.downcast::<core::DesktopSharingStream>() {
            return MediaStream::DesktopSharing { stream: DesktopSharingStream::wrap(sharing) };
        }
        MediaStream::Other { handle, stream_type: stream_type.to_owned() }
    }

    /// The core stream, for passing to the core session.
    pub(crate) fn to_core(&self) -> Result<Arc<dyn core::MediaStream>> {
        match self {
            MediaStream::Audio { stream } => Ok(stream.inner.clone()),
            MediaStream::Chat { stream } => Ok(stream.inner.clone()),
            MediaStream::FileTransfer { stream } => Ok(stream.inner.clone()),
            MediaStream::DesktopSharing { stream } => Ok(stream.inner.clone()),
            MediaStream::Other { handle, stream_type } => Err(SipSimpleError::InvalidArgument {
                detail: format!("a {stream_type} stream ({handle:#x}) cannot be passed from this binding"),
            }),
        }
    }

    /// Every stream of `streams` as core streams.
    pub(crate) fn all_to_core(streams: &[MediaStream]) -> Result<Vec<Arc<dyn core::MediaStream>>> {
        streams.iter().map(MediaStream::to_core).collect()
    }
}

/// The stream whose handle is `handle`, e.g. one of the `streams` of a
/// `SIPSessionNewIncoming` notification (`{"handle": ..}` in its JSON
/// data). `InvalidHandle` when it is no live media stream.
#[uniffi::export]
pub fn media_stream_from_handle(handle: u64) -> Result<MediaStream> {
    match Handle::from_raw(handle).try_kind() {
        Some(ObjectKind::ChatStream) => Ok(MediaStream::Chat { stream: ChatStream::from_handle(handle)? }),
        Some(ObjectKind::FileTransferStream) => {
            Ok(MediaStream::FileTransfer { stream: FileTransferStream::from_handle(handle)? })
        }
        Some(ObjectKind::DesktopSharingStream) => {
            Ok(MediaStream::DesktopSharing { stream: DesktopSharingStream::from_handle(handle)? })
        }
        _ => Ok(MediaStream::Audio { stream: AudioStream::from_handle(handle)? }),
    }
}

/// The counters of a running audio stream (`statistics`); zero before it
/// started.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct AudioStreamStatistics {
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP payload bytes sent.
    pub bytes_sent: u64,
    /// RTP packets received and accepted.
    pub packets_received: u64,
    /// RTP payload bytes received and accepted.
    pub bytes_received: u64,
    /// Packets of the peer lost on the way (expected minus received).
    pub packets_lost: u64,
    /// Packets dropped (unexpected source, payload type or sequence).
    pub packets_discarded: u64,
    /// SRTP packets that failed authentication or replay checks.
    pub srtp_failures: u64,
    /// Interarrival jitter, in milliseconds.
    pub jitter_ms: f64,
    /// Round-trip time from the peer's last report, in milliseconds.
    pub rtt_ms: Option<f64>,
    /// Frames the jitter buffer played out.
    pub frames_played: u64,
    /// Frames missing when due.
    pub frames_lost: u64,
    /// Packets that arrived after their turn.
    pub frames_late: u64,
    /// Queued frames thrown away (excess delay, resets).
    pub frames_discarded: u64,
    /// Playout ticks that went to other payload types (DTMF events).
    pub frames_other: u64,
    /// Times the jitter buffer ran empty while playing.
    pub underruns: u64,
}

impl AudioStreamStatistics {
    fn of(stream: &core::AudioStream) -> Self {
        let s = stream.statistics();
        AudioStreamStatistics {
            packets_sent: s.rtp.packets_sent,
            bytes_sent: s.rtp.bytes_sent,
            packets_received: s.rtp.packets_received,
            bytes_received: s.rtp.bytes_received,
            packets_lost: s.rtp.packets_lost,
            packets_discarded: s.rtp.packets_discarded,
            srtp_failures: s.rtp.srtp_failures,
            jitter_ms: s.rtp.jitter.as_secs_f64() * 1000.0,
            rtt_ms: s.rtp.rtt.map(|d| d.as_secs_f64() * 1000.0),
            frames_played: s.jitter.played,
            frames_lost: s.jitter.lost,
            frames_late: s.jitter.late,
            frames_discarded: s.jitter.discarded,
            frames_other: s.jitter.other,
            underruns: s.jitter.underruns,
        }
    }
}

/// An RTP audio stream (`AudioStream`).
///
/// Create one with an account to offer it (`Session.connect`,
/// `Session.addStream`), or take the one a peer proposed from
/// `Session.proposedStreams` or the `streams` of `SIPSessionNewIncoming`.
/// Its attributes are meaningful once it started (`MediaStreamDidStart`).
/// From `MediaStreamDidInitialize` until it ends it has a `bridge()`: add a
/// `WavePlayer` to it to send a file to the peer. Two objects are equal when they refer to the same stream.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Eq, Hash)]
pub struct AudioStream {
    pub(crate) inner: Arc<core::AudioStream>,
}

fn address_of(address: Option<SocketAddr>) -> Option<String> {
    address.map(|a| a.ip().to_string())
}

fn port_of(address: Option<SocketAddr>) -> Option<u16> {
    address.map(|a| a.port())
}

#[uniffi::export]
impl AudioStream {
    /// `AudioStream(account)`: a new stream for a session of `account`.
    /// `InvalidHandle` for a stale account.
    #[uniffi::constructor]
    pub fn new(account: Arc<Account>) -> Result<Arc<Self>> {
        let account = account.resolve()?;
        Ok(Arc::new(AudioStream { inner: core::AudioStream::new(&account) }))
    }

    /// The audio stream whose handle is `handle` (a notification's sender
    /// or an entry of its `streams`). `InvalidHandle` when it is no live
    /// audio stream.
    #[uniffi::constructor]
    pub fn from_handle(handle: u64) -> Result<Arc<Self>> {
        let inner = handle::resolve::<core::AudioStream>(Handle::from_raw(handle), ObjectKind::AudioStream)
            .map_err(|e| SipSimpleError::InvalidHandle { detail: format!("{handle:#x} is no audio stream: {e}") })?;
        Ok(Arc::new(AudioStream { inner }))
    }

    /// The stream's handle: the sender of its notifications.
    pub fn handle(&self) -> u64 {
        core::MediaStream::handle(&*self.inner).raw()
    }

    /// This stream as a `MediaStream`, for `Session` methods.
    pub fn as_media_stream(self: Arc<Self>) -> MediaStream {
        MediaStream::Audio { stream: self }
    }

    /// The account the stream belongs to.
    pub fn account(&self) -> Arc<Account> {
        Account::wrap(self.inner.account())
    }

    /// `sample_rate`: the negotiated codec's sample rate, once started.
    pub fn sample_rate(&self) -> Option<u32> {
        self.inner.sample_rate()
    }

    /// `codec`: the negotiated codec (`PCMU`, `opus`...), once started.
    pub fn codec(&self) -> Option<String> {
        self.inner.codec().map(str::to_owned)
    }

    /// `srtp_active`: whether SRTP protects the media.
    pub fn srtp_active(&self) -> bool {
        self.inner.srtp_active()
    }

    /// `local_rtp_address`: the address our SDP gives, once initialized.
    pub fn local_rtp_address(&self) -> Option<String> {
        self.inner.local_rtp_address().map(|a| a.to_string())
    }

    /// `local_rtp_port`: our RTP port (RTCP is the next one).
    pub fn local_rtp_port(&self) -> Option<u16> {
        self.inner.local_rtp_port()
    }

    /// `remote_rtp_address_sdp`: the address the peer's SDP gives.
    pub fn remote_rtp_address_sdp(&self) -> Option<String> {
        address_of(self.inner.remote_rtp_address_sdp())
    }

    /// `remote_rtp_port_sdp`: the port the peer's SDP gives.
    pub fn remote_rtp_port_sdp(&self) -> Option<u16> {
        port_of(self.inner.remote_rtp_address_sdp())
    }

    /// `remote_rtp_address_received`: where the peer's RTP comes from.
    pub fn remote_rtp_address_received(&self) -> Option<String> {
        address_of(self.inner.remote_rtp_address_received())
    }

    /// `remote_rtp_port_received`: the port the peer's RTP comes from.
    pub fn remote_rtp_port_received(&self) -> Option<u16> {
        port_of(self.inner.remote_rtp_address_received())
    }

    /// `recording_filename`: the WAV file being recorded, if any.
    pub fn recording_filename(&self) -> Option<String> {
        self.inner.recording_filename().map(|p| p.display().to_string())
    }

    /// `hold_supported`.
    pub fn hold_supported(&self) -> bool {
        core::MediaStream::hold_supported(&*self.inner)
    }

    /// `on_hold_by_local`: held by us.
    pub fn on_hold_by_local(&self) -> bool {
        core::MediaStream::on_hold_by_local(&*self.inner)
    }

    /// `on_hold_by_remote`: held by the peer.
    pub fn on_hold_by_remote(&self) -> bool {
        core::MediaStream::on_hold_by_remote(&*self.inner)
    }

    /// `on_hold`: held by either side.
    pub fn on_hold(&self) -> bool {
        core::MediaStream::on_hold(&*self.inner)
    }

    /// `consumer_slot`: the voice mixer slot the stream consumes from (what
    /// reaches it is sent to the peer), from initialization until it ends.
    pub fn consumer_slot(&self) -> Option<u32> {
        self.inner.port().and_then(|p| p.consumer_slot())
    }

    /// `producer_slot`: the voice mixer slot the stream produces on (what
    /// the peer sends), from initialization until it ends.
    pub fn producer_slot(&self) -> Option<u32> {
        self.inner.port().and_then(|p| p.producer_slot())
    }

    /// `bridge`: the stream's own bridge, holding the voice device
    /// (`device()`) and, while the stream runs, the stream: add a
    /// `WavePlayer` to it to send a file to the peer, a `WaveRecorder` to
    /// record both sides. `None` before initialization and after the end.
    pub fn bridge(&self) -> Option<Arc<AudioBridge>> {
        self.inner.bridge().map(AudioBridge::wrap)
    }

    /// `device`: the voice device in the stream's bridge (mute it to mute
    /// the call). `None` before initialization and after the end.
    pub fn device(&self) -> Option<Arc<AudioDevice>> {
        self.inner.device().map(AudioDevice::wrap)
    }

    /// This stream as an `AudioPort`, to add it to other bridges.
    pub fn as_audio_port(self: Arc<Self>) -> AudioPort {
        AudioPort::Stream { stream: self }
    }

    /// `statistics`: RTP and jitter buffer counters.
    pub fn statistics(&self) -> AudioStreamStatistics {
        AudioStreamStatistics::of(&self.inner)
    }

    /// `send_dtmf(digit)`: sends one digit (`0`-`9`, `*`, `#`, `A`-`D`) as
    /// RFC 4733 events. `InvalidArgument` for anything else,
    /// `InvalidState` before the stream started or when the peer did not
    /// accept `telephone-event`.
    pub fn send_dtmf(&self, digit: String) -> Result<()> {
        let mut chars = digit.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(self.inner.send_dtmf(c)?),
            _ => Err(SipSimpleError::InvalidArgument {
                detail: format!("{digit:?} is not one DTMF digit (0-9, *, #, A-D)"),
            }),
        }
    }

    /// `start_recording(filename)`: records the conversation into a 16-bit
    /// mono WAV file at the mixer rate (missing directories are created).
    /// Posts `AudioStreamWillStartRecordingAudio` and
    /// `AudioStreamDidStartRecordingAudio` (`filename`: the full path).
    /// `InvalidState` before the stream was initialized or while it records.
    pub fn start_recording(&self, filename: String) -> Result<()> {
        Ok(self.inner.start_recording(filename)?)
    }

    /// `stop_recording()`: completes the WAV file; posts
    /// `AudioStreamWillStopRecordingAudio` and
    /// `AudioStreamDidStopRecordingAudio`. Does nothing when not recording.
    /// The recording also stops when the stream ends.
    pub fn stop_recording(&self) -> Result<()> {
        Ok(self.inner.stop_recording()?)
    }
}

impl std::fmt::Display for AudioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AudioStream(handle={:#x})", self.handle())
    }
}

impl PartialEq for AudioStream {
    fn eq(&self, other: &Self) -> bool {
        self.handle() == other.handle()
    }
}

impl Eq for AudioStream {}

impl std::hash::Hash for AudioStream {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.handle().hash(state);
    }
}
