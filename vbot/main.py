"""The command line: parse arguments, call one function per command, map errors to exit codes."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vbot import __version__
from vbot.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USER,
    UpstreamError,
    VbotError,
)
from vbot.redact import redact
from vbot.run.jobshard import Shard, parse_shard

if TYPE_CHECKING:
    from vbot.run.report import RunReport

EXIT_CODES = """exit codes:
  0    done (a failure of a single node is a result: see the summary and --report)
  1    error: bad input, a path or OS error (checked before any work where it can be), a
       source outage in a sweep (its results kept, the rest pushed), a report not written
  2    usage: unknown command or bad arguments
  3    the remote is unreachable or refused the push (the commit is kept for the next run)
  4    internal error: a bug (traceback shown, secrets redacted)
  130  interrupted: Ctrl-C (SIGINT) or SIGTERM, with a message
"""
KINDS = ("local", "process", "dask")  # vbot.run.executors.KINDS, kept here so --help stays light


def _nodes(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _depth(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (the whole history) or more")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _shard(text: str) -> Shard:
    try:
        return parse_shard(text)
    except VbotError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_scale_args(p: argparse.ArgumentParser) -> None:
    """``sweep`` options to spread the checks over processes, a Dask cluster or CI jobs."""
    g = p.add_argument_group("scaling out")
    g.add_argument("--executor", choices=KINDS, default="local",
                   help="where checks run: on this process's event loop (default), a local "
                   "process pool, or a Dask cluster")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="dask: an existing scheduler, e.g. tcp://scheduler.example:8786 "
                   "(default: start a LocalCluster)")
    g.add_argument("--processes", type=_positive, metavar="N",
                   help="process pool size / LocalCluster workers (default: CPU count)")
    g.add_argument("--chunk-size", type=_positive, metavar="N",
                   help="nodes per task sent to a worker (default: automatic, at most 512)")
    g.add_argument("--shard", type=_shard, metavar="I/N",
                   help="check only the nodes with sha1(name) %% N == I (0 <= I < N), "
                   "for N parallel CI jobs")


def _add_repo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("repo", metavar="REPO", help="data repo: a git URL (file:// included) or path")
    p.add_argument("--workdir", type=Path, help="where to keep the clone "
                   "(default: a folder under the user cache dir)")
    p.add_argument("--no-push", dest="push", action="store_false",
                   help="commit locally but do not push")
    p.add_argument("--report", type=Path, metavar="FILE", help="write a JSON run report here")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--depth", type=_depth, metavar="N",
                   help="commits of history the clone fetches (default: [git] depth of "
                   "vbot.toml, else 1; 0: the whole history)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vbot", description="A git-backed version bot for package dependency graphs.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"vbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("sweep", help="check every node upstream and commit versions/ files",
                       description="Clone or update REPO, check every eligible node against its "
                       "upstream in parallel, write versions/<node>.json, commit once and push.")
    _add_repo_args(p)
    p.add_argument("--workers", type=_positive, default=64,
                   help="parallel checks (per worker process with --executor process/dask; "
                   "default 64)")
    p.add_argument("--nodes", type=_nodes, help="only these nodes (comma separated)")
    p.add_argument("--config", type=Path, help="a vbot.toml (default: the one in the data repo)")
    p.add_argument("--cache-dir", type=Path, metavar="DIR",
                   help="persistent HTTP cache for conditional requests (default: $VBOT_CACHE_DIR "
                   "or 'http' under the user cache dir; keep it between CI runs)")
    p.add_argument("--no-cache", dest="http_cache", action="store_false",
                   help="no persistent HTTP cache: every request is unconditional")
    p.add_argument("--deadline", type=_seconds, metavar="SECONDS",
                   help="stop checking after SECONDS: nodes not checked by then are reported as "
                   "transient failures and the results so far are committed and pushed")
    p.add_argument("--skip-unconfigured", action="store_true",
                   help="when nodes need a source that is not configured (e.g. VBOT_PYPI_URL "
                   "unset), check the rest and leave those nodes' files as they are (default: "
                   "stop before checking, exit 1)")
    p.add_argument("--full", action="store_true",
                   help="check every node now, whatever the change feeds say (default: skip the "
                   "nodes whose upstream, document and result are unchanged since the last sweep)")
    _add_scale_args(p)

    p = sub.add_parser("merge", help="merge versions/ results into the graph's node attributes",
                       description="Pull REPO, validate every versions file and set new_version "
                       "in the node attributes (version_pr_info in cf layout); one commit.")
    _add_repo_args(p)
    p.add_argument("--full", action="store_true",
                   help="merge every versions file (default: those that can merge differently "
                   "since the last merge)")

    p = sub.add_parser("demo", help="run sweep and merge offline on the bundled data repo",
                       description="Build a temporary bare remote from the bundled data/ repo, "
                       "start a loopback fake upstream, run sweep and merge, show the commits.")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="build the demo in DIR and keep it (default: a temporary folder)")
    p.add_argument("--latency-ms", type=float, default=20.0, help="fake upstream latency")
    _add_maintainer_parsers(sub)
    return parser


def _add_maintainer_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="a node's version timeline from git log",
                       description="Show when a node's versions file and its merged new_version "
                       "changed: date, commit, run id, old -> new (newest first).")
    p.add_argument("node", metavar="NODE")
    p.add_argument("--repo", type=Path, default=Path("."),
                   help="a clone of the data repo (default: the current directory)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("check", help="explain what a sweep finds for some nodes (dry run)",
                       description="Check NODEs against the configured upstreams like a sweep, "
                       "write nothing, and explain each: sources matched and why, URLs asked, "
                       "candidate versions, each one dropped with the reason, the result.")
    p.add_argument("nodes", nargs="+", metavar="NODE")
    p.add_argument("--repo", type=Path, default=Path("."),
                   help="a clone of the data repo (default: the current directory)")
    p.add_argument("--config", type=Path, help="a vbot.toml (default: the one in the data repo)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per node")

    p = sub.add_parser("validate", help="check data repo files against vbot's schemas",
                       description="Check graph.json, versions files and new_version entries. "
                       "PATH: one data repo folder (default: .) or files; --staged: the files "
                       "staged in git (for hooks). Prints 'path: message'; exit 1 on problems.")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument("--staged", action="store_true", help="validate the staged files only")

    p = sub.add_parser("install-hooks", help="install vbot's pre-commit hook into a clone",
                       description="Install the validating pre-commit hook; an existing hook is "
                       "kept as pre-commit.local and run first.")
    p.add_argument("dir", nargs="?", type=Path, default=Path("."), metavar="DIR")

    p = sub.add_parser("revert", help="undo sweep/merge runs by run id with git revert",
                       usage="vbot revert [-h] RUN_ID... [REPO] [--workdir DIR] [--no-push]",
                       description="Find the commits with these Vbot-Run ids, revert them "
                       "(newest first: a merge before its sweep) in one commit and push. REPO "
                       "defaults to the origin of the clone in the current directory.")
    p.add_argument("args", nargs="+", metavar="RUN_ID... [REPO]",
                   help="run ids as in the Vbot-Run: trailers (sweep-..., merge-...), then "
                   "optionally the data repo URL or path")
    p.add_argument("--workdir", type=Path, help="where to keep the clone")
    p.add_argument("--no-push", dest="push", action="store_false",
                   help="commit locally but do not push")

    p = sub.add_parser("status", help="a static HTML status page of a data repo",
                       description="Outdated nodes, failures by source and the sweep history "
                       "as one self-contained HTML page.")
    p.add_argument("repo", nargs="?", default=".", metavar="REPO",
                   help="a clone (default: .), a bare repo or a git URL")
    p.add_argument("--html", type=Path, required=True, metavar="OUT")
    p.add_argument("--workdir", type=Path, help="where to clone REPO when it is not a clone")


def _run_maintainer(args: argparse.Namespace) -> int | None:
    if args.command == "history":
        from vbot.commands.history import history, print_history

        entries = history(args.repo, args.node)
        print_history(entries, sys.stdout, as_json=args.json)
        return EXIT_OK
    if args.command == "check":
        from vbot.commands.check import CheckOptions, explain_nodes, print_json, print_text

        found = explain_nodes(CheckOptions(tuple(args.nodes), args.repo, args.config))
        (print_json if args.json else print_text)(found, sys.stdout)
        return EXIT_OK
    if args.command == "validate":
        from vbot.commands.validate import validate

        return validate(args.paths, args.staged, sys.stdout, sys.stderr)
    if args.command == "install-hooks":
        from vbot.commands.install_hooks import install_hooks

        install_hooks(args.dir, sys.stdout)
        return EXIT_OK
    if args.command == "revert":
        from vbot.commands.revert import RevertOptions, revert, split_args

        run_ids, repo = split_args(args.args)
        revert(RevertOptions(run_ids=run_ids, remote=repo, workdir=args.workdir,
                             push=args.push), sys.stdout)
        return EXIT_OK
    if args.command == "status":
        from vbot.commands.status import status

        status(args.repo, args.html, sys.stdout, workdir=args.workdir)
        return EXIT_OK
    return None


def run(args: argparse.Namespace) -> int:
    if args.command == "sweep":
        from vbot.commands.sweep import SweepOptions, sweep
        from vbot.run.executors import ExecutorSpec

        report = sweep(SweepOptions(
            remote=args.repo, workdir=args.workdir, workers=args.workers, nodes=args.nodes,
            push=args.push, report=args.report, config=args.config, progress=not args.quiet,
            deadline=args.deadline,
            executor=ExecutorSpec(args.executor, args.scheduler, args.processes, args.chunk_size),
            shard=args.shard, cache_dir=args.cache_dir, http_cache=args.http_cache,
            skip_unconfigured=args.skip_unconfigured, depth=args.depth, full=args.full))
        report.print_summary(sys.stdout)
        from vbot.run.incremental import print_summary as print_incremental

        print_incremental(report.extra, sys.stdout)
        if report.only_internal():  # nothing was learnt: every check failed on vbot's side
            print("vbot: error: every node checked failed inside vbot (internal, see the "
                  "summary); no versions file was changed for them", file=sys.stderr)
            return EXIT_INTERNAL
        return _sweep_exit(report)
    if args.command == "merge":
        from vbot.commands.merge import MergeOptions, merge, print_summary

        result = merge(MergeOptions(remote=args.repo, workdir=args.workdir, push=args.push,
                                    report=args.report, progress=not args.quiet,
                                    depth=args.depth, full=args.full))
        print_summary(result, sys.stdout)
        return EXIT_OK
    if args.command == "demo":
        from vbot.commands.demo import demo

        return demo(keep=args.keep, latency_ms=args.latency_ms, out=sys.stdout)
    code = _run_maintainer(args)
    if code is not None:
        return code
    raise VbotError(f"unknown command {args.command}")  # pragma: no cover


def _sweep_exit(report: RunReport) -> int:
    """Exit 1 when a source was down or misconfigured (its results were kept, the rest
    committed and pushed) or the report could not be written; else 0."""
    from vbot.run.report import outage_line

    outages = report.extra.get("outages") or []
    for outage in outages:
        print(f"vbot: error: source outage: {outage_line(outage)}", file=sys.stderr)
    if report.extra.get("report_error"):
        print(f"vbot: error: {report.extra['report_error']}", file=sys.stderr)
    return EXIT_USER if outages or report.extra.get("report_error") else EXIT_OK


def _secrets() -> list[str | None]:
    return [os.environ.get(k) for k in ("GITHUB_TOKEN", "GH_TOKEN")]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: handled like Ctrl-C (clean-up runs, exit 130)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def _check_paths(args: argparse.Namespace) -> None:
    """Every folder or file the command will write, checked before any work (one line,
    exit 1): workdir (or the user cache folder it defaults to), HTTP cache, report, page."""
    from vbot.run.oscheck import writable_dir, writable_file

    command = args.command
    if command in ("sweep", "merge") and args.push:
        from vbot.git.remote import check_pushable

        check_pushable(args.repo)
    if command in ("sweep", "merge", "revert", "status"):
        if args.workdir is not None:
            writable_dir(args.workdir, "--workdir")
        elif command != "status" or not _is_git_dir(args.repo):
            import platformdirs

            writable_dir(Path(platformdirs.user_cache_dir("vbot")), _cache_what())
    if command == "sweep" and args.http_cache:
        from vbot.httpclient.cache import default_cache_dir

        what = ("--cache-dir" if args.cache_dir is not None else "VBOT_CACHE_DIR"
                if os.environ.get("VBOT_CACHE_DIR") else _cache_what())
        writable_dir(args.cache_dir or default_cache_dir(), f"{what} (HTTP cache)")
    if command in ("sweep", "merge") and args.report is not None:
        writable_file(args.report, "--report")
    if command == "status":
        writable_file(args.html, "--html")
    if command == "demo" and args.keep is not None:
        writable_dir(args.keep, "--keep")


def _cache_what() -> str:
    return ("the user cache folder (XDG_CACHE_HOME)" if os.environ.get("XDG_CACHE_HOME")
            else "the user cache folder")


def _is_git_dir(repo: str) -> bool:
    from vbot.git.maintainer import is_git_dir

    return is_git_dir(repo)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handle = threading.current_thread() is threading.main_thread()  # signals: main thread only
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if handle else None
    try:
        _check_paths(args)
        return run(args)
    except UpstreamError:  # an upstream's answer belongs to a node's check: escaping is a bug
        print(redact(traceback.format_exc(), _secrets()), file=sys.stderr, end="")
        print("vbot: internal error (see above)", file=sys.stderr)
        return EXIT_INTERNAL
    except VbotError as exc:
        print(f"vbot: error: {redact(str(exc), _secrets())}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print("vbot: terminated (SIGTERM): stopped as for Ctrl-C", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("vbot: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # the machine or a path, not vbot: one line, as for bad input
        from vbot.run.oscheck import describe

        where = f": {exc.filename}" if exc.filename else ""
        print(f"vbot: error: {redact(describe(exc), _secrets())}{where}", file=sys.stderr)
        return EXIT_USER
    except Exception:  # a bug: show where, but never a secret (git errors carry URLs)
        print(redact(traceback.format_exc(), _secrets()), file=sys.stderr, end="")
        print("vbot: internal error (see above)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if handle:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
