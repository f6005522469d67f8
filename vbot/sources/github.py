"""GitHub: ``github.com/<owner>/<repo>/…`` recipe URLs.

``GET {api}/repos/<o>/<r>/releases/latest``; on 404 (no stable release) the tags list. Tags are
turned into versions by stripping known prefixes (``v``, ``release-``, ``<name>-``, and the prefix
the recipe URL itself uses). ``GITHUB_TOKEN`` is sent to the API origin only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from vbot.config import Config
from vbot.errors import UpstreamError
from vbot.nodeinfo import NodeInfo
from vbot.sources.base import Source
from vbot.sources.github_graphql import GraphQLBatches
from vbot.sources.tags import tags_to_versions

_REPO = re.compile(r"^/(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)(/|$)")


def repo_from_url(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in ("github.com", "www.github.com"):
        return None
    match = _REPO.match(parts.path)
    if not match:
        return None
    return match.group("owner"), match.group("repo").removesuffix(".git")


class GitHub(Source[tuple[str, str, str]]):
    name = "github"
    url_env = ("VBOT_GITHUB_API_URL", "VBOT_GITHUB_URL")
    default_url = "https://api.github.com"

    @classmethod
    def credentials(cls, config: Config) -> Mapping[str, Mapping[str, str]]:
        token = config.github_token
        base = cls.base_url_of(config)
        if not token or not base:
            return {}
        return {base: {"Authorization": f"Bearer {token}"}}

    _graphql: GraphQLBatches | None = None

    def prefetch(self, nodes: Sequence[NodeInfo]) -> None:
        """With a token, answer from batched GraphQL queries (vbot/sources/github_graphql.py)."""
        if self.ctx.config.github_token:
            repos = [t[:2] for t in map(self.match, nodes) if t is not None]
            self._graphql = GraphQLBatches(self.ctx.http, self.base_url(), repos)

    def match(self, node: NodeInfo) -> tuple[str, str, str] | None:
        for url in node.urls:
            repo = repo_from_url(url)
            if repo:
                return (*repo, url)
        return None

    def versions(self, target: tuple[str, str, str], node: NodeInfo) -> list[str]:
        owner, repo, url = target
        batched = self._graphql.lookup(owner, repo) if self._graphql is not None else None
        if batched is not None:
            return batched.versions(node, url)
        api = f"{self.base_url()}/repos/{owner}/{repo}"
        accept = {"Accept": "application/vnd.github+json"}
        latest = self.ctx.http.get(f"{api}/releases/latest", accept, ok=(200, 404))
        if latest.status == 200:
            doc = latest.json()
            if not isinstance(doc, dict) or not isinstance(doc.get("tag_name"), str):
                raise UpstreamError(f"unexpected answer for {owner}/{repo}: no tag_name")
            if not doc.get("prerelease") and not doc.get("draft"):
                found = tags_to_versions([doc["tag_name"]], node, url)
                if found:
                    return found
        tags = self.ctx.http.get(f"{api}/tags?per_page=100", accept, ok=(200, 404))
        if tags.status == 404:
            raise UpstreamError(f"repository {owner}/{repo} not found")
        doc = tags.json()
        if not isinstance(doc, list):
            raise UpstreamError(f"unexpected answer for {owner}/{repo} tags: not a list")
        names = [t["name"] for t in doc if isinstance(t, dict) and isinstance(t.get("name"), str)]
        return tags_to_versions(names, node, url)
