"""Run reports: counts by outcome and by source, durations, every failed node with its reason."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vbot import jsonio
from vbot.check import BAD, FOUND, INVALID, NONE, NOSOURCE, SKIPPED, TRANSIENT, Outcome

FAILED = (BAD, TRANSIENT, INVALID)


@dataclass
class RunReport:
    command: str
    run_id: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    files: Counter = field(default_factory=Counter)  # written / unchanged / kept / skipped
    durations: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, outcome: Outcome, file_result: str) -> None:
        self.outcomes[outcome.node] = outcome
        self.files[file_result] += 1

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.durations[name] = round(
                self.durations.get(name, 0.0) + time.perf_counter() - start, 3)

    def counts(self) -> dict[str, int]:
        by_status = Counter(o.status for o in self.outcomes.values())
        checked = sum(v for k, v in by_status.items() if k not in (SKIPPED, INVALID))
        return {
            "checked": checked,
            "new": self.files["written"],
            "unchanged": self.files["unchanged"] + self.files["kept"],
            "errors": by_status[BAD] + by_status[TRANSIENT] + by_status[INVALID],
            "found": by_status[FOUND],
            "none": by_status[NONE],
            "no_source": by_status[NOSOURCE],
            "bad": by_status[BAD],
            "transient": by_status[TRANSIENT],
            "rate_limited": sum(1 for o in self.outcomes.values() if o.rate_limited),
            "skipped": by_status[SKIPPED],
            "invalid": by_status[INVALID],
        }

    def by_source(self) -> dict[str, dict[str, int]]:
        table: dict[str, Counter] = {}
        for outcome in self.outcomes.values():
            if outcome.status in (SKIPPED, INVALID):
                continue
            key = outcome.source or "(none)"
            table.setdefault(key, Counter())[outcome.status] += 1
        return {k: dict(sorted(v.items())) for k, v in sorted(table.items())}

    def failures(self) -> list[dict[str, Any]]:
        return [o.as_dict() for n, o in sorted(self.outcomes.items()) if o.status in FAILED]

    def as_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "run_id": self.run_id,
            "counts": self.counts(),
            "by_source": self.by_source(),
            "durations": dict(sorted(self.durations.items())),
            "failures": self.failures(),
            **self.extra,
        }

    def write(self, path: Path) -> None:
        jsonio.atomic_write_text(path, jsonio.dumps(self.as_dict()))

    def print_summary(self, out: TextIO) -> None:
        counts = self.counts()
        print(f"{self.command} {self.run_id}: " + ", ".join(
            f"{counts[k]} {k.replace('_', ' ')}" for k in
            ("checked", "new", "unchanged", "errors", "skipped", "no_source")), file=out)
        if "commit" in self.extra:
            sha = self.extra.get("commit")
            pushed = ", pushed" if self.extra.get("pushed") else ""
            print(f"  commit {sha[:12]}{pushed}" if sha else "  no changes, no commit", file=out)
        rows = self.by_source()
        if rows:
            statuses = sorted({s for r in rows.values() for s in r})
            width = max(len(k) for k in rows) + 2
            print("  " + "source".ljust(width) + "".join(s.rjust(10) for s in statuses), file=out)
            for src, row in rows.items():
                print("  " + src.ljust(width) + "".join(str(row.get(s, 0)).rjust(10)
                                                        for s in statuses), file=out)
        for failure in self.failures()[:10]:
            print(f"  ! {failure['node']}: {failure.get('reason', failure['status'])}", file=out)
        if len(self.failures()) > 10:
            print(f"  ! … and {len(self.failures()) - 10} more (see --report)", file=out)


def new_run_id(kind: str) -> str:
    """A unique, sortable run id, e.g. ``sweep-20261122T041500Z-3f9a1c``."""
    import secrets

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{kind}-{stamp}-{secrets.token_hex(3)}"
