"""Keep secrets out of every message: tokens and credentials embedded in URLs."""

from __future__ import annotations

import re
from collections.abc import Iterable

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s:]*(:[^/@\s]*)?@")
_TOKEN_SHAPES = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace credentials in URLs, GitHub-token-shaped words and the given secrets by ***."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}***@", text)
    text = _TOKEN_SHAPES.sub("***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
