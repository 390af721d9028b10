"""SIPApplication lifecycle, storages and configuration errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TIMEOUT, Recorder
from sipsimple.account import Account, AccountManager
from sipsimple.application import SIPApplication
from sipsimple.configuration import ConfigurationError
from sipsimple.core import SIPCoreError
from sipsimple.storage import FileStorage, MemoryStorage


def test_singleton() -> None:
    assert SIPApplication() is SIPApplication()


def test_start_and_stop_post_the_lifecycle_notifications(
    app: SIPApplication, recorder: Recorder, tmp_path: Path
) -> None:
    storage = FileStorage(tmp_path)
    assert storage.directory == str(tmp_path)
    app.start(storage)
    assert app.running
    assert app.storage is storage
    will_start = recorder.wait_for("SIPApplicationWillStart")
    did_start = recorder.wait_for("SIPApplicationDidStart")
    assert will_start.sender is app
    assert did_start.sender is app
    assert recorder.names().index("SIPApplicationWillStart") < recorder.names().index("SIPApplicationDidStart")
    assert did_start.data.timestamp >= will_start.data.timestamp
    assert did_start.datetime == did_start.data.timestamp

    app.stop()
    assert not app.running
    recorder.wait_for("SIPApplicationWillEnd")
    did_end = recorder.wait_for("SIPApplicationDidEnd")
    assert did_end.sender is app
    assert app.storage is storage


def test_starting_twice_is_a_runtime_error(started: SIPApplication, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        started.start(MemoryStorage())
    assert started.running


def test_stopping_twice_is_a_runtime_error(started: SIPApplication, recorder: Recorder) -> None:
    started.stop()
    with pytest.raises(RuntimeError, match="not running"):
        started.stop()
    recorder.wait_for("SIPApplicationDidEnd")
    with pytest.raises(RuntimeError, match="not running"):
        started.stop()


def test_start_needs_a_storage(app: SIPApplication) -> None:
    with pytest.raises(TypeError):
        app.start("/tmp")  # type: ignore[arg-type]
    assert not app.running


CORRUPT = "SIPSimpleSettings:\n    user_agent = test agent\n    this line is not a setting\n"


def test_corrupt_configuration_names_file_and_line_and_start_can_be_retried(
    app: SIPApplication, recorder: Recorder, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text(CORRUPT)
    with pytest.raises(ConfigurationError) as info:
        app.start(FileStorage(tmp_path))
    error = info.value
    assert isinstance(error, SIPCoreError)
    assert str(config) in str(error)
    assert f"{config}:3:" in str(error)
    assert error.filename == str(config)
    assert error.line == 3
    assert not app.running
    assert config.read_text() == CORRUPT, "a failed load must not touch the file"
    assert "SIPApplicationWillStart" not in recorder.names()

    config.write_text("SIPSimpleSettings:\n    user_agent = fixed agent\n")
    app.start(FileStorage(tmp_path))
    recorder.wait_for("SIPApplicationDidStart")
    from sipsimple.configuration.settings import SIPSimpleSettings

    assert SIPSimpleSettings().user_agent == "fixed agent"


def test_restart_finds_the_saved_account_with_its_settings(
    app: SIPApplication, recorder: Recorder, tmp_path: Path
) -> None:
    app.start(FileStorage(tmp_path))
    recorder.wait_for("SIPApplicationDidStart")
    account = Account("carol@example.org")
    account.enabled = True
    account.sip.register_interval = 120
    account.display_name = "Carol"
    account.save()
    recorder.wait_for("SIPAccountManagerDidAddAccount", lambda n: n.data.account is account)
    app.stop()
    recorder.wait_for("SIPApplicationDidEnd")
    recorder.clear()

    app.start(FileStorage(tmp_path))
    recorder.wait_for("SIPApplicationDidStart")
    added = recorder.wait_for(
        "SIPAccountManagerDidAddAccount", lambda n: str(getattr(n.data.account, "id", "")) == "carol@example.org"
    )
    manager = AccountManager()
    assert manager.has_account("carol@example.org")
    again = manager.get_account("carol@example.org")
    assert again is added.data.account
    assert isinstance(again, Account)
    assert again.enabled is True
    assert again.sip.register_interval == 120
    assert again.display_name == "Carol"


def test_memory_storage_keeps_nothing_between_runs(app: SIPApplication, recorder: Recorder) -> None:
    storage = MemoryStorage()
    app.start(storage)
    recorder.wait_for("SIPApplicationDidStart")
    Account("dave@example.org").save()
    assert AccountManager().has_account("dave@example.org")
    app.stop()
    recorder.wait_for("SIPApplicationDidEnd")
    recorder.clear()
    app.start(MemoryStorage())
    recorder.wait_for("SIPApplicationDidStart")
    assert not AccountManager().has_account("dave@example.org")


def test_accounts_need_a_started_application(tmp_path: Path) -> None:
    # A fresh process: in this one the application has been started already.
    code = (
        "from sipsimple.account import Account\n"
        "try:\n"
        "    Account('eve@example.org')\n"
        "except RuntimeError as e:\n"
        "    print('RuntimeError', e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT * 6, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("RuntimeError"), result.stdout + result.stderr
    assert "start" in result.stdout


EXIT_WHILE_RUNNING = """
from sipsimple.application import SIPApplication
from sipsimple.notification import NotificationCenter
from sipsimple.storage import MemoryStorage

class Busy:
    def handle_notification(self, notification):
        sum(range(2000))

NotificationCenter().add_observer(Busy())
SIPApplication().start(MemoryStorage())
for i in range(5000):
    NotificationCenter().post_notification("TestSpam", data={"i": i})
if STOP:
    SIPApplication().stop()
print("exiting")
"""


@pytest.mark.parametrize("stop", [False, True], ids=["running", "stopping"])
def test_the_interpreter_exits_cleanly_with_deliveries_pending(tmp_path: Path, stop: bool) -> None:
    code = f"STOP = {stop}\n" + EXIT_WHILE_RUNNING
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT * 6, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "exiting"
