from collections.abc import Iterator
from typing import Any

__all__ = ['PortRange', 'SIPAddress']

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
