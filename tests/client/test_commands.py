"""The `client` commands, offline: what they print, and errors without tracebacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from client.laptop import Laptop
from tovholder.__main__ import main

from .conftest import PASSPHRASE


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """Run a command (with `--json` in `argv`); its answer, a JSON object."""
    assert main(list(argv)) == 0
    answer: dict[str, Any] = json.loads(capsys.readouterr().out)
    return answer


def test_recording_commands_print_ids_and_case_show_marks_pending(
    make_laptop: Callable[..., Laptop],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_laptop("a", department="jobcenter", role="caseworker").close()
    monkeypatch.setenv("TOVHOLDER_PASSPHRASE", PASSPHRASE)
    c = ["client", "--data", str(tmp_path / "a")]
    case = run(capsys, *c, "case", "open", "--kind", "citizen", "--lead", "jobcenter", "--json")["case"]
    person = run(
        capsys,
        *c,
        "person",
        "add",
        case,
        "--role",
        "citizen",
        "--name",
        "Ali Berg",
        "--birth-date",
        "1990-02-01",
        "--json",
    )["person"]
    run(capsys, *c, "team", "add", case, "--department", "addiction", "--json")
    run(capsys, *c, "coordinator", "assign", case, "--worker", "w-anna", "--json")
    consent = run(
        capsys,
        *c,
        "consent",
        "give",
        case,
        "--subject",
        person,
        "--given-by",
        person,
        "--to",
        "addiction",
        "--categories",
        "contact,plan",
        "--purpose",
        "coordinate the treatment course with the job plan",
        "--until",
        "2099-01-01",
        "--json",
    )["consent"]
    goal = run(
        capsys,
        *c,
        "goal",
        "add",
        case,
        "--person",
        person,
        "--text",
        "A job",
        "--owner",
        "jobcenter",
        "--json",
    )["goal"]
    run(capsys, *c, "goal", "revise", case, goal, "--text", "A part-time job", "--json")
    contact = run(
        capsys,
        *c,
        "contact",
        "record",
        case,
        "--kind",
        "drop-in",
        "--note",
        "hi",
        "--person",
        person,
        "--json",
    )
    run(capsys, *c, "progress", "record", case, goal, "--score", "3", "--json")
    run(capsys, *c, "referral", "make", case, "--to", "addiction", "--reason", "alcohol", "--json")
    decision = run(
        capsys,
        *c,
        "decision",
        "record",
        case,
        "--legal-basis",
        "lab § 42",
        "--kind",
        "grant",
        "--considerations",
        "needs support",
        "--facts",
        contact["event"],
        "--explanation",
        "You get support.",
        "--json",
    )
    assert decision["decision"]
    run(capsys, *c, "consent", "withdraw", case, consent, "--json")

    shown = run(capsys, *c, "case", "show", case, "--json")
    assert shown["pending"] == 12 and shown["confirmed_seq"] == 0
    assert shown["persons"][0]["name"] == "Ali Berg"
    assert shown["goals"][0]["revision"] == 2 and shown["goals"][0]["scores"] == [3]
    assert shown["consents"][0]["withdrawn"] is not None
    assert shown["decisions"][0]["legal_area"] == "lab"
    assert all(e["pending"] for e in shown["events"])
    assert sorted(shown["team"]) == ["addiction", "jobcenter"]

    status = run(capsys, *c, "status", "--json")
    assert status["pending"] == 12 and status["cursor"] == 0 and status["last_sync"] is None


def test_errors_are_one_sentence_without_secrets(
    make_laptop: Callable[..., Laptop],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_laptop("a").close()
    c = ["client", "--data", str(tmp_path / "a")]
    monkeypatch.setenv("TOVHOLDER_PASSPHRASE", "wrong")
    with pytest.raises(SystemExit) as exit_info:
        main([*c, "status"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "passphrase does not open" in err and "Traceback" not in err

    monkeypatch.setenv("TOVHOLDER_PASSPHRASE", PASSPHRASE)
    case = run(capsys, *c, "case", "open", "--kind", "citizen", "--lead", "jobcenter", "--json")["case"]
    with pytest.raises(SystemExit):
        main(
            [
                *c,
                "person",
                "add",
                case,
                "--role",
                "citizen",
                "--name",
                "Ali Berg",
                "--cpr",
                "991399-0000",
            ]
        )
    err = capsys.readouterr().err
    assert "CPR number" in err and "991399" not in err and "Ali" not in err


def test_meeting_record_and_case_transfer_print_ids_and_refuse_in_sentences(
    make_laptop: Callable[..., Laptop],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_laptop("a", department="children-family", role="caseworker").close()
    monkeypatch.setenv("TOVHOLDER_PASSPHRASE", PASSPHRASE)
    c = ["client", "--data", str(tmp_path / "a")]
    case = run(capsys, *c, "case", "open", "--kind", "family", "--lead", "children-family", "--json")
    case_id = case["case"]
    person = run(capsys, *c, "person", "add", case_id, "--role", "child", "--name", "Sara", "--json")
    meeting = run(
        capsys,
        *c,
        "meeting",
        "record",
        case_id,
        "--kind",
        "statutory-17.5",
        "--participants",
        "children-family,adult-social",
        "--minutes",
        "Plan for the move at 18",
        "--person",
        person["person"],
        "--json",
    )
    assert meeting["meeting"] and meeting["event"] and meeting["case"] == case_id
    moved = run(capsys, *c, "case", "transfer", case_id, "--to", "adult-social", "--reason", "turned 18", "--json")
    assert moved["event"] and moved["case"] == case_id

    with Laptop.open(tmp_path / "a", PASSPHRASE) as laptop:
        state = laptop.view(case_id).state
    held = state.meetings[meeting["meeting"]]
    assert held.kind == "statutory-17.5" and held.participants == ("children-family", "adult-social")
    assert state.lead == "adult-social" and state.parties() == ["adult-social", "children-family"]

    for argv, sentence in (
        (("meeting", "record", case_id, "--kind", "status", "--participants", "nowhere"), "unknown department"),
        (("case", "transfer", case_id, "--to", "adult-social"), "another department"),
    ):
        with pytest.raises(SystemExit):
            main([*c, *argv])
        err = capsys.readouterr().err
        assert sentence in err and "Traceback" not in err
