"""Settings extensions: ``register_extension`` on ``SIPSimpleSettings``,
``Account`` and ``BonjourAccount``.

Extensions are registered on process-wide classes, so every test uses its
own setting names.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TIMEOUT, Recorder
from sipsimple.account import Account, AccountManager, BonjourAccount
from sipsimple.application import SIPApplication
from sipsimple.configuration import (
    DefaultValue,
    Setting,
    SettingsGroup,
    SettingsObject,
    SettingsObjectExtension,
)
from sipsimple.configuration.datatypes import (
    AudioCodecList,
    NonNegativeInteger,
    Path as PathType,
    Port,
    PortRange,
    SIPAddress,
    StringList,
)
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.storage import FileStorage


class LogsExtension(SettingsGroup):
    trace_notifications = Setting(type=bool, default=False)
    directory = Setting(type=PathType, default="~/logs", nillable=True)


class MediaPortsExtension(SettingsGroup):
    range = Setting(type=PortRange, default=PortRange(40000, 40100))


class RTPExtension(SettingsGroup):
    extra_ports = MediaPortsExtension
    preferred_codecs = Setting(type=AudioCodecList, default=AudioCodecList(["opus", "PCMU"]))


class SIPSimpleSettingsExtension(SettingsObjectExtension):
    logs = LogsExtension
    rtp = RTPExtension
    gui_theme = Setting(type=str, default="dark")


class UIExtension(SettingsGroup):
    volume = Setting(type=NonNegativeInteger, default=50)
    tags = Setting(type=StringList, default=StringList(), nillable=True)


class AccountExtension(SettingsObjectExtension):
    ui = UIExtension
    local_port = Setting(type=Port, default=0)
    buddy = Setting(type=SIPAddress, default=None, nillable=True)


def restart(app: SIPApplication, recorder: Recorder, directory: Path) -> None:
    app.stop()
    recorder.wait_for("SIPApplicationDidEnd")
    recorder.clear()
    app.start(FileStorage(directory))
    recorder.wait_for("SIPApplicationDidStart")


def test_extensions_are_saved_and_found_again_after_a_restart(
    started: SIPApplication, recorder: Recorder, tmp_path: Path
) -> None:
    settings = SIPSimpleSettings()
    settings.save()  # stored (CFGSettingsObjectWasCreated) before the extension exists
    recorder.wait_for("CFGSettingsObjectWasCreated", lambda n: n.sender is settings)
    with pytest.raises(AttributeError):
        settings.gui_theme
    SIPSimpleSettings.register_extension(SIPSimpleSettingsExtension)
    Account.register_extension(AccountExtension)

    # Merged into the existing groups, nested groups nest, defaults apply.
    assert settings.gui_theme == "dark"
    assert settings.logs.trace_notifications is False
    assert settings.logs.directory == "~/logs"
    assert settings.logs.trace_sip is False, "the built-in settings of the group stay"
    assert settings.rtp.preferred_codecs == ["opus", "PCMU"]
    assert settings.rtp.extra_ports.range == PortRange(40000, 40100)
    assert settings.rtp.port_range == PortRange(50000, 50500)
    assert {"trace_notifications", "directory", "trace_sip"} <= set(dir(settings.logs))
    assert "gui_theme" in dir(settings)

    settings.logs.trace_notifications = True
    settings.logs.directory = None
    settings.rtp.extra_ports.range = "41000-41010"
    settings.save()
    changed = recorder.wait_for("CFGSettingsObjectDidChange", lambda n: n.sender is settings)
    assert set(changed.data.modified) == {"logs.trace_notifications", "logs.directory", "rtp.extra_ports.range"}

    account = Account("ext-alice@example.com")
    assert account.ui.volume == 50
    assert account.local_port == 0
    assert account.buddy is None
    account.ui.volume = 70
    account.ui.tags = ["work", "home"]
    account.buddy = "sip:bob@example.com"
    account.save()
    recorder.wait_for("SIPAccountManagerDidAddAccount", lambda n: n.data.account is account)
    with pytest.raises(AttributeError):
        BonjourAccount().ui  # the BonjourAccount class was not extended

    text = (tmp_path / "config").read_text()
    assert "trace_notifications = true" in text
    assert "volume = 70" in text

    restart(started, recorder, tmp_path)
    settings = SIPSimpleSettings()
    assert settings.logs.trace_notifications is True
    assert settings.logs.directory is None
    assert settings.rtp.extra_ports.range == PortRange(41000, 41010)
    again = AccountManager().get_account("ext-alice@example.com")
    assert again is not account
    assert again.ui.volume == 70
    assert again.ui.tags == ["work", "home"]
    assert again.buddy == "bob@example.com"
    again.ui.volume = DefaultValue
    assert again.ui.volume == 50


def test_the_values_are_found_by_a_new_process(started: SIPApplication, recorder: Recorder, tmp_path: Path) -> None:
    class GlobalExtension(SettingsObjectExtension):
        process_check = Setting(type=int, default=1)

    class PerAccount(SettingsObjectExtension):
        process_note = Setting(type=str, default="")

    SIPSimpleSettings.register_extension(GlobalExtension)
    Account.register_extension(PerAccount)
    SIPSimpleSettings().process_check = 42
    SIPSimpleSettings().save()
    account = Account("ext-proc@example.com")
    account.process_note = "kept"
    account.save()
    started.stop()
    recorder.wait_for("SIPApplicationDidEnd")

    code = (
        "import sys\n"
        "from sipsimple.account import Account, AccountManager\n"
        "from sipsimple.application import SIPApplication\n"
        "from sipsimple.configuration import Setting, SettingsObjectExtension\n"
        "from sipsimple.configuration.settings import SIPSimpleSettings\n"
        "from sipsimple.storage import FileStorage\n"
        "class GlobalExtension(SettingsObjectExtension):\n"
        "    process_check = Setting(type=int, default=1)\n"
        "class PerAccount(SettingsObjectExtension):\n"
        "    process_note = Setting(type=str, default='')\n"
        "SIPSimpleSettings.register_extension(GlobalExtension)\n"
        "Account.register_extension(PerAccount)\n"
        "SIPApplication().start(FileStorage(sys.argv[1]))\n"
        "print(SIPSimpleSettings().process_check, AccountManager().get_account('ext-proc@example.com').process_note)\n"
        "SIPApplication().stop()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=TIMEOUT * 6, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["42", "kept"], result.stdout + result.stderr


def test_a_value_stored_before_registration_is_picked_up(app: SIPApplication, recorder: Recorder, tmp_path: Path) -> None:
    (tmp_path / "config").write_text(
        "Accounts:\n"
        "    ext-carol@example.com:\n"
        "        enabled = true\n"
        "        late:\n"
        "            color = red\n"
        "SIPSimpleSettings:\n"
        "    late_group:\n"
        "        level = 7\n"
    )
    app.start(FileStorage(tmp_path))
    recorder.wait_for("SIPApplicationDidStart")
    settings = SIPSimpleSettings()
    carol = AccountManager().get_account("ext-carol@example.com")
    with pytest.raises(AttributeError):
        settings.late_group

    class LateGroup(SettingsGroup):
        level = Setting(type=NonNegativeInteger, default=0)

    class LateSettings(SettingsObjectExtension):
        late_group = LateGroup

    class LateAccountGroup(SettingsGroup):
        color = Setting(type=str, default="blue")

    class LateAccount(SettingsObjectExtension):
        late = LateAccountGroup

    SIPSimpleSettings.register_extension(LateSettings)
    Account.register_extension(LateAccount)
    assert settings.late_group.level == 7, "the object loaded before registration sees the stored value"
    assert carol.late.color == "red"
    assert Account("ext-dave@example.com").late.color == "blue"

    # Unknown stored values survive saves made before the registration.
    settings.late_group.level = 8
    settings.save()
    assert "level = 8" in (tmp_path / "config").read_text()


def test_bad_extensions_are_refused_naming_the_setting(started: SIPApplication) -> None:
    class UnknownType(SettingsObjectExtension):
        when = Setting(type=complex, default=1j)

    with pytest.raises(TypeError, match="when"):
        SIPSimpleSettings.register_extension(UnknownType)

    class BadGroup(SettingsGroup):
        fine = Setting(type=str, default="x")
        port = Setting(type=Port, default=70000)

    class BadDefault(SettingsObjectExtension):
        bad_group = BadGroup

    with pytest.raises(ValueError, match=r"bad_group\.port"):
        Account.register_extension(BadDefault)
    with pytest.raises(AttributeError):
        Account("ext-erin@example.com").bad_group  # nothing was registered

    class WrongValue(SettingsObjectExtension):
        flag = Setting(type=bool, default="sometimes")

    with pytest.raises(ValueError, match="flag"):
        BonjourAccount.register_extension(WrongValue)

    class ClashesWithGroup(SettingsObjectExtension):
        sip = Setting(type=str, default="x")

    with pytest.raises(ValueError, match="sip"):
        Account.register_extension(ClashesWithGroup)

    class UnderASetting(SettingsGroup):
        child = Setting(type=int, default=1)

    class ClashesWithSetting(SettingsObjectExtension):
        enabled = UnderASetting

    with pytest.raises(ValueError, match="enabled"):
        Account.register_extension(ClashesWithSetting)

    with pytest.raises(TypeError, match="default"):
        Setting(type=str)
    with pytest.raises(TypeError):
        SIPSimpleSettings.register_extension(BadGroup)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SettingsObject.register_extension(WrongValue)

    # Values of extension settings are validated like any other.
    class Checked(SettingsObjectExtension):
        checked_port = Setting(type=Port, default=5060)

    SIPSimpleSettings.register_extension(Checked)
    with pytest.raises(ValueError, match="checked_port"):
        SIPSimpleSettings().checked_port = 70000
    assert SIPSimpleSettings().checked_port == 5060


def test_datatypes_validate() -> None:
    assert Port("5060") == 5060 and isinstance(Port(1), Port)
    with pytest.raises(ValueError):
        Port(70000)
    with pytest.raises(ValueError):
        NonNegativeInteger(-1)
    assert StringList(["a", "b"]) == ["a", "b"]
    assert PathType("~/x").normalized.endswith("/x")
