"""Version order and pre-release detection, the conda way.

Ordering is conda's own (py-rattler's ``Version``); pre-releases are recognised the way
conda-forge maintainers expect: rc/alpha/beta/dev/pre/preview/snapshot markers, PEP 440
``a``/``b`` suffixes (via ``packaging`` where the string parses); a single letter with no
number after it is a letter release (``2024b``, ``1.1.1w``, ``71.b``), not a pre-release.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from packaging.version import InvalidVersion
from packaging.version import Version as PepVersion
from rattler import Version

_PRE_WORDS = re.compile(
    r"(?i)(?:^|[^a-z])(?:rc|alpha|beta|dev|pre|preview|snapshot|nightly|canary|next|insiders)"
    r"(?:[^a-z]|$)|(?i:[0-9._-](?:a|b|rc|c)[0-9]+$)|(?i:[0-9](?:alpha|beta|rc|dev|pre)[0-9]*)"
)
_VALID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+!-]*$")
_MILESTONE = re.compile(r"[._-]M[0-9]+$")  # Maven milestones: 3.0.0-M1
_LEAD = re.compile(r"^[0-9]+")
# one letter after the numbers and no number after it is a letter release (tzdata 2024b,
# openssl 1.1.1w, lrslib 71.b), not PEP 440's alpha/beta/rc "71b0"
_LETTER_RELEASE = re.compile(r"^[0-9][0-9.]*[a-zA-Z]$")


def strip_v(text: str) -> str:
    """``v0.2.4`` -> ``0.2.4``: a leading ``v`` before a digit is a tag habit, not a version."""
    return text[1:] if text[:1] in "vV" and text[1:2].isdigit() else text


# version strings repeat across nodes and sweeps ("1.0.0"): parse each spelling once
_MEMO = 1 << 16


def parse(text: str) -> Version | None:
    """A conda Version, or None when ``text`` is not a usable version string."""
    if not isinstance(text, str):
        return None
    return _parse(text)


@functools.lru_cache(maxsize=_MEMO)
def _parse(text: str) -> Version | None:
    text = strip_v(text.strip())
    if not text or not _VALID.match(text) or not text[0].isdigit():
        return None
    try:
        return Version(text.replace("-", "_") if "-" in text else text)
    except Exception:  # rattler raises its own InvalidVersionError
        return None


@functools.lru_cache(maxsize=_MEMO)
def is_prerelease(text: str) -> bool:
    """True for rc/alpha/beta/dev and friends; post-releases and local versions are stable."""
    text = strip_v(text.strip())
    if _MILESTONE.search(text):
        return True
    if _LETTER_RELEASE.match(text):
        return False
    try:
        pep = PepVersion(text)
    except InvalidVersion:
        return bool(_PRE_WORDS.search(text))
    return pep.is_prerelease


@functools.lru_cache(maxsize=_MEMO)
def normalise(text: str) -> str:
    """Spelling used to compare versions in exclusions: ``-`` and ``_`` read as ``.``."""
    return re.sub(r"[-_]", ".", strip_v(text.strip())).lower()


def key(text: str) -> Version:
    version = parse(text)
    if version is None:
        raise ValueError(f"not a version: {text!r}")
    return version


def highest(candidates: Iterable[str]) -> str | None:
    """The highest parseable version of ``candidates`` by conda order (None when none parse)."""
    best: tuple[Version, str] | None = None
    for text in candidates:
        version = parse(text)
        if version is not None and (best is None or version > best[0]):
            best = (version, text)
    return best[1] if best else None


def newer(a: str | None, b: str | None) -> str | None:
    """The larger of two versions by conda order; an unparseable one loses."""
    va = None if a is None else parse(a)
    vb = None if b is None else parse(b)
    if va is None:
        return b if vb is not None else a
    if vb is None:
        return a
    return a if va >= vb else b


def lead_digits(text: str) -> int:
    """How many digits the leading number of a version has (``2024.1`` -> 4)."""
    match = _LEAD.match(strip_v(text.strip()))
    return len(match.group(0)) if match else 0


def scheme(text: str) -> str | None:
    """``date`` for calendar versions (``2024.01.15``, ``20240115``, ``2026.1.post1``),
    ``number`` for the rest, None when ``text`` is no version."""
    text = strip_v(text.strip())
    match = _LEAD.match(text)
    if not match or parse(text) is None:
        return None
    lead = match.group(0)
    if len(lead) == 4 and 1990 <= int(lead) <= 2100:
        return "date"
    if len(lead) == 8 and 1990 <= int(lead[:4]) <= 2100 and 1 <= int(lead[4:6]) <= 12:
        return "date"
    return "number"


def _merge_key(text: str) -> Version | None:
    return parse(text.replace("-", "."))


def not_lower(found: str, existing: object) -> str:
    """conda-forge's bot's rule for a node's ``new_version``: the larger of the version found
    and the existing ``new_version`` (conda order, ``-`` read as ``.``). The existing value
    wins ties (no churn between spellings); one that is not a version string never wins."""
    if not isinstance(existing, str) or existing == found:
        return found
    old, new = _merge_key(existing), _merge_key(found)
    if old is None:
        return found
    if new is None or old >= new:
        return existing
    return found
