from sipsimple import _core
from sipsimple._core import ConfigurationError as ConfigurationError
from sipsimple._objects import CoreObject
from typing import Any, ClassVar
from sipsimple._singleton import Singleton

__all__ = ['ConfigurationError', 'ConfigurationManager', 'DefaultValue', 'ModifiedValue', 'SettingsGroupProxy', 'SettingsObject']

class DefaultValue:
    """Assign this class to a setting to reset it to its default."""

class ModifiedValue:
    """The ``old`` and ``new`` value of a setting in ``data.modified``."""
    old: Any
    new: Any
    def __init__(self, old: Any, new: Any) -> None: ...
    def __eq__(self, other: object) -> bool: ...
    def __ne__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

class SettingsGroupProxy:
    """A settings group of a settings object (``account.sip``)."""
    def __init__(self, settings: _core.CoreSettings, path: str) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any) -> None: ...
    def __dir__(self) -> list[str]: ...

class SettingsObject(CoreObject):
    """Base of the objects whose settings are attributes.

    Attribute names that are not settings or groups of the object's schema
    raise ``AttributeError``, on reading and on assignment.
    """
    @property
    def __id__(self) -> str:
        """The object's id in the configuration."""
    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any) -> None: ...
    def __dir__(self) -> list[str]: ...
    def save(self) -> None:
        """Stores the settings and posts ``CFGSettingsObjectWasCreated`` or
        ``CFGSettingsObjectDidChange``."""
    def delete(self) -> None:
        """Removes the object from the configuration (``RuntimeError`` for singletons)."""
    def revert(self) -> None:
        """Undoes the changes made since the last save."""

class ConfigurationManager(CoreObject, metaclass=Singleton):
    """The configuration manager (a singleton): loaded from the storage by
    :meth:`SIPApplication.start <sipsimple.application.SIPApplication.start>`.

    It is the sender of ``CFGManager*`` notifications (``CFGManagerSaveFailed``,
    ``CFGManagerLoadFailed``).
    """
