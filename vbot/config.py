"""Settings: ``vbot.toml`` at the data repo root or ``--config``, overridden by environment.

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
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from vbot.errors import VbotError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAME = "vbot.toml"


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

    @property
    def github_token(self) -> str | None:
        return self.env.get("GITHUB_TOKEN") or None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle for process and dask workers, carrying only the variables vbot reads."""
        env = {k: v for k, v in self.env.items() if _shipped_env(k)}
        sources = {k: dict(v) for k, v in self.sources.items()}
        return (_unpickle_config, (sources, env, self.http))


def _shipped_env(name: str) -> bool:
    """The environment a pickled Config carries: ``VBOT_*`` and ``*_TOKEN`` variables only."""
    return name.startswith("VBOT_") or name.endswith("_TOKEN")


def _unpickle_config(sources: dict[str, dict[str, Any]], env: dict[str, str],
                     http: HttpSettings) -> Config:
    return Config(sources=MappingProxyType(sources), env=MappingProxyType(env), http=http)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise VbotError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise VbotError(f"{path}: invalid TOML: {exc}") from None


_HTTP_FLOATS = ("connect_timeout", "read_timeout", "request_timeout", "backoff", "max_retry_after",
                "max_rate_limit_wait")
_HTTP_INTS = ("retries", "per_host", "max_body_bytes")


def _http_settings(table: Any, where: str, env: Mapping[str, str]) -> HttpSettings:
    """``[http]`` of the config, then ``VBOT_HTTP_<NAME>`` environment overrides."""
    table = dict(table) if isinstance(table, dict) else {}
    for name in _HTTP_FLOATS + _HTTP_INTS:
        value = env.get(f"VBOT_HTTP_{name.upper()}")
        if value:
            table[name], where = value, f"VBOT_HTTP_{name.upper()}"
    defaults = HttpSettings()
    kwargs: dict[str, Any] = {}
    for names, kind in ((_HTTP_FLOATS, float), (_HTTP_INTS, int)):
        for name in names:
            if name in table:
                try:
                    kwargs[name] = kind(table[name])
                except (TypeError, ValueError):
                    raise VbotError(f"{where}: [http] {name} must be a number") from None
                if kwargs[name] < 0:
                    raise VbotError(f"{where}: [http] {name} must not be negative")
    rewrite = table.get("rewrite", {})
    if not isinstance(rewrite, dict):
        raise VbotError(f"{where}: [http] rewrite must be a table of URL prefixes")
    kwargs["rewrite"] = tuple(sorted((str(k), str(v)) for k, v in rewrite.items()))
    if kwargs.get("per_host", defaults.per_host) < 1:
        raise VbotError(f"{where}: [http] per_host must be at least 1")
    return HttpSettings(**{**defaults.__dict__, **kwargs})


def _check_rewrites(rewrites: Mapping[str, str], where: str) -> None:
    """Every rewrite must lead to an http(s) URL: a mistyped mirror is a setting's fault, and
    must stop the run before any check rather than fail every node it rewrites."""
    for old, new in sorted(rewrites.items()):
        try:
            parts = urlsplit(new)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            raise VbotError(f"{where} or VBOT_HTTP_REWRITE: [http] rewrite of {old!r} must "
                            f"lead to an http(s) URL, not {new!r}")


def load_config(
    repo_root: Path | None, config_file: Path | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Merge ``<repo>/vbot.toml`` and ``config_file`` (later wins) with the environment."""
    data: dict[str, Any] = {}
    where = "defaults"
    candidates = [p for p in (repo_root and repo_root / CONFIG_NAME, config_file) if p]
    for path in candidates:
        if path == config_file and not path.is_file():
            raise VbotError(f"{path}: config file not found")
        if path.is_file():
            loaded = _read_toml(path)
            where = str(path)
            for key, value in loaded.items():
                if isinstance(value, dict) and isinstance(data.get(key), dict):
                    merged = dict(data[key])
                    for sub, subval in value.items():
                        if isinstance(subval, dict) and isinstance(merged.get(sub), dict):
                            merged[sub] = {**merged[sub], **subval}
                        else:
                            merged[sub] = subval
                    data[key] = merged
                else:
                    data[key] = value
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise VbotError(f"{where}: [sources] must be a table")
    env_map = dict(os.environ if env is None else env)
    http = _http_settings(data.get("http"), where, env_map)
    rewrites = dict(http.rewrite)
    env_rewrite = env_map.get("VBOT_HTTP_REWRITE", "")
    for pair in filter(None, env_rewrite.split(",")):
        old, sep, new = pair.partition("=")
        if sep:
            rewrites[old] = new
    _check_rewrites(rewrites, where)
    http = HttpSettings(**{**http.__dict__, "rewrite": tuple(sorted(rewrites.items()))})
    return Config(
        sources=MappingProxyType({k: dict(v) for k, v in sources.items() if isinstance(v, dict)}),
        env=MappingProxyType(env_map),
        http=http,
    )
