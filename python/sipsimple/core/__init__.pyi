from typing import ClassVar
from sipsimple._core import SIPCoreError as SIPCoreError

__all__ = ['SIPCoreError', 'Credentials']

class Credentials:
    """Digest credentials: ``username`` and ``password``.

    The password is never shown by ``repr``.
    """
    username: str
    password: str
    def __init__(self, username: str, password: str) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]
