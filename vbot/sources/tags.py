"""Turning git tags into versions: prefixes, globs, the tag spelled in a recipe URL."""

from __future__ import annotations

import fnmatch
import re
from urllib.parse import unquote, urlsplit

from vbot import versions
from vbot.nodeinfo import NodeInfo

_ARCHIVE_EXT = re.compile(r"\.(tar\.gz|tar\.bz2|tar\.xz|tgz|zip|tar)$")


def tag_in_url(url: str) -> str | None:
    """The git tag a forge archive/release URL names (GitHub and GitLab shapes)."""
    path = unquote(urlsplit(url).path)
    if "/releases/download/" in path:
        return path.split("/releases/download/", 1)[1].rsplit("/", 1)[0] or None
    if "/archive/" in path:
        rest = path.split("/archive/", 1)[1]
        for pre in ("refs/tags/", "refs/heads/"):
            if rest.startswith(pre):
                rest = rest[len(pre) :]
        if "/-/archive/" in path:  # gitlab: /-/archive/<tag>/<project>-<tag>.tar.gz
            rest = rest.rsplit("/", 1)[0] if "/" in rest else rest
        return _ARCHIVE_EXT.sub("", rest) or None
    return None


def prefixes_for(node: NodeInfo, url: str | None = None) -> list[str]:
    """Tag prefixes to try, most specific first: URL-inferred, ``<name>-``, release-, v."""
    found: list[str] = []
    if url and node.version:
        tag = tag_in_url(url)
        if tag and node.version in tag:
            pre = tag[: tag.index(node.version)]
            if pre:
                found.append(pre)
    for name in dict.fromkeys(filter(None, (node.package, node.name))):
        found += [f"{name}-", f"{name}_", f"{name}-v", f"{name}/v", f"{name}/"]
    found += ["release-", "release_", "release/", "rel-", "v.", "v", "V", "r"]
    return list(dict.fromkeys(found))


def tag_to_version(tag: str, prefixes: list[str]) -> str | None:
    """The version a tag names (prefix stripped, ``_`` between digits read as ``.``)."""
    tag = tag.strip()
    if tag.startswith("refs/tags/"):
        tag = tag[len("refs/tags/") :]
    tag = tag.removesuffix("^{}")
    for pre in prefixes:
        if tag.startswith(pre) and tag[len(pre) : len(pre) + 1].isdigit():
            tag = tag[len(pre) :]
            break
    if not tag[:1].isdigit():
        return None
    if "_" in tag and "." not in tag and re.fullmatch(r"[0-9_]+", tag):
        tag = tag.replace("_", ".")
    return tag if versions.parse(tag) is not None else None


def allowed(tag: str, globs: tuple[str, ...]) -> bool:
    return not globs or any(fnmatch.fnmatchcase(tag, g) for g in globs)


def tags_to_versions(tags: list[str], node: NodeInfo, url: str | None = None) -> list[str]:
    prefixes = prefixes_for(node, url)
    out = []
    for tag in tags:
        if not allowed(tag, node.controls.allowed_tag_globs):
            continue
        version = tag_to_version(tag, prefixes)
        if version is not None:
            out.append(version)
    return out
