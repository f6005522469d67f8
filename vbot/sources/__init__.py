"""The explicit registry of upstream sources, in their default order of precedence.

A node is tried against the sources in order (``bot.version_updates.sources`` of the node's
``conda-forge.yml`` overrides the order; conda-forge's names such as ``githubreleases`` or
``rosdistro`` are understood); the first source that yields a usable version wins.

Settings, in ``vbot.toml`` (environment variables win):

```toml
[sources.pypi]     url = "https://pypi.example"       # VBOT_PYPI_URL, no default
[sources.npm]      url = "https://registry.npm.example" # VBOT_NPM_URL, no default
[sources.cran]     url = "https://cran.r-project.org"  # VBOT_CRAN_URL
[sources.crates]   url = "https://index.crates.io"     # VBOT_CRATES_URL (sparse index)
[sources.github]   url = "https://api.github.com"      # VBOT_GITHUB_API_URL; max_pages = 3
[sources.gitlab]   url = "https://gitlab.com"          # VBOT_GITLAB_URL
[sources.ros]      url = "https://…/{distro}/distribution.yaml"   # VBOT_ROS_URL
[sources.gittags]  timeout = 30                        # rewrite = {"https://a/" = "https://b/"}
[sources.rawurl]   hops = 4                            # skip_hosts = ["example.org"]
```

``VBOT_GIT_REWRITE=old=new,…`` adds git URL rewrites (``url.<new>.insteadOf=<old>``).
"""

from __future__ import annotations

from types import MappingProxyType

from vbot.sources.base import Context, Source
from vbot.sources.cran import Cran
from vbot.sources.crates import Crates
from vbot.sources.github import GitHub
from vbot.sources.gitlab import GitLab
from vbot.sources.gittags import GitTags
from vbot.sources.npm import Npm
from vbot.sources.pypi import PyPI
from vbot.sources.rawurl import RawUrl
from vbot.sources.ros import Ros

REGISTRY: MappingProxyType[str, type[Source]] = MappingProxyType(
    {cls.name: cls for cls in (PyPI, Cran, Crates, Npm, GitHub, GitLab, Ros, GitTags, RawUrl)}
)
DEFAULT_ORDER: tuple[str, ...] = tuple(REGISTRY)

# names conda-forge's bot uses in ``bot.version_updates.sources`` for the same upstreams
ALIASES: MappingProxyType[str, str] = MappingProxyType({
    "githubreleases": "github", "github_releases": "github", "rosdistro": "ros",
    "incrementalpharawurl": "rawurl", "raw_url": "rawurl", "git_tags": "gittags",
    "crates.io": "crates", "cratesio": "crates",
})


def canonical(name: str) -> str:
    """The registry name for a source name from a node's controls (case-insensitive)."""
    low = name.strip().lower()
    return ALIASES.get(low, low)


__all__ = ["ALIASES", "DEFAULT_ORDER", "REGISTRY", "Context", "Source", "canonical"]
