"""Anonymous first, identified later: a drop-in centre's scenario through real laptops and
a real server.

At the drop-in centre, nobody registers: the outreach worker counts the day's anonymous
contacts in a tally, and records a regular visitor's contacts under a pseudonym (a CPR
number is refused there). Months later the visitor asks for help with benefits: the
benefits office opens an identified case, the visitor consents to the drop-in centre and
benefits seeing their contacts, and the drop-in worker links the pseudonymous history
under that consent. Benefits then sees the contacts the consent covers, not the health
note; a department the consent does not name sees nothing; management reads only counts.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core import events as ev

from .conftest import Server, Staff, add_worker, admin, client, enroll, tovholder

pytestmark = pytest.mark.slow


def test_contacts_recorded_under_a_pseudonym_reach_the_departments_the_later_consent_names(
    server: Server, env: dict[str, str], staff: Staff, tmp_path: Path
) -> None:
    centre, office, job = tmp_path / "centre", tmp_path / "office", tmp_path / "job"
    enroll(server, env, centre, "w-dina", "drop-in", "outreach")
    benefits = enroll(server, env, office, "w-bo", "benefits")
    jobcenter = enroll(server, env, job, "w-jo", "jobcenter")
    management = add_worker(server, "w-maja", "benefits", "management")
    today = ev.utcnow().date().isoformat()

    # Offline at the centre: the day's anonymous tally, and a visitor known by a pseudonym.
    tally = client(centre, env, "case", "open", "--kind", "tally", "--lead", "drop-in")["case"]
    client(centre, env, "tally", "record", tally, "--day", today, "--count", "finances=6", "--count", "housing=2")
    anon = client(centre, env, "case", "open", "--kind", "pseudonymous", "--lead", "drop-in")["case"]
    visitor = client(centre, env, "person", "add", anon, "--role", "citizen", "--name", "Blå jakke")["person"]
    refused = tovholder(
        "client", "--data", str(centre), "person", "add", anon, "--role", "citizen", "--name", "X",
        "--cpr", "0101901234", "--json", env=env, check=False,
    )  # fmt: skip
    assert refused.returncode != 0 and "pseudonymous" in refused.stderr and "0101901234" not in refused.stderr
    for challenges, categories, note in (("finances", "contact", "rent arrears"), ("health", "health", "sleeps badly")):
        client(centre, env, "contact", "record", anon, "--kind", "drop-in", "--person", visitor,
               "--challenges", challenges, "--categories", categories, "--note", note)  # fmt: skip
    assert not client(centre, env, "sync")["rejected"]

    # At the benefits office, identified, with the person's consent for the centre and benefits.
    case = client(office, env, "case", "open", "--kind", "citizen", "--lead", "benefits")["case"]
    person = client(office, env, "person", "add", case, "--role", "citizen", "--name", "Kim Hansen",
                    "--cpr", "0101901234")["person"]  # fmt: skip
    client(office, env, "team", "add", case, "--department", "drop-in")
    client(office, env, "team", "add", case, "--department", "jobcenter")
    until = (ev.utcnow().date() + timedelta(days=180)).isoformat()
    consent = client(office, env, "consent", "give", case, "--subject", person, "--given-by", person,
                     "--to", "drop-in,benefits", "--categories", "contact", "--until", until,
                     "--purpose", "help with rent arrears and benefits")["consent"]  # fmt: skip
    assert not client(office, env, "sync")["rejected"]

    # The centre's worker, given the case, links the pseudonymous history under that consent.
    admin(server, "case", "assign", case, "--worker", "w-dina")
    client(centre, env, "sync")
    client(centre, env, "case", "link", case, "--pseudonymous", anon, "--person", person, "--consent", consent)
    assert not client(centre, env, "sync")["rejected"]

    seen = staff.get(benefits, f"/v1/departments/benefits/cases/{case}/linked")
    assert [(e["basis"], e["payload"]["note"]) for e in seen["events"]] == [("consent", "rent arrears")]
    assert seen["links"][0]["linked_case"] == anon
    assert staff.get(jobcenter, f"/v1/departments/jobcenter/cases/{case}/linked")["events"] == []
    staff.get(jobcenter, f"/v1/departments/jobcenter/cases/{anon}/linked", status=404)

    # Management: counts with the small cells suppressed; no case, no name.
    staff.get(benefits, "/v1/monitoring/contacts", status=403)
    staff.get(management, f"/v1/departments/benefits/cases/{case}", status=403)
    report = staff.get(management, "/v1/monitoring/contacts")
    rows = {r[2]: r[3:] for r in report["rows"] if r[0] == "drop-in"}
    assert rows["finances"] == [None, 6, None] and rows["housing"] == [0, None, None]
    csv = staff.http.get("/v1/monitoring/contacts", params={"format": "csv"},
                         headers={"Authorization": f"Bearer {management}"})  # fmt: skip
    assert csv.status_code == 200 and "drop-in" in csv.text and "<5" in csv.text
    for text in (str(report), csv.text):
        assert "Kim Hansen" not in text and "0101901234" not in text and "Blå jakke" not in text
