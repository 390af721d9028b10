"""The ``Singleton`` metaclass used by the middleware's singletons."""

from __future__ import annotations

import threading
from typing import Any, TypeVar

_T = TypeVar("_T")

__all__ = ["Singleton"]


class Singleton(type):
    """Metaclass whose classes have one instance: every call returns it.

    The instance is created on the first call (thread-safely) and lives for
    the rest of the process.
    """

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
        super().__init__(name, bases, namespace)
        cls._singleton_lock = threading.RLock()
        cls._singleton_instance: Any = None

    def __call__(cls: type[_T], *args: Any, **kwargs: Any) -> _T:
        instance: Any = cls.__dict__.get("_singleton_instance")
        if instance is None:
            with cls._singleton_lock:  # type: ignore[attr-defined]
                instance = cls.__dict__.get("_singleton_instance")
                if instance is None:
                    instance = super().__call__(*args, **kwargs)  # type: ignore[misc]
                    cls._singleton_instance = instance  # type: ignore[attr-defined]
        return instance  # type: ignore[no-any-return]
