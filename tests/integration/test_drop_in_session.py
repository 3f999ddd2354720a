"""Scenario 2 of docs/domain.md, the offline drop-in session, with every laptop a real process.

Three outposted caseworkers (jobcenter, benefits, adult services) hold the citizen's case
on their laptops. With the server down they record 6 contacts, a referral to the
addiction centre, a one-off payment decision under aktivloven § 81, a new sub-goal and a
revision of the plan's goal, while the office laptop revises the same goal from the same
base. After everyone syncs twice nothing is lost, both revisions are kept, the clash is
flagged exactly once, and all four laptops hold the server's history event for event and
link for link. Comparing stores (not printed output) is the point: convergence means the
same bytes in the same order on every device.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.events import ConflictFlagged
from server.context import ServerContext

from .conftest import Server, admin, client, each, enroll, laptop_copy, server_copy, share_copy

pytestmark = pytest.mark.slow

FIELD = {"ida": "jobcenter", "bo": "benefits", "ulla": "adult-social"}


def test_offline_drop_in_session_converges(server: Server, env: dict[str, str], tmp_path: Path) -> None:
    office = tmp_path / "office"
    laptops = {name: tmp_path / name for name in FIELD}
    staff = {office: ("w-mette", "adult-social", "coordinator")}
    staff.update({laptops[n]: (f"w-{n}", d, "caseworker") for n, d in FIELD.items()})
    each(lambda folder: enroll(server, env, folder, *staff[folder]), staff)

    # The office opens the case, makes the field departments parties and sets a goal.
    case = client(office, env, "case", "open", "--kind", "citizen", "--lead", "adult-social")["case"]
    person = client(office, env, "person", "add", case, "--role", "citizen", "--name", "Kim Drop-in")["person"]
    for dept in ("jobcenter", "benefits"):
        client(office, env, "team", "add", case, "--department", dept)
    client(office, env, "coordinator", "assign", case, "--worker", "w-mette")
    goal = client(
        office, env, "goal", "add", case, "--person", person, "--text", "A stable home", "--owner", "adult-social"
    )["goal"]
    client(office, env, "sync")
    for name in FIELD:
        admin(server, "case", "assign", case, "--worker", f"w-{name}")
    each(lambda folder: client(folder, env, "sync"), laptops.values())
    before = len(server_copy(server, case))

    # Two hours at the drop-in centre without a connection; each laptop records its part.
    server.kill()

    def rec(folder: Path, group: str, action: str, *argv: str) -> str:
        event: str = client(folder, env, group, action, case, *argv)["event"]
        return event

    def contacts(folder: Path) -> list[str]:
        return [
            rec(
                folder,
                "contact",
                "record",
                "--kind",
                "drop-in",
                "--place",
                "Værestedet",
                "--challenges",
                "finances,housing",
                "--note",
                f"Contact {n + 1} at the drop-in",
                "--person",
                person,
            )
            for n in range(2)
        ]

    def session(folder: Path) -> list[str]:
        if folder == office:
            return [rec(office, "goal", "revise", goal, "--text", "A stable home and a job plan")]
        made = contacts(folder)
        if folder == laptops["ida"]:
            made.append(rec(folder, "referral", "make", "--to", "addiction", "--reason", "Asked for help with alcohol"))
        elif folder == laptops["bo"]:
            made.append(
                rec(
                    folder,
                    "decision",
                    "record",
                    "--legal-basis",
                    "aktivloven § 81",
                    "--kind",
                    "one-off-payment",
                    "--considerations",
                    "An unforeseen need for a deposit",
                    "--facts",
                    made[0],
                    "--explanation",
                    "You get a one-off payment for the deposit",
                    "--amount",
                    "450000",
                    "--person",
                    person,
                )
            )
        else:
            made.append(
                rec(
                    folder,
                    "goal",
                    "add",
                    "--person",
                    person,
                    "--text",
                    "Find a room near the centre",
                    "--owner",
                    "adult-social",
                    "--parent",
                    goal,
                )
            )
            made.append(rec(folder, "goal", "revise", goal, "--text", "A room of one's own before summer"))
        assert client(folder, env, "status")["pending"] == len(made)
        return made

    devices = [office, *laptops.values()]
    made = dict(zip(devices, each(session, devices), strict=True))
    recorded = [event for events in made.values() for event in events]
    revisions = {made[office][0], made[laptops["ulla"]][-1]}
    assert len(recorded) == 11  # 6 contacts, referral, decision, sub-goal, two revisions

    # Back online: everyone syncs at once, then once more to pull what the others pushed.
    server.start()
    reports = each(lambda folder: client(folder, env, "sync"), devices)
    reports += each(lambda folder: client(folder, env, "sync"), devices)
    assert all(not r["rejected"] for r in reports)

    copy = server_copy(server, case)
    ids = [event_id for _, event_id, _ in copy]
    assert len(copy) == before + len(recorded) + 1  # + the server's conflict flag
    assert set(recorded) <= set(ids) and len(set(ids)) == len(ids)
    assert [seq for seq, _, _ in copy] == list(range(1, len(copy) + 1))

    ctx = ServerContext.open(server.folder, {})
    try:
        events = [ctx.log.open(le) for le in ctx.log.case_events(case)]
    finally:
        ctx.close()
    flags = [e for e in events if isinstance(e, ConflictFlagged)]
    assert len(flags) == 1 and revisions <= set(flags[0].events)
    assert {e.event_id for e in events if e.header.topic == "goal.revised"} == revisions

    # Each laptop holds the server's chain; whole what its department may see, and its own.
    workers = {office: ("adult-social", "w-mette"), **{laptops[n]: (d, f"w-{n}") for n, d in FIELD.items()}}
    for folder in devices:
        assert [(s, link) for s, _, link in laptop_copy(folder, case)] == [(s, link) for s, _, link in copy]
        expected = share_copy(server, case, *workers[folder])
        assert laptop_copy(folder, case) == expected, f"{folder.name} differs from its share of the case"
    statuses = each(lambda folder: client(folder, env, "status"), devices)
    assert all(s["pending"] == 0 and s["awaiting_confirmation"] == 0 and not s["rejected"] for s in statuses)
    # The office shows what adult services may see of the session: its own work, and the
    # conflict it coordinates; the other departments' contacts stay theirs.
    shown = client(office, env, "case", "show", case)
    office_share = [event for _, event, _ in share_copy(server, case, *workers[office]) if event]
    assert [e["event"] for e in shown["events"]] == office_share
    assert len(shown["conflicts"]) == 1 and len(shown["contacts"]) < 6
