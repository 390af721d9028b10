"""SIP SIMPLE client SDK: the python-sipsimple middleware API on a Rust core.

The public modules follow the original middleware:

* :mod:`sipsimple.application` -- :class:`SIPApplication`
* :mod:`sipsimple.storage` -- :class:`FileStorage`, :class:`MemoryStorage`
* :mod:`sipsimple.notification` -- :class:`NotificationCenter` and friends
* :mod:`sipsimple.account` -- :class:`AccountManager`, :class:`Account`, :class:`BonjourAccount`
* :mod:`sipsimple.messaging` -- :class:`PagingMessage` (SIP MESSAGE requests)
* :mod:`sipsimple.lookup` -- :class:`DNSLookup`, :class:`Route` (RFC 3263 and other DNS lookups)
* :mod:`sipsimple.configuration` (and ``.settings``, ``.datatypes``) -- settings
* :mod:`sipsimple.core` -- :class:`SIPCoreError` and core value types (:class:`Route`...)

Notifications are delivered on one dedicated delivery thread, in posting order.
"""

from sipsimple import _objects  # noqa: F401  (installs the value conversion hooks)
from sipsimple._core import __version__

__all__ = ["__version__"]
