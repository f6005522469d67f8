"""GitHub through its GraphQL API: one POST answers up to 100 repositories (needs a token).

The sweep tells the GitHub source which repositories it will check, in check order
(``Source.prefetch``); they are cut into batches of ``BATCH`` repositories. The first node of a
batch to be checked fetches the whole batch in one query (other nodes of that batch wait for it);
each repository's answer is handed out once and then dropped, and a batch is forgotten when all
its repositories were answered, so only the batches in flight are held in memory.

Per repository the query asks what the REST calls ask: the newest ``RELEASES`` releases (tag,
draft, prerelease) and the newest ``TAGS`` tags (by tag commit date; the REST path pages through
all tags, GraphQL takes the newest ``TAGS``). A repository
GraphQL reports missing is a permanent "not found"; when a batch query itself fails, its nodes
fall back to the REST calls (``lookup`` returns None). Queries go through the GitHub
source's rate limit (``vbot/sources/github_ratelimit.py``), which REST calls share.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from vbot.errors import UpstreamError
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.github_ratelimit import RateLimit
from vbot.sources.tags import tags_to_versions

BATCH = 100  # repositories per query (GitHub allows up to 100 nodes per connection page)
TAGS = 100  # newest tags per repository
RELEASES = 100  # newest releases per repository

_REPO_FIELDS = (
    f"releases(first: {RELEASES}, orderBy: {{field: CREATED_AT, direction: DESC}}) "
    "{ nodes { tagName isDraft isPrerelease } } "
    f"refs(refPrefix: \"refs/tags/\", first: {TAGS}, "
    "orderBy: {field: TAG_COMMIT_DATE, direction: DESC}) { nodes { name } }"
)


def build_query(repos: Sequence[tuple[str, str]]) -> str:
    """One query with an aliased ``repository`` field per repository."""
    parts = [
        f"r{i}: repository(owner: {json.dumps(owner)}, name: {json.dumps(name)}) "
        f"{{ {_REPO_FIELDS} }}"
        for i, (owner, name) in enumerate(repos)
    ]
    return "query { " + " ".join(parts) + " rateLimit { cost remaining } }"


@dataclass(frozen=True)
class RepoTags:
    """One repository's answer: release tags (stable, and draft/prerelease) and newest tags."""

    owner: str
    repo: str
    stable: tuple[str, ...]
    unstable: frozenset[str]
    tags: tuple[str, ...]
    missing: bool = False

    def versions(self, node: NodeInfo, url: str) -> list[str]:
        """The same decision as the REST path: stable release tags and tags, minus the tags of
        draft and prerelease releases."""
        if self.missing:
            raise UpstreamError(f"repository {self.owner}/{self.repo} not found")
        names = [t for t in dict.fromkeys(self.stable + self.tags) if t not in self.unstable]
        for tag in sorted(self.unstable):
            node.note(tag, "GitHub release marked draft or pre-release")
        return tags_to_versions(names, node, url)


def _nodes(connection: object) -> list[dict]:
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return [n for n in nodes or () if isinstance(n, dict)]


def parse_answer(doc: object, repos: Sequence[tuple[str, str]]) -> dict[tuple[str, str], RepoTags]:
    """The per-repository answers of a batch; raises UpstreamError when the reply is unusable."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        message = ""
        if isinstance(doc, dict) and isinstance(doc.get("errors"), list) and doc["errors"]:
            first = doc["errors"][0]
            message = str(first.get("message", "")) if isinstance(first, dict) else ""
        raise UpstreamError(f"GitHub GraphQL: no data in the answer {message[:200]}".strip())
    data = doc["data"]
    out: dict[tuple[str, str], RepoTags] = {}
    for i, (owner, name) in enumerate(repos):
        entry = data.get(f"r{i}")
        if not isinstance(entry, dict):
            out[(owner, name)] = RepoTags(owner, name, (), frozenset(), (), missing=True)
            continue
        stable: list[str] = []
        unstable: set[str] = set()
        for rel in _nodes(entry.get("releases")):
            if isinstance(rel.get("tagName"), str):
                if rel.get("isDraft") or rel.get("isPrerelease"):
                    unstable.add(rel["tagName"])
                else:
                    stable.append(rel["tagName"])
        tags = tuple(n["name"] for n in _nodes(entry.get("refs")) if isinstance(n.get("name"), str))
        out[(owner, name)] = RepoTags(owner, name, tuple(stable), frozenset(unstable), tags)
    return out


@dataclass
class _Batch:
    repos: list[tuple[str, str]]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    answers: dict[tuple[str, str], RepoTags] | None = None
    failed: bool = False
    left: int = 0


class GraphQLBatches:
    """Batched lookups for the repositories of one sweep (on the sweep's event loop)."""

    def __init__(self, http: RateLimit, api_url: str,
                 repos: Sequence[tuple[str, str]], size: int = BATCH) -> None:
        self.http = http
        self.url = api_url.rstrip("/") + "/graphql"
        unique = list(dict.fromkeys(repos))
        self._where: dict[tuple[str, str], int] = {}
        self._batches: dict[int, _Batch] = {}
        for start in range(0, len(unique), size):
            chunk = unique[start : start + size]
            number = start // size
            self._batches[number] = _Batch(chunk, left=len(chunk))
            for repo in chunk:
                self._where[repo] = number
        self.queries = 0

    async def _fetch(self, batch: _Batch) -> None:
        body = json.dumps({"query": build_query(batch.repos)}).encode()
        try:
            resp = await self.http.request("POST", self.url, {"Content-Type": "application/json"},
                                     body=body)
            batch.answers = parse_answer(resp.json(), batch.repos)
        except UpstreamError:
            batch.failed = True
        self.queries += 1

    async def lookup(self, owner: str, repo: str) -> RepoTags | None:
        """This repository's answer (handed out once), or None: use the REST calls."""
        key = (owner, repo)
        number = self._where.pop(key, None)
        batch = self._batches.get(number) if number is not None else None
        if batch is None:
            return None
        try:
            async with batch.lock:  # the first node of a batch asks; the others wait
                if batch.answers is None and not batch.failed:
                    await self._fetch(batch)
                return batch.answers.pop(key, None) if batch.answers is not None else None
        finally:
            batch.left -= 1
            if batch.left <= 0:
                self._batches.pop(number, None)  # type: ignore[arg-type]
