"""A recipe's source URL template: what of ``raw_meta_yaml`` a download URL is built from.

conda-forge recipes build their download URL from a template: ``meta.yaml`` with ``{% set %}``
variables and ``{{ }}`` expressions (``.../{{ version_majmin }}/{{ name }}-{{ version }}.tar.xz``),
v1 ``recipe.yaml`` with a ``context:`` block and ``${{ }}``. ``extract`` keeps only what a URL
needs from ``raw_meta_yaml``: the set statements or the context block, and the source ``url:``
values as written; never the whole recipe (selectors and ``compiler()`` would not render).
Reading it is cheap text scanning (it runs for every node of a sweep); the v1 context block is
parsed only when a URL is rendered (``vbot/sources/templates.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

JINJA = "jinja"  # meta.yaml: {% set %} + {{ }}
V1 = "v1"  # recipe.yaml (schema_version 1): context: + ${{ }}
MAX_EXPR = 1000  # longest set expression / URL template kept
MAX_DEFS = 200  # set statements or context entries kept
MAX_CONTEXT = 20000  # longest v1 context block read
_SET = re.compile(r"\{%-?\s*set\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*-?%\}", re.DOTALL)
_SECTION = re.compile(r"^source:[ \t]*(?:#.*)?$", re.MULTILINE)
_NEXT_KEY = re.compile(r"^[A-Za-z_]", re.MULTILINE)
_URL_KEY = re.compile(r"^(\s*)(?:-\s+)?url:[ \t]*(.*)$")
_ITEM = re.compile(r"^(\s*)-\s+(.*)$")
_MAPPING = re.compile(r"[A-Za-z_]+:(?:\s|$)")
_COMMENT = re.compile(r"(?:^|\s+)#.*$")
_CONTEXT = re.compile(r"^context:[ \t]*(?:#.*)?\n((?:(?:[ \t]+.*|[ \t]*(?:#.*)?)(?:\n|$))*)",
                      re.MULTILINE)
_CONTEXT_KEY = re.compile(r"^context:", re.MULTILINE)


@dataclass(frozen=True)
class RecipeTemplate:
    """What of a recipe a source URL needs: ``defs`` are (name, expression) of the
    ``{% set %}`` statements in order (``jinja``), ``context`` the text of the ``context:``
    block (``v1``), ``urls`` the source ``url:`` values as written."""

    kind: str
    defs: tuple[tuple[str, str], ...]
    urls: tuple[str, ...]
    context: str = ""  # v1: the context block's text, read when a URL is rendered

    def definitions(self) -> tuple[tuple[str, Any], ...]:
        """(name, expression or value) in order: set statements, or the parsed context."""
        return self.defs if self.kind == JINJA else _context(self.context)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return _COMMENT.sub("", value).strip()


def _clean(value: str) -> str:
    """A ``url:`` value without its selector or comment, unquoted."""
    value = value.strip()
    if value and value[0] in "\"'":
        end = value.find(value[0], 1)
        while end > 0 and value[0] == "'" and value[end + 1 : end + 2] == "'":
            end = value.find("'", end + 2)
        if end > 0:
            return _unquote(value[: end + 1])
    return _COMMENT.sub("", value).strip()


def source_urls(raw: str) -> tuple[str, ...]:
    """The ``url:`` values (a string or a list) of the top-level ``source:`` section."""
    match = _SECTION.search(raw)
    if not match:
        return ()
    urls: list[str] = []
    key_indent: int | None = None
    end = _NEXT_KEY.search(raw, match.end())
    for line in raw[match.end() : end.start() if end else len(raw)].splitlines()[1:]:
        key = _URL_KEY.match(line)
        if key:
            value = _clean(key.group(2))
            key_indent = None if value else len(key.group(1))
            if value:
                urls.append(value)
            continue
        item = _ITEM.match(line)
        if key_indent is not None and item and len(item.group(1)) >= key_indent \
                and not _MAPPING.match(item.group(2)):
            value = _clean(item.group(2))
            if value:
                urls.append(value)
            continue
        if line.strip() and not line.lstrip().startswith("#"):
            key_indent = None
    return tuple(dict.fromkeys(u for u in urls if len(u) <= MAX_EXPR))


def _context(text: str) -> tuple[tuple[str, Any], ...]:
    """(name, value) of a v1 recipe's ``context:`` entries, in order."""
    import yaml  # only nodes that get rendered pay for it

    try:
        block = yaml.safe_load(text)
    except yaml.YAMLError:
        return ()
    if not isinstance(block, dict):
        return ()
    return tuple((str(k), v) for k, v in list(block.items())[:MAX_DEFS]
                 if isinstance(v, str | int | float | bool))


def extract(raw: Any, schema_version: Any = None) -> RecipeTemplate | None:
    """The URL template of a recipe text (``raw_meta_yaml``), or None when it has no
    templated source URL."""
    if not isinstance(raw, str) or ("{{" not in raw):
        return None
    urls = source_urls(raw)
    if not urls or not any("{{" in u for u in urls):
        return None
    if schema_version == 1 or ("${{" in raw and _CONTEXT_KEY.search(raw)):
        match = _CONTEXT.search(raw)
        context = match.group(1) if match and len(match.group(1)) <= MAX_CONTEXT else ""
        return RecipeTemplate(V1, (), urls, context)
    sets = tuple((name, expr) for name, expr in _SET.findall(raw)[:MAX_DEFS]
                 if len(expr) <= MAX_EXPR)
    return RecipeTemplate(JINJA, sets, urls)


