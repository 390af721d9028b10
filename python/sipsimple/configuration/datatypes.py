"""Value types of settings: :class:`PortRange`, :class:`SIPAddress`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["PortRange", "SIPAddress"]


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
