import os
from typing import IO

__all__ = ['FileSelector']

class FileSelector:
    """The file of a file transfer (the SDP ``a=file-selector`` attribute):
    ``name`` (the base name), ``type`` (MIME type), ``size`` (bytes),
    ``hash`` (``sha-1:XX:...:XX``, 20 upper-case hex pairs) and ``fd`` (an
    already open file, if the application has one). Every field may be
    ``None``."""
    name: str | None
    type: str | None
    size: int | None
    hash: str | None
    fd: IO[bytes] | None
    def __init__(self, name: str | None = None, type: str | None = None, size: int | None = None, hash: str | None = None, fd: IO[bytes] | None = None) -> None: ...
    @classmethod
    def parse(cls, string: str | bytes) -> FileSelector:
        """The selector of an ``a=file-selector`` value; :class:`ValueError`
        when it breaks the RFC 5547 grammar."""
    @classmethod
    def for_file(cls, path: str | os.PathLike[str], content_type: str | None = None, compute_hash: bool = True) -> FileSelector:
        """The selector of the file at ``path``: its base name, its type
        (``content_type``, or guessed from the name), its size and, when
        ``compute_hash``, its SHA-1 hash (the whole file is read: this
        blocks). The file is opened as :attr:`fd`. :class:`ValueError` when
        it cannot be read or is no regular file."""
    @property
    def sdp_repr(self) -> str:
        """The ``a=file-selector`` value: the present fields in the order
        name, type, size, hash. :class:`ValueError` for a malformed hash."""
    def __eq__(self, other: object) -> bool: ...
    __hash__: None  # type: ignore[assignment]
