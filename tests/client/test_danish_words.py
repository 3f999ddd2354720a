"""The commands take what a Danish worker writes: departments by name, dates day first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from client.laptop import Laptop
from core import events as ev
from core.errors import InvalidInput
from tovholder.__main__ import main

from . import test_commands as commands
from .conftest import PASSPHRASE


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    return commands.run(capsys, *argv, "--json")


@pytest.mark.parametrize(
    ("written", "meant"),
    [("01-06-2027", date(2027, 6, 1)), ("1.6.2027", date(2027, 6, 1)), ("1/6/2027", date(2027, 6, 1))],
)
def test_a_date_is_read_day_first_as_danes_write_it(written: str, meant: date) -> None:
    assert ev.parse_date(written) == meant == ev.parse_date(meant.isoformat())


@pytest.mark.parametrize("wrong", ["31-02-2027", "2027", "June 2027", "1.6.27", ""])
def test_anything_else_is_refused_naming_the_field(wrong: str) -> None:
    with pytest.raises(InvalidInput, match="--until must be a date written YYYY-MM-DD or DD-MM-YYYY"):
        ev.parse_date(wrong, "--until")


@pytest.fixture
def cli(make_laptop: Callable[..., Laptop], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A children and family worker's laptop; the start of a command line on it."""
    make_laptop("a", department="children-family").close()
    monkeypatch.setenv("TOVHOLDER_PASSPHRASE", PASSPHRASE)
    return ["client", "--data", str(tmp_path / "a")]


def test_departments_by_their_danish_names_and_dates_day_first(
    cli: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    c = cli
    case = run(capsys, *c, "case", "open", "--kind", "family", "--lead", "børn og familie")["case"]
    person = run(capsys, *c, "person", "add", case, "--role", "citizen", "--name", "Ali", "--birth-date", "1.2.1990")
    run(capsys, *c, "team", "add", case, "--department", "Ydelse")
    run(
        capsys,
        *c,
        "consent",
        "give",
        case,
        "--subject",
        person["person"],
        "--given-by",
        person["person"],
        "--to",
        "jobcenter,ydelse",
        "--categories",
        "økonomi,kontakt",
        "--purpose",
        "a joint job and benefits plan",
        "--until",
        "01-06-2027",
    )
    shown = run(capsys, *c, "case", "show", case)
    assert shown["lead"] == "children-family"
    assert "benefits" in shown["team"]
    assert shown["persons"][0]["birth_date"] == "1990-02-01"
    (consent,) = shown["consents"]
    assert consent["recipients"] == ["jobcenter", "benefits"]
    assert consent["categories"] == ["finances", "contact"]
    assert consent["valid_until"] == "2027-06-01"


def test_a_name_of_no_department_is_refused_as_unknown(cli: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([*cli, "case", "open", "--kind", "citizen", "--lead", "Rådhuset"])
    assert "unknown department 'Rådhuset'" in capsys.readouterr().err
