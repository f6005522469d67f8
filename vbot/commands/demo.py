"""``vbot demo``: the whole loop, offline, on the bundled data repo and a fake upstream."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TextIO

from vbot.commands.merge import MergeOptions, merge, print_summary
from vbot.commands.sweep import SweepOptions, sweep
from vbot.shipped import resource_dir
from vbot.testing.fakeupstream import FakeUpstream
from vbot.testing.gitfixtures import create_remote, recent_commits


def demo(keep: Path | None = None, latency_ms: float = 20.0, out: TextIO | None = None) -> int:
    import sys

    out = out or sys.stdout
    data = resource_dir("data")
    world = json.loads((data / "world.json").read_text("utf-8"))
    world["latency_ms"] = latency_ms
    with tempfile.TemporaryDirectory(prefix="vbot-demo-") as tmp:
        base = keep.resolve() if keep else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        remote = create_remote(data / "repo", base / "remote.git", "Import bundled data repo")
        print(f"demo: bare remote {remote}", file=out)
        with FakeUpstream(world) as fake:
            print(f"demo: fake upstream on {fake.base_url} ({latency_ms:.0f} ms latency)", file=out)
            env = {**os.environ, **fake.env()}
            env.pop("GITHUB_TOKEN", None)
            report = sweep(SweepOptions(remote=remote, workdir=base / "work", workers=16,
                                        progress=False, env=env))
        report.print_summary(out)
        result = merge(MergeOptions(remote=remote, workdir=base / "work", progress=False))
        print_summary(result, out)
        print("\nlast two commits of the remote:\n", file=out)
        print(recent_commits(base / "remote.git", 2), file=out)
        if keep:
            print(f"\ndemo kept in {base}", file=out)
    return 0
