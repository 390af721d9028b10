"""Storages for :meth:`SIPApplication.start <sipsimple.application.SIPApplication.start>`.

A storage tells the middleware where its configuration lives:
:class:`FileStorage` keeps it in ``<directory>/config`` (the original
middleware's text format, written atomically), :class:`MemoryStorage` keeps
it in memory only.
"""

from __future__ import annotations

import os
from typing import Union

from sipsimple import _core

__all__ = ["ISIPSimpleStorage", "FileStorage", "MemoryStorage"]


class ISIPSimpleStorage:
    """Base of the storages :meth:`SIPApplication.start` accepts."""

    __slots__ = ("_core_storage",)

    _core_storage: _core.CoreStorage

    def __repr__(self) -> str:
        return repr(self._core_storage)


class FileStorage(ISIPSimpleStorage):
    """Keeps the configuration in ``<directory>/config``.

    The directory is created on the first save if it does not exist.
    """

    __slots__ = ("directory",)

    def __init__(self, directory: Union[str, os.PathLike[str]]) -> None:
        self.directory: str = os.fspath(directory)
        self._core_storage = _core.CoreStorage.file(self.directory)


class MemoryStorage(ISIPSimpleStorage):
    """Keeps the configuration in memory: nothing survives the process."""

    __slots__ = ()

    def __init__(self) -> None:
        self._core_storage = _core.CoreStorage.memory()
