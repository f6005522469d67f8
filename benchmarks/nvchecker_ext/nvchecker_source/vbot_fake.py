"""An nvchecker source that runs one of nvchecker's own sources against vbot's fake upstream.

Configure an entry with ``source = "vbot_fake"``, ``inner = "<nvchecker source>"`` (e.g.
``pypi``, ``github``, ``npm``), ``fake_base = "http://127.0.0.1:PORT/<prefix>"`` and the inner
source's own options. Every URL the inner source asks for keeps its path and query but goes to
``fake_base`` instead of the public service: nvchecker's own parsing, caching and concurrency
are what is measured. Only used by ``benchmarks/bench_sweep.py``.
"""

from importlib import import_module
from urllib.parse import urlsplit


class _Rewriting:
    def __init__(self, cache, base):
        self._cache = cache
        self._base = base.rstrip("/")

    def _url(self, url):
        parts = urlsplit(url)
        return self._base + parts.path + (f"?{parts.query}" if parts.query else "")

    async def get_json(self, url, *, headers={}):  # noqa: B006 - the signature nvchecker uses
        return await self._cache.get_json(self._url(url), headers=headers)

    def __getattr__(self, name):
        return getattr(self._cache, name)


async def get_version(name, conf, *, cache, **kwargs):
    inner = import_module(f"nvchecker_source.{conf['inner']}")
    return await inner.get_version(name, conf, cache=_Rewriting(cache, conf["fake_base"]),
                                   **kwargs)
