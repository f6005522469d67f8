"""ROS: ``ros-<distro>-<package>`` nodes against rosdistro's ``distribution.yaml``.

The file's URL is ``VBOT_ROS_URL`` or ``[sources.ros] url`` with ``{distro}`` in it (without it,
``/{distro}/distribution.yaml`` is appended); each distro's file is fetched once per sweep.
The version is ``repositories.<repo>.release.version`` without the ``-N`` packaging increment;
a package belongs to the repository whose ``release.packages`` lists it, or that bears its name.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from vbot.errors import UpstreamError
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.base import Source

_NODE = re.compile(r"^ros2?-(?P<distro>[a-z]+)-(?P<pkg>[a-z0-9][a-z0-9-]*)$")
_INCREMENT = re.compile(r"-[0-9]+$")
DEFAULT_URL = ("https://raw.githubusercontent.com/ros/rosdistro/master/{distro}/"
               "distribution.yaml")


def target_of(name: str) -> tuple[str, str] | None:
    match = _NODE.match(name)
    return (match.group("distro"), match.group("pkg").replace("-", "_")) if match else None


def package_versions(doc: Any) -> dict[str, str]:
    """package -> upstream version, from a parsed ``distribution.yaml``."""
    repos = doc.get("repositories") if isinstance(doc, dict) else None
    if not isinstance(repos, dict):
        raise UpstreamError("distribution.yaml has no 'repositories' mapping")
    by_repo: dict[str, str] = {}
    by_package: dict[str, str] = {}
    for repo, entry in repos.items():
        release = entry.get("release") if isinstance(entry, dict) else None
        version = release.get("version") if isinstance(release, dict) else None
        if not isinstance(version, str) or not version:
            continue
        version = _INCREMENT.sub("", version)
        by_repo[str(repo)] = version
        for pkg in release.get("packages") or []:
            by_package[str(pkg)] = version
    return {**by_repo, **by_package}


class Ros(Source[tuple[str, str]]):
    name = "ros"
    url_env = ("VBOT_ROS_URL",)
    default_url = DEFAULT_URL

    def match(self, node: NodeInfo) -> tuple[str, str] | None:
        for name in (node.name, node.package):
            found = target_of(name) if name else None
            if found:
                return found
        return None

    async def distro(self, distro: str) -> dict[str, str]:
        base = self.base_url()
        url = base if "{distro}" in base else base + "/{distro}/distribution.yaml"
        url = url.replace("{distro}", distro)

        async def load() -> dict[str, str]:
            body = (await self.ctx.http.get(url)).body
            try:
                loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
                doc = yaml.load(body, Loader=loader)  # noqa: S506
            except yaml.YAMLError:
                raise UpstreamError(f"malformed YAML from {url}") from None
            return package_versions(doc)

        return await self.ctx.cache.once(f"ros:{url}", load)

    async def versions(self, target: tuple[str, str], node: NodeInfo) -> list[str]:
        distro, pkg = target
        found = (await self.distro(distro)).get(pkg)
        if found is None:
            raise UpstreamError(f"{pkg} is not released in ROS {distro}")
        return [found]
