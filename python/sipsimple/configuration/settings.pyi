from sipsimple.configuration import SettingsObject
from sipsimple._singleton import Singleton

__all__ = ['SIPSimpleSettings']

class SIPSimpleSettings(SettingsObject, metaclass=Singleton):
    """The middleware's global settings (a singleton): ``user_agent``,
    ``sip.udp_port``, ``rtp.port_range`` ... They are loaded from the storage
    when the application starts; :meth:`save` stores them.
    """
    def __init__(self) -> None: ...
