"""File transfer over MSRP (RFC 5547): :class:`FileSelector`, which names
the file a file transfer stream carries.

::

    selector = FileSelector.for_file("/tmp/report.pdf")
    selector.sdp_repr  # 'name:"report.pdf" type:application/pdf size:... hash:sha-1:...'
"""

from __future__ import annotations

import os
from typing import IO, Optional, Union

from sipsimple import _core

__all__ = ["FileSelector"]


class FileSelector:
    """The file of a file transfer (the SDP ``a=file-selector`` attribute):
    ``name`` (the base name), ``type`` (MIME type), ``size`` (bytes),
    ``hash`` (``sha-1:XX:...:XX``, 20 upper-case hex pairs) and ``fd`` (an
    already open file, if the application has one). Every field may be
    ``None``."""

    __slots__ = ("name", "type", "size", "hash", "fd")

    def __init__(
        self,
        name: Optional[str] = None,
        type: Optional[str] = None,
        size: Optional[int] = None,
        hash: Optional[str] = None,
        fd: Optional[IO[bytes]] = None,
    ) -> None:
        self.name = name
        self.type = type
        self.size = size
        self.hash = hash
        self.fd = fd

    @classmethod
    def parse(cls, string: Union[str, bytes]) -> FileSelector:
        """The selector of an ``a=file-selector`` value; :class:`ValueError`
        when it breaks the RFC 5547 grammar."""
        text = string.decode() if isinstance(string, bytes) else string
        name, content_type, size, hash = _core.file_selector_parse(text)
        return cls(name, content_type, size, hash)

    @classmethod
    def for_file(
        cls, path: Union[str, os.PathLike[str]], content_type: Optional[str] = None, compute_hash: bool = True
    ) -> FileSelector:
        """The selector of the file at ``path``: its base name, its type
        (``content_type``, or guessed from the name), its size and, when
        ``compute_hash``, its SHA-1 hash (the whole file is read: this
        blocks). The file is opened as :attr:`fd`. :class:`ValueError` when
        it cannot be read or is no regular file."""
        name, guessed_type, size, hash = _core.file_selector_for_file(os.fspath(path), content_type, compute_hash)
        fd = open(path, "rb")  # noqa: SIM115 (the selector owns the open file, as in the original)
        return cls(name, guessed_type, size, hash, fd)

    @property
    def sdp_repr(self) -> str:
        """The ``a=file-selector`` value: the present fields in the order
        name, type, size, hash. :class:`ValueError` for a malformed hash."""
        return _core.file_selector_sdp_repr(self.name, self.type, self.size, self.hash)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FileSelector):
            return NotImplemented
        return (self.name, self.type, self.size, self.hash) == (other.name, other.type, other.size, other.hash)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, type={self.type!r}, size={self.size!r}, hash={self.hash!r})"
