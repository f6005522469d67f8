"""NVIDIA redist: the redist index (HTML listing) and ``redistrib_<v>.json`` manifests."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.helpers import check, checker_for, controls, node_attrs
from vbot.repo.nodeinfo import node_info
from vbot.sources import REGISTRY
from vbot.sources.nvidia import manifests, redist_from_url

DL = "https://developer.download.nvidia.com/compute"
BLAS_URL = f"{DL}/nvpl/redist/nvpl_blas/linux-sbsa/nvpl_blas-linux-sbsa-0.3.0-archive.tar.xz"
CUDART_URL = (f"{DL}/cuda/redist/cuda_cudart/linux-x86_64/"
              "cuda_cudart-linux-x86_64-12.4.127-archive.tar.xz")


def nvidia_settings(**keys: str) -> dict:
    return controls(nvidia=keys)


MATCH_CASES = [  # id, url(s), conda-forge.yml extra, expected (subdir, json_name) or None
    ("inferred-nvpl", BLAS_URL, {}, ("nvpl", "nvpl_blas")),
    ("inferred-cuda", CUDART_URL, {}, ("cuda", "cuda_cudart")),
    ("url-list", ["https://example.org/x-1.0.tar.gz", BLAS_URL], {}, ("nvpl", "nvpl_blas")),
    ("json-name-setting", BLAS_URL, nvidia_settings(json_name="nvpl_lapack"),
     ("nvpl", "nvpl_lapack")),
    ("subdir-setting", CUDART_URL, nvidia_settings(compute_subdir="cuda-12"),
     ("cuda-12", "cuda_cudart")),
    ("file-right-under-redist", f"{DL}/cutensor/redist/libcutensor-linux-1.0.tar.xz", {}, None),
    ("file-under-redist-with-setting", f"{DL}/cutensor/redist/libcutensor-linux-1.0.tar.xz",
     nvidia_settings(json_name="libcutensor"), ("cutensor", "libcutensor")),
    ("both-settings-other-nvidia-path", "https://developer.download.nvidia.com/x/cudnn-9.0.tgz",
     nvidia_settings(compute_subdir="cudnn", json_name="cudnn"), ("cudnn", "cudnn")),
    ("both-settings-but-not-nvidia", "https://example.org/x/cudnn-9.0.tgz",
     nvidia_settings(compute_subdir="cudnn", json_name="cudnn"), None),
    ("not-redist", f"{DL}/cuda/12.4.1/local_installers/cuda_12.4.1_linux.run", {}, None),
    ("github", "https://github.com/NVIDIA/cccl/archive/v2.0.0.tar.gz", {}, None),
]


@pytest.mark.parametrize(("url", "extra", "target"), [c[1:] for c in MATCH_CASES],
                         ids=[c[0] for c in MATCH_CASES])
def test_match(upstream, url: str | list[str], extra: dict, target: tuple | None) -> None:
    node = node_info("libx", node_attrs("libx", url, "1.0", **extra))
    source = REGISTRY["nvidia"](checker_for(upstream, {}).ctx)
    assert source.match(node) == target


def test_redist_from_url_and_index_parsing() -> None:
    assert redist_from_url(BLAS_URL) == ("nvpl", "nvpl_blas")
    assert redist_from_url("ftp://developer.download.nvidia.com/compute/a/redist/b/c") is None
    html = ("<a href='../'>../</a>\n<a href='redistrib_0.10.0.json'>redistrib_0.10.0.json</a>\n"
            '<a href="redistrib_0.4.0.json">x</a> <a href=redistrib_0.3.0.json>y</a>\n'
            "<a href='/compute/nvpl/redist/redistrib_0.9.1.json'>z</a>\n"
            "<a href='redistrib_latest.json'>n</a> <a href='nvpl_blas/'>nvpl_blas/</a>")
    assert manifests(html) == ["0.10.0", "0.9.1", "0.4.0", "0.3.0"]


NVPL = {"0.3.0": {"nvpl_blas": {"version": "0.3.0"}, "nvpl_lapack": {"version": "0.2.3"}},
        "0.4.0": {"nvpl_blas": {"version": "0.4.0.1"}, "nvpl_lapack": {"version": "0.3.0"}},
        "0.10.0": {"nvpl_fft": {"version": "0.4.1"}, "nvpl_lapack": {"version": "0.3.1"}}}

FOUND_CASES = [  # id, url, extra, world["nvidia"], status, version, manifests read
    ("newest-listing-wins", BLAS_URL, {}, {"nvpl": {"0.3.0": NVPL["0.3.0"],
                                                    "0.4.0": NVPL["0.4.0"]}},
     "found", "0.4.0.1", ["0.4.0"]),
    ("conda-order-not-byte-order", f"{DL}/nvpl/redist/nvpl_lapack/linux-sbsa/x-0.2.3.tar.xz",
     {}, {"nvpl": NVPL}, "found", "0.3.1", ["0.10.0"]),
    ("newest-lacks-component", BLAS_URL, {}, {"nvpl": NVPL}, "found", "0.4.0.1",
     ["0.10.0", "0.4.0"]),
    ("settings-override-url", BLAS_URL, nvidia_settings(json_name="nvpl_fft"), {"nvpl": NVPL},
     "found", "0.4.1", ["0.10.0"]),
    ("excluded-newest-falls-back", f"{DL}/nvpl/redist/nvpl_lapack/linux-sbsa/x-0.2.3.tar.xz",
     controls(exclude=["0.3.1"]), {"nvpl": NVPL}, "found", "0.3.0", ["0.10.0", "0.4.0"]),
    ("even-odd", f"{DL}/nvpl/redist/nvpl_lapack/linux-sbsa/x-0.2.3.tar.xz",
     controls(even_odd_versions=True), {"nvpl": {"0.4.0": {"nvpl_lapack": {"version": "0.4.2"}},
                                                 "0.5.0": {"nvpl_lapack": {"version": "0.5.0"}}}},
     "found", "0.4.2", ["0.5.0", "0.4.0"]),
    ("prerelease-component", BLAS_URL, {}, {"nvpl": {
        "0.3.0": NVPL["0.3.0"], "0.5.0": {"nvpl_blas": {"version": "0.5.0rc1"}}}},
     "found", "0.3.0", ["0.5.0", "0.3.0"]),
]


@pytest.mark.parametrize(("url", "extra", "table", "status", "version", "read"),
                         [c[1:] for c in FOUND_CASES], ids=[c[0] for c in FOUND_CASES])
def test_nvidia(upstream, url: str, extra: dict, table: dict, status: str, version: str,
                read: list[str]) -> None:
    before = dict(upstream.requests)
    out = check(upstream, {"nvidia": table}, "libnvpl-x", url, "0.1.0", **extra)
    assert (out.status, out.source, out.version) == (status, "nvidia", version)
    asked = {p: n - before.get(p, 0) for p, n in upstream.requests.items()
             if n != before.get(p, 0)}
    subdir = next(iter(table))
    prefix = f"/nvidia/compute/{subdir}/redist/"
    assert asked == {prefix: 1, **{f"{prefix}redistrib_{r}.json": 1 for r in read}}


def test_index_and_manifest_read_once_per_sweep(upstream) -> None:
    checker = checker_for(upstream, {"nvidia": {"nvpl": NVPL}})
    before = dict(upstream.requests)
    got = {}
    for comp in ("nvpl_blas", "nvpl_lapack", "nvpl_fft"):
        url = f"{DL}/nvpl/redist/{comp}/linux-sbsa/{comp}-linux-sbsa-0.1.0-archive.tar.xz"
        got[comp] = checker.check(node_info(comp, node_attrs(comp, url, "0.1.0"))).version
    assert got == {"nvpl_blas": "0.4.0.1", "nvpl_lapack": "0.3.1", "nvpl_fft": "0.4.1"}
    asked = {p: n - before.get(p, 0) for p, n in upstream.requests.items()
             if n != before.get(p, 0)}
    assert asked == {"/nvidia/compute/nvpl/redist/": 1,
                     "/nvidia/compute/nvpl/redist/redistrib_0.10.0.json": 1,
                     "/nvidia/compute/nvpl/redist/redistrib_0.4.0.json": 1}


def test_unknown_subdir_is_bad_with_the_upstream_answer(upstream) -> None:
    # the download host is served too: a raw-URL probe of the next version would show up
    world = {"nvidia": {}, "file_hosts": ["developer.download.nvidia.com"]}
    before = upstream.total_requests
    out = check(upstream, world, "libnvpl-blas", BLAS_URL, "0.3.0")
    assert (out.status, out.source) == ("bad", "nvidia")
    assert "HTTP 404" in out.reason and "/compute/nvpl/redist/" in out.reason
    assert upstream.total_requests - before == 1  # the index only: rawurl leaves it alone


def test_component_in_no_manifest_is_bad(upstream) -> None:
    out = check(upstream, {"nvidia": {"nvpl": NVPL}}, "libnvpl-x",
                f"{DL}/nvpl/redist/nvpl_rand/linux-sbsa/nvpl_rand-0.1.0.tar.xz", "0.1.0")
    assert (out.status, out.source) == ("bad", "nvidia")
    assert "nvpl_rand is not in" in out.reason and "redistrib_0.10.0.json" in out.reason


def test_index_without_manifests_is_bad(upstream) -> None:
    world = {"nvidia": {"nvpl": NVPL},
             "faults": [{"path": "/nvidia/compute/nvpl/redist/", "kind": "html"}]}
    out = check(upstream, world, "libnvpl-blas", BLAS_URL, "0.3.0")
    assert out.status == "bad" and "no redistrib_*.json listed" in out.reason


def test_fake_answers_have_the_real_shapes(upstream) -> None:
    upstream.set_world({"nvidia": {"nvpl": NVPL}})
    base = f"{upstream.base_url}/nvidia/compute/nvpl/redist/"
    with urllib.request.urlopen(base) as r:
        html = r.read().decode()
    assert "<a href='redistrib_0.4.0.json'>redistrib_0.4.0.json</a>" in html
    assert html.index("redistrib_0.10.0.json") < html.index("redistrib_0.3.0.json")
    with urllib.request.urlopen(f"{base}redistrib_0.4.0.json") as r:
        doc = json.load(r)
    assert (doc["release_label"], doc["release_product"]) == ("0.4.0", "nvpl")
    blas = doc["nvpl_blas"]
    assert blas["version"] == "0.4.0.1" and {"name", "license", "license_path"} <= set(blas)
    assert set(blas["linux-sbsa"]) == {"relative_path", "sha256", "md5", "size"}


SETTINGS_CASES = [  # id, bot.version_updates.nvidia value, (compute_subdir, json_name)
    ("both", {"compute_subdir": "nvpl", "json_name": "nvpl_blas"}, ("nvpl", "nvpl_blas")),
    ("stripped", {"compute_subdir": " cuda ", "json_name": ""}, ("cuda", None)),
    ("not-strings", {"compute_subdir": 12, "json_name": ["x"]}, (None, None)),
    ("not-a-table", "nvpl", (None, None)),
    ("absent", None, (None, None)),
]


@pytest.mark.parametrize(("value", "want"), [c[1:] for c in SETTINGS_CASES],
                         ids=[c[0] for c in SETTINGS_CASES])
def test_nvidia_settings_are_read_from_conda_forge_yml(value: object, want: tuple) -> None:
    extra = controls(nvidia=value) if value is not None else controls(exclude=["1.0"])
    got = node_info("libx", node_attrs("libx", BLAS_URL, "0.3.0", **extra)).controls
    assert (got.nvidia_compute_subdir, got.nvidia_json_name) == want
