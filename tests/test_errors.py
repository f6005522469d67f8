"""One exception tree: an upstream's failure is a VbotError by type, but never mistaken for
the user's mistake (exit 1) or a run's failure: checks keep it as a node's result, and one that
escapes to the command line is a bug (exit 4, with the traceback)."""

from __future__ import annotations

import pickle

import pytest

from vbot import main as vbot_main
from vbot.errors import EXIT_INTERNAL, EXIT_PUSH, PushError, UpstreamError, VbotError


def test_one_tree() -> None:
    assert issubclass(UpstreamError, VbotError) and issubclass(PushError, VbotError)
    err = UpstreamError("HTTP 503 from x", rate_limited=True)
    assert str(err) == err.reason == "HTTP 503 from x"
    assert err.transient and err.rate_limited
    assert PushError("refused").exit_code == EXIT_PUSH


def test_an_upstream_error_survives_a_process_boundary() -> None:
    back = pickle.loads(pickle.dumps(UpstreamError("timed out", transient=True)))
    assert (type(back), back.reason, back.transient, back.rate_limited) == (
        UpstreamError, "timed out", True, False)


@pytest.mark.parametrize(("raised", "code", "line"), [
    (VbotError("graph.json: not JSON"), 1, "vbot: error: graph.json: not JSON\n"),
    (UpstreamError("HTTP 404 from x"), EXIT_INTERNAL, "vbot: internal error (see above)\n"),
], ids=["user-error", "escaped-upstream-error"])
def test_what_reaches_the_command_line(monkeypatch, capsys, raised: Exception, code: int,
                                       line: str) -> None:
    def run(args: object) -> int:
        raise raised

    monkeypatch.setattr(vbot_main, "run", run)
    assert vbot_main.main(["validate", "."]) == code
    err = capsys.readouterr().err
    assert err.endswith(line)
    assert ("Traceback" in err) == (code == EXIT_INTERNAL)
