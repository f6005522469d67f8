"""Git tags: recipes with a ``git_url`` source, asked by ``git ls-remote --tags``.

Only ``https``, ``http``, ``git`` and ``ssh`` URLs (never ``file://``, ``ext::`` …), with a
timeout (``[sources.gittags] timeout``, default 30 s). URL rewrites for git come from
``[sources.gittags] rewrite`` (a table old prefix -> new prefix) and ``VBOT_GIT_REWRITE``
(``old=new,old=new``), e.g. to point at a mirror or a test server.
"""

from __future__ import annotations

import asyncio

from vbot.git.tags import ls_remote_tags, remote_url_allowed
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source
from vbot.sources.tags import tags_to_versions


class GitTags(Source[str]):
    name = "gittags"
    url_env = ()
    default_url = None
    options = (("timeout", float), ("rewrite", dict))

    def match(self, node: NodeInfo) -> str | None:
        for url in node.git_urls:
            if remote_url_allowed(url):
                return url
        return None

    def rewrites(self) -> tuple[tuple[str, str], ...]:
        table = self.ctx.config.source_option(self.name, "rewrite", {})
        pairs = dict(table) if isinstance(table, dict) else {}
        for pair in filter(None, self.ctx.config.env.get("VBOT_GIT_REWRITE", "").split(",")):
            old, sep, new = pair.partition("=")
            if sep:
                pairs[old] = new
        return tuple(sorted((str(k), str(v)) for k, v in pairs.items()))

    async def versions(self, target: str, node: NodeInfo) -> list[str]:
        timeout = float(self.ctx.config.source_option(self.name, "timeout", 30))
        # git is a child process: wait for it on a worker thread, not on the event loop
        tags = await asyncio.to_thread(ls_remote_tags, target, timeout, self.rewrites())
        return tags_to_versions(tags, node)
