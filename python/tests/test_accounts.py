"""Accounts and settings: attribute access, validation, notifications."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Recorder
from sipsimple.account import Account, AccountManager, BonjourAccount
from sipsimple.application import SIPApplication
from sipsimple.configuration import DefaultValue, ModifiedValue
from sipsimple.configuration.datatypes import PortRange, SIPAddress
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.core import Credentials
from sipsimple.notification import NotificationCenter


def test_create_save_and_change_an_account(started: SIPApplication, recorder: Recorder) -> None:
    account = Account("alice@example.com")
    assert Account("alice@example.com") is account
    assert not AccountManager().has_account("alice@example.com"), "unsaved accounts are not in the manager"
    assert isinstance(account.id, SIPAddress)
    assert account.id == "alice@example.com"
    assert (account.id.username, account.id.domain) == ("alice", "example.com")
    assert account.uri == "sip:alice@example.com"
    assert account.enabled is False
    assert account.sip.register_interval == 600

    account.save()
    created = recorder.wait_for("CFGSettingsObjectWasCreated", lambda n: n.sender is account)
    added = recorder.wait_for("SIPAccountManagerDidAddAccount", lambda n: n.data.account is account)
    assert added.sender is AccountManager()
    assert recorder.notifications.index(created) < recorder.notifications.index(added)
    assert AccountManager().has_account("alice@example.com")
    assert AccountManager().get_account("alice@example.com") is account
    assert account in AccountManager().get_accounts()
    assert account in list(AccountManager().iter_accounts())

    account.sip.register_interval = 300
    account.enabled = True
    assert account.sip.register_interval == 300
    account.save()
    changed = recorder.wait_for("CFGSettingsObjectDidChange", lambda n: n.sender is account)
    modified = changed.data.modified
    assert set(modified) == {"sip.register_interval", "enabled"}
    assert modified["sip.register_interval"].old == 600
    assert modified["sip.register_interval"].new == 300
    assert modified["enabled"] == ModifiedValue(old=False, new=True)

    # Saving without changes posts nothing new.
    recorder.clear()
    account.save()
    NotificationCenter()._flush()
    assert "CFGSettingsObjectDidChange" not in recorder.names()


def test_invalid_values_are_refused_and_the_old_value_kept(started: SIPApplication) -> None:
    account = Account("bob@example.com")
    account.sip.register_interval = 300
    with pytest.raises(ValueError, match="sip.register_interval"):
        account.sip.register_interval = -5
    assert account.sip.register_interval == 300
    with pytest.raises(ValueError, match="sip.register_interval"):
        account.sip.register_interval = "soon"
    with pytest.raises(ValueError, match="sip.register_interval"):
        account.sip.register_interval = object()
    assert account.sip.register_interval == 300
    with pytest.raises(ValueError, match="enabled"):
        account.enabled = "perhaps"
    assert account.enabled is False
    with pytest.raises(ValueError, match="sip.outbound_proxy"):
        account.sip.outbound_proxy = "not a host"
    with pytest.raises(ValueError, match="enabled"):
        account.enabled = None  # not nillable
    with pytest.raises(AttributeError):
        account.sip.no_such_setting = 1
    with pytest.raises(AttributeError):
        account.no_such_setting  # noqa: B018
    with pytest.raises(AttributeError):
        account.sip = 5


def test_setting_value_types(started: SIPApplication, recorder: Recorder) -> None:
    settings = SIPSimpleSettings()
    assert SIPSimpleSettings() is settings
    settings.save()  # first save of a fresh configuration: created
    recorder.wait_for("CFGSettingsObjectWasCreated", lambda n: n.sender is settings)
    assert settings.rtp.port_range == PortRange(50000, 50500)
    assert settings.rtp.port_range.start == 50000
    assert settings.rtp.port_range.end == 50500
    assert settings.sip.udp_port == 0
    assert settings.user_agent.startswith("sipsimple")

    settings.rtp.port_range = (40000, 40100)
    assert (settings.rtp.port_range.start, settings.rtp.port_range.end) == (40000, 40100)
    settings.rtp.port_range = "41000-41100"
    assert settings.rtp.port_range == PortRange(41000, 41100)
    settings.rtp.port_range = PortRange(42000, 42100)
    assert tuple(settings.rtp.port_range) == (42000, 42100)
    with pytest.raises(ValueError, match="rtp.port_range"):
        settings.rtp.port_range = "500-400"
    assert settings.rtp.port_range == PortRange(42000, 42100)

    settings.rtp.audio_codec_list = ["PCMU", "opus"]
    assert settings.rtp.audio_codec_list == ["PCMU", "opus"]
    settings.rtp.audio_codec_list = "G722, PCMA"
    assert settings.rtp.audio_codec_list == ["G722", "PCMA"]
    with pytest.raises(ValueError, match="rtp.audio_codec_list"):
        settings.rtp.audio_codec_list = ["no-such-codec"]

    settings.sip.udp_port = "5070"
    assert settings.sip.udp_port == 5070
    settings.tls.ca_list = None
    assert settings.tls.ca_list is None
    settings.sip.udp_port = DefaultValue
    assert settings.sip.udp_port == 0

    settings.save()
    changed = recorder.wait_for("CFGSettingsObjectDidChange", lambda n: n.sender is settings)
    modified = changed.data.modified
    assert modified["rtp.port_range"].old == PortRange(50000, 50500)
    assert modified["rtp.port_range"].new == PortRange(42000, 42100)
    assert modified["rtp.audio_codec_list"].new == ["G722", "PCMA"]
    assert "sip.udp_port" not in modified


def test_nested_groups_credentials_and_contact(started: SIPApplication) -> None:
    account = Account("frank@example.net")
    assert account.rtp.encryption.enabled is True
    account.rtp.encryption.enabled = False
    assert account.rtp.encryption.enabled is False
    assert "sip" in dir(account)
    assert "register_interval" in dir(account.sip)
    assert account.display_name is None
    account.display_name = "Frank"
    assert account.display_name == "Frank"

    assert account.credentials == Credentials("frank", "")
    account.auth.password = "s3cret"
    account.auth.username = "frank2"
    credentials = account.credentials
    assert (credentials.username, credentials.password) == ("frank2", "s3cret")
    assert "s3cret" not in repr(credentials)

    assert len(account.contact.username) == 8
    assert account.contact["udp"].startswith(f"sip:{account.contact.username}@")
    assert account.contact["tcp"].endswith(";transport=tcp")
    with pytest.raises(ValueError):
        account.contact["sctp"]


def test_account_ids_are_validated(started: SIPApplication) -> None:
    with pytest.raises(ValueError):
        Account("no-at-sign")
    with pytest.raises(ValueError):
        Account("bonjour@local")


def test_manager_lookup_delete_and_default_account(started: SIPApplication, recorder: Recorder) -> None:
    manager = AccountManager()
    assert manager is AccountManager()
    with pytest.raises(KeyError):
        manager.get_account("nobody@example.com")

    account = Account("grace@example.com")
    account.enabled = True
    account.save()
    recorder.wait_for("SIPAccountManagerDidAddAccount", lambda n: n.data.account is account)
    assert manager.find_account("sip:grace@example.com") is account
    assert manager.find_account(f"sip:{account.contact.username}@192.0.2.1") is account
    assert manager.find_account("sip:nobody@example.com") is None

    manager.default_account = account
    assert manager.default_account is account
    recorder.wait_for("SIPAccountManagerDidChangeDefaultAccount", lambda n: n.data.account is account)
    manager.default_account = None
    assert manager.default_account is None
    recorder.wait_for(
        "SIPAccountManagerDidChangeDefaultAccount", lambda n: n.data.account is None and n.data.old_account is account
    )
    with pytest.raises(ValueError):
        manager.default_account = Account("unsaved@example.com")

    account.delete()
    removed = recorder.wait_for("SIPAccountManagerDidRemoveAccount", lambda n: n.data.account is account)
    assert removed.sender is manager
    recorder.wait_for("CFGSettingsObjectWasDeleted", lambda n: n.sender is account)
    assert not manager.has_account("grace@example.com")
    with pytest.raises(KeyError):
        manager.get_account("grace@example.com")


def test_bonjour_account(started: SIPApplication) -> None:
    bonjour = BonjourAccount()
    assert BonjourAccount() is bonjour
    assert bonjour.id == "bonjour@local"
    assert bonjour.enabled is True
    assert AccountManager().get_account("bonjour@local") is bonjour
    with pytest.raises(RuntimeError):
        bonjour.delete()


def test_settings_are_saved_to_the_configuration_file(started: SIPApplication, tmp_path: Path) -> None:
    account = Account("heidi@example.com")
    account.sip.register_interval = 900
    account.save()
    text = (tmp_path / "config").read_text()
    assert "heidi@example.com" in text
    assert "register_interval = 900" in text
