"""Before any check: every source the nodes need must be configured.

A missing or invalid setting (``VBOT_PYPI_URL`` unset, a URL that is not http(s)) is not an
upstream answer, so it must never become a result. A node *needs* a source when that source
is in the node's source order and recognises the node's upstream: the sources are asked in
order until one yields a version, so any of them may be asked. When nodes need an
unconfigured source, the sweep stops before checking (one line naming the setting and how many
nodes need it, exit 1, nothing written); with ``--skip-unconfigured`` those nodes are not
checked, their files stay as they are, and they are reported as skipped.

Settings are only looked at when some source has a problem, so a fully configured sweep still
reads its node documents lazily, as the checks go.

Two problems stop every run, whatever the nodes (:func:`check_settings`, called first by
:func:`unconfigured`): a ``[sources.<name>]`` table naming no source or a key the source does
not declare (``Source.options``, plus ``url`` for a source with a base URL), and a setting of
the data repo's own vbot.toml that decides where a credential goes (the README's "Trust
model"): a source ``url`` or an ``[http] rewrite`` that would carry a token or a ``.netrc``
entry. Only the operator (environment, ``--config``) may set those. Credentials also never
go over plain http, except to a loopback address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from vbot.check.checker import Checker
from vbot.check.outcome import SKIPPED, Outcome
from vbot.config import Config, key_path, suggest
from vbot.errors import VbotError
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources import REGISTRY, Source


def source_keys(cls: type[Source]) -> list[str]:
    """The keys a ``[sources.<name>]`` table may hold: ``url`` for a source with a base URL,
    and the options the source declares."""
    url = ["url"] if cls.url_env or cls.default_url is not None else []
    return [*url, *(key for key, _ in cls.options)]


def source_key_problems(sources: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(key, problem)`` for every ``[sources.<name>]`` table that names no source or holds
    a key its source does not declare; ``key`` is the dotted path (``sources.pypi.urll``)."""
    found: list[tuple[str, str]] = []
    for name in sorted(sources):
        cls = REGISTRY.get(name)
        if cls is None:
            close = suggest(name, list(REGISTRY))
            hint = f" (did you mean {key_path(['sources', close])}?)" if close else ""
            found.append((f"sources.{name}",
                          f"{key_path(['sources', name])} is not a source{hint}"))
            continue
        known = source_keys(cls)
        table = sources[name] if isinstance(sources[name], Mapping) else {}
        for key in sorted(table):
            if key not in known:
                close = suggest(key, known)
                hint = f" (did you mean {key_path(['sources', name, close])}?)" if close else ""
                takes = f"; it takes {', '.join(known)}" if known and not close else ""
                found.append((f"sources.{name}.{key}",
                              f"{key_path(['sources', name, key])} is not a setting of "
                              f"{name}{hint}{takes}"))
    return found


def source_table_problem(config: Config) -> str | None:
    """One line (file first) for the first ``[sources.<name>]`` that names no source, or holds
    a key its source does not declare (None: every table is known)."""
    for key, problem in source_key_problems(config.sources):
        return f"{config.origins.get(key, 'vbot.toml')}: {problem}"
    return None


def _netrc(url: str) -> bool:
    """Whether requests would attach a ``.netrc`` entry to ``url``."""
    try:
        return requests.utils.get_netrc_auth(url) is not None
    except Exception:  # noqa: BLE001 - an unreadable .netrc is one requests ignores as well
        return False


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _overlaps(prefix: str, base: str) -> bool:
    """Whether rewriting URLs under ``prefix`` can touch URLs under ``base`` (either contains
    the other)."""
    p, b = prefix.lower(), base.rstrip("/").lower() + "/"
    return b.startswith(p) or p.startswith(b)


def credential_problem(config: Config,
                       sources: Mapping[str, type[Source]] = REGISTRY) -> str | None:
    """One line when a credential could go where only the data repo said, or over plain
    http to a host that is not loopback (None: credentials go only where the operator said).

    Looked at before any request, so a refused setting never sends anything."""
    operator = config.operator_only()
    credentialed: dict[str, str] = {}  # base URL -> source
    for name, cls in sorted(sources.items()):
        if not (cls.url_env or cls.default_url is not None):
            continue  # no base URL: nothing for a setting to steer
        url = cls.base_url_of(config)
        creds = cls.credentials(operator)  # the credentials the operator gave this source
        for base in creds:
            credentialed[base] = name
        if not url:
            continue
        carries = sorted({h for headers in creds.values() for h in headers})
        netrc = _netrc(url)
        what = ", ".join([*(f"the {h} header" for h in carries), *(["a .netrc entry"] * netrc)])
        if not what:
            continue
        repo_file = config.set_by_repo(f"sources.{name}.url")
        if repo_file and not any(config.env.get(n) for n in cls.url_env):  # not overridden
            how = " or ".join((*cls.url_env, "--config"))
            return (f"{repo_file}: [sources.{name}] url is set "
                    f"by the data repo, but {name}'s requests carry credentials ({what}): only "
                    f"the operator may say where they go ({how}); remove it from the data "
                    "repo's vbot.toml")
        if urlsplit(url).scheme == "http" and not _loopback(url):
            return (f"{name}: credentials ({what}) would go over plain http to {url}: "
                    "use https (plain http only to a loopback address)")
    for name in sorted(config.sources):  # other URLs a source asks (crates' api_url)
        for key, value in sorted(config.sources[name].items()):
            repo_file = config.set_by_repo(f"sources.{name}.{key}")
            if (repo_file and key != "url" and isinstance(value, str)
                    and value.startswith(("http://", "https://")) and _netrc(value)):
                return (f"{repo_file}: [sources.{name}] {key} is set by the data repo, but "
                        f"its requests would carry a .netrc entry: only the operator may set "
                        "it (--config)")
    for old, new in config.http.rewrite:
        repo_file = config.set_by_repo(f"http.rewrite.{old}")
        if not repo_file:
            continue
        touched = sorted({n for base, n in credentialed.items() if _overlaps(old, base)})
        if touched or _netrc(new):
            whose = f"{', '.join(touched)}'s credentials" if touched else "a .netrc entry"
            return (f"{repo_file}: [http] rewrite {old!r} is set by the data repo, but would "
                    f"send {whose} to {new}: only the operator may set it "
                    "(VBOT_HTTP_REWRITE or --config)")
    return None


def check_settings(config: Config) -> None:
    """VbotError (one line) for a settings problem that stops any run: an unknown source
    table or key, a credential steered by the data repo (see the module docstring)."""
    problem = source_table_problem(config) or credential_problem(config)
    if problem:
        raise VbotError(problem)


def unconfigured(checker: Checker) -> dict[str, str]:
    """``{source: one-line problem}`` for the checker's sources with a missing or invalid
    setting. First :func:`check_settings`: VbotError for a problem that stops any run."""
    config = checker.ctx.config
    check_settings(config)
    found = {name: source.config_problem(config) for name, source in checker.sources.items()}
    return {name: problem for name, problem in found.items() if problem}


def needs(checker: Checker, node: NodeInfo, broken: Mapping[str, str]) -> str | None:
    """The first source in the node's order that recognises its upstream and is unconfigured
    (None: every source that may be asked about this node is configured)."""
    for name in checker.order(node):
        if name not in broken:
            continue
        try:
            if checker.sources[name].match(node) is not None:
                return name
        except Exception:  # noqa: BLE001 - the check reports a node that breaks a source
            continue
    return None


def skip_reason(source: str) -> str:
    return f"source {source} not configured"


def refusal(counts: Mapping[str, int], broken: Mapping[str, str],
            hint: bool = True) -> VbotError:
    """The one-line error of a sweep that cannot start: each problem with its node count
    (``hint``: name the sweep's ``--skip-unconfigured``)."""
    parts = [f"{broken[name]}: {n} node{'' if n == 1 else 's'} need{'s' if n == 1 else ''} it"
             for name, n in sorted(counts.items())]
    return VbotError("; ".join(parts) + ("; --skip-unconfigured checks the rest" if hint else ""))


def screen(infos: Iterable[NodeInfo], checker: Checker, broken: Mapping[str, str],
           skip: bool, skipped: Callable[[Outcome], None], hint: bool = True) -> list[NodeInfo]:
    """The nodes to check. Without ``skip``, raise the refusal if any node needs a source in
    ``broken``; with ``skip``, hand each such node to ``skipped`` as a ``skipped`` outcome and
    leave it out."""
    keep: list[NodeInfo] = []
    counts: dict[str, int] = {}
    for info in infos:
        source = needs(checker, info, broken)
        if source is None:
            keep.append(info)
        elif skip:
            skipped(Outcome(info.name, SKIPPED, source=source, reason=skip_reason(source)))
        else:
            counts[source] = counts.get(source, 0) + 1
    if counts:
        raise refusal(counts, broken, hint)
    return keep
