"""Tags to versions: the tag a recipe URL names, prefixes, schemes; the Link header."""

from __future__ import annotations

import pytest

from vbot.httpclient.client import Response
from vbot.repo.nodeinfo import NodeInfo
from vbot.sources.github import next_link
from vbot.sources.tags import like_current, tag_in_url, tags_to_versions, url_prefix

URL_CASES = [  # url, current, tag in url, inferred prefix
    ("https://github.com/o/r/archive/refs/tags/releases/solr/9.8.0.tar.gz", "9.8.0",
     "releases/solr/9.8.0", "releases/solr/"),
    ("https://github.com/o/r/archive/v1.2.tar.gz", "1.2", "v1.2", "v"),
    ("https://github.com/o/r/archive/1.2.tar.gz", "1.2", "1.2", None),
    ("https://github.com/curl/curl/releases/download/curl-7_88_1/curl-7.88.1.tar.xz", "7.88.1",
     "curl-7_88_1", "curl-"),
    ("https://gitlab.com/g/p/-/archive/v3.0/p-v3.0.tar.gz", "3.0", "v3.0", "v"),
    ("https://codeload.github.com/o/r/tar.gz/refs/tags/R_4_3_1", "4.3.1", "R_4_3_1", "R_"),
    ("https://example.org/foo-1.0.tar.gz", "1.0", None, None),
]


@pytest.mark.parametrize(("url", "current", "tag", "prefix"), URL_CASES)
def test_tag_and_prefix_from_url(url: str, current: str, tag: str | None,
                                 prefix: str | None) -> None:
    assert tag_in_url(url) == tag
    assert url_prefix(NodeInfo("n", current), url) == (prefix or None)


TAG_CASES = [  # tags, current, url, versions
    (["v1.0", "1.1", "release-1.2", "n-1.3", "junk"], "1.0", None, ["1.0", "1.1", "1.2", "1.3"]),
    (["R_4_3_1", "R_4_4_0", "v9"], "4.3.1",
     "https://codeload.github.com/o/r/tar.gz/refs/tags/R_4_3_1", ["4.3.1", "4.4.0"]),
    (["r131", "v1.9.4", "v1.10.0"], "1.9.4", None, ["1.9.4", "1.10.0"]),
    (["20240101", "1.2", "1.3"], "1.2", None, ["1.2", "1.3"]),
    (["20240101", "20240301"], "1.2", None, ["20240101", "20240301"]),  # switched: keep all
]


@pytest.mark.parametrize(("tags", "current", "url", "expected"), TAG_CASES)
def test_tags_to_versions(tags: list[str], current: str, url: str | None,
                          expected: list[str]) -> None:
    assert tags_to_versions(tags, NodeInfo("n", current), url) == expected


def test_like_current_keeps_everything_without_a_current_version() -> None:
    assert like_current(["2024.1", "1.0"], None) == ["2024.1", "1.0"]


@pytest.mark.parametrize(("header", "expected"), [
    ('</repos/o/r/tags?page=2>; rel="next", </repos/o/r/tags?page=5>; rel="last"',
     "http://api.example/repos/o/r/tags?page=2"),
    ('<https://api.example/x?page=3>; rel="next"', "https://api.example/x?page=3"),
    ('<https://api.example/x?page=1>; rel="prev"', None),
    ("", None),
])
def test_next_link(header: str, expected: str | None) -> None:
    resp = Response("http://api.example/repos/o/r/tags?per_page=100", 200,
                    {"Link": header} if header else {}, b"[]")
    assert next_link(resp) == expected
