"""Where the shipped resources (schemas/, hooks/, data/) live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the directory of a shipped resource folder: ``schemas``, ``hooks`` or ``data``."""
    installed = _PKG / "resources" / name
    if installed.is_dir():
        return installed
    checkout = _PKG.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"vbot resource folder {name!r} is missing from the installation")
