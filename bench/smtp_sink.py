"""A local SMTP sink for bench/campaign_send.py: accepts every message, counts them and their
distinct Message-IDs, and writes the counts to a JSON file twice a second (and on SIGTERM).

    python bench/smtp_sink.py PORT STATE_FILE

It runs in a process of its own (aiosmtpd on 127.0.0.1), so the workers' SMTP client and the
sink do not share an interpreter. The state file holds `received`, `distinct`, `first_at` and
`last_at` (time.time() of the first and last message) and up to 1,000 `repeated` Message-IDs
(a message received again).
"""

import json
import os
import re
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class Counter:
    def __init__(self):
        self.received = 0
        self.ids: set[bytes] = set()
        self.repeated: list[str] = []
        self.first_at = self.last_at = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        headers = envelope.content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(headers)
        key = found.group(1) if found else b""
        now = time.time()
        with self.lock:
            self.received += 1
            self.first_at = self.first_at or now
            self.last_at = now
            if key in self.ids and len(self.repeated) < 1000:
                self.repeated.append(key.decode(errors="replace"))
            self.ids.add(key)
        return "250 Message accepted for delivery"

    def state(self) -> dict:
        with self.lock:
            return {
                "received": self.received,
                "distinct": len(self.ids),
                "first_at": self.first_at,
                "last_at": self.last_at,
                "repeated": list(self.repeated),
            }


def _write(path: str, counter: Counter) -> None:
    partial = f"{path}.part"
    with open(partial, "w") as out:
        json.dump(counter.state(), out)
    os.replace(partial, path)


def main() -> None:
    port, path = int(sys.argv[1]), sys.argv[2]
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port, data_size_limit=None)
    controller.start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    _write(path, counter)
    while not stopping.wait(0.5):
        _write(path, counter)
    controller.stop()
    _write(path, counter)


if __name__ == "__main__":
    main()
