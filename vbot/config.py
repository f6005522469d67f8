"""Settings: ``vbot.toml`` at the data repo root and ``--config``, overridden by environment.

```toml
[sources.pypi]
url = "https://pypi.mirror.example"      # or VBOT_PYPI_URL

[http]
connect_timeout = 5
read_timeout = 20
request_timeout = 60        # whole request (retries, redirects, body) at most; 0 = no limit
retries = 3
backoff = 0.5               # base of the exponential backoff (full jitter)
max_retry_after = 60        # longest Retry-After honoured; longer: rate-limited failure
max_rate_limit_wait = 120   # longest wait for an X-RateLimit-Reset; longer: rate-limited
per_host = 8
max_body_bytes = 33554432
rewrite = { "https://ftp.gnu.org/" = "http://127.0.0.1:8000/files/ftp.gnu.org/" }
```

Every ``[http]`` number can also be set with ``VBOT_HTTP_<NAME>`` (e.g. ``VBOT_HTTP_RETRIES=1``).

Every file is checked against ``schemas/config.schema.json`` when it is read: an unknown table
or key, or a value of the wrong type, stops vbot with one line naming the file and the key
(with the nearest known key when there is one). ``VBOT_HTTP_*`` variables are parsed as
strictly. Each value remembers the file it came from (``Config.origins``): the data repo's own
``vbot.toml`` is written by whoever can land a commit there, so a value it set (e.g. a source's
``url``) must never decide where a credential goes; ``vbot/check/preflight.py`` refuses such a
setting before any request (see "Trust model" in the README).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from vbot.errors import VbotError
from vbot.shipped import resource_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAME = "vbot.toml"
SCHEMA_NAME = "config.schema.json"


@dataclass(frozen=True)
class HttpSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    request_timeout: float = 60.0  # one request as a whole, retries and body included; 0: none
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 60.0
    max_rate_limit_wait: float = 120.0
    per_host: int = 8
    max_body_bytes: int = 32 * 1024 * 1024
    rewrite: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Config:
    sources: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    # repr=False: the environment holds tokens, and reprs end up in logs (dask's among them)
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    http: HttpSettings = field(default_factory=HttpSettings)
    # where each value came from: "sources.pypi.url", "http.retries", "http.rewrite.<prefix>",
    # "git.depth", ... -> the file that set it (keys the files did not set are absent)
    origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # the data repo's own vbot.toml when it was read (its values are the data repo's, not the
    # operator's: see set_by_repo)
    repo_file: str | None = None
    # ``[sweep]`` as checked by the schema (``full_every``: days between full sweeps)
    sweep: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def source_url(self, source: str, env_names: tuple[str, ...],
                   default: str | None) -> str | None:
        """Base URL of a source: environment first, then the config file, then the default."""
        for env_name in env_names:
            value = self.env.get(env_name)
            if value:
                return value.rstrip("/")
        value = self.sources.get(source, {}).get("url")
        if isinstance(value, str) and value:
            return value.rstrip("/")
        return default.rstrip("/") if default else None

    def source_option(self, source: str, key: str, default: Any = None) -> Any:
        return self.sources.get(source, {}).get(key, default)

    def set_by_repo(self, key: str) -> str | None:
        """The data repo's vbot.toml when the value at ``key`` (e.g. ``sources.github.url``)
        came from it, not from the operator (``--config``); else None."""
        origin = self.origins.get(key)
        return origin if origin is not None and origin == self.repo_file else None

    def operator_only(self) -> Config:
        """This configuration without the source URLs the data repo's vbot.toml set: where
        the operator alone sends each source's requests."""
        sources = {name: {k: v for k, v in table.items()
                          if k != "url" or not self.set_by_repo(f"sources.{name}.url")}
                   for name, table in self.sources.items()}
        return dataclasses.replace(self, sources=MappingProxyType(sources), repo_file=None)

    @property
    def github_token(self) -> str | None:
        """``GITHUB_TOKEN``; None when the data repo chose GitHub's URL (and no
        ``VBOT_GITHUB_*`` variable overrides it): a second guard behind the pre-check that
        refuses such a run (vbot/check/preflight.py)."""
        token = self.env.get("GITHUB_TOKEN") or None
        if token and self.set_by_repo("sources.github.url") and not any(
                self.env.get(n) for n in ("VBOT_GITHUB_API_URL", "VBOT_GITHUB_URL")):
            return None
        return token

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle for process and dask workers, carrying only the variables vbot reads."""
        env = {k: v for k, v in self.env.items() if _shipped_env(k)}
        sources = {k: dict(v) for k, v in self.sources.items()}
        return (_unpickle_config,
                (sources, env, self.http, dict(self.origins), self.repo_file, dict(self.sweep)))


def _shipped_env(name: str) -> bool:
    """The environment a pickled Config carries: ``VBOT_*`` and ``*_TOKEN`` variables only."""
    return name.startswith("VBOT_") or name.endswith("_TOKEN")


def _unpickle_config(sources: dict[str, dict[str, Any]], env: dict[str, str],
                     http: HttpSettings, origins: dict[str, str] | None = None,
                     repo_file: str | None = None,
                     sweep: dict[str, Any] | None = None) -> Config:
    return Config(sources=MappingProxyType(sources), env=MappingProxyType(env), http=http,
                  origins=MappingProxyType(origins or {}), repo_file=repo_file,
                  sweep=MappingProxyType(sweep or {}))


# -- reading and checking a file ---------------------------------------------------------------
def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise VbotError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise VbotError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise VbotError(f"{path}: invalid TOML: not UTF-8 text") from None


def _http_kinds() -> dict[str, type]:
    """The ``[http]`` numbers and booleans vbot knows: every field of HttpSettings but
    ``rewrite`` (a field added there is a setting at once, in files and in the environment)."""
    kinds: dict[str, type] = {}
    for f in dataclasses.fields(HttpSettings):
        if f.name == "rewrite":
            continue
        default = getattr(HttpSettings(), f.name)
        kinds[f.name] = (bool if isinstance(default, bool)
                         else int if isinstance(default, int) else float)
    return kinds


@functools.cache
def config_schema() -> dict[str, Any]:
    """``schemas/config.schema.json``, with the ``[http]`` fields of HttpSettings it does not
    list added as non-negative numbers (or booleans)."""
    path = resource_dir("schemas") / SCHEMA_NAME
    try:
        schema = json.loads(path.read_text("utf-8"))
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as exc:
        raise VbotError(f"{path}: not a usable JSON Schema: "
                        f"{getattr(exc, 'message', None) or exc}") from None
    schema = copy.deepcopy(schema)
    props = schema["properties"]["http"]["properties"]
    for name, kind in _http_kinds().items():
        if name not in props:
            props[name] = ({"type": "boolean"} if kind is bool else
                           {"type": "integer" if kind is int else "number", "minimum": 0})
    return schema


@functools.cache
def _validator() -> Any:
    schema = config_schema()
    return jsonschema.validators.validator_for(schema)(schema)


_KINDS = {"integer": "an integer", "number": "a number", "boolean": "true or false",
          "object": "a table", "string": "a string", "array": "a list"}


def key_path(parts: list[Any] | tuple[Any, ...]) -> str:
    """A TOML key path as a person reads it: ``[sources.pypi] url``, ``[http]``, ``[git] depth``,
    ``[http] rewrite "https://old.example/"``."""
    parts = [str(p) for p in parts]
    if not parts:
        return "the file"
    if parts[0] == "sources" and len(parts) > 1:
        table, rest = f"sources.{parts[1]}", parts[2:]
    else:
        table, rest = parts[0], parts[1:]
    shown = f"[{table}]"
    if rest:
        shown += " " + rest[0] + "".join(f" {json.dumps(p)}" for p in rest[1:])
    return shown


def suggest(word: str, known: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The nearest of ``known`` to a mistyped ``word`` (None: nothing close)."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return close[0] if close else None


def _problem(err: Any) -> str:
    """One line for a jsonschema error, naming the key's path."""
    parts = list(err.absolute_path)
    if err.validator == "additionalProperties":
        known = set(err.schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in known)[0]
        close = suggest(extra, known)
        hint = f" (did you mean {key_path([*parts, close])}?)" if close else ""
        return f"{key_path([*parts, extra])} is not a vbot setting{hint}"
    where = key_path(parts)
    value = err.instance
    if err.validator == "type":
        wanted = err.validator_value
        wanted = wanted if isinstance(wanted, str) else wanted[0]
        return f"{where} must be {_KINDS.get(wanted, wanted)}, not {_shown(value)}"
    if err.validator == "minimum":
        return f"{where} must be at least {err.validator_value}, not {_shown(value)}"
    if err.validator == "minLength":
        return f"{where} must not be empty"
    return f"{where}: {err.message}"


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def settings_problems(data: Mapping[str, Any]) -> list[str]:
    """Every schema violation of a vbot.toml's tables, one line each (no file name), in key
    order; empty when valid."""
    errors = sorted(_validator().iter_errors(data),
                    key=lambda e: [str(p) for p in e.absolute_path])
    return [_problem(err) for err in errors]


def check_settings(data: Mapping[str, Any], where: str | Path) -> None:
    """VbotError naming the first problem of ``data`` (a vbot.toml read from ``where``)."""
    problems = settings_problems(data)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VbotError(f"{where}: {problems[0]}{more}")


def read_settings(path: Path) -> dict[str, Any]:
    """A vbot.toml, read and checked against the schema (VbotError: one line)."""
    data = _read_toml(path)
    check_settings(data, path)
    return data


# -- the environment ---------------------------------------------------------------------------
def _env_number(name: str, value: str, kind: type) -> Any:
    text = value.strip()
    try:
        if kind is bool:
            if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("1", "true", "yes")
        number = kind(text)
    except ValueError:
        what = {int: "an integer", float: "a number", bool: "true or false"}[kind]
        raise VbotError(f"{name} must be {what}, not {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        raise VbotError(f"{name} must be a non-negative number, not {value!r}")
    return number


def parse_rewrites(name: str, value: str) -> dict[str, str]:
    """``old=new,old=new`` (URL prefixes) from the variable ``name``; VbotError for an item
    that is not ``old=new`` with both sides set."""
    pairs: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise VbotError(f"{name}: {item!r} is not OLD=NEW (comma-separated URL prefixes)")
        pairs[old.strip()] = new.strip()
    return pairs


def _env_http(env: Mapping[str, str]) -> dict[str, Any]:
    """``VBOT_HTTP_<NAME>`` overrides, parsed strictly; an unknown ``VBOT_HTTP_*`` variable is
    an error (a typo would otherwise be ignored)."""
    kinds = _http_kinds()
    known = {f"VBOT_HTTP_{n.upper()}": n for n in kinds}
    out: dict[str, Any] = {}
    for var in sorted(env):
        if not var.startswith("VBOT_HTTP_") or var == "VBOT_HTTP_REWRITE":
            continue
        if var not in known:
            close = suggest(var, [*known, "VBOT_HTTP_REWRITE"])
            hint = f" (did you mean {close}?)" if close else ""
            raise VbotError(f"{var} is not a vbot setting{hint}")
        if env[var]:
            out[known[var]] = _env_number(var, env[var], kinds[known[var]])
    if out.get("per_host", 1) < 1:
        raise VbotError("VBOT_HTTP_PER_HOST must be at least 1")
    return out


def _check_rewrites(rewrites: Mapping[str, str], where: Mapping[str, str]) -> None:
    """Every rewrite must lead to an http(s) URL: a mistyped mirror is a setting's fault, and
    must stop the run before any check rather than fail every node it rewrites."""
    for old, new in sorted(rewrites.items()):
        try:
            parts = urlsplit(new)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            raise VbotError(f"{where.get(old, 'VBOT_HTTP_REWRITE')}: [http] rewrite of {old!r} "
                            f"must lead to an http(s) URL, not {new!r}")


# -- merging -----------------------------------------------------------------------------------
def _merge(data: dict[str, Any], origins: dict[str, str], loaded: Mapping[str, Any],
           where: str) -> None:
    """Fold ``loaded`` into ``data`` (tables merged two levels deep: ``[sources.<name>]`` and
    ``[http] rewrite`` key by key), recording the file each leaf came from."""
    for key, value in loaded.items():
        if not isinstance(value, dict):
            data[key] = value
            origins[key] = where
            continue
        merged = dict(data.get(key) or {})
        for sub, subval in value.items():
            if isinstance(subval, dict):
                merged[sub] = {**(merged.get(sub) or {}), **subval}
                for leaf in subval:
                    origins[f"{key}.{sub}.{leaf}"] = where
            else:
                merged[sub] = subval
            origins[f"{key}.{sub}"] = where
        data[key] = merged
        origins[key] = where


def load_config(
    repo_root: Path | None, config_file: Path | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Merge ``<repo>/vbot.toml`` and ``config_file`` (later wins) with the environment.

    Both files are checked against the schema; ``origins`` records which file set each value
    (``repo_file``: the data repo's)."""
    data: dict[str, Any] = {}
    origins: dict[str, str] = {}
    repo_file = repo_root / CONFIG_NAME if repo_root else None
    if config_file is not None and not config_file.is_file():
        raise VbotError(f"{config_file}: config file not found")
    read_repo = None
    for path in (repo_file, config_file):
        if path is not None and path.is_file():
            _merge(data, origins, read_settings(path), str(path))
            if path == repo_file:
                read_repo = str(path)
    env_map = dict(os.environ if env is None else env)
    table = dict(data.get("http") or {})
    kinds = _http_kinds()
    kwargs: dict[str, Any] = {name: kind(table[name]) if kind is not bool else table[name]
                              for name, kind in kinds.items() if name in table}
    kwargs.update(_env_http(env_map))
    rewrites = {str(k): str(v) for k, v in (table.get("rewrite") or {}).items()}
    where = {old: origins.get(f"http.rewrite.{old}", "vbot.toml") for old in rewrites}
    for old, new in parse_rewrites("VBOT_HTTP_REWRITE",
                                   env_map.get("VBOT_HTTP_REWRITE", "")).items():
        rewrites[old] = new
        where.pop(old, None)
        origins.pop(f"http.rewrite.{old}", None)  # the operator's now
    parse_rewrites("VBOT_GIT_REWRITE", env_map.get("VBOT_GIT_REWRITE", ""))
    _check_rewrites(rewrites, where)
    http = HttpSettings(**{**kwargs, "rewrite": tuple(sorted(rewrites.items()))})
    sources = data.get("sources") or {}
    return Config(
        sources=MappingProxyType({k: dict(v) for k, v in sources.items()}),
        env=MappingProxyType(env_map),
        http=http,
        origins=MappingProxyType(origins),
        repo_file=read_repo,
        sweep=MappingProxyType(dict(data.get("sweep") or {})),
    )
