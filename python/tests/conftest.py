"""Shared fixtures: a notification recorder and the application lifecycle.

The application is a process-wide singleton: every test that starts it gets
it stopped in teardown, which waits for ``SIPApplicationDidEnd`` so no
notification of one test reaches the next. A watchdog ends the process with
a traceback dump if a test hangs (a deadlock cannot be interrupted
otherwise).
"""

from __future__ import annotations

import faulthandler
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

from sipsimple.application import SIPApplication
from sipsimple.notification import Notification, NotificationCenter
from sipsimple.storage import FileStorage

#: How long a test waits for a notification before failing.
TIMEOUT = 10.0
#: How long one test may run before the watchdog ends the process.
WATCHDOG = 120.0


class Recorder:
    """An observer that records notifications; ``wait_for`` blocks (with a
    timeout) until a matching one arrived."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.notifications: list[Notification] = []

    def handle_notification(self, notification: Notification) -> None:
        with self.condition:
            self.notifications.append(notification)
            self.condition.notify_all()

    def _find(self, name: str, predicate: Callable[[Notification], bool]) -> Optional[Notification]:
        for n in self.notifications:
            if n.name == name and predicate(n):
                return n
        return None

    def wait_for(
        self,
        name: str,
        predicate: Callable[[Notification], bool] = lambda n: True,
        timeout: float = TIMEOUT,
    ) -> Notification:
        with self.condition:
            found = self.condition.wait_for(lambda: self._find(name, predicate), timeout)
            assert found is not None, f"no {name} within {timeout}s; got {self.names()}"
            return found

    def names(self) -> list[str]:
        with self.condition:
            return [n.name for n in self.notifications]

    def named(self, name: str) -> list[Notification]:
        with self.condition:
            return [n for n in self.notifications if n.name == name]

    def clear(self) -> None:
        with self.condition:
            self.notifications.clear()


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    faulthandler.dump_traceback_later(WATCHDOG, exit=True, file=sys.stderr)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A recorder observing every notification."""
    r = Recorder()
    NotificationCenter().add_observer(r)
    yield r
    NotificationCenter().purge_observer(r)


class _EndWatcher:
    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.will_end = 0
        self.did_end = 0

    def handle_notification(self, notification: Notification) -> None:
        with self.condition:
            if notification.name == "SIPApplicationWillEnd":
                self.will_end += 1
            else:
                self.did_end += 1
            self.condition.notify_all()


@pytest.fixture
def app() -> Iterator[SIPApplication]:
    """The application; stopped (and DidEnd awaited) in teardown."""
    application = SIPApplication()
    watcher = _EndWatcher()
    nc = NotificationCenter()
    nc.add_observer(watcher, name="SIPApplicationWillEnd", sender=application)
    nc.add_observer(watcher, name="SIPApplicationDidEnd", sender=application)
    try:
        yield application
    finally:
        if application.running:
            application.stop()
        # A stop the test made itself posted WillEnd before returning, but
        # delivery is asynchronous: let it reach the watcher, so the wait
        # below covers that stop too.
        nc._flush()
        with watcher.condition:
            done = watcher.condition.wait_for(lambda: watcher.did_end >= watcher.will_end, TIMEOUT)
        nc.purge_observer(watcher)
        assert done, "SIPApplicationDidEnd did not arrive after stop()"
        assert not application.running


@pytest.fixture
def started(app: SIPApplication, recorder: Recorder, tmp_path: Path) -> SIPApplication:
    """The application started with a FileStorage in a temporary directory."""
    app.start(FileStorage(tmp_path))
    recorder.wait_for("SIPApplicationDidStart")
    return app


def make_observer(callback: Callable[[Notification], Any]) -> Any:
    """An observer object calling ``callback``."""

    class Observer:
        def handle_notification(self, notification: Notification) -> None:
            callback(notification)

    return Observer()
