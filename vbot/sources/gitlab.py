"""GitLab: ``gitlab.com/<group>/…/<project>/-/archive/<tag>/<file>`` recipe URLs.

``GET {url}/api/v4/projects/<url-encoded path>/releases``, then ``…/repository/tags``; every
stable tag of both is a candidate (upcoming releases are left out). ``VBOT_GITLAB_URL`` (default
``https://gitlab.com``) serves gitlab.com projects; other GitLab hosts (``gitlab.<domain>`` and
those listed in ``[sources.gitlab] hosts``) are asked at their own origin.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from vbot.errors import UpstreamError
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source
from vbot.sources.tags import tags_to_versions

DEFAULT_HOST = "gitlab.com"


def project_from_url(url: str, hosts: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """``(host, group/…/project)`` of a GitLab ``/-/`` URL on a GitLab host (gitlab.com,
    ``gitlab.<domain>`` or one of ``hosts``), else None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not (host == DEFAULT_HOST or host in hosts
                                                    or host.startswith("gitlab.")):
        return None
    path = unquote(parts.path)
    if "/-/" not in path:
        return None
    project = path.split("/-/", 1)[0].strip("/")
    if project.count("/") < 1 or ".." in project.split("/"):
        return None
    return host, project.removesuffix(".git")


class GitLab(Source[tuple[str, str, str]]):
    name = "gitlab"
    url_env = ("VBOT_GITLAB_URL",)
    default_url = "https://gitlab.com"
    options = (("hosts", list),)

    def hosts(self) -> tuple[str, ...]:
        extra = self.ctx.config.source_option(self.name, "hosts", [])
        return tuple(str(h).lower() for h in extra) if isinstance(extra, list) else ()

    def match(self, node: NodeInfo) -> tuple[str, str, str] | None:
        hosts = self.hosts()
        for url in node.urls:
            found = project_from_url(url, hosts)
            if found:
                return (*found, url)
        return None

    async def _list(self, url: str, key: str, node: NodeInfo) -> list[str] | None:
        resp = await self.ctx.http.get(url, ok=(200, 404))
        if resp.status == 404:
            return None
        doc = resp.json()
        if not isinstance(doc, list):
            raise UpstreamError(f"unexpected answer from {url}: not a list")
        named = [d for d in doc if isinstance(d, dict) and isinstance(d.get(key), str)]
        for d in named:
            if d.get("upcoming_release"):
                node.note(d[key], "GitLab release marked upcoming")
        return [d[key] for d in named if not d.get("upcoming_release")]

    async def versions(self, target: tuple[str, str, str], node: NodeInfo) -> list[str]:
        host, project, url = target
        base = self.base_url() if host == DEFAULT_HOST else f"https://{host}"
        api = f"{base}/api/v4/projects/{quote(project, safe='')}"
        releases = await self._list(f"{api}/releases?per_page=100", "tag_name", node)
        tags = await self._list(f"{api}/repository/tags?per_page=100", "name", node)
        if releases is None and tags is None:
            raise UpstreamError(f"project {project} not found on {host}")
        names = list(dict.fromkeys((releases or []) + (tags or [])))
        return tags_to_versions(names, node, url)
