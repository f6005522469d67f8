"""Turning git tags into versions: prefixes, globs, the tag spelled in a recipe URL, schemes."""

from __future__ import annotations

import fnmatch
import re
from urllib.parse import unquote, urlsplit

from vbot.repo.nodeinfo import NodeInfo
from vbot.versioning import order

_ARCHIVE_EXT = re.compile(r"\.(tar\.gz|tar\.bz2|tar\.xz|tgz|zip|tar)$")
GENERIC_PREFIXES = ("release-", "release_", "release/", "rel-", "v.", "v", "V", "r")
_SEPARATED_DIGITS = re.compile(r"[0-9]+(?:[_-][0-9]+)+")


def tag_in_url(url: str) -> str | None:
    """The git tag a forge archive/release URL names (GitHub and GitLab shapes)."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.hostname == "codeload.github.com":  # /<o>/<r>/tar.gz/[refs/tags/]<tag>
        rest = path.split("/", 4)[4] if path.count("/") >= 4 else ""
        return rest.removeprefix("refs/tags/") or None
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


def spellings(version: str) -> list[str]:
    """How a version may be spelled in a tag or URL: as is, with ``_`` or ``-``, no dots."""
    out = [version]
    if "." in version:
        out += [version.replace(".", "_"), version.replace(".", "-")]
    return list(dict.fromkeys(out))


def url_prefix(node: NodeInfo, url: str | None) -> str | None:
    """The tag prefix the recipe URL uses for the current version (``releases/solr/``…)."""
    if not url or not node.version:
        return None
    tag = tag_in_url(url)
    if not tag:
        return None
    current = node.version[1:] if node.version[:1] in "vV" and node.version[1:2].isdigit() \
        else node.version
    for spelled in spellings(current):
        if tag.endswith(spelled):
            return tag[: -len(spelled)] or None
    return None


def prefixes_for(node: NodeInfo, url: str | None = None) -> list[str]:
    """Tag prefixes to try, most specific first: URL-inferred, ``<name>-``, release-, v."""
    found: list[str] = []
    inferred = url_prefix(node, url)
    if inferred:
        found.append(inferred)
    for name in dict.fromkeys(filter(None, (node.package, node.name))):
        found += [f"{name}-", f"{name}_", f"{name}-v", f"{name}/v", f"{name}/"]
    found += list(GENERIC_PREFIXES)
    return list(dict.fromkeys(found))


def strict_prefix(node: NodeInfo, url: str | None) -> str | None:
    """A URL-inferred prefix that names a component (``solr-``, ``releases/solr/``).

    Such a repository carries tags of other components too; only tags with this prefix count.
    """
    inferred = url_prefix(node, url)
    if not inferred or inferred in GENERIC_PREFIXES:
        return None
    return inferred


def tag_to_version(tag: str, prefixes: list[str]) -> str | None:
    """The version a tag names (prefix stripped, ``_``/``-`` between digits read as ``.``)."""
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
    if "." not in tag and _SEPARATED_DIGITS.fullmatch(tag):
        tag = re.sub(r"[_-]", ".", tag)
    return tag if order.parse(tag) is not None else None


def allowed(tag: str, globs: tuple[str, ...]) -> bool:
    return not globs or any(fnmatch.fnmatchcase(tag, g) for g in globs)


def tags_to_versions(tags: list[str], node: NodeInfo, url: str | None = None) -> list[str]:
    """Versions named by ``tags`` (allowed by the node's globs), in the current scheme."""
    strict = strict_prefix(node, url)
    prefixes = [strict] if strict else prefixes_for(node, url)
    out = []
    for tag in tags:
        if not allowed(tag, node.controls.allowed_tag_globs):
            node.note(tag, "tag glob: not matched by bot.version_updates.allowed_tag_globs")
            continue
        if strict and not tag.removeprefix("refs/tags/").startswith(strict):
            node.note(tag, f"tag of another component: not prefixed {strict!r}")
            continue
        version = tag_to_version(tag, prefixes)
        if version is not None:
            out.append(version)
        else:
            node.note(tag, "tag names no version")
    kept = like_current(out, node.version)
    if node.notes is not None and len(kept) < len(out):
        for version in sorted(set(out) - set(kept)):
            node.note(version, f"another numbering scheme than the node's version {node.version}")
    return kept


def like_current(candidates: list[str], current: str | None) -> list[str]:
    """Candidates in the numbering scheme of ``current`` when a repo mixes two schemes.

    A date-like version (``2024.01.15``, ``20240115``) is a different scheme from ``1.4.2``;
    so is a leading number with many more digits than the current one. When no candidate is
    in the current scheme (the project switched), all candidates stay.
    """
    if not current or not candidates:
        return candidates
    want = order.scheme(current)
    if want is None:
        return candidates
    same = [c for c in candidates if order.scheme(c) == want and
            order.lead_digits(c) <= order.lead_digits(current) + 1]
    return same or candidates
