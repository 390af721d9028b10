"""Two endpoints on loopback chat over MSRP, then alice sends bob a file:
the messages, the delivery reports and the received file's check are
printed.

    python3 examples/chat_demo.py
"""

import hashlib
import os
import tempfile
import threading

from sipsimple.account import Account
from sipsimple.application import SIPApplication
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.notification import NotificationCenter
from sipsimple.session import Session
from sipsimple.storage import FileStorage
from sipsimple.streams.msrp.chat import ChatStream
from sipsimple.streams.msrp.filetransfer import FileSelector, FileTransferStream

seen, arrived = [], threading.Condition()


class Observer:
    def handle_notification(self, notification):
        with arrived:
            seen.append(notification)
            arrived.notify_all()


def wait_for(name, sender=None, nth=1, timeout=30):
    def found():
        matching = [n for n in seen if n.name == name and sender in (None, n.sender)]
        return matching[nth - 1] if len(matching) >= nth else None

    with arrived:
        notification = arrived.wait_for(found, timeout)
    assert notification, f"no {name}"
    return notification


NotificationCenter().add_observer(Observer())
directory = tempfile.mkdtemp()
with open(os.path.join(directory, "config"), "w") as config:
    config.write("SIPSimpleSettings:\n    sip:\n        transport_list = udp\n")
SIPApplication().start(FileStorage(directory))
wait_for("SIPApplicationDidStart")
alice, bob = Account("alice@127.0.0.1"), Account("bob@127.0.0.1")
for account in (alice, bob):
    account.sip.register = False
    account.msrp.transport = "tcp"
    account.enabled = True
    account.save()
settings = SIPSimpleSettings()
settings.file_transfer.directory = os.path.join(directory, "downloads")
settings.save()
port = next(p for transport, _, p in SIPApplication().engine_addresses() if transport == "udp")
bob_uri = f"sip:{bob.contact.username}@127.0.0.1:{port}"

# Chat: a message sent before the call goes out when the stream starts.
alice_chat = ChatStream(alice)
alice_chat.send_message("Hi Bob, this waited for the call to start")
call = Session(alice)
call.connect(bob_uri, streams=[alice_chat])
incoming = wait_for("SIPSessionNewIncoming")
incoming.sender.accept(incoming.data.streams)
bob_chat = incoming.data.streams[0]
wait_for("MediaStreamDidStart", bob_chat)
alice_chat.send_composing_indication("active", 60)
bob_chat.send_message("Hello Alice!")
for name, stream in (("bob", bob_chat), ("alice", alice_chat)):
    message = wait_for("ChatStreamGotMessage", stream).data.message
    print(f"{name} got {message.content!r} from {message.sender.uri}")
    wait_for("ChatStreamDidDeliverMessage", stream)
print("bob sees alice", wait_for("ChatStreamGotComposingIndication", bob_chat).data.state)
call.end()
wait_for("SIPSessionDidEnd", incoming.sender)

# A file: alice offers it, bob accepts; it lands in file_transfer.directory.
path = os.path.join(directory, "holiday.bin")
with open(path, "wb") as f:
    f.write(os.urandom(2 * 1024 * 1024))
selector = FileSelector.for_file(path)
print("alice sends", selector.sdp_repr)
sending = FileTransferStream(alice, selector)
call = Session(alice)
call.connect(bob_uri, streams=[sending])
incoming = wait_for("SIPSessionNewIncoming", nth=2)
incoming.sender.accept(incoming.data.streams)
receiving = incoming.data.streams[0]
wait_for("FileTransferStreamDidFinish", receiving, timeout=60)
wait_for("FileTransferStreamDidFinish", sending, timeout=60)
with open(path, "rb") as sent, open(receiving.file_path, "rb") as got:
    same = hashlib.sha1(sent.read()).digest() == hashlib.sha1(got.read()).digest()
chunks = sum(1 for n in seen if n.name == "FileTransferStreamGotChunk")
print(f"bob got {receiving.file_path} in {chunks} chunks, identical: {same}")
call.end()
wait_for("SIPSessionDidEnd", call)
SIPApplication().stop()
wait_for("SIPApplicationDidEnd")
assert same
