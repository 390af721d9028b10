"""Account activation and registration through the Python API: an enabled
account registers with a registrar on loopback (a small UDP responder that
answers every request with 200 OK), ``registered`` and ``contact`` follow,
and stopping the application unregisters it."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Recorder
from sipsimple.account import Account
from sipsimple.application import SIPApplication
from sipsimple.storage import FileStorage
from test_messaging import Responder, headers_of, responder  # noqa: F401  (fixture)


def test_an_enabled_account_registers_and_unregisters_on_stop(
    app: SIPApplication, recorder: Recorder, tmp_path: Path, responder: Responder
) -> None:
    (tmp_path / "config").write_text("SIPSimpleSettings:\n    sip:\n        transport_list = udp\n")
    app.start(FileStorage(tmp_path))
    recorder.wait_for("SIPApplicationDidStart")
    account = Account("alice@127.0.0.1")
    assert account.registered is False
    account.sip.outbound_proxy = f"127.0.0.1:{responder.port};transport=udp"
    account.sip.register_interval = 120
    account.auth.password = "secret-password"
    account.enabled = True
    account.save()

    recorder.wait_for("SIPAccountDidActivate", lambda n: n.sender is account)
    recorder.wait_for("SIPAccountWillRegister", lambda n: n.sender is account)
    done = recorder.wait_for("SIPAccountRegistrationDidSucceed", lambda n: n.sender is account)
    assert done.data.expires == 120
    assert done.data.registrar.port == responder.port
    assert done.data.registrar.transport == "udp"
    assert account.registered is True
    # The engine listens on every interface: contact[transport] names the
    # address the system routes outwards from, the registration the one it
    # reaches the registrar from (loopback); the port is the same.
    contact = account.contact["udp"]
    assert contact.startswith(f"sip:{account.contact.username}@")
    port = contact.rsplit(":", 1)[1]
    assert f"sip:{account.contact.username}@127.0.0.1:{port}" in done.data.contact_header

    start, headers, _ = headers_of(responder.requests[0])
    assert start == "REGISTER sip:127.0.0.1 SIP/2.0"
    assert headers["expires"] == ["120"]
    assert f"@127.0.0.1:{port}>" in headers["contact"][0]
    assert all(b"secret-password" not in r for r in responder.requests)

    app.stop()
    recorder.wait_for("SIPApplicationDidEnd")
    names = recorder.names()
    assert names.index("SIPAccountWillDeactivate") < names.index("SIPAccountRegistrationDidEnd")
    assert names.index("SIPAccountRegistrationDidEnd") < names.index("SIPApplicationDidEnd")
    start, headers, _ = headers_of(responder.requests[-1])
    assert start.startswith("REGISTER ") and headers["expires"] == ["0"]
    assert account.registered is False
    with pytest.raises(RuntimeError):
        account.contact["udp"]
