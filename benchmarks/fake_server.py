"""Run vbot's fake upstream in its own process (so its CPU is not charged to the tool measured).

``python fake_server.py WORLD.json`` prints one JSON line ``{"base": URL, "env": {...}}`` and then
answers commands on stdin, one per line: ``stats`` (prints ``{"requests": n, "not_modified": m,
"by_prefix": {...}}``), ``latency MS``, ``world PATH`` (serve the world in PATH from now on,
keeping the latency; the change feeds see the difference), ``quit``. Exits when stdin closes.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from vbot.testing.fakeupstream import FakeUpstream


def main() -> int:
    world = json.loads(Path(sys.argv[1]).read_text("utf-8"))
    with FakeUpstream(world) as fake:
        print(json.dumps({"base": fake.base_url, "env": fake.env()}), flush=True)
        for line in sys.stdin:
            cmd, _, arg = line.strip().partition(" ")
            if cmd == "stats":
                by_prefix: Counter[str] = Counter()
                for path, count in list(fake.requests.items()):
                    by_prefix[path.lstrip("/").split("/", 1)[0]] += count
                print(json.dumps({"requests": fake.total_requests,
                                  "not_modified": fake.not_modified,
                                  "by_prefix": dict(by_prefix)}), flush=True)
            elif cmd == "latency":
                fake.set_world(dict(fake.world, latency_ms=float(arg)))
                print("{}", flush=True)
            elif cmd == "world":
                new = json.loads(Path(arg).read_text("utf-8"))
                fake.set_world(dict(new, latency_ms=fake.world.get("latency_ms", 0)))
                print("{}", flush=True)
            elif cmd == "quit":
                break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
