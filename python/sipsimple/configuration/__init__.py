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

Applications add their own settings to ``SIPSimpleSettings``, ``Account``
and ``BonjourAccount`` with extensions::

    class LogsExtension(SettingsGroup):
        trace_notifications = Setting(type=bool, default=False)

    class SIPSimpleSettingsExtension(SettingsObjectExtension):
        logs = LogsExtension                    # extends the existing group
        gui_theme = Setting(type=str, default="dark")

    SIPSimpleSettings.register_extension(SIPSimpleSettingsExtension)
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar, Optional

from sipsimple import _core
from sipsimple._core import ConfigurationError
from sipsimple._objects import CoreObject
from sipsimple._singleton import Singleton
from sipsimple.configuration import datatypes
from sipsimple.configuration.datatypes import PortRange

__all__ = [
    "ConfigurationError",
    "ConfigurationManager",
    "DefaultValue",
    "ModifiedValue",
    "Setting",
    "SettingsGroup",
    "SettingsGroupProxy",
    "SettingsObject",
    "SettingsObjectExtension",
]

#: The types an extension's settings may have, and the core's names for them.
_CORE_TYPES: dict[builtins.type, str] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    datatypes.NonNegativeInteger: "nonnegative_int",
    datatypes.PositiveInteger: "positive_int",
    datatypes.Port: "port",
    datatypes.PortRange: "port_range",
    datatypes.SampleRate: "sample_rate",
    datatypes.SIPAddress: "sip_address",
    datatypes.SIPProxyAddress: "sip_proxy_address",
    datatypes.MSRPRelayAddress: "msrp_relay_address",
    datatypes.Path: "path",
    datatypes.XCAPRoot: "xcap_root",
    datatypes.VideoResolution: "video_resolution",
    datatypes.SIPTransport: "sip_transport",
    datatypes.MSRPTransport: "msrp_transport",
    datatypes.List: "string_list",
    datatypes.StringList: "string_list",
    datatypes.AudioCodecList: "audio_codec_list",
    datatypes.VideoCodecList: "video_codec_list",
    datatypes.SIPTransportList: "sip_transport_list",
    datatypes.STUNServerAddressList: "host_port_list",
}


class Setting:
    """A setting declared by an extension (see :class:`SettingsObjectExtension`).

    ``type`` is ``bool``, ``int``, ``float``, ``str`` or one of the classes
    in :mod:`sipsimple.configuration.datatypes`; ``default`` must be valid
    for it. ``nillable`` settings also accept ``None``. A setting that is
    not nillable needs a default (``TypeError``).
    """

    __slots__ = ("type", "default", "nillable")

    def __init__(self, type: builtins.type, default: Any = None, nillable: bool = False) -> None:
        if default is None and not nillable:
            raise TypeError("default must be specified if object is not nillable")
        self.type = type
        self.default = default
        self.nillable = bool(nillable)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(type={self.type!r}, default={self.default!r}, nillable={self.nillable!r})"


class SettingsGroup:
    """Base of the settings groups an extension declares: the class
    attributes of a subclass are :class:`Setting` objects and nested
    ``SettingsGroup`` subclasses. A group named like an existing one
    (``logs``) adds to it.
    """

    __slots__ = ()


class SettingsObjectExtension:
    """Base of an extension of a settings object class: the class attributes
    of a subclass are :class:`Setting` objects and :class:`SettingsGroup`
    subclasses. Register it with
    :meth:`SIPSimpleSettings.register_extension <SettingsObject.register_extension>`
    (or ``Account.register_extension``, ``BonjourAccount.register_extension``).
    """

    __slots__ = ()


def _core_type(path: str, setting_type: object) -> str:
    name = _CORE_TYPES.get(setting_type) if isinstance(setting_type, type) else None
    if name is None:
        supported = ", ".join(sorted({t.__name__ for t in _CORE_TYPES}))
        raise TypeError(f"setting {path!r} has an unsupported type {setting_type!r} (supported: {supported})")
    return name


def _collect(
    owner: type,
    prefix: str,
    settings: list[tuple[str, str, Any, bool]],
    groups: list[str],
    enclosing: tuple[type, ...],
) -> None:
    for name in dir(owner):
        if name.startswith("_"):
            continue
        attribute = getattr(owner, name)
        path = prefix + name
        if isinstance(attribute, Setting):
            settings.append((path, _core_type(path, attribute.type), _to_setting(attribute.default), attribute.nillable))
        elif isinstance(attribute, type) and issubclass(attribute, SettingsGroup):
            if attribute in enclosing:
                raise TypeError(f"settings group {path!r} contains itself")
            groups.append(path)
            _collect(attribute, path + ".", settings, groups, enclosing + (attribute,))


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
    #: The core settings class the objects belong to (``None``: not extensible).
    _core_class_name: ClassVar[Optional[str]] = None

    @classmethod
    def register_extension(cls, extension: type[SettingsObjectExtension]) -> None:
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
        if cls._core_class_name is None:
            raise TypeError(f"{cls.__name__} cannot be extended")
        if not (isinstance(extension, type) and issubclass(extension, SettingsObjectExtension)):
            raise TypeError(f"expected a subclass of SettingsObjectExtension, got {extension!r}")
        settings: list[tuple[str, str, Any, bool]] = []
        groups: list[str] = []
        _collect(extension, "", settings, groups, (extension,))
        _core.CoreSettings.register_extension(cls._core_class_name, settings, groups)

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
