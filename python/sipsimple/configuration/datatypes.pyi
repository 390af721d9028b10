from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

__all__ = ['AudioCodecList', 'List', 'MSRPRelayAddress', 'MSRPTransport', 'NonNegativeInteger', 'Path', 'Port', 'PortRange', 'PositiveInteger', 'SampleRate', 'SIPAddress', 'SIPProxyAddress', 'SIPTransport', 'SIPTransportList', 'StringList', 'STUNServerAddressList', 'VideoCodecList', 'VideoResolution', 'XCAPRoot']

class NonNegativeInteger(int):
    """An integer ``>= 0`` (``ValueError`` otherwise)."""
    def __new__(cls, value: Any) -> NonNegativeInteger: ...

class PositiveInteger(int):
    """An integer ``>= 1`` (``ValueError`` otherwise)."""
    def __new__(cls, value: Any) -> PositiveInteger: ...

class Port(int):
    """A port number, 0 to 65535 (0: any free port); ``ValueError`` otherwise."""
    def __new__(cls, value: Any) -> Port: ...

class SampleRate(int):
    """An audio sample rate in Hz (the setting accepts 16000, 32000 and 48000)."""

class PortRange:
    '''A range of ports ``start``-``end`` (``rtp.port_range``).

    When setting a port range, a ``PortRange``, a ``(start, end)`` tuple or a
    ``"start-end"`` string are accepted; the setting validates the ports.
    '''
    start: int
    end: int
    def __init__(self, start: int, end: int) -> None: ...
    def __iter__(self) -> Iterator[int]: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class SIPAddress(str):
    """A SIP address ``user@domain`` (a ``str``) with ``username`` and ``domain``.

    A leading ``sip:`` is dropped; ``ValueError`` without an ``@``.
    """
    def __new__(cls, address: Any) -> SIPAddress: ...
    @property
    def username(self) -> str:
        """The user part."""
    @property
    def domain(self) -> str:
        """The domain part."""

class SIPProxyAddress(str):
    """``host[:port][;transport=udp|tcp|tls]`` (validated by the setting)."""

class MSRPRelayAddress(str):
    """``host[:port][;transport=tls|tcp]`` of an MSRP relay (validated by the setting)."""

class XCAPRoot(str):
    """An ``http://`` or ``https://`` URL without parameters, query or fragment."""

class VideoResolution(str):
    """``WIDTHxHEIGHT``, e.g. ``"1280x720"``."""

class SIPTransport(str):
    """A SIP transport: ``udp``, ``tcp`` or ``tls`` (``ValueError`` otherwise)."""
    available_values: ClassVar[tuple[str, ...]]
    def __new__(cls, value: Any) -> SIPTransport: ...

class MSRPTransport(str):
    """An MSRP transport: ``tls`` or ``tcp`` (``ValueError`` otherwise)."""
    available_values: ClassVar[tuple[str, ...]]
    def __new__(cls, value: Any) -> MSRPTransport: ...

class Path(str):
    """A filesystem path; ``~`` is kept and expanded by :attr:`normalized`."""
    @property
    def normalized(self) -> str:
        """The path with ``~`` expanded, normalized."""

class List(list[str]):
    """A list of words (a ``list`` of ``str``). Assigning a list setting also
    accepts a ``"a, b, c"`` string."""
    def __init__(self, values: Iterable[Any] = ()) -> None: ...

class StringList(List):
    """A list of words without commas or spaces."""

class AudioCodecList(List):
    """A list of audio codec names (``opus``, ``G722``, ``PCMU``...)."""

class VideoCodecList(List):
    """A list of video codec names (``H264``, ``VP8``, ``VP9``)."""

class SIPTransportList(List):
    """A list of SIP transports (``tls``, ``tcp``, ``udp``)."""

class STUNServerAddressList(List):
    """A list of ``host[:port]`` STUN servers (port 3478 by default)."""
