"""The CPR look-up: an index of keyed hashes only, judged per department at read time.

Core tests run the projection on each backend through the `world` fixture; the HTTP
tests use the real app in-process (`tests.views.test_http.server`), and the command is
run in-process on a data folder.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core import events as ev
from core.cpr_index import CprIndexProjection, lookup, search, table_name
from core.projection import ProjectionRunner
from core.retention import erase
from server.context import ServerContext, init_data_dir
from tests.core.conftest import DIRECTORY, CaseBuilder, Devices, family, worker
from tests.views.conftest import World
from tests.views.test_http import Server, server  # noqa: F401  (the fixture)
from tovholder.__main__ import main

CPR = "170385-4821"
DIGITS = CPR.replace("-", "")
NEW_CPR = "170385-4839"
NEW_DIGITS = NEW_CPR.replace("-", "")
ANYWHERE = (CPR, DIGITS, NEW_CPR, NEW_DIGITS)


def with_cpr(cpr: str = CPR) -> CaseBuilder:
    """A family case (lead children & family) whose mother has `cpr`; jobcenter and health
    are parties, the mother consents to jobcenter seeing her identity."""
    b = CaseBuilder().open()
    b.person("mother", "parent", 38, cpr=cpr)
    b.person("boy", "child", 9)
    b.join("jobcenter", "health")
    b.consent("mother", ["mother"], ["jobcenter"], ["identity"], valid_until=date(2099, 1, 1))
    return b


def runner(world: World) -> ProjectionRunner:
    return ProjectionRunner(world.log, CprIndexProjection(world.log))


def rows(world: World) -> list[tuple[Any, ...]]:
    return sorted(world.log.recorder.run(f"SELECT * FROM {table_name(world.log)}"))


def found(world: World, cpr: str, department: str) -> list[tuple[str, tuple[str, ...]]]:
    index = world.log.kek.cpr_index()
    hits = search(world.log, world.cache, index, cpr, department, DIRECTORY, world.now)
    return [(f.case_id, f.person_ids) for f in hits]


# --- the index ---------------------------------------------------------------------------


def test_the_index_holds_keyed_hashes_only(world: World, database_url: str) -> None:
    b = with_cpr()
    world.push(b)
    cpr = runner(world)
    cpr.catch_up()
    held = rows(world)
    digest = world.log.kek.cpr_index().digest(CPR)
    assert held == [(digest, b.case_id, b.persons["mother"], held[0][3])]
    assert lookup(world.log, digest) == {b.case_id: [b.persons["mother"]]}
    assert world.log.kek.cpr_index().digest(DIGITS) == digest  # the same number either way
    text = repr(held)
    assert not any(form in text for form in ANYWHERE)
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        blob = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert digest.encode() in blob  # the bytes read are the index's
        for form in ANYWHERE:
            assert form.encode() not in blob


def test_a_department_finds_a_case_only_where_it_may_see_the_person(world: World) -> None:
    b = with_cpr()
    world.push(b)
    world.index.catch_up()
    runner(world).catch_up()
    mother = b.persons["mother"]
    assert found(world, CPR, "jobcenter") == [(b.case_id, (mother,))]  # consent covers identity
    assert found(world, DIGITS, "children-family") == [(b.case_id, (mother,))]  # its own record
    assert found(world, CPR, "health") == []  # a party without consent
    assert found(world, CPR, "youth-guidance") == []  # not a party
    assert found(world, "010101-0101", "jobcenter") == []  # nobody with that number


def test_a_withdrawn_consent_hides_the_case_at_the_next_search(world: World) -> None:
    b = with_cpr()
    consent = b.events[-1]
    assert isinstance(consent, ev.ConsentGiven)
    world.push(b)
    cpr = runner(world)
    cpr.catch_up()
    assert found(world, CPR, "jobcenter")
    b.rec(ev.ConsentWithdrawn, consent_id=consent.consent_id)
    world.push(b)
    cpr.catch_up()
    assert found(world, CPR, "jobcenter") == []


def test_a_correction_moves_the_look_up(world: World) -> None:
    b = with_cpr()
    mother = b.persons["mother"]
    world.push(b)
    cpr = runner(world)
    cpr.catch_up()
    b.rec(ev.PersonCorrected, person_id=mother, cpr=NEW_CPR, persons=(mother,))
    world.push(b)
    cpr.catch_up()
    index = world.log.kek.cpr_index()
    assert [(r[0], r[2]) for r in rows(world)] == [(index.digest(NEW_CPR), mother)]
    assert found(world, CPR, "jobcenter") == []
    assert found(world, NEW_CPR, "jobcenter") == [(b.case_id, (mother,))]
    # A correction of something else keeps the number.
    b.rec(ev.PersonCorrected, person_id=mother, name="Person mother (married name)", persons=(mother,))
    world.push(b)
    cpr.catch_up()
    assert found(world, NEW_CPR, "jobcenter") == [(b.case_id, (mother,))]


def test_a_number_given_by_an_event_the_department_cannot_see_is_not_found(world: World) -> None:
    """jobcenter recorded the person itself; health corrected the number. Without a
    consent jobcenter may not see the correction, so the new number does not find it."""
    b = CaseBuilder().open()
    b.join("jobcenter", "health")
    pid = ev.new_id()
    b.rec(ev.PersonAdded, worker("jobcenter"), person_id=pid, role="parent", name="P", cpr=CPR, persons=(pid,))
    b.rec(ev.PersonCorrected, worker("health"), person_id=pid, cpr=NEW_CPR, persons=(pid,))
    world.push(b)
    runner(world).catch_up()
    assert found(world, NEW_CPR, "jobcenter") == []
    assert found(world, CPR, "jobcenter") == []  # the number it knew is not the person's now
    assert found(world, NEW_CPR, "health") == []  # it did not record the person.added
    assert found(world, NEW_CPR, "children-family") == []


def erasable(b: CaseBuilder) -> None:
    b.rec(ev.ErasureRequested, request_id="r1", requested_by=b.persons["mother"])
    b.rec(ev.ErasureDecided, request_id="r1", granted=True, legal_basis="databeskyttelsesforordningen art. 17")


def test_erasure_removes_the_rows_when_the_tombstone_arrives(world: World, tmp_path: Path) -> None:
    b, other = with_cpr(), with_cpr()
    erasable(b)
    world.push(b)
    world.push(other)
    cpr = runner(world)
    cpr.catch_up()
    assert {r[1] for r in rows(world)} == {b.case_id, other.case_id}
    erase(
        world.log,
        b.case_id,
        tmp_path / "a.json",
        archive_key=world.archive_key,
        server_id="server",
        signing=world.server_keys.signing,
        now=world.now,
        on_erased=world.cache.forget,
    )
    cpr.catch_up()
    assert {r[1] for r in rows(world)} == {other.case_id}
    assert [c for c, _ in found(world, CPR, "jobcenter")] == [other.case_id]
    cpr.rebuild()  # the erased case's key is gone: it is never indexed again
    assert {r[1] for r in rows(world)} == {other.case_id}


def test_a_case_whose_key_is_gone_is_not_indexed(world: World) -> None:
    """An erasure interrupted before its tombstone: the key is destroyed, the log intact."""
    b, other = with_cpr(), with_cpr()
    world.push(b)
    world.push(other)
    world.log.destroy_key(b.case_id)
    cpr = runner(world)
    assert cpr.catch_up() == len(b.events) + len(other.events)
    assert {r[1] for r in rows(world)} == {other.case_id}


def test_rebuild_from_zero_gives_the_same_rows(world: World) -> None:
    cases = [with_cpr(), with_cpr(NEW_CPR), family()]
    cases[0].rec(
        ev.PersonCorrected,
        person_id=cases[0].persons["boy"],
        cpr="010115-4234",
        birth_date=date(2015, 1, 1),
        persons=(cases[0].persons["boy"],),
    )
    for b in cases:
        world.push(b)
    cpr = ProjectionRunner(world.log, CprIndexProjection(world.log), page=3)
    cpr.catch_up()
    before = rows(world)
    assert len(before) == 3
    world.log.recorder.run(f"DELETE FROM {table_name(world.log)}", commit=True)  # a damaged view
    assert cpr.rebuild() == sum(len(b.events) for b in cases)
    assert rows(world) == before
    assert cpr.lag() == 0


# --- over HTTP -------------------------------------------------------------------------------


def post(s: Server, who: str, body: Any, dept: str | None = None, **kw: Any) -> Any:
    department = (
        dept
        or {"jobcenter": "jobcenter", "health": "health", "youth": "youth-guidance", "lead": "children-family"}[who]
    )
    return s.request(
        "POST",
        f"/v1/departments/{department}/search",
        headers={"Authorization": f"Bearer {s.tokens[who]}"},
        json=body,
        **kw,
    )


def test_search_over_http(server: Server) -> None:  # noqa: F811
    b = with_cpr()
    server.push(b)
    r = post(server, "jobcenter", {"cpr": CPR, "purpose": "checking for an existing case"})
    assert r.status_code == 200, r.text
    cases = r.json()["cases"]
    assert [(c["case"], c["persons"], c["lead"], c["status"]) for c in cases] == [
        (b.case_id, [b.persons["mother"]], "children-family", "open")
    ]
    assert post(server, "lead", {"cpr": DIGITS}).json()["cases"][0]["case"] == b.case_id
    assert post(server, "health", {"cpr": CPR}).json() == {"department": "health", "cases": []}
    assert post(server, "youth", {"cpr": CPR}).json() == {"department": "youth-guidance", "cases": []}
    assert post(server, "health", {"cpr": CPR}, dept="jobcenter").status_code == 403
    assert server.request("POST", "/v1/departments/jobcenter/search", json={"cpr": CPR}).status_code == 401
    assert server.get(f"/v1/departments/jobcenter/search?cpr={DIGITS}", "jobcenter").status_code == 405


@pytest.mark.parametrize(
    "body",
    [{"cpr": "1703854"}, {"cpr": "320385-4821"}, {"cpr": "17038548210"}, {"cpr": 1703854821}, ["x"], {}],
)
def test_a_malformed_search_is_400_and_never_echoes_the_number(server: Server, body: Any) -> None:  # noqa: F811
    r = post(server, "jobcenter", body)
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert r.json() == {"error": {"status": 400, "message": message}}
    assert "CPR" in message or "cpr" in message
    assert not any(ch.isdigit() for ch in message.replace("DDMMYY-SSSS", ""))


def test_a_body_that_is_not_json_or_too_large(server: Server) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {server.tokens['jobcenter']}"}
    path = "/v1/departments/jobcenter/search"
    assert server.request("POST", path, headers=headers, content=b"cpr=1703854821").status_code == 400
    big = json.dumps({"cpr": CPR, "purpose": "x" * 5000})
    assert server.request("POST", path, headers=headers, content=big).status_code == 413


def test_every_search_is_in_the_access_log_without_the_number(server: Server) -> None:  # noqa: F811
    b = with_cpr()
    server.push(b)
    post(server, "jobcenter", {"cpr": CPR, "purpose": "intake"})
    post(server, "health", {"cpr": CPR, "purpose": "intake"})
    post(server, "jobcenter", {"cpr": "1703854"})
    entries = server.get("/v1/audit/access-log", "auditor").json()["entries"]
    searches = [
        (e["worker"], e["department"], e["case"], e["purpose"], e["outcome"])
        for e in entries
        if e["view"] == "department-search"
    ]
    assert sorted(searches, key=repr) == sorted(
        [
            ("anna", "jobcenter", b.case_id, "intake", "shown"),
            ("hans", "health", None, "intake", "shown"),  # a search that found nothing
            ("anna", "jobcenter", None, "casework", "refused"),  # a malformed number
        ],
        key=repr,
    )
    of_case = server.get(f"/v1/audit/access-log?case={b.case_id}", "auditor").json()["entries"]
    assert [e["worker"] for e in of_case if e["view"] == "department-search"] == ["anna"]
    logged = repr(server.ctx.log.recorder.run(f"SELECT * FROM {server.ctx.log.tables.q}access_log"))
    assert not any(form in logged for form in ANYWHERE)
    held = repr(server.ctx.log.recorder.run(f"SELECT * FROM {table_name(server.ctx.log)}"))
    assert not any(form in held for form in ANYWHERE)


def test_the_search_is_in_the_openapi_document(server: Server) -> None:  # noqa: F811
    paths = server.request("GET", "/openapi.json").json()["paths"]
    search_op = paths["/v1/departments/{dept}/search"]
    assert list(search_op) == ["post"]
    assert search_op["post"]["requestBody"]["content"]["application/json"]["schema"]["required"] == ["cpr"]


# --- the command -------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_search_command_on_a_data_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = init_data_dir(tmp_path / "srv")
    ctx = ServerContext.open(folder, {})
    token = ctx.store.add_worker("anna", "jobcenter", "caseworker")
    b = with_cpr()
    Devices().push(ctx.log, b.sealed, [b.key])
    ctx.close()
    monkeypatch.setenv("TOVHOLDER_TOKEN", token)

    code, _, err = run(capsys, "search", "cpr", "--department", "jobcenter", "--dir", str(folder))
    assert code != 0 and "TOVHOLDER_CPR" in err  # no number, and no prompt without a terminal
    code, _, err = run(capsys, "search", "cpr", CPR, "--department", "jobcenter", "--dir", str(folder))
    assert code != 0  # never from argv

    monkeypatch.setenv("TOVHOLDER_CPR", "1703854")
    code, _, err = run(capsys, "search", "cpr", "--department", "jobcenter", "--dir", str(folder))
    assert code != 0 and "ten digits" in err and "1703854" not in err

    monkeypatch.setenv("TOVHOLDER_CPR", CPR)
    code, out, err = run(
        capsys, "search", "cpr", "--department", "jobcenter", "--dir", str(folder), "--purpose", "intake", "--json"
    )
    assert code == 0, err
    assert [(c["case"], c["persons"]) for c in json.loads(out)] == [(b.case_id, [b.persons["mother"]])]
    code, out, err = run(capsys, "search", "cpr", "--department", "jobcenter", "--dir", str(folder))
    assert code == 0 and b.case_id[:8] in out
    code, _, err = run(capsys, "search", "cpr", "--department", "health", "--dir", str(folder))
    assert code != 0 and "staff token of department health" in err
