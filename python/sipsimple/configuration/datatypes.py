"""Value types of settings.

These classes name the types of the settings an application adds with
:meth:`SettingsObject.register_extension
<sipsimple.configuration.SettingsObject.register_extension>` (``Setting(type=Port,
default=5060)``) and can be used to build values. Reading a setting gives
plain Python values (``int``, ``str``, ``list``; :class:`PortRange` for port
ranges); the setting itself validates what is assigned to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = [
    "AudioCodecList",
    "List",
    "MSRPRelayAddress",
    "MSRPTransport",
    "NonNegativeInteger",
    "Path",
    "Port",
    "PortRange",
    "PositiveInteger",
    "SampleRate",
    "SIPAddress",
    "SIPProxyAddress",
    "SIPTransport",
    "SIPTransportList",
    "StringList",
    "STUNServerAddressList",
    "VideoCodecList",
    "VideoResolution",
    "XCAPRoot",
]


class NonNegativeInteger(int):
    """An integer ``>= 0`` (``ValueError`` otherwise)."""

    __slots__ = ()

    def __new__(cls, value: Any) -> NonNegativeInteger:
        number = int(value)
        if number < 0:
            raise ValueError(f"non-negative int expected, found {number}")
        return super().__new__(cls, number)


class PositiveInteger(int):
    """An integer ``>= 1`` (``ValueError`` otherwise)."""

    __slots__ = ()

    def __new__(cls, value: Any) -> PositiveInteger:
        number = int(value)
        if number < 1:
            raise ValueError(f"positive int expected, found {number}")
        return super().__new__(cls, number)


class Port(int):
    """A port number, 0 to 65535 (0: any free port); ``ValueError`` otherwise."""

    __slots__ = ()

    def __new__(cls, value: Any) -> Port:
        number = int(value)
        if not 0 <= number <= 65535:
            raise ValueError(f"illegal port value: {number}")
        return super().__new__(cls, number)


class SampleRate(int):
    """An audio sample rate in Hz (the setting accepts 16000, 32000 and 48000)."""

    __slots__ = ()


class PortRange:
    """A range of ports ``start``-``end`` (``rtp.port_range``).

    When setting a port range, a ``PortRange``, a ``(start, end)`` tuple or a
    ``"start-end"`` string are accepted; the setting validates the ports.
    """

    __slots__ = ("start", "end")

    def __init__(self, start: int, end: int) -> None:
        self.start = int(start)
        self.end = int(end)

    def __iter__(self) -> Iterator[int]:
        yield self.start
        yield self.end

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PortRange):
            return (self.start, self.end) == (other.start, other.end)
        if isinstance(other, tuple):
            return (self.start, self.end) == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((self.start, self.end))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(start={self.start!r}, end={self.end!r})"

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


class SIPAddress(str):
    """A SIP address ``user@domain`` (a ``str``) with ``username`` and ``domain``.

    A leading ``sip:`` is dropped; ``ValueError`` without an ``@``.
    """

    def __new__(cls, address: Any) -> SIPAddress:
        text = str(address)
        if text.startswith("sip:"):
            text = text[4:]
        if "@" not in text:
            raise ValueError(f"invalid SIP address: {address!r}")
        return super().__new__(cls, text)

    @property
    def username(self) -> str:
        """The user part."""
        return self.split("@", 1)[0]

    @property
    def domain(self) -> str:
        """The domain part."""
        return self.split("@", 1)[1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


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

    available_values = ("udp", "tcp", "tls")

    def __new__(cls, value: Any) -> SIPTransport:
        text = str(value)
        if text not in cls.available_values:
            raise ValueError(f"illegal value for SIP transport: {text}")
        return super().__new__(cls, text)


class MSRPTransport(str):
    """An MSRP transport: ``tls`` or ``tcp`` (``ValueError`` otherwise)."""

    available_values = ("tls", "tcp")

    def __new__(cls, value: Any) -> MSRPTransport:
        text = str(value)
        if text not in cls.available_values:
            raise ValueError(f"illegal value for MSRP transport: {text}")
        return super().__new__(cls, text)


class Path(str):
    """A filesystem path; ``~`` is kept and expanded by :attr:`normalized`."""

    @property
    def normalized(self) -> str:
        """The path with ``~`` expanded, normalized."""
        return os.path.normpath(os.path.expanduser(self))


class List(list[str]):
    """A list of words (a ``list`` of ``str``). Assigning a list setting also
    accepts a ``"a, b, c"`` string."""

    def __init__(self, values: Iterable[Any] = ()) -> None:
        super().__init__(str(v) for v in values)


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
