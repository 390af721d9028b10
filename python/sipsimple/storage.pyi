import os

__all__ = ['ISIPSimpleStorage', 'FileStorage', 'MemoryStorage']

class ISIPSimpleStorage:
    """Base of the storages :meth:`SIPApplication.start` accepts."""

class FileStorage(ISIPSimpleStorage):
    """Keeps the configuration in ``<directory>/config``.

    The directory is created on the first save if it does not exist.
    """
    directory: str
    def __init__(self, directory: str | os.PathLike[str]) -> None: ...

class MemoryStorage(ISIPSimpleStorage):
    """Keeps the configuration in memory: nothing survives the process."""
    def __init__(self) -> None: ...
