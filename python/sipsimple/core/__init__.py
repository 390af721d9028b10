"""Core value types and the base exception of core failures.

In the original middleware this module is the SIP engine binding; here it
holds what the engine-independent API needs: :class:`SIPCoreError` and
:class:`Credentials`.
"""

from __future__ import annotations

from sipsimple._core import SIPCoreError

__all__ = ["SIPCoreError", "Credentials"]


class Credentials:
    """Digest credentials: ``username`` and ``password``.

    The password is never shown by ``repr``.
    """

    __slots__ = ("username", "password")

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def __repr__(self) -> str:
        return f"{type(self).__name__}(username={self.username!r}, password='********')"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.username, self.password) == (other.username, other.password)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]
