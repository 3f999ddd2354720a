"""Typed payloads: what a command records is checked by field name, by mypy and at run time.

A misspelt field is a type error where the payload is written, and at run time a
one-line InvalidInput naming the field, with nothing recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mypy import api as mypy_api

from client.laptop import Laptop
from core import events as ev
from core.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[2]


def test_a_misspelt_field_is_named_in_one_line_and_nothing_is_recorded(make_laptop: Callable[..., Laptop]) -> None:
    laptop = make_laptop()
    case = laptop.open_case("citizen", "jobcenter").case_id
    fields = {"contact_id": ev.new_id(), "kind": "phone", "notes": "called about the letter"}
    untyped_payload: Any = ev.payload  # the misspelling mypy would refuse, made at run time
    untyped_record: Any = laptop.record
    with pytest.raises(InvalidInput) as raised:
        laptop.record(case, untyped_payload(ev.ContactRecorded, **fields))
    message = str(raised.value)
    assert "'notes'" in message and "contact.recorded" in message and "\n" not in message
    assert "called about the letter" not in message  # names the field, never its value
    with pytest.raises(InvalidInput, match="'notes'"):
        untyped_record(case, ev.ContactRecorded, **fields)
    assert len(laptop.store.outbox(case)) == 1  # only the opening


def test_a_missing_field_is_named(make_laptop: Callable[..., Laptop]) -> None:
    laptop = make_laptop()
    case = laptop.open_case("citizen", "jobcenter").case_id
    untyped_record: Any = laptop.record  # a missing field mypy would refuse, made at run time
    with pytest.raises(InvalidInput, match="needs the field 'contact_id'"):
        untyped_record(case, ev.ContactRecorded, kind="phone")


def test_a_well_formed_payload_is_recorded_with_the_default_categories(make_laptop: Callable[..., Laptop]) -> None:
    laptop = make_laptop()
    case = laptop.open_case("citizen", "jobcenter").case_id
    contact = laptop.record(case, ev.payload(ev.ContactRecorded, contact_id="c1", kind="phone", note="hello"))
    assert isinstance(contact, ev.ContactRecorded)
    assert (contact.note, contact.categories) == ("hello", ("contact",))


@pytest.mark.slow
def test_mypy_rejects_a_misspelt_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # where mypy finds the packages
    snippet = tmp_path / "misspelt.py"
    snippet.write_text(
        "from client.laptop import Laptop\n"
        "from core import events as ev\n\n\n"
        "def record(laptop: Laptop, case: str) -> None:\n"
        '    laptop.record(case, ev.payload(ev.ContactRecorded, contact_id="c", kind="phone", notes="x"))\n'
        '    laptop.record(case, ev.ContactRecorded, contact_id="c", kind="phone", notes="x")\n'
        '    laptop.record(case, ev.payload(ev.ContactRecorded, contact_id="c", kind="phone", note="x"))\n'
    )
    report, _, status = mypy_api.run(
        ["--strict", "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache"), str(snippet)]
    )
    assert status == 1
    errors = [line for line in report.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["6", "7"], report
    assert 'Unexpected keyword argument "notes"' in errors[0]
