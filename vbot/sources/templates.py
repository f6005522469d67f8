"""Rendering a recipe's source URL template for another version, in a jinja2 sandbox.

``UrlRenderer`` renders one ``url:`` of a ``RecipeTemplate`` (``vbot/repo/recipe.py``) with
``version`` replaced by a candidate: the set statements (or v1 context entries) the URL needs are
evaluated in order, then the URL.

The sandbox is ``ImmutableSandboxedEnvironment`` with ``StrictUndefined``: no loader (no file
access), no globals but a short ``range``, a whitelist of filters, bounded sizes (``**``, ``*``,
``%``, ``replace``, ``join`` and wide numbers are checked), and URL templates without ``{% %}``
statements. Whatever does not render (an undefined name such as conda-build's ``environ``,
``__class__``, ``range(10**9)``) makes that one rendering ``None``; the caller then falls back to
substituting the version string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from jinja2 import StrictUndefined, Template, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from vbot.repo.recipe import MAX_EXPR, V1, RecipeTemplate

MAX_TEXT = 4096  # longest string a definition or a rendered URL may be
MAX_RANGE = 1000
MAX_SOURCE = 20000  # longest definitions + URL compiled as one template
_WIDE_FORMAT = re.compile(r"[0-9]{4,}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # every name a text may refer to (and more)
# statements allowed in what is compiled: set (of a plain name) and output, no loops or ifs
_ALLOWED = (nodes.Assign, nodes.AssignBlock, nodes.Output)
# filters a URL may need, none of which takes a width or a count that could blow up output
_FILTERS = ("lower", "upper", "title", "capitalize", "trim", "default", "d", "first", "last",
            "length", "count", "string", "int", "float", "list", "join", "replace", "reverse",
            "sort", "unique", "min", "max", "abs", "round")


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_TEXT:
        raise SecurityError(f"value longer than {MAX_TEXT}")
    return value


def _range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise SecurityError(f"range longer than {MAX_RANGE}")
    return rng


def _split(value: str, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    """rattler-build's ``split`` filter."""
    return str(value).split(sep, maxsplit)


class Sandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox with sizes bounded: ``**``, ``*`` and ``%`` are checked,
    no call takes a huge number, no result is longer than ``MAX_TEXT``."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, **options)
        kept = {name: self.filters[name] for name in _FILTERS if name in self.filters}
        self.filters.clear()
        self.filters.update(kept, split=_split)
        self.filters["replace"] = self._replace
        self.filters["join"] = self._join
        self.tests.clear()
        self.tests.update({"defined": lambda v: not isinstance(v, Undefined),
                           "undefined": lambda v: isinstance(v, Undefined)})
        self.globals.clear()
        self.globals["range"] = _range

    @staticmethod
    def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
        text, old, new = str(value), str(old), str(new)
        if old and len(text) + text.count(old) * max(0, len(new) - len(old)) > MAX_TEXT:
            raise SecurityError("replace result too long")
        return text.replace(old, new) if count is None else text.replace(old, new, count)

    @staticmethod
    def _join(value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
        items = [str(v) for v in value]
        return _sized(str(d).join(items))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if not (isinstance(right, int) and abs(right) <= 64
                    and (not isinstance(left, int) or abs(left) < 1 << 32)):
                raise SecurityError("power too large")
        elif operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) \
                        and len(seq) * n > MAX_TEXT:
                    raise SecurityError("repetition too long")
        elif operator == "%" and isinstance(left, str) and _WIDE_FORMAT.search(left):
            raise SecurityError("format width too large")
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, int) and abs(arg) > MAX_TEXT:
                raise SecurityError("argument too large")
        name = getattr(__obj, "__name__", "")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            if name in ("format", "format_map") and _WIDE_FORMAT.search(owner):
                raise SecurityError("format width too large")
            if name == "replace" and len(args) >= 2:
                __self._replace(owner, *args[:3])
        return _sized(super().call(__context, __obj, *args, **kwargs))


def sandbox(kind: str) -> Sandbox:
    """The environment for a recipe kind (v1 uses ``${{ }}`` and no statements)."""
    if kind == V1:
        return Sandbox(variable_start_string="${{", variable_end_string="}}",
                       block_start_string="${%", block_end_string="%}",
                       comment_start_string="${#", comment_end_string="#}")
    return Sandbox()


class UrlRenderer:
    """One source URL template of a recipe, compiled once; ``render(version)`` is the URL for
    that version, or None when it cannot be rendered.

    The URL is compiled together with the definitions it needs (directly or through other
    definitions; a v1 context value becomes a block ``set``) into one template, as conda-build
    and rattler-build evaluate them: one that fails fails the rendering."""

    def __init__(self, template: RecipeTemplate, url: str) -> None:
        self.url = url
        self.literals: dict[str, Any] = {}
        self.compiled: Template | None = None
        env = sandbox(template.kind)
        needed = set(_NAME.findall(url))
        kept: list[tuple[str, Any]] = []
        for name, value in reversed(template.definitions()):
            if name == "version" or name not in needed:
                continue  # the candidate takes the place of `version`
            needed.discard(name)  # an earlier definition of it is not the one used
            if isinstance(value, str):
                needed |= set(_NAME.findall(value))
            kept.append((name, value))
        parts: list[str] = []
        for name, value in reversed(kept):
            if not isinstance(value, str):  # a v1 context number or boolean
                self.literals[name] = value
            elif template.kind == V1:
                if "${%" in value:  # v1 has no statements; this one stays undefined
                    continue
                parts.append(f"${{% set {name} %}}{value}${{% endset %}}")
            else:
                parts.append(f"{{% set {name} = {value} %}}")
        source = "".join([*parts, url])
        if len(url) > MAX_EXPR or len(source) > MAX_SOURCE:
            return
        try:
            tree = env.parse(source)
            if all(isinstance(n, _ALLOWED) for n in tree.find_all(nodes.Stmt)) and \
                    all(isinstance(n.target, nodes.Name) for n in
                        tree.find_all((nodes.Assign, nodes.AssignBlock))):
                self.compiled = env.from_string(tree)
        except Exception:  # noqa: BLE001 - a syntax error is "cannot render"
            self.compiled = None

    def render(self, version: str) -> str | None:
        if self.compiled is None:
            return None
        try:
            text = self.compiled.render({**self.literals, "version": version}).strip()
        except Exception:  # noqa: BLE001 - undefined name or sandbox refusal: not renderable
            return None
        parts = urlsplit(text)
        if len(text) > MAX_TEXT or any(c.isspace() for c in text) \
                or parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        return text


def renderer_for(template: RecipeTemplate | None, url: str, current: str) -> UrlRenderer | None:
    """The renderer of the recipe URL that renders to ``url`` at version ``current``, or None
    (no template, none reproduces the node's URL)."""
    if template is None:
        return None
    for source in template.urls:
        if "{{" not in source:
            continue
        renderer = UrlRenderer(template, source)
        if renderer.render(current) == url:
            return renderer
    return None
