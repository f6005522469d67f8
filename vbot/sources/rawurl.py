"""Plain download URLs (GNU, SourceForge, personal sites): probe for the next version.

Candidates come from bumping the current version from the right, as conda-forge's bot does
(``8.1.5`` -> ``8.1.6``, ``8.2.0``, ``9.0.0``; also ``8.2``, ``9.0`` when trailing zeros may be
dropped), plus a letter bump when the version ends in one letter (``71.b`` -> ``71.c``,
``1.1.1w`` -> ``1.1.1x``). The node's ``exclude`` and ``even_odd_versions`` apply before
probing: a candidate they drop is stepped over (``2.58.3`` -> ``2.60.0``, never ``2.59.0``).
Each candidate's URL is rendered from the recipe's own source URL template
(``vbot/repo/recipe.py``, in a jinja2 sandbox: ``vbot/sources/templates.py``), so
``.../{{ version_majmin }}/{{ name }}-{{ version }}.tar.xz`` gets its folder right and
``lrslib-0{{ version.replace(".", "") }}.tar.gz`` becomes ``lrslib-071c.tar.gz``. When the
template cannot be rendered (none in the recipe, undefined names, a sandbox refusal) the version
is substituted into the URL in the spelling the URL uses (``8.1.5``, ``8_1_5``, ``8-1-5``,
``815``; a ``/8.1/`` folder follows along). Each URL is tested with ``HEAD`` (ranged ``GET``
when ``HEAD`` is refused). From a version found, the search goes on while the next version
exists, for at most ``[sources.rawurl] hops`` hops (default 4). URLs another source understands
are left to it; registries vbot has no source for (CPAN, RubyGems, RPM repos;
``[sources.rawurl] skip_hosts`` adds more) are not probed: their nodes count as "no source".
The requests carry no credentials: URLs under a base URL that some source sends credentials to
(e.g. the GitHub API with ``GITHUB_TOKEN``) are not probed, and a rendered URL must stay on the
recipe URL's scheme and host.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from vbot.repo.nodeinfo import NodeInfo
from vbot.sources import cran, crates, gitlab, metacpan, npm, nvidia, pypi, rubygems
from vbot.sources.base import Source
from vbot.sources.github import repo_from_url
from vbot.sources.templates import UrlRenderer, renderer_for
from vbot.versioning import order
from vbot.versioning.policy import sift

EXISTS = (200, 206)
MISSING = (404, 410)
REFUSED = (400, 401, 403, 405, 406, 409, 416, 501)
_SEGMENT = re.compile(r"[0-9]+|[^0-9]+")
_LETTER = re.compile(r"^(.*[0-9.])([a-zA-Z])$")  # 71.b, 1.1.1w: a letter release
STEPS = 4  # how far a candidate the node's controls drop is stepped over (2.59 -> 2.60)
SKIP_HOSTS = ("cpan.org", "metacpan.org", "rubygems.org", "centos.org", "fedoraproject.org",
              "rpmfind.net", "hackage.haskell.org", "pkg.go.dev", "proxy.golang.org",
              "anaconda.org", "conda.anaconda.org", "repo.maven.apache.org")
_ARCHIVE = re.compile(r"\.(tar\.[a-z0-9]+|t[gbx]z|zip|7z|gz|bz2|xz|zst)$", re.IGNORECASE)
SKIP_EXTENSIONS = (".rpm", ".deb", ".gem", ".conda", ".whl", ".jar", ".nupkg")


def claimed(url: str, version: str | None) -> bool:
    """True when an API source understands ``url`` (it answers for it, not a probe)."""
    return bool(pypi.package_from_url(url, version) or repo_from_url(url)
                or npm.package_from_url(url) or cran.package_from_url(url)
                or crates.crate_from_url(url) or gitlab.project_from_url(url)
                or rubygems.gem_from_url(url, version) or metacpan.dist_from_url(url, version)
                or (nvidia.redist_from_url(url) or ("", None))[1])


def _bumped(parts: list[str], i: int, step: int, letter: bool) -> tuple[str, str]:
    """(full, trimmed): ``parts[i]`` plus ``step``, numbers right of it zeroed (a trailing
    release letter dropped), and the same without trailing ``.0``."""
    tail = ["0" if p.isdigit() else p for p in parts[i + 1 :]]
    full = "".join([*parts[:i], str(int(parts[i]) + step), *tail])
    if letter:  # 71.b -> 72, 1.1.1w -> 1.1.2: a new number starts without a letter
        full = full[:-1].rstrip(".")
    trimmed = full
    while trimmed.endswith(".0") and trimmed.count(".") > 1 and len(tail) > 0:
        trimmed = trimmed[:-2]
    return full, trimmed


def bump(version: str, keep: Callable[[str], bool] = lambda _: True) -> Iterator[str]:
    """Next-version candidates, rightmost first: ``8.1.5`` -> ``8.1.6``, ``8.2.0``, ``8.2``,
    ``9.0.0``, ``9.0``; a trailing letter first: ``71.b`` -> ``71.c``, ``72``. Non-numeric parts
    stay as they are. A candidate ``keep`` refuses is stepped over: with even minors only,
    ``2.58.3`` -> ``2.58.4``, ``2.60.0``, ``2.60``, ``3.0.0``, ``3.0``."""
    seen = {version}
    letter = _LETTER.match(version)
    if letter:
        head, last = letter.groups()
        for step in range(1, STEPS + 1):
            if ord(last.lower()) + step > ord("z"):
                break
            cand = head + chr(ord(last) + step)
            if keep(cand):
                seen.add(cand)
                yield cand
                break
    parts = _SEGMENT.findall(version)
    for i in reversed(range(len(parts))):
        if not parts[i].isdigit():
            continue
        for step in range(1, STEPS + 1):
            kept = [c for c in dict.fromkeys(_bumped(parts, i, step, bool(letter)))
                    if c not in seen and keep(c)]
            seen.update(kept)
            yield from kept
            if kept:
                break


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


@dataclass(frozen=True)
class Probe:
    """A recipe URL to probe from: the node's URL, its version and, when the recipe's template
    renders that URL, the renderer for other versions."""

    url: str
    current: str
    template: UrlRenderer | None = None

    def url_for(self, candidate: str) -> str | None:
        """The URL of ``candidate``: rendered from the template, else substituted."""
        rendered = self.template.render(candidate) if self.template is not None else None
        if rendered is not None:
            old, new = urlsplit(self.url), urlsplit(rendered)
            same_origin = (old.scheme, old.netloc) == (new.scheme, new.netloc)
            return rendered if same_origin and rendered != self.url else None
        return substitute(self.url, self.current, candidate)


class RawUrl(Source[Probe]):
    name = "rawurl"
    url_env = ()
    default_url = None
    options = (("hops", int), ("skip_hosts", list))

    def skip_hosts(self) -> tuple[str, ...]:
        extra = self.ctx.config.source_option(self.name, "skip_hosts", [])
        return SKIP_HOSTS + tuple(str(h).lower() for h in extra if isinstance(h, str))

    def credentialed(self) -> tuple[str, ...]:
        """Base URLs the HTTP client sends credentials to: never probed from here."""
        return self.ctx.http.credentialed_prefixes()

    def match(self, node: NodeInfo) -> Probe | None:
        current = node.version
        if not current or order.parse(current) is None:
            return None
        skip = self.skip_hosts()
        secret = self.credentialed()
        for url in node.urls:
            if urlsplit(url).scheme not in ("http", "https") or claimed(url, current) \
                    or not_probed(url, skip) or url.startswith(secret):
                continue
            template = renderer_for(node.recipe, url, current)
            if template is not None and self._depends_on_version(template, url, current):
                return Probe(url, current, template)
            if spelling_in(urlsplit(url).path, current):
                return Probe(url, current)
        return None

    @staticmethod
    def _depends_on_version(template: UrlRenderer, url: str, current: str) -> bool:
        """A template whose URL stays the same for other versions has nothing to probe."""
        for candidate in list(bump(current))[:3]:
            rendered = template.render(candidate)
            if rendered is not None and rendered != url:
                return True
        return False

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

    async def versions(self, target: Probe, node: NodeInfo) -> list[str]:

        def keep(candidate: str) -> bool:  # exclude, even/odd, pre-releases: never probed
            kept, dropped = sift([candidate], node)
            for version, why in dropped:  # shown by vbot check
                node.note(version, f"{why}, not probed")
            return bool(kept)

        hops = int(self.ctx.config.source_option(self.name, "hops", 4))
        found: list[str] = []
        asked: set[str] = {target.url}
        base = target.current
        for _ in range(max(1, hops)):
            for candidate in bump(base, keep):
                new_url = target.url_for(candidate)
                if not new_url or new_url in asked:
                    continue
                asked.add(new_url)
                if await self.exists(new_url):
                    found.append(candidate)
                    base = candidate
                    break
            else:
                break
        return found
