"""One coordinator per case; a new one only by handover or cover."""

from __future__ import annotations

from core import events as ev
from core.errors import InvalidInput, RuleViolation
from tests.core.conftest import family, rejected


def test_one_coordinator_at_intake_then_handover() -> None:
    b = family()
    rejected(
        b,
        RuleViolation,
        f"case {b.case_id} has no coordinator to hand over from",
        ev.CoordinatorAssigned,
        worker="k1",
        coordinator_department="jobcenter",
        reason="handover",
    )
    b.rec(ev.CoordinatorAssigned, worker="k1", coordinator_department="jobcenter", reason="intake")
    assert b.state.coordinator == ("k1", "jobcenter")
    assert b.state.is_party("jobcenter")
    rejected(
        b,
        RuleViolation,
        "already has a coordinator; assign a new one by handover or cover",
        ev.CoordinatorAssigned,
        worker="k2",
        coordinator_department="children-family",
        reason="intake",
    )
    b.rec(
        ev.CoordinatorAssigned,
        worker="k2",
        coordinator_department="children-family",
        reason="handover",
    )
    assert b.state.coordinator == ("k2", "children-family")
    b.rec(
        ev.CoordinatorAssigned,
        worker="k3",
        coordinator_department="children-family",
        reason="cover",
    )
    assert b.state.coordinator == ("k3", "children-family")


def test_a_coordinator_needs_a_reason_and_a_known_department() -> None:
    b = family()
    rejected(
        b,
        InvalidInput,
        "a coordinator is assigned for intake, handover or cover",
        ev.CoordinatorAssigned,
        worker="k1",
        coordinator_department="jobcenter",
        reason="whim",
    )
    rejected(
        b,
        RuleViolation,
        "unknown department 'nasa'",
        ev.CoordinatorAssigned,
        worker="k1",
        coordinator_department="nasa",
    )
    assert b.state.coordinator is None
