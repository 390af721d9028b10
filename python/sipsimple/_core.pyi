"""Private extension module of the ``sipsimple`` package (the Rust core).

Use the public modules instead: :mod:`sipsimple.application`,
:mod:`sipsimple.account`, :mod:`sipsimple.notification`,
:mod:`sipsimple.configuration`, :mod:`sipsimple.storage`.
"""

import os
from datetime import datetime
from collections.abc import Callable
from typing import Any, Literal, Optional, Union, final

__all__ = [
    "CoreAccount",
    "CoreAccountManager",
    "CoreApplication",
    "CoreStorage",
    "CoreNotificationCenter",
    "CoreSettings",
    "CoreDNSLookup",
    "CorePendingLookup",
    "CoreDNSManager",
    "CoreSession",
    "CoreAudioStream",
    "CoreAudioMixer",
    "CoreAudioDevice",
    "CoreAudioBridge",
    "CoreWavePlayer",
    "CoreWaveRecorder",
    "CoreAudioConference",
    "CoreChatStream",
    "CoreFileTransferStream",
    "CoreDesktopSharingHandler",
    "CoreDesktopSharingStream",
    "cpim_identity_encode",
    "cpim_identity_parse",
    "cpim_payload_decode",
    "cpim_payload_encode",
    "file_selector_for_file",
    "file_selector_parse",
    "file_selector_sdp_repr",
    "Handle",
    "set_conversion_hooks",
    "SIPCoreError",
    "ConfigurationError",
    "DNSLookupError",
    "__version__",
]

__version__: str

class SIPCoreError(Exception):
    """Base class of the failures reported by the SIP SIMPLE core."""

class ConfigurationError(SIPCoreError):
    """The configuration could not be loaded. `filename` names the file and `line` the 1-based line."""

    filename: str
    line: int
    reason: str

class DNSLookupError(Exception):
    """The error raised by DNSLookup when a lookup cannot be performed."""

@final
class Handle:
    """A reference to a core object (an account, the application...) as found in
    notifications. Equal handles refer to the same object."""

    @property
    def raw(self) -> int:
        """The raw 64-bit value."""
    @property
    def kind(self) -> str:
        """The class name of the object (`Account`, `SIPApplication`...), `Unknown` if garbage."""
    @property
    def label(self) -> Optional[str]:
        """The object's label (an account's id), if it has one."""
    @property
    def live(self) -> bool:
        """True while the handle refers to a live object."""
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class CoreStorage:
    """A storage for `SIPApplication.start`: in memory or in a directory."""

    @staticmethod
    def memory() -> CoreStorage:
        """A storage that keeps the configuration in memory only."""
    @staticmethod
    def file(directory: Union[str, os.PathLike[str]]) -> CoreStorage:
        """A storage that keeps the configuration in `<directory>/config`."""
    @property
    def directory(self) -> Optional[str]:
        """The directory of a file storage, `None` for a memory storage."""

@final
class CoreApplication:
    """Access to the core's `SIPApplication` singleton."""

    @staticmethod
    def start(storage: CoreStorage) -> None:
        """Starts the middleware (GIL released). `RuntimeError` if already
        running, `ConfigurationError` if the configuration cannot be loaded."""
    @staticmethod
    def stop() -> None:
        """Stops the middleware; returns at once, `SIPApplicationDidEnd` follows.
        `RuntimeError` if not running."""
    @staticmethod
    def running() -> bool:
        """True between `start()` and `stop()`."""
    @staticmethod
    def handle() -> Handle:
        """The application's handle (sender of the `SIPApplication*` notifications)."""
    @staticmethod
    def configuration_manager_handle() -> Handle:
        """The `ConfigurationManager`'s handle (sender of `CFGManager*` notifications)."""
    @staticmethod
    def engine_addresses() -> list[tuple[str, str, int]]:
        """The SIP engine's listening addresses as `(transport, ip, port)`
        tuples (`transport` is `udp`, `tcp` or `tls`; `ip` may be `0.0.0.0`
        or `::` when it listens on every interface); empty while the engine
        is not running."""

@final
class CoreNotificationCenter:
    """Access to the core's default notification center."""

    @staticmethod
    def add_observer(
        observer: object,
        dispatch: Callable[[Any, str, Any, dict[str, Any]], object],
        name: Optional[str] = None,
        sender: Any = None,
    ) -> None:
        """Subscribes `observer` to notifications named `name` sent by `sender`
        (`None` = any). Matching notifications are delivered on the delivery
        thread as `dispatch(observer, name, sender, data)`."""
    @staticmethod
    def remove_observer(observer: object, name: Optional[str] = None, sender: Any = None) -> None:
        """Removes the subscription made with exactly these arguments;
        `KeyError` if there is none."""
    @staticmethod
    def discard_observer(observer: object, name: Optional[str] = None, sender: Any = None) -> bool:
        """Like `remove_observer` but silent; returns whether a subscription was removed."""
    @staticmethod
    def purge_observer(observer: object) -> None:
        """Removes every subscription of `observer`."""
    @staticmethod
    def post_notification(name: str, sender: Any = None, data: Optional[dict[str, Any]] = None) -> None:
        """Posts a notification. `data` maps field names to values; a
        `timestamp` is added unless given."""
    @staticmethod
    def flush(timeout: float = 10.0) -> bool:
        """Waits (GIL released) until every notification posted before this call
        has been delivered, at most `timeout` seconds. Returns immediately
        (True) on the delivery thread."""
    @staticmethod
    def is_delivery_thread() -> bool:
        """True when called from the delivery thread."""

@final
class CoreSettings:
    """One settings object, read and written by dotted setting path
    (`sip.register_interval`)."""

    @staticmethod
    def global_settings() -> CoreSettings:
        """The global `SIPSimpleSettings` object."""
    @staticmethod
    def register_extension(
        class_name: str, settings: list[tuple[str, str, Any, bool]], groups: list[str] = ...
    ) -> None:
        """Extends the settings class `class_name` (`SIPSimpleSettings`,
        `Account` or `BonjourAccount`) with `settings`, a list of
        `(path, type_name, default, nillable)` tuples, and `groups` (dotted
        paths), all or nothing. Loaded objects of the class get the settings
        at once, with their stored value if there is one (GIL released while
        they are updated). `ValueError` naming the setting for an unknown
        type name, a refused default or a conflicting path; `KeyError` for an
        unknown class."""
    @property
    def handle(self) -> Handle:
        """The handle of the object (sender of its `CFGSettingsObject*` notifications)."""
    @property
    def id(self) -> str:
        """The object's id (`alice@example.com`, `SIPSimpleSettings`)."""
    @property
    def class_name(self) -> str:
        """The settings class name (`Account`, `BonjourAccount`, `SIPSimpleSettings`)."""
    @property
    def is_new(self) -> bool:
        """True until the first `save()` stored the object."""
    def path_kind(self, path: str) -> Optional[Literal["setting", "group"]]:
        """`"setting"`, `"group"` (`""` is the top group) or `None` for an unknown path."""
    def children(self, group: str = "") -> list[str]:
        """Names of the settings and groups directly under `group`."""
    def get(self, path: str) -> Any:
        """The current value of a setting."""
    def set(self, path: str, value: Any) -> None:
        """Validates and sets a setting; `ValueError` naming it if the value is
        refused (the old value stays)."""
    def reset(self, path: str) -> None:
        """Resets a setting to its default."""
    def revert(self) -> None:
        """Undoes unsaved changes."""
    def save(self) -> None:
        """Stores the object (GIL released) and posts the `CFGSettingsObject*`
        notifications (and `SIPAccountManagerDidAddAccount` for a new account)."""
    def delete(self) -> None:
        """Deletes the object (GIL released). Singletons and the BonjourAccount refuse."""

@final
class CoreAccount:
    """One core account (an `Account` or the `BonjourAccount`)."""

    @property
    def handle(self) -> Handle:
        """The account's handle (sender of its notifications)."""
    @property
    def id(self) -> str:
        """The SIP id, `user@domain`."""
    @property
    def is_bonjour(self) -> bool:
        """True for the BonjourAccount."""
    @property
    def uri(self) -> str:
        """`sip:<id>` (for Bonjour, the contact address)."""
    @property
    def credentials(self) -> tuple[str, str]:
        """`(username, password)` used for digest authentication."""
    @property
    def contact_username(self) -> str:
        """The user part of the account's Contact URIs."""
    def contact_uri(self, transport: str) -> str:
        """The Contact URI for `transport`; `RuntimeError` while the SIP engine has no such transport."""
    @property
    def enabled(self) -> bool:
        """Whether the account is enabled, as saved."""
    @property
    def registered(self) -> bool:
        """True while a registration is active."""
    @property
    def settings(self) -> CoreSettings:
        """The account's settings."""
    def send_message(self, to: str, content_type: str, body: bytes) -> Handle:
        """Sends a paging-mode MESSAGE (RFC 3428) from this account to `to` with
        `body` of type `content_type`; returns at once with the message's
        handle, the sender of `SIPMessageDidSucceed` / `SIPMessageDidFail`.
        `ValueError` for a malformed target or content type, `RuntimeError`
        while the SIP engine is not running."""

@final
class CoreAccountManager:
    """Access to the core's `AccountManager` singleton."""

    @staticmethod
    def handle() -> Handle:
        """The manager's handle (sender of `SIPAccountManager*` notifications)."""
    @staticmethod
    def get_or_create(id: str) -> CoreAccount:
        """`Account(id)`: the existing account or a new, unsaved one.
        `RuntimeError` before the application started, `ValueError` for a bad id."""
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreAccount]:
        """The account behind an account handle, `None` if it is gone."""
    @staticmethod
    def has_account(id: str) -> bool:
        """True if a saved account has this id."""
    @staticmethod
    def get_account(id: str) -> CoreAccount:
        """The saved account with this id; `KeyError` if there is none."""
    @staticmethod
    def get_accounts() -> list[CoreAccount]:
        """Every saved account, the BonjourAccount included."""
    @staticmethod
    def find_account(contact_uri: str) -> Optional[CoreAccount]:
        """The enabled account a request to `contact_uri` belongs to, if any."""
    @staticmethod
    def default_account() -> Optional[CoreAccount]:
        """The default account, if any."""
    @staticmethod
    def set_default_account(account: Optional[CoreAccount]) -> None:
        """Sets (or clears, with `None`) the default account (GIL released).
        `ValueError` unless the account is saved and enabled."""

@final
class CoreDNSLookup:
    """One core `DNSLookup` object. Its handle is released when this object
    goes away; lookups under way still end and post their notification."""

    def __new__(cls) -> CoreDNSLookup:
        """A new lookup object (registered in the core's handle table)."""
    @property
    def handle(self) -> Handle:
        """The object's handle (sender of its notifications)."""
    def lookup_sip_proxy(
        self, uri: str, supported_transports: list[str], tls_name: Optional[str], timeout: float, lifetime: float
    ) -> CorePendingLookup:
        """Starts `lookup_sip_proxy`; the result is a list of route dicts
        (converted by the map hook)."""
    def lookup_service(
        self, uri: str, service: str, port: Optional[int], timeout: float, lifetime: float
    ) -> CorePendingLookup:
        """Starts `lookup_service`; the result is a list of `(address, port)`."""
    def lookup_xcap_server(self, uri: str, timeout: float, lifetime: float) -> CorePendingLookup:
        """Starts `lookup_xcap_server`; the result is a list of URLs."""

@final
class CorePendingLookup:
    """The waitable a lookup method returns."""

    @property
    def ready(self) -> bool:
        """True once the lookup has ended."""
    def wait(self, timeout: Optional[float] = None) -> Any:
        """Waits (without the GIL) until the lookup ends, at most `timeout`
        seconds when given: its result, `DNSLookupError` if it failed,
        `TimeoutError` if it has not ended in time (it goes on)."""

@final
class CoreDNSManager:
    """Access to the core's `DNSManager` singleton."""

    @staticmethod
    def handle() -> Handle:
        """The manager's handle (sender of `DNSResolverDidInitialize` and
        `DNSNameserversDidChange`)."""
    @staticmethod
    def nameservers() -> list[str]:
        """The nameservers lookups use (or will use once started), as text."""
    @staticmethod
    def set_nameservers(nameservers: Optional[list[str]]) -> None:
        """Sets the nameservers (`1.2.3.4`, `1.2.3.4:5353`, `[::1]:5353`), or
        goes back to the system's with `None`. `ValueError` for an entry that
        is not an address (nothing changes then)."""

@final
class CoreSession:
    """One INVITE session."""

    @staticmethod
    def new(account: Handle) -> CoreSession:
        """A new session (state `None`) of the account `account` (a handle)."""
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreSession]:
        """The session behind a handle, `None` if it is no (live) session."""
    @staticmethod
    def sessions() -> list[Handle]:
        """The handles of the sessions that are neither new nor terminated."""
    @property
    def handle(self) -> Handle:
        """The session's handle (the sender of its notifications)."""
    @property
    def account(self) -> Handle:
        """The handle of the session's account."""
    @property
    def state(self) -> Optional[str]:
        """The state: `None`, `connecting`, `incoming`, ... `terminated`."""
    @property
    def direction(self) -> Optional[str]:
        """`incoming`, `outgoing`, or `None` before either."""
    @property
    def transport(self) -> Optional[str]:
        """`udp`, `tcp` or `tls`, once the route is known."""
    @property
    def start_time(self) -> Optional[datetime]:
        """When the session started, as a naive local `datetime`."""
    @property
    def stop_time(self) -> Optional[datetime]:
        """When the session ended or failed, as a naive local `datetime`."""
    @property
    def on_hold(self) -> bool:
        """Some stream is on hold, by either side."""
    @property
    def remote_user_agent(self) -> Optional[str]:
        """The peer's User-Agent, once known."""
    @property
    def local_identity(self) -> str:
        """Our address (`"Alice" <sip:alice@example.com>`)."""
    @property
    def remote_identity(self) -> Optional[str]:
        """The peer's address, once known."""
    @property
    def streams(self) -> list[Handle]:
        """The handles of the active streams."""
    @property
    def proposed_streams(self) -> list[Handle]:
        """The handles of the streams of the pending offer."""
    def connect(self, to: str, streams: list[Handle], subject: Optional[str] = None) -> None:
        """Calls `to` (a SIP URI) offering `streams` (handles); returns at once."""
    def set_is_focus(self, is_focus: bool) -> None:
        """Marks our Contact with `isfocus` (RFC 4579); call before connect or accept."""
    def send_ring_indication(self) -> None:
        """Sends 180 Ringing."""
    def accept(self, streams: list[Handle]) -> None:
        """Answers the incoming offer with `streams` (handles of proposed streams)."""
    def reject(self, code: int = 603, reason: Optional[str] = None) -> None:
        """Rejects the incoming session with `code` and `reason`."""
    def end(self) -> None:
        """Ends the session (CANCEL, decline or BYE)."""
    def hold(self) -> None:
        """Puts the streams on hold."""
    def unhold(self) -> None:
        """Takes the streams off hold."""
    def add_stream(self, stream: Handle) -> None:
        """Proposes one more stream (a handle)."""
    def remove_stream(self, stream: Handle) -> None:
        """Removes an active stream (a handle)."""
    def accept_proposal(self, streams: list[Handle]) -> None:
        """Accepts the peer's proposal with `streams` (handles)."""
    def reject_proposal(self, code: int = 488, reason: Optional[str] = None) -> None:
        """Rejects the peer's proposal."""
    def cancel_proposal(self) -> None:
        """Cancels our pending proposal."""

@final
class CoreAudioStream:
    """One RTP audio stream (`sipsimple.streams.rtp.AudioStream`)."""

    @staticmethod
    def new(account: Handle) -> CoreAudioStream:
        """A new audio stream for sessions of the account `account` (a handle)."""
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreAudioStream]:
        """The audio stream behind a handle, `None` if it is no (live) audio stream."""
    @property
    def handle(self) -> Handle:
        """The stream's handle (the sender of its notifications)."""
    @property
    def account(self) -> Handle:
        """The handle of the account the stream belongs to."""
    @property
    def hold_supported(self) -> bool:
        """Whether the stream supports hold (always true)."""
    @property
    def on_hold_by_local(self) -> bool:
        """Held by us."""
    @property
    def on_hold_by_remote(self) -> bool:
        """Held by the peer."""
    @property
    def on_hold(self) -> bool:
        """Held by either side."""
    @property
    def sample_rate(self) -> Optional[int]:
        """The negotiated sample rate, once started."""
    @property
    def codec(self) -> Optional[str]:
        """The negotiated codec, once started."""
    @property
    def srtp_active(self) -> bool:
        """Whether SRTP protects the media."""
    @property
    def local_rtp_address(self) -> Optional[str]:
        """The local RTP address, once initialized."""
    @property
    def local_rtp_port(self) -> Optional[int]:
        """The local RTP port, once initialized."""
    @property
    def remote_rtp_sdp(self) -> Optional[tuple[str, int]]:
        """`(address, port)` the peer's SDP names for RTP, once started."""
    @property
    def remote_rtp_received(self) -> Optional[tuple[str, int]]:
        """`(address, port)` the peer's RTP comes from, once some arrived."""
    @property
    def recording_filename(self) -> Optional[str]:
        """The WAV file being recorded, if any."""
    @property
    def slot(self) -> Optional[int]:
        """The stream's slot on the voice mixer, once initialized."""
    @property
    def statistics(self) -> dict[str, int]:
        """RTP and jitter-buffer counters, as a dict of integers."""
    def send_dtmf(self, digit: str) -> None:
        """Sends one DTMF digit (`0-9`, `*`, `#`, `A-D`). `ValueError` for
        another character, `RuntimeError` unless the stream is started and
        the peer accepted telephone events."""
    def start_recording(self, filename: Union[str, os.PathLike[str]]) -> None:
        """Records the call into the WAV file `filename` (GIL released)."""
    def stop_recording(self) -> None:
        """Completes the recording (GIL released); nothing when not recording."""

@final
class CoreAudioMixer:
    """A mixer on a sound device (the original's core `AudioMixer`)."""

    @staticmethod
    def voice() -> Optional[CoreAudioMixer]:
        """The application's voice mixer, `None` while it does not run."""
    @staticmethod
    def alert() -> Optional[CoreAudioMixer]:
        """The application's alert mixer, `None` while it does not run."""
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreAudioMixer]:
        """The mixer behind a handle, `None` if it is gone."""
    @property
    def handle(self) -> Handle:
        """The mixer's handle."""
    @property
    def sample_rate(self) -> int:
        """The sample rate."""
    @property
    def input_device(self) -> Optional[str]:
        """The input device setting (`None`: no input)."""
    @property
    def output_device(self) -> Optional[str]:
        """The output device setting (`None`: no output)."""
    @property
    def real_input_device(self) -> Optional[str]:
        """The input device in use (`system_default` resolved)."""
    @property
    def real_output_device(self) -> Optional[str]:
        """The output device in use (`system_default` resolved)."""
    @property
    def muted(self) -> bool:
        """Whether the input is muted."""
    @muted.setter
    def muted(self, muted: bool) -> None: ...
    @property
    def is_running(self) -> bool:
        """Whether the mixer's thread runs."""

@final
class CoreAudioDevice:
    """A mixer's sound device as a port."""

    def __new__(cls, mixer: Handle, input_muted: bool = False, output_muted: bool = False) -> CoreAudioDevice: ...
    @staticmethod
    def voice() -> Optional[CoreAudioDevice]:
        """The application's voice device, `None` while it does not run."""
    @staticmethod
    def alert() -> Optional[CoreAudioDevice]:
        """The application's alert device, `None` while it does not run."""
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreAudioDevice]:
        """The device behind a handle, `None` if it is gone."""
    @property
    def handle(self) -> Handle:
        """The device's handle."""
    @property
    def mixer(self) -> Handle:
        """The handle of its mixer."""
    @property
    def slots(self) -> tuple[Optional[int], Optional[int]]:
        """`(consumer_slot, producer_slot)`."""
    @property
    def input_muted(self) -> bool:
        """Whether it does not produce (the microphone is off)."""
    @input_muted.setter
    def input_muted(self, muted: bool) -> None: ...
    @property
    def output_muted(self) -> bool:
        """Whether it does not consume (the speaker is off)."""
    @output_muted.setter
    def output_muted(self, muted: bool) -> None: ...

@final
class CoreAudioBridge:
    """A full mesh of ports on one mixer."""

    def __new__(cls, mixer: Handle) -> CoreAudioBridge: ...
    @staticmethod
    def voice() -> Optional[CoreAudioBridge]:
        """The application's voice bridge, `None` while it does not run."""
    @staticmethod
    def alert() -> Optional[CoreAudioBridge]:
        """The application's alert bridge, `None` while it does not run."""
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreAudioBridge]:
        """The bridge behind a handle, `None` if it is gone."""
    @staticmethod
    def of_stream(stream: Handle) -> Optional[CoreAudioBridge]:
        """The bridge of an audio stream (a handle), `None` before it is
        initialized and after it ended."""
    @property
    def handle(self) -> Handle:
        """The bridge's handle."""
    @property
    def mixer(self) -> Handle:
        """The handle of its mixer."""
    @property
    def slots(self) -> tuple[Optional[int], Optional[int]]:
        """`(consumer_slot, producer_slot)`."""
    def add(self, port: Handle) -> None:
        """Adds the port behind `port` (a handle). `ValueError` for a port of
        another mixer or the bridge itself, `TypeError` for no port,
        `RuntimeError` for a stopped bridge or an audio stream not initialized."""
    def remove(self, port: Handle) -> None:
        """Removes the member `port` (a handle); `KeyError` if it is none."""
    def contains(self, port: Handle) -> bool:
        """Whether `port` (a handle) is a live member."""
    def ports(self) -> list[Handle]:
        """The handles of the live members."""
    def stop(self) -> None:
        """Disconnects every member; the bridge is unusable afterwards."""

@final
class CoreWavePlayer:
    """A WAV file player."""

    def __new__(
        cls,
        mixer: Handle,
        filename: Union[str, os.PathLike[str]],
        volume: int = 100,
        loop_count: int = 1,
        pause_time: float = 0.0,
        initial_play: bool = True,
    ) -> CoreWavePlayer: ...
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreWavePlayer]:
        """The player behind a handle, `None` if it is gone."""
    @property
    def handle(self) -> Handle:
        """The player's handle (the sender of its notifications)."""
    @property
    def mixer(self) -> Handle:
        """The handle of its mixer."""
    @property
    def slots(self) -> tuple[Optional[int], Optional[int]]:
        """`(consumer_slot, producer_slot)`: a producer slot while active."""
    @property
    def filename(self) -> str:
        """The file played."""
    @filename.setter
    def filename(self, filename: Union[str, os.PathLike[str]]) -> None: ...
    @property
    def volume(self) -> int:
        """Volume, 0-200."""
    @volume.setter
    def volume(self, volume: int) -> None: ...
    @property
    def loop_count(self) -> int:
        """Plays per start; 0 is forever."""
    @loop_count.setter
    def loop_count(self, loop_count: int) -> None: ...
    @property
    def pause_time(self) -> float:
        """Seconds of silence between plays."""
    @pause_time.setter
    def pause_time(self, pause_time: float) -> None: ...
    @property
    def initial_play(self) -> bool:
        """Whether the first play starts at once."""
    @initial_play.setter
    def initial_play(self, initial_play: bool) -> None: ...
    @property
    def is_active(self) -> bool:
        """Playing, or waiting between plays."""
    def start(self) -> None:
        """Starts playing; `RuntimeError` if it is active already."""
    def stop(self) -> None:
        """Stops at once."""
    def play(self, timeout: Optional[float] = None) -> None:
        """Plays and waits (GIL released) until the end; `ValueError` when the
        file cannot be played, `TimeoutError`-like `RuntimeError` after `timeout`."""

@final
class CoreWaveRecorder:
    """A WAV file recorder."""

    def __new__(cls, mixer: Handle, filename: Union[str, os.PathLike[str]]) -> CoreWaveRecorder: ...
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreWaveRecorder]:
        """The recorder behind a handle, `None` if it is gone."""
    @property
    def handle(self) -> Handle:
        """The recorder's handle."""
    @property
    def mixer(self) -> Handle:
        """The handle of its mixer."""
    @property
    def slots(self) -> tuple[Optional[int], Optional[int]]:
        """`(consumer_slot, producer_slot)`: a consumer slot while active."""
    @property
    def filename(self) -> str:
        """The file written."""
    @filename.setter
    def filename(self, filename: Union[str, os.PathLike[str]]) -> None: ...
    @property
    def is_active(self) -> bool:
        """Recording."""
    @property
    def duration(self) -> float:
        """Seconds of audio written since `start`."""
    def start(self) -> None:
        """Creates the file (and missing directories) and starts writing (GIL released)."""
    def stop(self) -> None:
        """Stops and completes the file (GIL released)."""

@final
class CoreAudioConference:
    """Local mixing of audio streams."""

    def __new__(cls) -> CoreAudioConference: ...
    @property
    def handle(self) -> Handle:
        """The conference's handle."""
    @property
    def bridge(self) -> Handle:
        """The handle of its bridge."""
    @property
    def on_hold(self) -> bool:
        """Whether the local device is out of the conference."""
    @property
    def streams(self) -> list[Handle]:
        """The handles of the member streams."""
    def add(self, stream: Handle) -> None:
        """Adds an audio stream (a handle)."""
    def remove(self, stream: Handle) -> None:
        """Removes an audio stream (a handle); `KeyError` if it is no member."""
    def hold(self) -> None:
        """Takes the local device out of the conference."""
    def unhold(self) -> None:
        """Brings the local device back."""

@final
class CoreChatStream:
    """One MSRP chat stream (`sipsimple.streams.msrp.chat.ChatStream`)."""

    @staticmethod
    def new(account: Handle) -> CoreChatStream:
        """A new chat stream for sessions of the account `account` (a handle)."""
    @staticmethod
    def with_accept_types(account: Handle, accept_types: list[str], accept_wrapped_types: list[str]) -> CoreChatStream:
        """A new chat stream that accepts other content types than the default ones."""
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreChatStream]:
        """The chat stream behind a handle, `None` if it is no (live) chat stream."""
    @property
    def handle(self) -> Handle:
        """The stream's handle (the sender of its notifications)."""
    @property
    def account(self) -> Handle:
        """The handle of the account the stream belongs to."""
    @property
    def local_uri(self) -> Optional[str]:
        """Our MSRP URI, once initialized."""
    @property
    def remote_path(self) -> list[str]:
        """The peer's MSRP path (its own URI last), once negotiated."""
    @property
    def cpim_enabled(self) -> Optional[bool]:
        """Whether messages are wrapped in CPIM, once negotiated (`None` before)."""
    def send_message(
        self,
        content: bytes,
        content_type: str,
        recipients: Optional[list[tuple[str, Optional[str]]]] = None,
        courtesy_recipients: list[tuple[str, Optional[str]]] = ...,
        subject: Optional[tuple[Optional[str], list[tuple[str, str]]]] = None,
        timestamp: Optional[str] = None,
        required: list[str] = ...,
        additional_headers: list[tuple[str, Optional[str], str, str]] = ...,
    ) -> str:
        """Sends a message and returns its id. `ValueError` for options the
        peer cannot take, `RuntimeError` once the stream ended."""
    def send_composing_indication(
        self, state: str, refresh: Optional[int] = None, last_active: Optional[float] = None
    ) -> str:
        """Sends an is-composing indication and returns its id."""
    def set_local_nickname(self, nickname: str) -> None:
        """Asks the peer (a conference focus, RFC 7701) to call us `nickname`."""

@final
class CoreFileTransferStream:
    """One MSRP file transfer stream (`sipsimple.streams.msrp.filetransfer.FileTransferStream`)."""

    @staticmethod
    def new(
        account: Handle,
        path: Union[str, os.PathLike[str]],
        selector: tuple[Optional[str], Optional[str], Optional[int], Optional[str]],
    ) -> CoreFileTransferStream:
        """A new stream that sends the file at `path`, described by `(name, type, size, hash)`."""
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreFileTransferStream]:
        """The file transfer stream behind a handle, `None` if it is no (live) one."""
    @property
    def handle(self) -> Handle:
        """The stream's handle (the sender of its notifications)."""
    @property
    def account(self) -> Handle:
        """The handle of the account the stream belongs to."""
    @property
    def file_selector(self) -> tuple[Optional[str], Optional[str], Optional[int], Optional[str]]:
        """The file as `(name, type, size, hash)`."""
    @property
    def direction(self) -> str:
        """`"sendonly"` on the sending side, `"recvonly"` on the receiving side."""
    @property
    def transfer_id(self) -> Optional[str]:
        """The `a=file-transfer-id` of the transfer, if it has one."""
    @property
    def file_path(self) -> Optional[str]:
        """The file on disk (known once the stream is initialized)."""
    @property
    def file_size(self) -> Optional[int]:
        """The size of the file, when known."""
    @property
    def transferred_bytes(self) -> int:
        """Bytes confirmed (sending) or received without a gap (receiving) so far."""
    @property
    def is_done(self) -> bool:
        """Whether the transfer finished or failed."""
    @property
    def save_directory(self) -> Optional[str]:
        """The directory set for the received file."""
    def set_save_directory(self, directory: Union[str, os.PathLike[str]]) -> None:
        """Saves the received file in `directory` (before accepting)."""
    @property
    def local_uri(self) -> Optional[str]:
        """Our MSRP URI, once initialized."""
    @property
    def remote_path(self) -> list[str]:
        """The peer's MSRP path, once negotiated."""

@final
class CoreDesktopSharingHandler:
    """A desktop sharing handler (`InternalVNCViewerHandler`... of `sipsimple.streams.msrp.screensharing`)."""

    @staticmethod
    def internal_viewer() -> CoreDesktopSharingHandler:
        """`InternalVNCViewerHandler()`: the application views."""
    @staticmethod
    def internal_server() -> CoreDesktopSharingHandler:
        """`InternalVNCServerHandler()`: the application shares its screen."""
    @staticmethod
    def external_viewer(host: str, port: int, connect_timeout: float) -> CoreDesktopSharingHandler:
        """`ExternalVNCViewerHandler`: listens on `host`:`port` now."""
    @staticmethod
    def external_server(host: str, port: int, connect_timeout: float) -> CoreDesktopSharingHandler:
        """`ExternalVNCServerHandler`: connects to `host`:`port` once the stream starts."""
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreDesktopSharingHandler]:
        """The handler behind a handle, `None` if it is no (live) handler."""
    @property
    def handle(self) -> Handle:
        """The handler's handle (the sender of its notifications)."""
    @property
    def kind(self) -> str:
        """The original's class name (`InternalVNCViewerHandler`...)."""
    @property
    def type(self) -> str:
        """`"active"` for a viewer, `"passive"` for a server."""
    @property
    def address(self) -> Optional[tuple[str, int]]:
        """`(ip, port)` of an external handler, `None` for internal ones."""
    @property
    def connect_timeout(self) -> float:
        """Seconds an external handler waits for its VNC program."""
    @property
    def stream(self) -> Optional[Handle]:
        """The handle of the stream the handler serves, if any."""
    def send(self, data: bytes) -> None:
        """RFB bytes for the peer (internal handlers)."""

@final
class CoreDesktopSharingStream:
    """One desktop sharing stream (`sipsimple.streams.msrp.screensharing.DesktopSharingStream`)."""

    @staticmethod
    def new(account: Handle, handler: CoreDesktopSharingHandler) -> CoreDesktopSharingStream:
        """A new stream for sessions of `account` whose RFB data `handler` produces and consumes."""
    @staticmethod
    def resolve(handle: Handle) -> Optional[CoreDesktopSharingStream]:
        """The desktop sharing stream behind a handle, `None` if it is no (live) one."""
    @property
    def handle(self) -> Handle:
        """The stream's handle (the sender of its notifications)."""
    @property
    def account(self) -> Handle:
        """The handle of the account the stream belongs to."""
    @property
    def handler(self) -> CoreDesktopSharingHandler:
        """The handler."""
    def set_handler(self, handler: CoreDesktopSharingHandler) -> None:
        """Replaces the handler before the stream starts."""
    @property
    def local_uri(self) -> Optional[str]:
        """Our MSRP URI, once initialized."""
    @property
    def remote_path(self) -> list[str]:
        """The peer's MSRP path, once negotiated."""

def file_selector_parse(value: str) -> tuple[Optional[str], Optional[str], Optional[int], Optional[str]]:
    """Reads the value of an `a=file-selector:` line as `(name, type, size, hash)`."""

def file_selector_for_file(
    path: Union[str, os.PathLike[str]], content_type: Optional[str] = None, compute_hash: bool = True
) -> tuple[Optional[str], Optional[str], Optional[int], Optional[str]]:
    """`(name, type, size, hash)` of the file at `path`."""

def file_selector_sdp_repr(
    name: Optional[str], content_type: Optional[str], size: Optional[int], hash: Optional[str]
) -> str:
    """The `a=file-selector:` value of `(name, type, size, hash)`."""

def cpim_identity_parse(value: str) -> tuple[str, Optional[str]]:
    """Parses a CPIM identity into `(uri, display_name)`."""

def cpim_identity_encode(uri: str, display_name: Optional[str] = None) -> str:
    """The CPIM header form of an identity."""

_PayloadParts = tuple[
    bytes,
    str,
    Optional[str],
    Optional[tuple[str, Optional[str]]],
    list[tuple[str, Optional[str]]],
    list[tuple[str, Optional[str]]],
    Optional[tuple[Optional[str], list[tuple[str, str]]]],
    Optional[str],
    list[str],
    list[tuple[str, Optional[str], str, str]],
]

def cpim_payload_decode(payload: bytes) -> _PayloadParts:
    """Parses a `message/cpim` payload into its fields."""

def cpim_payload_encode(parts: _PayloadParts) -> bytes:
    """Writes a `message/cpim` payload from its fields."""

def set_conversion_hooks(
    handle_hook: Callable[[Handle], Any], map_hook: Callable[[dict[str, Any]], Any]
) -> None:
    """Installs the conversion hooks (once per process): `handle_hook(handle)`
    turns a handle into the Python object for it, `map_hook(dict)` turns a
    core map into its Python type or returns the dict."""
