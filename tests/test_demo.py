"""`tovholder demo` as a newcomer runs it: a real subprocess, the whole story."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_whole_story_runs_and_shows_what_a_person_should_see() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tovholder", "demo", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["verified"] is True
    assert result["conflicts"] == 1
    views = {row["department"]: row for row in result["views"]}
    # Before the withdrawal the jobcenter saw what its consent covered; now it sees only
    # the consent and its withdrawal.
    assert views["jobcenter"]["saw before withdrawal"] > views["jobcenter"]["sees now"] == 2
    assert views["drop-in"]["sees now"] == views["drop-in"]["saw before withdrawal"]
    # Read over HTTP as the jobcenter would, and replayed by an auditor as of before.
    assert result["jobcenter_before"] > result["jobcenter_after"] == 2
    assert result["replay_matches_what_jobcenter_saw"] is True
    assert result["access_log_entries"] >= 2
    assert result["laptops_hold_their_view"] is True


def test_the_refugee_family_scenario_keeps_names_off_disk() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tovholder", "demo", "--refugee-family", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["verified"] is True
    assert result["plaintext_on_disk"] == []
    seen = {row["department"]: row for row in result["departments"]}
    assert seen["health"]["sees"] == 0
    assert seen["benefits"]["sees"] == seen["benefits"]["own"] == 1
