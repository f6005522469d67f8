"""Run reports: counts by outcome and by source, durations, every failed node with its reason."""

from __future__ import annotations

import resource
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vbot.check.outcome import (
    BAD,
    FOUND,
    INTERNAL,
    INVALID,
    NONE,
    NOSOURCE,
    SKIPPED,
    TRANSIENT,
    Outcome,
)
from vbot.repo import jsonio

FAILED = (BAD, TRANSIENT, INVALID, INTERNAL)


@dataclass
class RunReport:
    command: str
    run_id: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    files: Counter = field(default_factory=Counter)  # written / unchanged / kept / skipped
    durations: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per phase (with children)
    rss_mb: dict[str, float] = field(default_factory=dict)  # peak RSS at the end of each phase
    extra: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter, repr=False)

    def add(self, outcome: Outcome, file_result: str) -> None:
        self.outcomes[outcome.node] = outcome
        self.files[file_result] += 1

    @contextmanager
    def phase(self, name: str, cpu: bool = True) -> Iterator[None]:
        """Time a phase (accumulating); ``cpu=False`` for hot per-node sections."""
        start, used = time.perf_counter(), _cpu_seconds() if cpu else 0.0
        try:
            yield
        finally:
            self.durations[name] = self.durations.get(name, 0.0) + time.perf_counter() - start
            if cpu:
                self.cpu[name] = self.cpu.get(name, 0.0) + _cpu_seconds() - used
                self.rss_mb[name] = _peak_rss_mb()

    def elapsed(self) -> float:
        return round(time.perf_counter() - self.started, 3)

    def counts(self) -> dict[str, int]:
        by_status = Counter(o.status for o in self.outcomes.values())
        checked = sum(v for k, v in by_status.items() if k not in (SKIPPED, INVALID))
        return {
            "checked": checked,
            "new": self.files["written"],
            "unchanged": self.files["unchanged"] + self.files["kept"],
            "errors": (by_status[BAD] + by_status[TRANSIENT] + by_status[INVALID]
                       + by_status[INTERNAL]),
            "found": by_status[FOUND],
            "none": by_status[NONE],
            "no_source": by_status[NOSOURCE],
            "bad": by_status[BAD],
            "transient": by_status[TRANSIENT],
            "rate_limited": sum(1 for o in self.outcomes.values() if o.rate_limited),
            "skipped": by_status[SKIPPED],
            "invalid": by_status[INVALID],
            "internal": by_status[INTERNAL],
        }

    def only_internal(self) -> bool:
        """Every node checked failed on vbot's side (a bug, the machine): nothing was learnt."""
        counts = self.counts()
        return counts["internal"] > 0 and counts["internal"] == counts["checked"]

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
            "durations": {**{k: round(v, 3) for k, v in sorted(self.durations.items())},
                          "total": self.elapsed()},
            "cpu": {k: round(v, 3) for k, v in sorted(self.cpu.items())},
            "peak_rss_mb": {**self.rss_mb, "total": _peak_rss_mb()},
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
            print(f"  {self.commit_line()}", file=out)
        for outage in self.extra.get("outages", []):
            print(f"  ! outage: {outage_line(outage)}", file=out)
        if self.extra.get("report_error"):
            print(f"  ! {self.extra['report_error']}", file=out)
        self.print_table(out)
        limit = self.extra.get("host_limit")
        if limit and limit.get("held_back"):
            host, count = next(iter(limit["held_back"].items()))
            print(f"  host limit: {host} held back {_n(count, 'request')} "
                  f"(limit {limit['per_host']} "
                  f"per host; raise [http] per_host or VBOT_HTTP_PER_HOST; --workers "
                  f"{limit['workers']})", file=out)
        # an outage's line stands for the failures of its source: they are counted, not listed
        down = {o["source"] for o in self.extra.get("outages", [])}
        failures = self.failures()
        shown = [f for f in failures if f.get("source") not in down]
        for failure in shown[:10]:
            print(f"  ! {failure['node']}: {failure.get('reason', failure['status'])}", file=out)
        if len(shown) > 10:
            print(f"  ! … and {len(shown) - 10} more (see --report)", file=out)
        for source in sorted(down):
            kept = sum(1 for f in failures if f.get("source") == source)
            print(f"  ! {_n(kept, 'failure')} of {source} kept (the outage above; see --report)",
                  file=out)
        unasked = Counter(o.reason for o in self.outcomes.values()  # --skip-unconfigured
                          if o.status == SKIPPED and o.source and o.reason)
        if unasked:
            print("  not checked: " + ", ".join(f"{_n(n, 'node')}, {why}" for why, n in
                                                sorted(unasked.items())), file=out)

    def commit_line(self) -> str:
        """What became of the run's commit: the one on the remote (after any rebase), or
        why there is none."""
        sha = self.extra.get("commit")
        if self.extra.get("landed_elsewhere"):
            return ("nothing left to push: every change of this run was already on the "
                    "remote (pushed by another run); no commit")
        if not sha:
            return "no changes, no commit"
        pushed = ", pushed" if self.extra.get("pushed") else ""
        rebased = self.extra.get("rebased_from")
        note = f" (rebased onto the remote; was {rebased[:12]})" if rebased else ""
        return f"commit {sha[:12]}{pushed}{note}"

    def print_table(self, out: TextIO) -> None:
        """Outcomes by source as a small table, then the time taken by phase."""
        rows = self.by_source()
        if rows:
            statuses = sorted({s for r in rows.values() for s in r})
            width = max(len(k) for k in rows) + 2
            print("  " + "source".ljust(width) + "".join(s.rjust(10) for s in statuses), file=out)
            for src, row in rows.items():
                print("  " + src.ljust(width) + "".join(str(row.get(s, 0)).rjust(10)
                                                        for s in statuses), file=out)
        if self.durations:
            print(f"  took {self.elapsed():.1f}s (" + ", ".join(
                f"{k} {v:.1f}s" for k, v in self.durations.items()) + ")", file=out)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def outage_line(outage: dict[str, Any]) -> str:
    """One line about a source judged down (``vbot/run/outage.py``), from the report."""
    where = (f"; check {outage['setting']}" if outage.get("setting")
             else "; check the network, proxy and [http] rewrite settings")
    sample = f" (e.g. {outage['sample_url']})" if outage.get("sample_url") else ""
    return (f"{outage['source']}: {outage['failed']} of {_n(outage['checked'], 'node')} "
            f"failed with {outage['kind']}{sample}: an outage or a wrong setting, not an "
            f"answer about the nodes; their previous results are kept{where}")


def _cpu_seconds() -> float:
    """CPU time of this process (all threads) plus its finished child processes (git)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def new_run_id(kind: str) -> str:
    """A unique, sortable run id, e.g. ``sweep-20261122T041500Z-3f9a1c``."""
    import secrets

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{kind}-{stamp}-{secrets.token_hex(3)}"
