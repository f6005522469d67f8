"""The loopback HTTP server: routing, latency, ETag/304, fault injection, request counts.

Routes (one server, one port; each service under its own prefix):

- ``/pypi/<name>/json``                         PyPI JSON API          (VBOT_PYPI_URL = base)
- ``/github/repos/<o>/<r>/releases/latest|tags`` GitHub REST           (VBOT_GITHUB_API_URL)
- ``/npm/<name>``                               npm registry           (VBOT_NPM_URL)
- ``/files/<host>/<path>``                      raw downloads (HEAD/GET), via VBOT_HTTP_REWRITE
- ``/cran``, ``/crates``, ``/gitlab``, ``/ros``, ``/git``, ``/rubygems``, ``/metacpan``,
  ``/nvidia``, GitHub releases and paged tags: see ``routes.py`` (world keys ``cran``,
  ``crates``, ``gitlab``, ``ros``, ``git``, ``rubygems``, ``metacpan``, ``nvidia``)
- ``POST /github/graphql``                      GitHub GraphQL (batched repository lookups)
- ``POST /pypi``, ``/simple/``, ``/rubygems/versions``, ``POST /metacpan/v1/release/_search``:
  the change feeds (``feeds.py``), moved by every ``set_world``

World keys: ``latency_ms``, ``gitlab_hosts`` (GitLab hosts besides gitlab.com, served from the
``gitlab`` table), ``faults`` (list of ``{"path": glob, "kind": ..., "times": n}``) and
one table per service (see ``data/world.json``).
Fault kinds: ``status`` (with ``status``, optional ``retry_after`` and ``headers``),
``timeout`` (sleep ``seconds``), ``reset`` (close the connection), ``malformed`` (truncated
JSON), ``html`` (an HTML error page with 200), ``huge`` (``bytes`` of body), ``ratelimit``
(``status`` 403 or 429 with ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` in
``reset_in`` seconds), ``redirect`` (``status`` 302 to ``location``, absolute or relative),
``slow`` (a 200 whose body of ``bytes`` trickles out over ``seconds``), ``shape`` (valid JSON
of the wrong shape).

Which requests a fault hits: ``path`` (glob on the decoded path), then optionally ``times``
(the first n matching requests overall), ``first`` (the first n requests *of each path*, so a
retry then succeeds), ``probability`` (a deterministic pseudo-random share of requests, seeded
by the world's ``seed``). The first fault that matches wins.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from vbot.testing.fakeupstream import graphql, responses, routes
from vbot.testing.fakeupstream.feeds import Feeds

Rendered = responses.Rendered
NOT_FOUND: Rendered = (404, "application/json", b'{"message":"Not Found"}')
Route = Callable[[dict[str, Any], str, dict[str, list[str]]], "Rendered | None"]


def _pypi(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    parts = path.split("/")
    if len(parts) == 2 and parts[1] == "json":
        return responses.render_pypi(world, unquote(parts[0]))
    return None


def _npm(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    return responses.render_npm(world, unquote(path))


def _files(world: dict[str, Any], path: str, query: dict[str, list[str]]) -> Rendered | None:
    url = "https://" + path
    files = world.get("_files_set")
    if files is None:
        files = world["_files_set"] = {f.split("://", 1)[-1] for f in world.get("files", [])}
    if url.split("://", 1)[1] in files:
        return 200, "application/octet-stream", b"\0" * 64
    return None


# routes.ROUTES: github, cran, crates, gitlab, ros, git, rubygems, metacpan, nvidia
ROUTES: dict[str, Route] = {"pypi": _pypi, "npm": _npm, "files": _files, **routes.ROUTES}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out as separate writes: without TCP_NODELAY, Nagle + delayed ACK add
    # a delayed-ACK wait to every keep-alive answer, which swamps the configured latency
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_POST(self) -> None:  # GitHub GraphQL, PyPI XML-RPC, MetaCPAN _search
        fake = self.server.fake
        path = urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake.count(path, self.headers)
        latency = float(fake.world.get("latency_ms", 0)) / 1000.0
        if latency:
            time.sleep(latency)
        fault = fake.take_fault(path)
        if fault is not None and self._fault(fault):
            return
        if path == "/pypi":
            self._send(*fake.feeds.xmlrpc(fake.world, body))
        elif path == "/metacpan/v1/release/_search":
            self._send(*fake.feeds.cpan_search(fake.world, body))
        elif path == "/github/graphql":
            self._send(*graphql.render(fake.world, body), {})
        else:
            self._send(*NOT_FOUND, {})

    def _serve(self, head: bool) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        path = unquote(split.path) if not split.path.startswith("/npm/") else split.path
        fake.count(path, self.headers)
        world = fake.world
        latency = float(world.get("latency_ms", 0)) / 1000.0
        if latency:
            time.sleep(latency)
        fault = fake.take_fault(path)
        if fault is not None and self._fault(fault):
            return
        if path in ("/simple/", "/simple"):
            self._send(*fake.feeds.simple(world, self.headers.get("Accept", "")), head=head)
            return
        if path == "/rubygems/versions":
            self._send(*fake.feeds.rubygems_versions(world, self.headers, head), head=head)
            return
        rendered = fake.render(split.path, split.query)
        status, ctype, body = rendered[:3]
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if status == 200 and self.headers.get("If-None-Match") == etag:
            fake.count_304()
            self._send(304, ctype, b"", {"ETag": etag}, head=True)
            return
        extra = {"ETag": etag} if status == 200 else {}
        extra.update(rendered[3] if len(rendered) > 3 else {})  # e.g. a Link header
        if path.startswith("/github/"):
            extra.update({"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
                          "X-RateLimit-Reset": str(int(time.time()) + 3600)})
        self._send(status, ctype, body, extra, head=head)

    def _send(self, status: int, ctype: str, body: bytes, headers: dict[str, str],
              head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _fault(self, fault: dict[str, Any]) -> bool:
        kind = fault.get("kind")
        if kind == "status":
            hdrs = {str(k): str(v) for k, v in fault.get("headers", {}).items()}
            if "retry_after" in fault:
                hdrs["Retry-After"] = str(fault["retry_after"])
            self._send(int(fault.get("status", 500)), "text/plain", b"fault injected", hdrs)
        elif kind == "ratelimit":
            reset = int(time.time() + float(fault.get("reset_in", 60)))
            self._send(int(fault.get("status", 403)), "application/json",
                       b'{"message":"API rate limit exceeded"}',
                       {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
        elif kind == "redirect":
            self._send(int(fault.get("status", 302)), "text/plain", b"",
                       {"Location": str(fault["location"])})
        elif kind == "slow":
            size, seconds = int(fault.get("bytes", 64)), float(fault.get("seconds", 30))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.close_connection = True
            try:
                for _ in range(size):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(seconds / size)
            except OSError:
                pass
        elif kind == "shape":
            self._send(200, "application/json", b'["a", "list", "not", "an", "object"]', {})
        elif kind == "timeout":
            time.sleep(float(fault.get("seconds", 30)))
            self.close_connection = True
            return True
        elif kind == "reset":
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif kind == "malformed":
            self._send(200, "application/json", b'{"info": {"version": "1.0"', {})
        elif kind == "html":
            self._send(200, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>", {})
        elif kind == "huge":
            self._send(200, "application/json", b" " * int(fault.get("bytes", 64 << 20)), {})
        else:
            return False
        return True


def world_list(world: dict[str, Any], key: str) -> list[str]:
    return sorted(str(h) for h in world.get(key, []))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    fake: FakeUpstream

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, killed processes) are normal here: stay quiet."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FakeUpstream:
    """Start with ``with FakeUpstream(world) as fake:``; ``fake.env()`` points vbot at it."""

    def __init__(self, world: dict[str, Any] | Path | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._lock = threading.Lock()
        self.world: dict[str, Any] = {}
        self.feeds = Feeds()  # the change feeds (feeds.py), moved by every set_world
        self.set_world(world or {})
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None
        self.requests: Counter[str] = Counter()
        self.not_modified = 0
        self.headers_seen: list[dict[str, str]] = []

    # -- world ---------------------------------------------------------------------------
    def set_world(self, world: dict[str, Any] | Path) -> None:
        if isinstance(world, Path):
            world = json.loads(world.read_text("utf-8"))
        with self._lock:
            self.world = dict(world)
            self.feeds.update(self.world)
            self.world["_feeds"] = self.feeds
            self._faults = [dict(f) for f in self.world.get("faults", [])]
            self._cache: dict[str, Rendered] = {}

    def rebuild_versions(self) -> None:
        """Compact RubyGems' ``versions`` file as its monthly rebuild does (new ETag)."""
        self.feeds.rebuild_versions()

    def take_fault(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            nth = self.requests[path]  # this request's number for its path (counted already)
            for fault in self._faults:
                if fnmatch.fnmatchcase(path, fault.get("path", "*")):
                    if "first" in fault and nth > int(fault["first"]):
                        continue
                    if "probability" in fault:
                        key = f"{self.world.get('seed', 0)}:{path}:{nth}".encode()
                        draw = int(hashlib.sha1(key).hexdigest()[:8], 16) / 0xFFFFFFFF
                        if draw >= float(fault["probability"]):
                            continue
                    times = fault.get("times")
                    if times is not None:
                        if times <= 0:
                            continue
                        fault["times"] = times - 1
                    return fault
        return None

    def render(self, raw_path: str, query: str) -> Rendered:
        key = raw_path + "?" + query
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        service, _, rest = raw_path.lstrip("/").partition("/")
        route = ROUTES.get(service)
        if route is None:
            return NOT_FOUND
        rest = rest if service == "npm" else unquote(rest)
        rendered = route(self.world, rest, parse_qs(query)) or NOT_FOUND
        self._cache[key] = rendered
        return rendered

    def count(self, path: str, headers: Any) -> None:
        with self._lock:
            self.requests[path] += 1
            if len(self.headers_seen) < 10000:
                self.headers_seen.append({"path": path, **{k: v for k, v in headers.items()}})

    def count_304(self) -> None:
        with self._lock:
            self.not_modified += 1

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        """Environment variables that point every vbot source at this server."""
        base = self.base_url
        hosts = sorted({f.split("://", 1)[-1].split("/", 1)[0] for f in self.world.get("files", [])}
                       | set(self.world.get("file_hosts", [])))
        rewrite = ",".join(f"https://{h}/={base}/files/{h}/,http://{h}/={base}/files/{h}/"
                           for h in hosts)
        # self-hosted GitLabs (gitlab.gnome.org …) answer from the same ``gitlab`` table
        gitlabs = [f"https://{h}/={base}/gitlab/" for h in world_list(self.world, "gitlab_hosts")]
        rewrite = ",".join(filter(None, [rewrite, *gitlabs]))
        env = {
            "VBOT_PYPI_URL": base,
            "VBOT_GITHUB_API_URL": f"{base}/github",
            "VBOT_NPM_URL": f"{base}/npm",
            "VBOT_CRAN_URL": f"{base}/cran",
            "VBOT_CRATES_URL": f"{base}/crates",
            "VBOT_CRATES_API_URL": f"{base}/crates-api",
            "VBOT_GITLAB_URL": f"{base}/gitlab",
            "VBOT_ROS_URL": f"{base}/ros",
            "VBOT_RUBYGEMS_URL": f"{base}/rubygems",
            "VBOT_METACPAN_URL": f"{base}/metacpan",
            "VBOT_NVIDIA_URL": f"{base}/nvidia",
        }
        if rewrite:
            env["VBOT_HTTP_REWRITE"] = rewrite
        if routes.git_rewrite(self.world, base):
            env["VBOT_GIT_REWRITE"] = routes.git_rewrite(self.world, base)
        return env

    def start(self) -> FakeUpstream:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="fake-upstream")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
