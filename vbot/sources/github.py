"""GitHub: ``github.com/<owner>/<repo>/…`` recipe URLs.

``GET {api}/repos/<o>/<r>/releases?per_page=20`` (which recent tags are drafts or pre-releases;
release documents carry their notes, so only one small page) and
``GET {api}/repos/<o>/<r>/tags?per_page=100``, following the ``Link`` header for at most
``[sources.github] max_pages`` pages (default 3). Every stable tag is a candidate and the
highest by conda order wins: "latest" is only the most recently published release. Tags become
versions by stripping known prefixes (``v``, ``release-``, ``<name>-``, the prefix the recipe
URL itself uses); tags in another numbering scheme than the current version are set aside.
``GITHUB_TOKEN`` is sent to URLs under the API base only, and never over plain http to a
host that is not loopback (``vbot/httpclient/client.py``). Every request, REST or GraphQL, goes
through the API base's rate limit (``vbot/sources/github_ratelimit.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urljoin, urlsplit

from vbot.config import Config
from vbot.errors import UpstreamError
from vbot.httpclient.client import JsonDigest, Response, origin
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source
from vbot.sources.github_graphql import GraphQLBatches
from vbot.sources.github_ratelimit import RateLimit
from vbot.sources.tags import tags_to_versions

_REPO = re.compile(r"^/(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)(/|$)")
_NEXT = re.compile(r'<(?P<url>[^>]+)>\s*;\s*rel="?next"?')
ACCEPT = {"Accept": "application/vnd.github+json"}
RELEASES_PAGE = 20


def repo_from_url(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    if parts.hostname not in ("github.com", "www.github.com", "codeload.github.com"):
        return None
    match = _REPO.match(parts.path)
    if not match:
        return None
    return match.group("owner"), match.group("repo").removesuffix(".git")


def next_link(resp: Response) -> str | None:
    """The ``rel="next"`` URL of a paginated answer, resolved against the request URL."""
    header = resp.headers.get("Link") or ""
    for part in header.split(","):
        match = _NEXT.search(part)
        if match:
            return urljoin(resp.url, match.group("url"))
    return None


def _names(doc: object, key: str, what: str) -> list[dict]:
    if not isinstance(doc, list):
        raise UpstreamError(f"unexpected answer for {what}: not a list")
    return [d for d in doc if isinstance(d, dict) and isinstance(d.get(key), str)]


def _kept(key: str, *flags: str) -> JsonDigest:
    """Cache only ``key`` (and ``flags``) of each entry of a list answer: release documents
    carry their whole release notes."""
    def extract(doc: object) -> list[dict]:
        return [{key: d[key], **{f: bool(d.get(f)) for f in flags}}
                for d in _names(doc, key, "a GitHub list")]
    return JsonDigest(f"github-{key}-1", extract)


RELEASE_TAGS = _kept("tag_name", "draft", "prerelease")
TAG_NAMES = _kept("name")


class GitHub(Source[tuple[str, str, str]]):
    name = "github"
    url_env = ("VBOT_GITHUB_API_URL", "VBOT_GITHUB_URL")
    default_url = "https://api.github.com"
    options = (("max_pages", int),)

    @classmethod
    def credentials(cls, config: Config) -> Mapping[str, Mapping[str, str]]:
        token = config.github_token
        base = cls.base_url_of(config)
        if not token or not base:
            return {}
        return {base: {"Authorization": f"Bearer {token}"}}

    _graphql: GraphQLBatches | None = None
    _limit: RateLimit | None = None

    def limit(self) -> RateLimit:
        """The API base's rate limit, shared by every request of this source."""
        if self._limit is None or self._limit.http is not self.ctx.http:
            self._limit = RateLimit(self.ctx.http, self.base_url())
        return self._limit

    def batches(self) -> bool:
        """GraphQL needs the token, and the token must really be sent to the API."""
        return bool(self.ctx.config.github_token) \
            and self.ctx.http.credentialed(f"{self.base_url()}/graphql")

    def prefetch(self, nodes: Sequence[NodeInfo]) -> None:
        """With a token, answer from batched GraphQL queries (vbot/sources/github_graphql.py)."""
        if self.batches():
            repos = [t[:2] for t in map(self.match, nodes) if t is not None]
            self._graphql = GraphQLBatches(self.limit(), self.base_url(), repos)

    def match(self, node: NodeInfo) -> tuple[str, str, str] | None:
        for url in node.urls:
            repo = repo_from_url(url)
            if repo:
                return (*repo, url)
        return None

    async def _tags(self, api: str, what: str) -> list[str] | None:
        """Every tag name over at most ``max_pages`` pages; None when the repo is unknown."""
        pages = max(1, int(self.ctx.config.source_option(self.name, "max_pages", 3)))
        url: str | None = f"{api}/tags?per_page=100"
        names: list[str] = []
        for page in range(pages):
            resp = await self.limit().get(url, ACCEPT, ok=(200, 404), digest=TAG_NAMES.digest)
            if resp.status == 404:
                return None if page == 0 else names
            names += [t["name"] for t in _names(resp.json(), "name", what)]
            url = next_link(resp)
            if not url or origin(url) != origin(api):
                break
        return names

    async def versions(self, target: tuple[str, str, str], node: NodeInfo) -> list[str]:
        owner, repo, url = target
        batched = None
        if self._graphql is not None:
            batched = await self._graphql.lookup(owner, repo)
        if batched is not None:
            return batched.versions(node, url)
        what = f"{owner}/{repo}"
        api = f"{self.base_url()}/repos/{owner}/{repo}"
        rel = await self.limit().get(f"{api}/releases?per_page={RELEASES_PAGE}", ACCEPT,
                                     ok=(200, 404), digest=RELEASE_TAGS.digest)
        stable: list[str] = []
        unstable: set[str] = set()
        if rel.status == 200:
            for entry in _names(rel.json(), "tag_name", f"{what} releases"):
                if entry.get("draft") or entry.get("prerelease"):
                    unstable.add(entry["tag_name"])
                    node.note(entry["tag_name"], "GitHub release marked "
                              + ("draft" if entry.get("draft") else "pre-release"))
                else:
                    stable.append(entry["tag_name"])
        tags = await self._tags(api, f"{what} tags")
        if tags is None and rel.status == 404:
            raise UpstreamError(f"repository {what} not found")
        names = [t for t in dict.fromkeys(stable + (tags or [])) if t not in unstable]
        return tags_to_versions(names, node, url)
