"""What the upstream sources need to know about a node, read from its attributes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vbot.repo.recipe import RecipeTemplate, extract


@dataclass(frozen=True)
class Controls:
    """``conda-forge.yml`` -> ``bot.version_updates`` of a node."""

    skip: bool = False
    sources: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    allowed_tag_globs: tuple[str, ...] = ()
    even_odd_versions: bool = False
    nvidia_compute_subdir: str | None = None  # bot.version_updates.nvidia.compute_subdir
    nvidia_json_name: str | None = None  # bot.version_updates.nvidia.json_name


@dataclass(frozen=True)
class NodeInfo:
    name: str
    version: str | None
    urls: tuple[str, ...] = ()
    git_urls: tuple[str, ...] = ()
    controls: Controls = field(default_factory=Controls)
    package: str | None = None  # meta_yaml package name, when it differs from the node name
    recipe: RecipeTemplate | None = None  # the source URL template of raw_meta_yaml
    # ``vbot check``: sources add (tag or version, why) here for what they set aside
    notes: list[tuple[str, str]] | None = field(default=None, compare=False, repr=False)

    def note(self, version: str, why: str) -> None:
        """Record that ``version`` (or a tag) was set aside, when someone asks (vbot check)."""
        if self.notes is not None:
            self.notes.append((version, why))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _sources(meta: dict[str, Any]) -> list[dict[str, Any]]:
    src = meta.get("source")
    if isinstance(src, dict):
        return [src]
    if isinstance(src, list):
        return [s for s in src if isinstance(s, dict)]
    return []


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _setting(table: Any, key: str) -> str | None:
    value = table.get(key) if isinstance(table, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def controls_of(attrs: dict[str, Any]) -> Controls:
    cfyml = attrs.get("conda-forge.yml")
    bot = cfyml.get("bot") if isinstance(cfyml, dict) else None
    vu = bot.get("version_updates") if isinstance(bot, dict) else None
    if not isinstance(vu, dict):
        return Controls()
    sources = vu.get("sources")
    return Controls(
        skip=bool(vu.get("skip", False)),
        sources=_tuple(sources) if isinstance(sources, list) else None,
        exclude=_tuple(vu.get("exclude")),
        allowed_tag_globs=_tuple(vu.get("allowed_tag_globs")),
        even_odd_versions=bool(vu.get("even_odd_versions", False)),
        nvidia_compute_subdir=_setting(vu.get("nvidia"), "compute_subdir"),
        nvidia_json_name=_setting(vu.get("nvidia"), "json_name"),
    )


def skip_reason(attrs: dict[str, Any]) -> str | None:
    """Why a node is not checked at all, or None."""
    if attrs.get("archived"):
        return "archived"
    if attrs.get("parsing_error"):
        return "parsing_error"
    if controls_of(attrs).skip:
        return "version_updates.skip"
    return None


def node_info(name: str, attrs: dict[str, Any]) -> NodeInfo:
    meta = attrs.get("meta_yaml") if isinstance(attrs.get("meta_yaml"), dict) else {}
    urls: list[str] = []
    git_urls: list[str] = []
    for src in _sources(meta):
        urls.extend(_strings(src.get("url")))
        git_urls.extend(_strings(src.get("git_url")))
    urls.extend(u for u in _strings(attrs.get("url")) if u not in urls)
    version = attrs.get("version")
    if version is None:
        pkg = meta.get("package") if isinstance(meta.get("package"), dict) else {}
        version = pkg.get("version")
    pkg_meta = meta.get("package") if isinstance(meta.get("package"), dict) else {}
    package = pkg_meta.get("name") if isinstance(pkg_meta.get("name"), str) else None
    return NodeInfo(
        name=name,
        version=str(version) if version is not None else None,
        urls=tuple(dict.fromkeys(urls)),
        git_urls=tuple(dict.fromkeys(git_urls)),
        controls=controls_of(attrs),
        package=package,
        recipe=extract(attrs.get("raw_meta_yaml"), meta.get("schema_version")),
    )
