"""The global settings: :class:`SIPSimpleSettings`."""

from __future__ import annotations

from sipsimple import _core
from sipsimple._singleton import Singleton
from sipsimple.configuration import SettingsObject

__all__ = ["SIPSimpleSettings"]


class SIPSimpleSettings(SettingsObject, metaclass=Singleton):
    """The middleware's global settings (a singleton): ``user_agent``,
    ``sip.udp_port``, ``rtp.port_range`` ... They are loaded from the storage
    when the application starts; :meth:`save` stores them.
    """

    __slots__ = ()
    _core_class_name = "SIPSimpleSettings"

    def __init__(self) -> None:
        object.__setattr__(self, "_settings", _core.CoreSettings.global_settings())

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
