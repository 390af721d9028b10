"""``SIPEngineSIPTrace``: with ``logs.trace_sip`` on, every SIP message the
engine sends or receives reaches Python observers with its data. A paging
MESSAGE sent to the application's own engine gives both directions."""

from __future__ import annotations

from pathlib import Path

from conftest import TIMEOUT, Recorder
from sipsimple.account import Account
from sipsimple.application import SIPApplication
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.messaging import PagingMessage
from sipsimple.notification import Notification
from sipsimple.storage import FileStorage


def test_sip_traces_reach_python_observers(app: SIPApplication, recorder: Recorder, tmp_path: Path) -> None:
    (tmp_path / "config").write_text(
        "SIPSimpleSettings:\n    sip:\n        transport_list = udp\n    logs:\n        trace_sip = true\n"
    )
    app.start(FileStorage(tmp_path))
    recorder.wait_for("SIPApplicationDidStart")
    assert SIPSimpleSettings().logs.trace_sip is True
    port = next(p for t, _, p in app.engine_addresses() if t == "udp")

    account = Account("alice@127.0.0.1")
    account.sip.outbound_proxy = f"127.0.0.1:{port};transport=udp"
    message = PagingMessage(account, f"sip:bob@127.0.0.1:{port}", "text/plain", "traced")
    message.send()
    done = recorder.wait_for("SIPMessageDidSucceed", lambda n: n.sender is message)
    assert done.data.code == 200

    def is_received_request(n: Notification) -> bool:
        return n.data.received is True and n.data.data.startswith("MESSAGE ")

    received = recorder.wait_for("SIPEngineSIPTrace", is_received_request, TIMEOUT).data
    assert received.transport == "udp"
    assert received.source_ip == "127.0.0.1"
    assert isinstance(received.source_port, int) and received.source_port > 0
    assert received.destination_ip in ("127.0.0.1", "0.0.0.0")
    assert received.destination_port == port
    assert received.data.startswith(f"MESSAGE sip:bob@127.0.0.1:{port} SIP/2.0\r\n")
    assert received.data.endswith("\r\n\r\ntraced")
    assert "timestamp" in received.__dict__

    # The request as sent, and the answer in both directions.
    sent = recorder.wait_for(
        "SIPEngineSIPTrace", lambda n: n.data.received is False and n.data.data.startswith("MESSAGE ")
    ).data
    assert sent.destination_port == port and sent.destination_ip == "127.0.0.1"
    answer = recorder.wait_for(
        "SIPEngineSIPTrace", lambda n: n.data.received is True and n.data.data.startswith("SIP/2.0 200")
    )
    assert answer.data.source_port == port
    assert getattr(answer.sender, "kind", None) == "Engine"
