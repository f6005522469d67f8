"""Plain download URLs (GNU, SourceForge, personal sites): probe for the next version.

Candidates come from bumping the current version from the right, as conda-forge's bot does
(``8.1.5`` -> ``8.1.6``, ``8.2.0``, ``9.0.0``; also ``8.2``, ``9.0`` when trailing zeros may be
dropped). Each is substituted into the recipe URL in the spelling the URL uses (``8.1.5``,
``8_1_5``, ``8-1-5``, ``815``; a ``/8.1/`` folder follows along) and tested with ``HEAD``
(ranged ``GET`` when ``HEAD`` is refused). From a version found, the search goes on, for at most
``[sources.rawurl] hops`` hops (default 4). URLs another source understands are left to it;
registries vbot has no source for (CPAN, RubyGems, RPM repos; ``[sources.rawurl] skip_hosts``
adds more) are not probed: their nodes count as "no source".
The requests carry no credentials: URLs under a base URL that some source sends credentials to
(e.g. the GitHub API with ``GITHUB_TOKEN``) are not probed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from vbot import versions
from vbot.nodeinfo import NodeInfo
from vbot.sources import cran, crates, gitlab, npm, pypi
from vbot.sources.base import Source
from vbot.sources.github import repo_from_url

EXISTS = (200, 206)
MISSING = (404, 410)
REFUSED = (400, 401, 403, 405, 406, 409, 416, 501)
_SEGMENT = re.compile(r"[0-9]+|[^0-9]+")
SKIP_HOSTS = ("cpan.org", "metacpan.org", "rubygems.org", "centos.org", "fedoraproject.org",
              "rpmfind.net", "hackage.haskell.org", "pkg.go.dev", "proxy.golang.org",
              "anaconda.org", "conda.anaconda.org", "repo.maven.apache.org")
_ARCHIVE = re.compile(r"\.(tar\.[a-z0-9]+|t[gbx]z|zip|7z|gz|bz2|xz|zst)$", re.IGNORECASE)
SKIP_EXTENSIONS = (".rpm", ".deb", ".gem", ".conda", ".whl", ".jar", ".nupkg")


def claimed(url: str, version: str | None) -> bool:
    """True when an API source understands ``url`` (it answers for it, not a probe)."""
    return bool(pypi.package_from_url(url, version) or repo_from_url(url)
                or npm.package_from_url(url) or cran.package_from_url(url)
                or crates.crate_from_url(url) or gitlab.project_from_url(url))


def bump(version: str) -> Iterator[str]:
    """Next-version candidates, rightmost number first: ``8.1.5`` -> ``8.1.6``, ``8.2.0``,
    ``8.2``, ``9.0.0``, ``9.0``. Non-numeric parts stay as they are."""
    parts = _SEGMENT.findall(version)
    seen = {version}
    for i in reversed(range(len(parts))):
        if not parts[i].isdigit():
            continue
        tail = ["0" if p.isdigit() else p for p in parts[i + 1 :]]
        full = "".join([*parts[:i], str(int(parts[i]) + 1), *tail])
        trimmed = full
        while trimmed.endswith(".0") and trimmed.count(".") > 1 and len(tail) > 0:
            trimmed = trimmed[:-2]
        for cand in (full, trimmed):
            if cand not in seen:
                seen.add(cand)
                yield cand


def _spelled(version: str) -> list[tuple[str, str]]:
    """(spelling, separator) pairs: ``1.2.3``, ``1_2_3``, ``1-2-3``, ``123`` (3+ numbers)."""
    if "." not in version:
        return [(version, ".")]
    seps = [".", "_", "-"] + ([""] if version.count(".") >= 2 else [])
    return [(version.replace(".", sep), sep) for sep in seps]


def _pattern(spelled: str) -> str:
    return rf"(?<![0-9]){re.escape(spelled)}(?![0-9])"


def spelling_in(path: str, version: str) -> tuple[str, str] | None:
    """(how the URL spells ``version``, the separator used: ``.``, ``_``, ``-`` or '')."""
    for spelled, sep in _spelled(version):
        if re.search(_pattern(spelled), path):
            return spelled, sep
    return None


def substitute(url: str, current: str, candidate: str) -> str | None:
    """``url`` with every spelling of ``current`` replaced by ``candidate`` (path only)."""
    parts = urlsplit(url)
    path = parts.path
    if not spelling_in(path, current):
        return None
    for spelled, sep in _spelled(current):
        path = re.sub(_pattern(spelled), candidate.replace(".", sep), path)
    # a major.minor folder follows the version: /glib/2.78/glib-2.78.1.tar.xz
    cur_mm, new_mm = current.split(".")[:2], candidate.split(".")[:2]
    if len(cur_mm) == 2 and len(new_mm) == 2 and current.count(".") >= 2:
        path = path.replace(f"/{'.'.join(cur_mm)}/", f"/{'.'.join(new_mm)}/")
    return urlunsplit(parts._replace(path=path))


def not_probed(url: str, skip_hosts: tuple[str, ...]) -> bool:
    """Registries with an API vbot does not speak (CPAN, RubyGems, RPM repos …): a guessed
    file name there says nothing, so such nodes are "no source" rather than probed."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if any(host == h or host.endswith("." + h) for h in skip_hosts):
        return True
    return parts.path.lower().endswith(SKIP_EXTENSIONS)


class RawUrl(Source[tuple[str, str]]):
    name = "rawurl"
    url_env = ()
    default_url = None
    options = (("hops", int), ("skip_hosts", list))

    def skip_hosts(self) -> tuple[str, ...]:
        extra = self.ctx.config.source_option(self.name, "skip_hosts", [])
        return SKIP_HOSTS + tuple(str(h).lower() for h in extra if isinstance(h, str))

    def credentialed(self) -> tuple[str, ...]:
        """Base URLs some source sends credentials to: never probed from here."""
        from vbot.sources import REGISTRY

        return tuple(base.rstrip("/") + "/" for cls in REGISTRY.values()
                     for base in cls.credentials(self.ctx.config))

    def match(self, node: NodeInfo) -> tuple[str, str] | None:
        current = node.version
        if not current or versions.parse(current) is None:
            return None
        skip = self.skip_hosts()
        secret = self.credentialed()
        for url in node.urls:
            if urlsplit(url).scheme not in ("http", "https") or claimed(url, current) \
                    or not_probed(url, skip) or url.startswith(secret):
                continue
            if spelling_in(urlsplit(url).path, current):
                return url, current
        return None

    async def exists(self, url: str) -> bool:
        """HEAD (ranged GET when refused); an HTML page where a file was asked for is a
        "not found" page of a mirror network (SourceForge does that), not the file."""
        resp = await self.ctx.http.request("HEAD", url, ok=EXISTS + MISSING + REFUSED)
        if resp.status in REFUSED:
            resp = await self.ctx.http.request("GET", url, {"Range": "bytes=0-0"},
                                         ok=EXISTS + MISSING + REFUSED)
        if resp.status not in EXISTS:
            return False
        ctype = resp.headers.get("Content-Type", "").lower()
        return not (ctype.startswith("text/html") and _ARCHIVE.search(urlsplit(url).path))

    async def versions(self, target: tuple[str, str], node: NodeInfo) -> list[str]:
        url, current = target
        hops = int(self.ctx.config.source_option(self.name, "hops", 4))
        found: list[str] = []
        base = current
        for _ in range(max(1, hops)):
            for candidate in bump(base):
                new_url = substitute(url, current, candidate)
                if new_url and await self.exists(new_url):
                    found.append(candidate)
                    base = candidate
                    break
            else:
                break
        return found
