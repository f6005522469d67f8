"""The GitHub Actions example for data repos: the promised jobs and settings, no host names."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-actions" / "vbot.yml"


def test_workflow_shape() -> None:
    text = WORKFLOW.read_text()
    doc = yaml.safe_load(text)
    triggers = doc[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"][0]["cron"]
    assert doc["concurrency"]["cancel-in-progress"] is False
    assert "group" in doc["concurrency"]
    assert doc["permissions"] == {"contents": "write"}
    assert doc["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert doc["env"]["VBOT_PYPI_URL"] == "${{ vars.VBOT_PYPI_URL }}"
    assert doc["env"]["VBOT_NPM_URL"] == "${{ vars.VBOT_NPM_URL }}"
    sweep, merge = doc["jobs"]["sweep"], doc["jobs"]["merge"]
    assert merge["needs"] == "sweep"
    cache = [s for s in sweep["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache and cache[0]["with"]["path"] == "~/.cache/vbot"
    assert cache[0]["with"]["restore-keys"]
    runs = [s.get("run", "") for s in sweep["steps"]]
    assert any(r.startswith("vbot sweep ") and "--report" in r for r in runs)
    assert any(s.get("run", "").startswith("vbot merge ") for s in merge["steps"])
    # no registry host names: every URL-looking text is a comment or a ${{ }} expression
    for line in text.splitlines():
        if "://" in line:
            assert line.lstrip().startswith("#"), line
