"""Operating a server: view lag in /metrics, the view rebuild command, retention settings."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest

from core.case_index import CaseIndexProjection, department_cases
from core.departments import Department
from server.app import create_app
from server.context import ServerContext, init_data_dir
from server.reading.service import Reading
from server.settings import write_config
from server.store import DIRECTORY_TTL
from tests.core.conftest import Devices, family
from tovholder.__main__ import main


def _get(ctx: ServerContext, path: str, token: str | None = None) -> httpx.Response:
    app = create_app(ctx)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.get(path, headers=headers)

    return asyncio.run(go())


def _lag(metrics: str) -> int:
    found = re.search(r'^tovholder_view_lag_events\{view="view_case_index"\} (\d+)$', metrics, re.M)
    assert found, metrics
    return int(found.group(1))


def test_metrics_report_view_lag_and_latency_buckets(tmp_path: Path) -> None:
    folder, _ = init_data_dir(tmp_path / "srv")
    ctx = ServerContext.open(folder, {})
    try:
        b = family({"mother": ("parent", 38)})
        b.contact(note="first visit")
        Devices().push(ctx.log, b.sealed, [b.key])
        # Adding a worker appends an administrative event after the last case event.
        token = ctx.store.add_worker("bo", "children-family", "coordinator")
        before = _get(ctx, "/metrics").text
        assert _lag(before) == ctx.log.max_position()
        assert _get(ctx, "/v1/departments/children-family/cases", token).status_code == 200
        after = _get(ctx, "/metrics").text
        assert _lag(after) == 0
        route = "/v1/departments/{dept}/cases"
        assert f'tovholder_request_seconds_bucket{{route="{route}",le="+Inf"}} 1' in after
        assert f'tovholder_requests_total{{route="{route}",status="200"}} 1' in after
    finally:
        Reading.of(ctx).close()
        ctx.close()


def test_views_rebuild_from_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = init_data_dir(tmp_path / "srv")
    ctx = ServerContext.open(folder, {})
    b = family({"mother": ("parent", 38)})
    b.join("jobcenter")
    Devices().push(ctx.log, b.sealed, [b.key])
    Reading.of(ctx).caught_up()
    table = CaseIndexProjection(ctx.log).cases
    ctx.log.recorder.run(f"DELETE FROM {table}", commit=True)  # a damaged view
    assert department_cases(ctx.log, "jobcenter") == []
    head = ctx.log.max_position()  # past the administrative log's events of the first start
    Reading.of(ctx).close()
    ctx.close()

    assert main(["admin", "views", "rebuild", "--dir", str(folder), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["view"], r["events"], r["position"]) for r in rows] == [
        ("view_case_index", len(b.events), head),
        ("view_cpr_index", len(b.events), head),
        ("view_monitoring", len(b.events), head),
    ]
    ctx = ServerContext.open(folder, {})
    try:
        assert [r.case_id for r in department_cases(ctx.log, "jobcenter")] == [b.case_id]
    finally:
        ctx.close()


def test_views_rebuild_needs_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["admin", "views", "rebuild"])
    assert info.value.code != 0
    assert "--dir" in capsys.readouterr().err


def test_retention_settings_reach_the_auditor(tmp_path: Path) -> None:
    folder, _ = init_data_dir(tmp_path / "srv")
    write_config(folder, {"access_log_days": 30, "retention_years_family": 10})
    ctx = ServerContext.open(folder, {"TOVHOLDER_RETENTION_YEARS_CITIZEN": "3"})
    try:
        token = ctx.store.add_worker("ida", "children-family", "auditor")
        body = _get(ctx, "/v1/audit/processing", token).json()
        body_text = json.dumps(body)
        assert '"access_log_days": 30' in body_text
        retention = _get(ctx, "/v1/audit/retention", token).json()
        assert retention["retention_years"] == {"citizen": 3, "family": 10}
        assert retention["access_log_days"] == 30
    finally:
        Reading.of(ctx).close()
        ctx.close()


def test_departments_added_by_another_process_are_known_within_the_ttl(tmp_path: Path) -> None:
    path, _ = init_data_dir(tmp_path / "srv")
    server = ServerContext.open(path, {})
    other = ServerContext.open(path, {})  # an administrator's command on the same folder
    try:
        moment = [0.0]
        server.store.clock = lambda: moment[0]
        assert "museum" not in server.store.directory()
        other.store.add_department(Department("museum", "Museum", True, (), False))
        assert "museum" not in server.store.directory() and server.store.loaded_directory() is not None
        moment[0] += DIRECTORY_TTL
        assert server.store.loaded_directory() is None  # a read from memory takes the full path
        assert "museum" in server.store.directory()
        other.store.add_department(Department("zoo", "Zoo", False, (), False))
        server.store.add_worker("zelda", "zoo", "caseworker")  # named by an administrator: at once
        assert not server.store.directory().is_authority("zoo")
    finally:
        other.close()
        server.close()
