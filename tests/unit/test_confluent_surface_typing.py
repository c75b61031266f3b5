"""The public signatures of Producer and Consumer let a type checker catch what raises at run
time (and accept what works): mypy --strict on a small application."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

APP = '''
from rdpy import Consumer, KafkaError, Message, Producer, TopicPartition

p = Producer({"bootstrap.servers": "localhost:1"})
p.produce("t", 123)  # E: value
p.produce("t", b"v", headers={"a": 1})  # E: header value
p.produce("t", "v", "k", 0, None, None, 0, [("h", b"1"), ("n", None)])
p.produce("t", b"v", on_delivery=lambda err, msg: print(err.code() if err else msg.offset()))


def wrong_callback(err: int, msg: Message) -> None: ...


p.produce("t", b"v", callback=wrong_callback)  # E: callback
queued: int = p.produce_batch("t", [{"value": b"v"}])
Producer(None)  # E: config
with Producer({}) as same:
    served: int = same.poll(0)

c = Consumer({"group.id": "g"})
low, high = c.get_watermark_offsets(TopicPartition("t", 0))
nothing: None = c.commit()
committed: list[TopicPartition] = c.commit(asynchronous=False)
message: Message | None = c.poll(1.0)
with Consumer({"group.id": "g"}) as c2:
    messages: list[Message] = c2.consume(10, 1.0)
'''


def test_mypy_catches_what_raises(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    stdout, _, _ = mypy_api.run(["--strict", "--no-error-summary", "--cache-dir",
                                 str(tmp_path / "cache"), str(app)])
    flagged = sorted(int(line.split(":")[1]) for line in stdout.splitlines() if ": error:" in line)
    expected = sorted(i + 1 for i, line in enumerate(APP.splitlines()) if "# E:" in line)
    assert flagged == expected, stdout
