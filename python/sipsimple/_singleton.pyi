from typing import Any, TypeVar

_T = TypeVar("_T")

__all__ = ['Singleton']

class Singleton(type):
    """Metaclass whose classes have one instance: every call returns it.

    The instance is created on the first call (thread-safely) and lives for
    the rest of the process.
    """
    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None: ...
    def __call__(cls: type[_T], *args: Any, **kwargs: Any) -> _T: ...
