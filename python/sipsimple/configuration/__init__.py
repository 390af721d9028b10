"""Configuration API: settings objects with attribute access.

A settings object (:class:`~sipsimple.configuration.settings.SIPSimpleSettings`,
an :class:`~sipsimple.account.Account` ...) exposes its settings and groups
as attributes: ``account.sip.register_interval = 300``,
``SIPSimpleSettings().rtp.port_range.start``. Assigning validates the value:
an invalid one raises ``ValueError`` naming the setting and the old value
stays. Assigning :class:`DefaultValue` resets a setting to its default.
``save()`` stores the object and posts ``CFGSettingsObjectWasCreated`` (first
save) or ``CFGSettingsObjectDidChange`` with ``data.modified``: setting path
to :class:`ModifiedValue`.
"""

from __future__ import annotations

from typing import Any

from sipsimple import _core
from sipsimple._core import ConfigurationError
from sipsimple._objects import CoreObject
from sipsimple._singleton import Singleton
from sipsimple.configuration.datatypes import PortRange

__all__ = [
    "ConfigurationError",
    "ConfigurationManager",
    "DefaultValue",
    "ModifiedValue",
    "SettingsGroupProxy",
    "SettingsObject",
]


class DefaultValue:
    """Assign this class to a setting to reset it to its default."""


class ModifiedValue:
    """The ``old`` and ``new`` value of a setting in ``data.modified``."""

    __slots__ = ("old", "new")

    def __init__(self, old: Any, new: Any) -> None:
        self.old = old
        self.new = new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModifiedValue):
            return NotImplemented
        return (self.old, self.new) == (other.old, other.new)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(old={self.old!r}, new={self.new!r})"


def _to_setting(value: Any) -> Any:
    if isinstance(value, PortRange):
        return {"start": value.start, "end": value.end}
    return value


def _get(owner: object, settings: _core.CoreSettings, path: str) -> Any:
    kind = settings.path_kind(path)
    if kind == "setting":
        return settings.get(path)
    if kind == "group":
        return SettingsGroupProxy(settings, path)
    raise AttributeError(f"{settings.class_name} {settings.id!r} has no setting or group {path!r}")


def _set(settings: _core.CoreSettings, path: str, value: Any) -> None:
    kind = settings.path_kind(path)
    if kind == "setting":
        if value is DefaultValue:
            settings.reset(path)
        else:
            settings.set(path, _to_setting(value))
    elif kind == "group":
        raise AttributeError(f"{path!r} is a settings group of {settings.class_name}; set its settings instead")
    else:
        raise AttributeError(f"{settings.class_name} {settings.id!r} has no setting {path!r}")


def _dir(settings: _core.CoreSettings, group: str) -> list[str]:
    return settings.children(group)


class SettingsGroupProxy:
    """A settings group of a settings object (``account.sip``)."""

    __slots__ = ("_settings", "_path")

    def __init__(self, settings: _core.CoreSettings, path: str) -> None:
        object.__setattr__(self, "_settings", settings)
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _get(self, self._settings, f"{self._path}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            raise AttributeError(f"cannot set {name!r} on a settings group")
        _set(self._settings, f"{self._path}.{name}", value)

    def __dir__(self) -> list[str]:
        return _dir(self._settings, self._path)

    def __repr__(self) -> str:
        return f"<settings group {self._path!r} of {self._settings.class_name} {self._settings.id!r}>"


class SettingsObject(CoreObject):
    """Base of the objects whose settings are attributes.

    Attribute names that are not settings or groups of the object's schema
    raise ``AttributeError``, on reading and on assignment.
    """

    __slots__ = ("__weakref__", "__dict__")

    _settings: _core.CoreSettings

    @property
    def _handle(self) -> _core.Handle:
        return self._settings.handle

    @property
    def __id__(self) -> str:
        """The object's id in the configuration."""
        return self._settings.id

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _get(self, self._settings, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)
        else:
            _set(self._settings, name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(_dir(self._settings, "")))

    def save(self) -> None:
        """Stores the settings and posts ``CFGSettingsObjectWasCreated`` or
        ``CFGSettingsObjectDidChange``."""
        self._settings.save()

    def delete(self) -> None:
        """Removes the object from the configuration (``RuntimeError`` for singletons)."""
        self._settings.delete()

    def revert(self) -> None:
        """Undoes the changes made since the last save."""
        self._settings.revert()


class ConfigurationManager(CoreObject, metaclass=Singleton):
    """The configuration manager (a singleton): loaded from the storage by
    :meth:`SIPApplication.start <sipsimple.application.SIPApplication.start>`.

    It is the sender of ``CFGManager*`` notifications (``CFGManagerSaveFailed``,
    ``CFGManagerLoadFailed``).
    """

    __slots__ = ("__weakref__", "__dict__")

    @property
    def _handle(self) -> _core.Handle:
        return _core.CoreApplication.configuration_manager_handle()
