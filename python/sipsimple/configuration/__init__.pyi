import builtins
from sipsimple import _core
from sipsimple._core import ConfigurationError as ConfigurationError
from sipsimple._objects import CoreObject
from typing import Any, ClassVar
from sipsimple._singleton import Singleton

__all__ = ['ConfigurationError', 'ConfigurationManager', 'DefaultValue', 'ModifiedValue', 'Setting', 'SettingsGroup', 'SettingsGroupProxy', 'SettingsObject', 'SettingsObjectExtension']

class Setting:
    """A setting declared by an extension (see :class:`SettingsObjectExtension`).

    ``type`` is ``bool``, ``int``, ``float``, ``str`` or one of the classes
    in :mod:`sipsimple.configuration.datatypes`; ``default`` must be valid
    for it. ``nillable`` settings also accept ``None``. A setting that is
    not nillable needs a default (``TypeError``).
    """
    type: builtins.type
    default: Any
    nillable: bool
    def __init__(self, type: builtins.type, default: Any = None, nillable: bool = False) -> None: ...

class SettingsGroup:
    """Base of the settings groups an extension declares: the class
    attributes of a subclass are :class:`Setting` objects and nested
    ``SettingsGroup`` subclasses. A group named like an existing one
    (``logs``) adds to it.
    """

class SettingsObjectExtension:
    """Base of an extension of a settings object class: the class attributes
    of a subclass are :class:`Setting` objects and :class:`SettingsGroup`
    subclasses. Register it with
    :meth:`SIPSimpleSettings.register_extension <SettingsObject.register_extension>`
    (or ``Account.register_extension``, ``BonjourAccount.register_extension``).
    """

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
    @classmethod
    def register_extension(cls, extension: builtins.type[SettingsObjectExtension]) -> None:
        """Adds the settings and groups of ``extension`` (a
        :class:`SettingsObjectExtension` subclass) to this class. A group
        named like an existing one adds to it; a setting named like an
        existing one replaces it. Objects already loaded get the new
        settings at once, with the value stored for them if there is one.

        ``TypeError`` for something that is not an extension or a setting of
        an unsupported type, ``ValueError`` naming the setting for a default
        its type refuses or a name that clashes with a group or setting;
        nothing is registered then.
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
