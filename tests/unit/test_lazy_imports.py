"""What `from rdpy import Producer, Consumer` leaves for later: the generated API modules, the
codec and checksum libraries, `logging` and `json`. They are loaded when first used (a
request built or an answer decoded, a batch compressed or checksummed, a line logged to the
fallback logger, a statistics document written), which keeps the import of the clients cheap
(bench/import_time.py measures it). Checked in a fresh interpreter; the second test checks
that the lazily named modules still work and are the real modules once used.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

#: Loaded on first use, never by importing the clients.
DEFERRED_LIBRARIES = {"lz4", "lz4.frame", "cramjam", "google_crc32c", "logging", "json"}
#: The generated modules every connection needs from the start (request and response headers).
EAGER_GENERATED = {"rdpy.protocol.messages.request_header",
                   "rdpy.protocol.messages.response_header"}


def _newly_loaded(imports: str) -> set[str]:
    probe = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"{imports}\n"
        "print(repr(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True)
    # repr(), not json: importing json in the child would hide it from the check
    loaded: list[str] = ast.literal_eval(out.stdout)
    return set(loaded)


def test_importing_the_clients_defers_protocol_modules_and_codecs() -> None:
    loaded = _newly_loaded("from rdpy import Producer, Consumer")
    generated = {m for m in loaded if m.startswith("rdpy.protocol.messages.")}
    assert generated == EAGER_GENERATED
    assert loaded & DEFERRED_LIBRARIES == set()


def test_lazily_named_modules_load_on_first_use() -> None:
    probe = (
        "import json, sys\n"
        "from rdpy.client.consume import fetch\n"
        "from rdpy.records import compress, crc32c, LZ4\n"
        "proxy = fetch.fetch_msgs\n"
        "before = 'rdpy.protocol.messages.fetch' in sys.modules\n"
        "cls = proxy.FetchRequest\n"
        "real = sys.modules['rdpy.protocol.messages.fetch']\n"
        "compress(LZ4, b'x' * 100); crc32c(b'x')\n"
        "print(json.dumps([before, cls is real.FetchRequest, proxy.FetchResponse is "
        "real.FetchResponse, 'lz4.frame' in sys.modules, 'google_crc32c' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True)
    assert json.loads(out.stdout) == [False, True, True, True, True]
