"""NotificationCenter semantics: filters, failures, identity, threads."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

import pytest

from conftest import TIMEOUT, Recorder, make_observer
from sipsimple.account import Account
from sipsimple.application import SIPApplication
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.notification import Notification, NotificationCenter, NotificationData


class Sender:
    """A plain Python object used as a sender."""


def test_singleton_and_observer_type_check() -> None:
    assert NotificationCenter() is NotificationCenter()
    with pytest.raises(TypeError):
        NotificationCenter().add_observer(object())  # type: ignore[arg-type]


def test_name_and_sender_filters() -> None:
    nc = NotificationCenter()
    s1, s2 = Sender(), Sender()
    by_name, by_sender, by_both, anything, last = Recorder(), Recorder(), Recorder(), Recorder(), Recorder()
    nc.add_observer(by_name, name="TestA")
    nc.add_observer(by_sender, sender=s1)
    nc.add_observer(by_both, name="TestB", sender=s1)
    nc.add_observer(anything)
    nc.add_observer(anything, name="TestA")  # still one delivery per notification
    nc.add_observer(last, name="TestEnd")
    try:
        nc.post_notification("TestA", sender=s2)
        nc.post_notification("TestB", sender=s1)
        nc.post_notification("TestB", sender=s2)
        nc.post_notification("TestA", sender=s1)
        nc.post_notification("TestEnd")
        last.wait_for("TestEnd")
        assert [(n.name, n.sender) for n in by_name.notifications] == [("TestA", s2), ("TestA", s1)]
        assert [(n.name, n.sender) for n in by_sender.notifications] == [("TestB", s1), ("TestA", s1)]
        assert [(n.name, n.sender) for n in by_both.notifications] == [("TestB", s1)]
        assert [n.name for n in anything.notifications if n.name.startswith("Test")] == [
            "TestA",
            "TestB",
            "TestB",
            "TestA",
            "TestEnd",
        ]
    finally:
        for o in (by_name, by_sender, by_both, anything, last):
            nc.purge_observer(o)


def test_sender_filter_with_a_core_object(started: SIPApplication) -> None:
    nc = NotificationCenter()
    alice, bob = Account("alice@filter.example"), Account("bob@filter.example")
    only_alice, everyone = Recorder(), Recorder()
    nc.add_observer(only_alice, name="CFGSettingsObjectWasCreated", sender=alice)
    nc.add_observer(everyone, name="CFGSettingsObjectWasCreated")
    try:
        bob.save()
        alice.save()
        everyone.wait_for("CFGSettingsObjectWasCreated", lambda n: n.sender is alice)
        assert [n.sender for n in only_alice.notifications] == [alice]
        assert [n.sender for n in everyone.notifications] == [bob, alice]
    finally:
        nc.purge_observer(only_alice)
        nc.purge_observer(everyone)


def test_python_sender_and_data_arrive_as_the_same_objects(started: SIPApplication) -> None:
    nc = NotificationCenter()
    sender = Sender()
    payload: list[int] = [1, 2, 3]
    mapping: dict[str, Any] = {"k": object()}
    account = Account("ivan@example.com")
    settings = SIPSimpleSettings()
    r = Recorder()
    nc.add_observer(r, name="TestIdentity")
    try:
        nc.post_notification(
            "TestIdentity",
            sender=sender,
            data=NotificationData(payload=payload, mapping=mapping, text="hi", number=7, flag=True, account=account),
        )
        nc.post_notification("TestIdentity", sender=settings, data={"payload": payload, "nothing": None})
        n = r.wait_for("TestIdentity")
        assert n.sender is sender
        assert n.data.payload is payload
        assert n.data.mapping is mapping
        assert n.data.account is account
        assert (n.data.text, n.data.number, n.data.flag) == ("hi", 7, True)
        assert isinstance(n.data.timestamp, datetime)
        second = r.wait_for("TestIdentity", lambda n: n.sender is settings)
        assert second.data.payload is payload
        assert second.data.nothing is None
    finally:
        nc.purge_observer(r)


def test_a_raising_observer_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    nc = NotificationCenter()

    def fail(notification: Notification) -> None:
        raise ValueError("observer failure")

    failing = make_observer(fail)
    after = Recorder()
    nc.add_observer(failing, name="TestRaise")
    nc.add_observer(after, name="TestRaise")
    try:
        with caplog.at_level(logging.ERROR, logger="sipsimple.notification"):
            nc.post_notification("TestRaise", data={"n": 1})
            nc.post_notification("TestRaise", data={"n": 2})
            after.wait_for("TestRaise", lambda n: n.data.n == 2)
        assert [n.data.n for n in after.notifications] == [1, 2]
        failures = [r for r in caplog.records if r.name == "sipsimple.notification"]
        assert len(failures) == 2
        assert failures[0].exc_info is not None and isinstance(failures[0].exc_info[1], ValueError)
    finally:
        nc.purge_observer(failing)
        nc.purge_observer(after)


def test_an_observer_may_remove_itself_while_handling() -> None:
    nc = NotificationCenter()
    seen: list[str] = []

    class Once:
        def handle_notification(self, notification: Notification) -> None:
            seen.append(notification.name)
            NotificationCenter().remove_observer(self, name=None, sender=None)

    once = Once()
    after = Recorder()
    nc.add_observer(once)
    nc.add_observer(after, name="TestOnceB")
    try:
        nc.post_notification("TestOnceA")
        nc.post_notification("TestOnceB")
        after.wait_for("TestOnceB")
        assert seen == ["TestOnceA"]
        with pytest.raises(KeyError):
            nc.remove_observer(once)
    finally:
        nc.purge_observer(once)
        nc.purge_observer(after)


def test_removing_an_unregistered_observer_is_a_key_error() -> None:
    nc = NotificationCenter()
    r = Recorder()
    with pytest.raises(KeyError):
        nc.remove_observer(r)
    nc.add_observer(r, name="TestRemove")
    with pytest.raises(KeyError):
        nc.remove_observer(r)  # registered with another name
    with pytest.raises(KeyError):
        nc.remove_observer(r, name="TestRemove", sender=Sender())
    nc.discard_observer(r, name="Other")  # silent
    nc.remove_observer(r, name="TestRemove")
    with pytest.raises(KeyError):
        nc.remove_observer(r, name="TestRemove")


def test_waiting_on_the_main_thread_for_a_notification_from_another_thread() -> None:
    nc = NotificationCenter()
    arrived = threading.Event()
    sender = Sender()
    received: list[Notification] = []

    def handle(notification: Notification) -> None:
        received.append(notification)
        arrived.set()

    observer = make_observer(handle)
    nc.add_observer(observer, name="TestCrossThread")
    try:
        poster = threading.Thread(target=lambda: nc.post_notification("TestCrossThread", sender=sender))
        poster.start()
        assert arrived.wait(TIMEOUT), "the notification never arrived"
        poster.join(TIMEOUT)
        assert not poster.is_alive()
        assert received[0].sender is sender
    finally:
        nc.purge_observer(observer)


def test_observers_calling_into_the_core_while_the_main_thread_does_too(
    started: SIPApplication, recorder: Recorder
) -> None:
    """The delivery thread (holding the GIL in an observer) calls into the
    core -- reads settings, saves, posts -- while the main thread keeps
    calling the core and then waits: nothing may deadlock."""
    nc = NotificationCenter()
    account = Account("judy@example.com")
    account.save()
    done = threading.Event()
    rounds = 50

    def handle(notification: Notification) -> None:
        i = notification.data.i
        assert account.sip.register_interval >= 0
        account.sip.register_interval = 100 + i
        account.save()
        nc.post_notification("TestBusyFollowup", data={"i": i})
        if i == rounds - 1:
            done.set()

    busy = make_observer(handle)
    nc.add_observer(busy, name="TestBusy")
    try:
        for i in range(rounds):
            nc.post_notification("TestBusy", data={"i": i})
            _ = SIPSimpleSettings().rtp.port_range
            _ = account.sip.register_interval
        assert done.wait(TIMEOUT), "the observer never finished"
        recorder.wait_for("TestBusyFollowup", lambda n: n.data.i == rounds - 1)
        assert account.sip.register_interval == 100 + rounds - 1
    finally:
        nc.purge_observer(busy)
