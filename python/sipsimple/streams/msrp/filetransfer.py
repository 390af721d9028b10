"""File transfer over MSRP (RFC 5547): :class:`FileTransferStream` and
:class:`FileSelector`, which names the file a file transfer stream
carries.

::

    selector = FileSelector.for_file("/tmp/report.pdf")
    selector.sdp_repr  # 'name:"report.pdf" type:application/pdf size:... hash:sha-1:...'
    session.connect("sip:bob@example.com", streams=[FileTransferStream(account, selector)])
"""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Any, Optional, Union

from sipsimple import _core
from sipsimple.streams.msrp import MSRPStreamBase, MSRPStreamError

if TYPE_CHECKING:
    from sipsimple.account import Account, BonjourAccount

__all__ = ["FileTransferStream", "FileSelector"]


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


class FileTransferStream(MSRPStreamBase):
    """One file sent or received over MSRP (RFC 5547).

    ``FileTransferStream(account, file_selector)`` sends a file: make the
    selector with :meth:`FileSelector.for_file`, whose open :attr:`fd
    <FileSelector.fd>` names the file (its hash is what the receiver checks
    the file against). A file offered by the peer arrives as a receiving
    stream among the proposed streams of ``SIPSessionNewIncoming``; set
    :attr:`save_directory` before accepting it, else the
    ``file_transfer.directory`` setting applies. The received file is
    written under the peer's name made safe (``name-1.ext``... when taken).

    Notifications (sender: the stream), besides the ``MediaStream*`` ones:

    * ``FileTransferStreamDidDeliverChunk`` (sending side): ``message_id``,
      ``code`` (200), ``reason``, ``transferred_bytes`` (confirmed by the
      peer so far) and ``file_size``;
    * ``FileTransferStreamDidNotDeliverChunk`` (sending side):
      ``message_id``, ``code``, ``reason``;
    * ``FileTransferStreamGotChunk`` (receiving side): ``content`` (the
      bytes of this part), ``content_type``, ``transferred_bytes``,
      ``file_size``;
    * ``FileTransferStreamDidFinish`` (both sides).

    A transfer that fails ends with ``MediaStreamDidFail`` (context
    ``transferring``)."""

    type = "file-transfer"
    priority = 10
    media_type = "message"
    accept_types = ["*"]
    accept_wrapped_types = ["*"]

    _core_class = _core.CoreFileTransferStream

    def __init__(
        self, account: Union[Account, BonjourAccount, None] = None, file_selector: Optional[FileSelector] = None
    ) -> None:
        if file_selector is None:
            raise ValueError("a file selector is needed to send a file (incoming transfers come from the peer's offer)")
        self._file_selector: Optional[FileSelector] = file_selector
        self._path = _file_path(file_selector)
        self.direction = "sendonly"
        self._core_stream = None
        if account is not None:
            self._bind(account)

    def _new_core(self, account: _core.Handle) -> Any:
        selector = self._file_selector
        assert selector is not None
        size = selector.size if selector.size is not None else os.path.getsize(self._path)
        return _core.CoreFileTransferStream.new(account, self._path, (selector.name, selector.type, size, selector.hash))

    @classmethod
    def _wrap(cls, core: Any) -> MSRPStreamBase:
        obj = super()._wrap(core)
        obj.direction = core.direction
        return obj

    @property
    def file_selector(self) -> Optional[FileSelector]:
        """The file: ours when sending, the peer's when receiving."""
        if self._core_stream is None:
            return getattr(self, "_file_selector", None)
        if getattr(self, "_file_selector", None) is not None:
            return self._file_selector
        name, content_type, size, hash = self._core_stream.file_selector
        return FileSelector(name, content_type, size, hash)

    @property
    def transfer_id(self) -> Optional[str]:
        """The ``a=file-transfer-id`` of the transfer, if it has one."""
        return None if self._core_stream is None else self._core_stream.transfer_id  # type: ignore[no-any-return]

    @property
    def file_path(self) -> Optional[str]:
        """The file on disk: the one sent, or where the received file is
        written (known once the stream is initialized)."""
        if self._core_stream is None:
            return getattr(self, "_path", None)
        path = self._core_stream.file_path
        return None if path is None else os.fspath(path)

    @property
    def file_size(self) -> Optional[int]:
        """The size of the file, when known."""
        if self._core_stream is None:
            selector = getattr(self, "_file_selector", None)
            return None if selector is None else selector.size
        return self._core_stream.file_size  # type: ignore[no-any-return]

    @property
    def transferred_bytes(self) -> int:
        """Bytes confirmed by the peer (sending) or received without a gap
        from the start (receiving) so far."""
        return 0 if self._core_stream is None else self._core_stream.transferred_bytes  # type: ignore[no-any-return]

    @property
    def finished(self) -> bool:
        """Whether the transfer is over: ``FileTransferStreamDidFinish`` was
        posted or it failed."""
        return False if self._core_stream is None else self._core_stream.is_done  # type: ignore[no-any-return]

    @property
    def save_directory(self) -> Optional[str]:
        """Where a received file is saved: the directory set here, or
        ``None`` for the ``file_transfer.directory`` setting. Set it on a
        receiving stream before accepting it (:class:`MSRPStreamError`
        otherwise)."""
        if self._core_stream is None:
            return None
        directory = self._core_stream.save_directory
        return None if directory is None else os.fspath(directory)

    @save_directory.setter
    def save_directory(self, value: Union[str, os.PathLike[str]]) -> None:
        if self._core_stream is None:
            raise MSRPStreamError("only a received file has a save directory")
        try:
            self._core_stream.set_save_directory(os.fspath(value))
        except RuntimeError as e:
            raise MSRPStreamError(str(e)) from e


def _file_path(selector: FileSelector) -> str:
    """The path of the file a selector describes (the name of its open
    :attr:`~FileSelector.fd`)."""
    name = getattr(selector.fd, "name", None)
    if isinstance(name, (str, bytes, os.PathLike)):
        return os.fsdecode(name)
    raise ValueError("the file selector has no open file (make it with FileSelector.for_file)")


def _from_core_handle(handle: _core.Handle) -> Any:
    """The Python object for a file transfer stream handle (the handle if
    it is gone)."""
    core = _core.CoreFileTransferStream.resolve(handle)
    if core is None:
        return handle
    return FileTransferStream._wrap(core)
