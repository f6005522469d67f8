"""The explicit registry of upstream sources, in their default order of precedence.

A node is tried against the sources in order (``bot.version_updates.sources`` of the node's
``conda-forge.yml`` overrides the order; conda-forge's names such as ``githubreleases`` or
``rosdistro`` are understood); the first source that yields a usable version wins.

Settings per source: ``[sources.<name>]`` keys in ``vbot.toml``, the environment variable
(which wins), the default URL:

- pypi: `url`, `VBOT_PYPI_URL`, none
- cran: `url`, `VBOT_CRAN_URL`, `https://cran.r-project.org`
- crates: `url` (sparse index), `VBOT_CRATES_URL`, `https://index.crates.io`; `api_url`
  (batched lookups), `VBOT_CRATES_API_URL`, `https://crates.io` with the default index
- npm: `url`, `VBOT_NPM_URL`, none
- rubygems: `url`, `VBOT_RUBYGEMS_URL`, `https://rubygems.org`
- metacpan: `url`, `VBOT_METACPAN_URL`, `https://fastapi.metacpan.org`
- github: `url`, `max_pages` (3), `VBOT_GITHUB_API_URL`, `https://api.github.com`
- gitlab: `url`, `hosts` (list), `VBOT_GITLAB_URL`, `https://gitlab.com`
- nvidia: `url`, `VBOT_NVIDIA_URL`, `https://developer.download.nvidia.com`; per node
  ``bot.version_updates.nvidia`` ``compute_subdir`` / ``json_name`` in ``conda-forge.yml``
- ros: `url` with `{distro}`, `VBOT_ROS_URL`, rosdistro on GitHub
- gittags: `timeout` (30), `rewrite` (table), `VBOT_GIT_REWRITE`
- rawurl: `hops` (4), `skip_hosts` (list)

``VBOT_GIT_REWRITE=old=new,…`` and ``[sources.gittags] rewrite = {old = new}`` are git URL
rewrites (``url.<new>.insteadOf=<old>``).
"""

from __future__ import annotations

from types import MappingProxyType

from vbot.sources.base import Context, Source
from vbot.sources.cran import Cran
from vbot.sources.crates import Crates
from vbot.sources.github import GitHub
from vbot.sources.gitlab import GitLab
from vbot.sources.gittags import GitTags
from vbot.sources.metacpan import MetaCpan
from vbot.sources.npm import Npm
from vbot.sources.nvidia import Nvidia
from vbot.sources.pypi import PyPI
from vbot.sources.rawurl import RawUrl
from vbot.sources.ros import Ros
from vbot.sources.rubygems import RubyGems

REGISTRY: MappingProxyType[str, type[Source]] = MappingProxyType(
    {cls.name: cls for cls in (PyPI, Cran, Crates, Npm, RubyGems, MetaCpan, GitHub, GitLab,
                               Nvidia, Ros, GitTags, RawUrl)}
)
DEFAULT_ORDER: tuple[str, ...] = tuple(REGISTRY)

# names conda-forge's bot uses in ``bot.version_updates.sources`` for the same upstreams
ALIASES: MappingProxyType[str, str] = MappingProxyType({
    "githubreleases": "github", "github_releases": "github", "rosdistro": "ros",
    "incrementalpharawurl": "rawurl", "raw_url": "rawurl", "git_tags": "gittags",
    "crates.io": "crates", "cratesio": "crates", "cpan": "metacpan",
})


def canonical(name: str) -> str:
    """The registry name for a source name from a node's controls (case-insensitive)."""
    low = name.strip().lower()
    return ALIASES.get(low, low)


__all__ = ["ALIASES", "DEFAULT_ORDER", "REGISTRY", "Context", "Source", "canonical"]
