"""The command line: parse arguments, call one function per command, map errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vbot import __version__
from vbot.errors import EXIT_INTERRUPTED, EXIT_OK, VbotError
from vbot.redact import redact


def _nodes(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_repo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("repo", metavar="REPO", help="data repo: a git URL (file:// included) or path")
    p.add_argument("--workdir", type=Path, help="where to keep the clone "
                   "(default: a folder under the user cache dir)")
    p.add_argument("--no-push", dest="push", action="store_false",
                   help="commit locally but do not push")
    p.add_argument("--report", type=Path, metavar="FILE", help="write a JSON run report here")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vbot", description="A git-backed version bot for package dependency graphs.")
    parser.add_argument("--version", action="version", version=f"vbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("sweep", help="check every node upstream and commit versions/ files",
                       description="Clone or update REPO, check every eligible node against its "
                       "upstream in parallel, write versions/<node>.json, commit once and push.")
    _add_repo_args(p)
    p.add_argument("--workers", type=_positive, default=16, help="parallel checks (default 16)")
    p.add_argument("--nodes", type=_nodes, help="only these nodes (comma separated)")
    p.add_argument("--config", type=Path, help="a vbot.toml (default: the one in the data repo)")
    p.add_argument("--cache-dir", type=Path, metavar="DIR",
                   help="persistent HTTP cache for conditional requests (default: $VBOT_CACHE_DIR "
                   "or 'http' under the user cache dir; keep it between CI runs)")
    p.add_argument("--no-cache", dest="http_cache", action="store_false",
                   help="no persistent HTTP cache: every request is unconditional")

    p = sub.add_parser("merge", help="merge versions/ results into the graph's node attributes",
                       description="Pull REPO, validate every versions file and set new_version "
                       "in the node attributes (version_pr_info in cf layout); one commit.")
    _add_repo_args(p)

    p = sub.add_parser("demo", help="run sweep and merge offline on the bundled data repo",
                       description="Build a temporary bare remote from the bundled data/ repo, "
                       "start a loopback fake upstream, run sweep and merge, show the commits.")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="build the demo in DIR and keep it (default: a temporary folder)")
    p.add_argument("--latency-ms", type=float, default=20.0, help="fake upstream latency")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.command == "sweep":
        from vbot.commands.sweep import SweepOptions, sweep

        report = sweep(SweepOptions(
            remote=args.repo, workdir=args.workdir, workers=args.workers, nodes=args.nodes,
            push=args.push, report=args.report, config=args.config, progress=not args.quiet,
            cache_dir=args.cache_dir, http_cache=args.http_cache))
        report.print_summary(sys.stdout)
        return EXIT_OK
    if args.command == "merge":
        from vbot.commands.merge import MergeOptions, merge, print_summary

        result = merge(MergeOptions(remote=args.repo, workdir=args.workdir, push=args.push,
                                    report=args.report, progress=not args.quiet))
        print_summary(result, sys.stdout)
        return EXIT_OK
    if args.command == "demo":
        from vbot.commands.demo import demo

        return demo(keep=args.keep, latency_ms=args.latency_ms, out=sys.stdout)
    raise VbotError(f"unknown command {args.command}")  # pragma: no cover


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except VbotError as exc:
        print(f"vbot: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vbot: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
