"""Strict configuration (issue 19 item 7): vbot.toml, --config and VBOT_HTTP_* are checked
against schemas/config.schema.json and parsed strictly; every mistake is one line naming the
file and the key, with the nearest known key; each value remembers which file set it."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest

from tests.helpers import make_cf_tree, node_attrs
from vbot.config import HttpSettings, config_schema, load_config
from vbot.errors import EXIT_USER, VbotError
from vbot.main import main
from vbot.testing.gitfixtures import create_remote


@pytest.mark.parametrize("toml, line", [
    ("[sourcs.pypi]\nurl = 'https://pypi.mirror.example'\n",
     "[sourcs] is not a vbot setting (did you mean [sources]?)"),
    ("[http]\nconect_timeout = 5\n",
     "[http] conect_timeout is not a vbot setting (did you mean [http] connect_timeout?)"),
    ("http = 5\n", "[http] must be a table, not 5"),
    ("[git]\ndepth = 'x'\n", '[git] depth must be an integer, not "x"'),
    ("[git]\nsparse = 1\n", "[git] sparse must be true or false, not 1"),
    ("[http]\nretries = 1.5\n", "[http] retries must be an integer, not 1.5"),
    ("[http]\nper_host = 0\n", "[http] per_host must be at least 1, not 0"),
    ("[http]\nread_timeout = -1\n", "[http] read_timeout must be at least 0, not -1"),
    ("[http]\nrewrite = { 'https://a.example/' = 3 }\n",
     '[http] rewrite "https://a.example/" must be a string, not 3'),
    ("[sources]\npypi = 'https://pypi.mirror.example'\n",
     '[sources.pypi] must be a table, not "https://pypi.mirror.example"'),
    ("[sweep]\nfull_every = 0\n", "[sweep] full_every must be at least 1, not 0"),
    ("[sweep]\nfull_evry = 3\n",
     "[sweep] full_evry is not a vbot setting (did you mean [sweep] full_every?)"),
    ("[nonsense]\n", "[nonsense] is not a vbot setting"),
])
def test_a_mistake_is_one_line_naming_the_file_and_key(tmp_path: Path, toml: str,
                                                      line: str) -> None:
    (tmp_path / "vbot.toml").write_text(toml)
    with pytest.raises(VbotError) as caught:
        load_config(tmp_path, None, {})
    assert str(caught.value) == f"{tmp_path / 'vbot.toml'}: {line}"
    # the same file given as --config: the same line
    with pytest.raises(VbotError, match=r"\.toml: "):
        load_config(None, tmp_path / "vbot.toml", {})


def test_several_mistakes_name_the_first_and_count_the_rest(tmp_path: Path) -> None:
    (tmp_path / "vbot.toml").write_text("[git]\ndepth = 'x'\n[http]\nretrys = 1\n")
    with pytest.raises(VbotError, match=r"\[git\] depth must be an integer, not \"x\" "
                                        r"\(and 1 more\)$"):
        load_config(tmp_path, None, {})


def test_a_valid_file_loads(tmp_path: Path) -> None:
    (tmp_path / "vbot.toml").write_text(
        "[sources.pypi]\nurl = 'https://pypi.mirror.example/'\n"
        "[sources.github]\nmax_pages = 2\n"
        "[http]\nconnect_timeout = 2\nread_timeout = 2.5\nretries = 0\nper_host = 4\n"
        "rewrite = { 'https://ftp.gnu.example/' = 'http://127.0.0.1:9/gnu/' }\n"
        "[git]\ndepth = 0\nsparse = false\nfilter = true\n"
        "[sweep]\nfull_every = 3\n")
    config = load_config(tmp_path, None, {})
    assert config.http.connect_timeout == 2.0 and config.http.retries == 0
    assert config.http.rewrite == (("https://ftp.gnu.example/", "http://127.0.0.1:9/gnu/"),)
    assert config.source_option("github", "max_pages") == 2
    assert config.sweep == {"full_every": 3}
    assert pickle.loads(pickle.dumps(config)).sweep == {"full_every": 3}


def test_every_http_setting_is_in_the_schema() -> None:
    """A field added to HttpSettings is a setting at once (and anything else is not)."""
    props = config_schema()["properties"]["http"]["properties"]
    assert set(props) == {f.name for f in dataclasses.fields(HttpSettings)}


@pytest.mark.parametrize("env, line", [
    ({"VBOT_HTTP_REWRITE": "garbage"},
     "VBOT_HTTP_REWRITE: 'garbage' is not OLD=NEW (comma-separated URL prefixes)"),
    ({"VBOT_HTTP_REWRITE": "https://a.example/="},
     "VBOT_HTTP_REWRITE: 'https://a.example/=' is not OLD=NEW (comma-separated URL prefixes)"),
    ({"VBOT_GIT_REWRITE": "https://a.example/"},
     "VBOT_GIT_REWRITE: 'https://a.example/' is not OLD=NEW (comma-separated URL prefixes)"),
    ({"VBOT_HTTP_RETRIES": "three"}, "VBOT_HTTP_RETRIES must be an integer, not 'three'"),
    ({"VBOT_HTTP_RETRIES": "1.5"}, "VBOT_HTTP_RETRIES must be an integer, not '1.5'"),
    ({"VBOT_HTTP_READ_TIMEOUT": "nan"},
     "VBOT_HTTP_READ_TIMEOUT must be a non-negative number, not 'nan'"),
    ({"VBOT_HTTP_CONNECT_TIMEOUT": "-1"},
     "VBOT_HTTP_CONNECT_TIMEOUT must be a non-negative number, not '-1'"),
    ({"VBOT_HTTP_PER_HOST": "0"}, "VBOT_HTTP_PER_HOST must be at least 1"),
    ({"VBOT_HTTP_RETRYS": "1"},
     "VBOT_HTTP_RETRYS is not a vbot setting (did you mean VBOT_HTTP_RETRIES?)"),
])
def test_environment_is_parsed_strictly(env: dict[str, str], line: str) -> None:
    with pytest.raises(VbotError) as caught:
        load_config(None, None, env)
    assert str(caught.value) == line


def test_environment_overrides_parse(tmp_path: Path) -> None:
    (tmp_path / "vbot.toml").write_text("[http]\nretries = 3\n")
    config = load_config(tmp_path, None, {
        "VBOT_HTTP_RETRIES": " 1 ", "VBOT_HTTP_READ_TIMEOUT": "2.5", "VBOT_HTTP_BACKOFF": "",
        "VBOT_HTTP_REWRITE": "https://a.example/=http://127.0.0.1:9/a/,,"})
    assert (config.http.retries, config.http.read_timeout, config.http.backoff) == (1, 2.5, 0.5)
    assert config.http.rewrite == (("https://a.example/", "http://127.0.0.1:9/a/"),)


def test_each_value_remembers_its_file(tmp_path: Path) -> None:
    (tmp_path / "vbot.toml").write_text(
        "[sources.github]\nurl = 'https://gh.repo.example'\nmax_pages = 2\n"
        "[sources.pypi]\nurl = 'https://pypi.repo.example'\n"
        "[http]\nrewrite = { 'https://a.example/' = 'https://b.example/' }\n")
    operator = tmp_path / "operator.toml"
    operator.write_text("[sources.github]\nurl = 'https://gh.operator.example'\n")
    config = load_config(tmp_path, operator, {})
    repo_file = str(tmp_path / "vbot.toml")
    assert config.repo_file == repo_file
    assert config.set_by_repo("sources.github.url") is None  # the operator's value won
    assert config.source_option("github", "url") == "https://gh.operator.example"
    assert config.set_by_repo("sources.github.max_pages") == repo_file
    assert config.set_by_repo("sources.pypi.url") == repo_file
    assert config.set_by_repo("http.rewrite.https://a.example/") == repo_file
    # the environment takes a rewrite over: then it is the operator's
    env = {"VBOT_HTTP_REWRITE": "https://a.example/=https://c.example/"}
    assert load_config(tmp_path, operator, env).set_by_repo(
        "http.rewrite.https://a.example/") is None
    # process and dask workers get the origins with the rest
    again = pickle.loads(pickle.dumps(config))
    assert again.origins == config.origins and again.repo_file == repo_file


def test_a_config_file_not_found_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(VbotError, match=r"nope\.toml: config file not found"):
        load_config(None, tmp_path / "nope.toml", {})


@pytest.mark.parametrize("toml, line", [
    ("[git]\ndepth = 'x'\n", '[git] depth must be an integer, not "x"'),
    ("[sourcs.pypi]\nurl = 'http://127.0.0.1:9'\n",
     "[sourcs] is not a vbot setting (did you mean [sources]?)"),
    ("[http]\nconect_timeout = 5\n",
     "[http] conect_timeout is not a vbot setting (did you mean [http] connect_timeout?)"),
])
def test_the_first_sweep_stops_on_a_mistake_in_the_data_repo(tmp_path: Path, capsys,
                                                            toml: str, line: str) -> None:
    """Not only from the second run on (``[git]`` used to be read from the workspace's copy
    before fetching, so the first run never saw it)."""
    tree = make_cf_tree(tmp_path / "tree", {"a": node_attrs("a", "https://x.example/a.tgz", "1")})
    (tree / "vbot.toml").write_text(toml)
    url = create_remote(tree, tmp_path / "remote.git")
    code = main(["sweep", url, "--workdir", str(tmp_path / "wd"), "-q"])
    err = capsys.readouterr().err
    assert code == EXIT_USER
    assert err == f"vbot: error: {tmp_path / 'wd' / 'vbot.toml'}: {line}\n"
    assert not (tmp_path / ".wd.lock").exists()
