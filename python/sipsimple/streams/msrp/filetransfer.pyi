import os
from sipsimple.account import Account, BonjourAccount
from sipsimple.streams.msrp import MSRPStreamBase
from typing import IO

__all__ = ['FileTransferStream', 'FileSelector']

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
    def __init__(self, account: Account | BonjourAccount | None = None, file_selector: FileSelector | None = None) -> None: ...
    @property
    def file_selector(self) -> FileSelector | None:
        """The file: ours when sending, the peer's when receiving."""
    @property
    def transfer_id(self) -> str | None:
        """The ``a=file-transfer-id`` of the transfer, if it has one."""
    @property
    def file_path(self) -> str | None:
        """The file on disk: the one sent, or where the received file is
        written (known once the stream is initialized)."""
    @property
    def file_size(self) -> int | None:
        """The size of the file, when known."""
    @property
    def transferred_bytes(self) -> int:
        """Bytes confirmed by the peer (sending) or received without a gap
        from the start (receiving) so far."""
    @property
    def finished(self) -> bool:
        """Whether the transfer is over: ``FileTransferStreamDidFinish`` was
        posted or it failed."""
    @property
    def save_directory(self) -> str | None:
        """Where a received file is saved: the directory set here, or
        ``None`` for the ``file_transfer.directory`` setting. Set it on a
        receiving stream before accepting it (:class:`MSRPStreamError`
        otherwise)."""
    @save_directory.setter
    def save_directory(self, value: str | os.PathLike[str]) -> None: ...
