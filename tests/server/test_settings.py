"""Settings: every one documented, the file and the environment both heard, bad values refused."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from server.run import check_transport
from server.settings import CONFIG_FILE, SETTINGS, Settings, load, write_config


def test_every_setting_is_documented_and_loaded() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert all(len(s.help) > 15 for s in SETTINGS)
    assert set(names) == {f.name for f in fields(Settings)} - {"data_dir"}


def test_file_then_environment(tmp_path: Path) -> None:
    write_config(tmp_path, {"port": 9000, "host": "127.0.0.2"})
    s = load(tmp_path, {"TOVHOLDER_PORT": "9100"})
    assert (s.port, s.host) == (9100, "127.0.0.2")
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'log.db'}"
    assert all(f"# {x.name}:" in (tmp_path / CONFIG_FILE).read_text() for x in SETTINGS)


@pytest.mark.parametrize(
    ("text", "env", "fragment"),
    [
        ("colour = 1\n", {}, "unknown settings: colour"),
        ("port = 'many'\n", {}, "whole number"),
        ("", {"TOVHOLDER_MAX_PAGE": "-1"}, "negative"),
        ("cert = 'a.pem'\n", {}, "both"),
        ("port = [\n", {}, "not valid TOML"),
    ],
)
def test_unusable_settings_are_refused(tmp_path: Path, text: str, env: dict[str, str], fragment: str) -> None:
    (tmp_path / CONFIG_FILE).write_text(text)
    with pytest.raises(ConfigurationError, match=fragment):
        load(tmp_path, env)


def test_plain_http_only_on_loopback() -> None:
    check_transport("127.0.0.1", "", "")
    check_transport("::1", "", "")
    check_transport("0.0.0.0", "c.pem", "k.pem")
    with pytest.raises(ConfigurationError, match="loopback"):
        check_transport("0.0.0.0", "", "")
