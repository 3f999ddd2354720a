"""The whole story of `tovholder demo`, told with the real commands.

Each step runs `tovholder ...` as a subprocess against a real server on loopback, the
way a person would type it, and prints what to look at. It lives in the composition
root because it drives both ends: the server and the field laptops.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from core.console import emit
from core.events import utcnow

out = Console(highlight=False)  # the story is told in rich text

PASSPHRASE = "correct horse battery staple"  # noqa: S105  (the demo's laptops; real ones prompt)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Story:
    """Runs commands, keeps the server process, and narrates."""

    def __init__(self, folder: Path, quiet: bool) -> None:
        self.folder = folder
        self.quiet = quiet
        self.server_dir = folder / "server"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, "TOVHOLDER_PASSPHRASE": PASSPHRASE}
        self.env.pop("TOVHOLDER_TOKEN", None)
        self.env.pop("TOVHOLDER_SERVER", None)

    def say(self, text: str) -> None:
        if not self.quiet:
            out.print(text)

    def run(self, *args: str, check: bool = True) -> Any:
        cmd = [sys.executable, "-m", "tovholder", *args, "--json"]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise RuntimeError(f"`tovholder {' '.join(args)}` failed: {proc.stderr.strip()}")
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def read(self, token: str, path: str, **params: str) -> Any:
        """GET a JSON answer of the server's API with a staff token, as a department would."""
        answer = httpx.get(f"{self.url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def laptop(self, name: str, *args: str) -> Any:
        return self.run("client", "--data", str(self.folder / name), *args)

    def start_server(self) -> None:
        log = (self.folder / "server.log").open("ab")
        self.server = subprocess.Popen(
            [sys.executable, "-m", "tovholder", "server", "run", str(self.server_dir), "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the demo server did not start; see server.log in the demo folder")

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=15)
            self.server = None


def whole_story(folder: Path, as_json: bool) -> int:
    story = Story(folder, quiet=as_json)
    try:
        result = _tell(story)
    finally:
        story.stop_server()
    if as_json:
        emit(result, as_json=True)
    return 0 if result["verified"] and result["conflicts"] >= 1 else 1


def _tell(s: Story) -> dict[str, Any]:
    admin = ("--dir", str(s.server_dir))
    tokens = _set_up(s, admin)
    case, consents, goal = _open_case(s, admin)
    _offline(s, case, goal)
    jobcenter_before = s.read(tokens["jonas"], f"/v1/departments/jobcenter/cases/{case}")
    before_withdrawal = utcnow()
    time.sleep(0.01)
    s.say("[bold]6. The citizen withdraws consent for the jobcenter[/bold]")
    s.laptop("laptop-mette", "consent", "withdraw", case, consents["jobcenter"])
    s.laptop("laptop-mette", "sync")
    s.laptop("laptop-ali", "sync")
    return _views_and_audit(s, case, tokens, jobcenter_before, before_withdrawal.isoformat())


def _set_up(s: Story, admin: tuple[str, ...]) -> dict[str, str]:
    """Steps 1 and 2: the server, its workers (the staff tokens of two), two laptops."""
    s.say("[bold]1. The municipality sets up a server[/bold] (SQLite, key-encryption key beside it)")
    s.run("server", "init", str(s.server_dir))
    s.start_server()
    s.run("admin", "worker", "add", "mette", "--department", "children-family", "--role", "coordinator", *admin)
    s.run("admin", "worker", "add", "ali", "--department", "drop-in", "--role", "outreach", *admin)
    tokens = {
        who: s.run("admin", "worker", "add", who, "--department", dept, "--role", role, *admin)["token"]
        for who, dept, role in (("jonas", "jobcenter", "caseworker"), ("aud", "children-family", "auditor"))
    }
    s.say(
        f"   server on {s.url}; workers: mette (children & family, coordinator), ali (drop-in, "
        "outreach), jonas (jobcenter, reads over HTTP), aud (auditor)"
    )

    s.say("[bold]2. Two field laptops enroll[/bold] with one-time codes")
    for worker, name in (("mette", "laptop-mette"), ("ali", "laptop-ali")):
        code = s.run("admin", "device", "enroll", "--worker", worker, *admin)["code"]
        s.run("client", "init", str(s.folder / name), "--server", s.url, "--code", code)
    return tokens


def _open_case(s: Story, admin: tuple[str, ...]) -> tuple[str, dict[str, str], str]:
    """Step 3: the office opens the case; returns the case, its consents by department, the goal."""
    s.say("[bold]3. The office opens the case[/bold]: a citizen, a team, a consent, a goal")
    mette = ("laptop-mette",)
    case = s.laptop(*mette, "case", "open", "--kind", "citizen", "--lead", "children-family")["case"]
    person = s.laptop(
        *mette,
        *("person", "add", case, "--role", "citizen", "--name", "Jens Demo Jensen"),
        *("--cpr", "010190-1235", "--birth-date", "1990-01-01"),
    )["person"]
    for dept in ("jobcenter", "drop-in"):
        s.laptop(*mette, "team", "add", case, "--department", dept)
    until = (utcnow() + timedelta(days=180)).date().isoformat()
    consents = {
        dept: s.laptop(
            *mette,
            *("consent", "give", case, "--subject", person, "--given-by", person, "--to", dept),
            *("--categories", "contact,plan,employment", "--until", until),
            *("--purpose", f"coordinate the job plan and housing support with {dept}"),
        )["consent"]
        for dept in ("jobcenter", "drop-in")
    }
    goal = s.laptop(
        *mette,
        *("goal", "add", case, "--person", person, "--text", "Stable housing by spring", "--owner", "children-family"),
    )["goal"]
    s.laptop(*mette, "sync")
    s.run("admin", "case", "assign", case, "--worker", "ali", *admin)
    s.laptop("laptop-ali", "sync")
    s.say(f"   case {case}: synced; assigned to ali, whose laptop pulled it with its key")
    return case, consents, goal


def _offline(s: Story, case: str, goal: str) -> None:
    """Steps 4 and 5: both laptops record without a connection, then sync."""
    s.say("[bold]4. The connection drops[/bold]: ali records at the drop-in centre, the office revises the plan")
    s.stop_server()
    for note in ("Came in for help with a letter from the bank", "Talked about finding a room near work"):
        s.laptop(
            "laptop-ali",
            *("contact", "record", case, "--kind", "drop-in", "--place", "Værestedet"),
            *("--categories", "contact", "--note", note),
        )
    s.laptop("laptop-ali", "goal", "revise", case, goal, "--text", "A room of his own before summer")
    s.laptop("laptop-mette", "goal", "revise", case, goal, "--text", "Stable housing and a job plan by spring")
    pending = s.laptop("laptop-ali", "status")
    s.say(f"   ali's laptop holds {pending.get('pending')} pending events, sealed on disk")

    s.say("[bold]5. Back online, both laptops sync[/bold]: nothing lost, the clash flagged")
    s.start_server()
    s.laptop("laptop-mette", "sync")
    s.laptop("laptop-ali", "sync")
    s.laptop("laptop-mette", "sync")


def _views_and_audit(
    s: Story, case: str, tokens: dict[str, str], jobcenter_before: Any, before_withdrawal: str
) -> dict[str, Any]:
    """Step 7: what the jobcenter reads now, the audit replay then and now, the verification."""
    s.say("[bold]7. Department views and the audit, over HTTP[/bold]")
    jobcenter_after = s.read(tokens["jonas"], f"/v1/departments/jobcenter/cases/{case}")
    replay_then = s.read(tokens["aud"], f"/v1/audit/cases/{case}", as_of=before_withdrawal)
    replay_now = s.read(tokens["aud"], f"/v1/audit/cases/{case}")
    looks = s.read(tokens["aud"], "/v1/audit/access-log", case=case)
    verify = s.run("audit", "verify", "--dir", str(s.server_dir), check=False)
    then_views, now_views = replay_then["views"], replay_now["views"]
    rows = [
        {"department": d, "saw before withdrawal": len(then_views.get(d, [])), "sees now": len(now_views.get(d, []))}
        for d in sorted(set(then_views) | set(now_views))
    ]
    result = {
        "case": case,
        "events": len(replay_now["events"]),
        "verified": bool(verify and verify.get("ok")),
        "conflicts": sum(e["type"] == "conflict.flagged" for e in replay_now["events"]),
        "views": rows,
        "jobcenter_before": len(jobcenter_before["events"]),
        "jobcenter_after": len(jobcenter_after["events"]),
        "replay_matches_what_jobcenter_saw": [e["event"] for e in then_views.get("jobcenter", [])]
        == [e["event"] for e in jobcenter_before["events"]],
        "access_log_entries": len(looks.get("entries", looks)),
        "laptops_hold_their_view": all(
            _shown(s.laptop(laptop, "case", "show", case)) == {e["event"] for e in now_views.get(dept, [])}
            for laptop, dept in (("laptop-mette", "children-family"), ("laptop-ali", "drop-in"))
        ),
        "folder": str(s.folder),
    }
    if not s.quiet:
        _narrate(result, rows)
    return result


def _narrate(result: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """What a person reads at the end of the story."""
    case = result["case"]
    out.print(
        f"   GET /v1/departments/jobcenter/cases/{case[:8]}…: {result['jobcenter_before']} "
        f"events before the withdrawal, {result['jobcenter_after']} after"
    )
    out.print(
        f"   GET /v1/audit/cases/{case[:8]}…?as_of=<before>: the jobcenter's view then "
        f"{'matches' if result['replay_matches_what_jobcenter_saw'] else 'DIFFERS FROM'} what it read then"
    )
    emit(rows, as_json=False, title="Events each party department may see (audit replay)")
    out.print(
        f"   log: {result['events']} events, verified "
        f"{'clean' if result['verified'] else 'with PROBLEMS'}; conflicts flagged for the "
        f"coordinator: {result['conflicts']}; looks at the case in the access log: {result['access_log_entries']}"
    )
    out.print(
        "Look at: the jobcenter saw the plan and the contacts under its consent before "
        "the withdrawal, and now only the consent and its withdrawal; the replay as of "
        "before shows exactly what it saw then; both goal revisions are kept and the "
        "clash is flagged for the coordinator; the drop-in centre (not an authority) "
        "sees what its own consent covers; every read is in the access log."
    )
    out.print("   (keep the server folder and both laptops with --keep DIR)")


def _shown(view: Any) -> set[str]:
    """The ids of the events a laptop's `case show` shows: its department's view of the
    case (a laptop holds only that, plus its worker's own events, which the view has)."""
    return {e.get("event") or e.get("id") or "" for e in (view or {}).get("events", [])}
