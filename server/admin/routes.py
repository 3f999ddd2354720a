"""HTTP endpoints of the administrator (JSON, admin bearer token): departments, workers,
device enrollment and revocation, case assignments.

    GET, POST /v1/admin/departments                      list, add a department
    GET /v1/admin/plan                                   the delegation plan
    PUT /v1/admin/plan/{dept}                            change a department's legal areas
    GET /v1/admin/vocabularies                           the word lists with their labels
    PUT, DELETE /v1/admin/vocabularies/{list}/{name}     label or add a name, remove one
    GET, POST /v1/admin/workers                          list, add a worker (token shown once)
    POST /v1/admin/workers/{worker}/change               another role or department for a worker
    GET /v1/admin/devices                                the enrolled laptops
    POST /v1/admin/devices/enrollments                   a one-time enrollment code
    POST /v1/admin/devices/{device}/revoke               a laptop that may no longer sync
    POST /v1/admin/cases/{case}/assignments              assign a case to a worker
    DELETE /v1/admin/cases/{case}/assignments/{worker}   end an assignment

What changes who may do what (a department, a worker, a revoked device, an assignment)
clears the process's remembered tokens at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.departments import Department, check_legal_areas
from core.errors import InvalidInput
from server.admin.actions import (
    assign,
    change_worker,
    department_json,
    device_json,
    disable,
    erase_case,
    issue_token,
    plan_json,
    revoke,
    revoke_tokens,
    unassign,
)
from server.auth import admin, forget_tokens, parse_json, read_body
from server.context import ServerContext
from server.vocabulary import vocabulary_file


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


async def _body(request: Request) -> dict[str, Any]:
    return parse_json(await read_body(request, 64 * 1024))


def _text(payload: dict[str, Any], name: str, what: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what}: field {name!r} must be a non-empty string")
    return value.strip()


async def _admin_act(
    request: Request, action: Callable[..., dict[str, Any]], *args: str, status_code: int = 200, forget: bool = True
) -> Response:
    """An administrator's act answered as JSON: the token checked first, then `action`
    on the context in a worker thread; this process's token cache forgotten after it."""
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    answer = await run_in_threadpool(action, ctx, *args)
    if forget:
        forget_tokens(ctx)
    return JSONResponse(answer, status_code=status_code)


async def list_departments(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    departments = await run_in_threadpool(ctx.store.departments)
    return JSONResponse({"departments": [department_json(d) for d in departments]})


async def add_department(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    payload = await _body(request)
    authority = payload.get("authority", True)
    if not isinstance(authority, bool):
        raise InvalidInput("department: field 'authority' must be true or false")
    model = payload.get("disability_model", False)
    if not isinstance(model, bool):
        raise InvalidInput("department: field 'disability_model' must be true or false")
    dept = Department(
        _text(payload, "id", "department"),
        _text(payload, "name", "department"),
        authority,
        _areas(payload.get("legal_areas", []), "department"),
        model,
    )
    await run_in_threadpool(ctx.store.add_department, dept)
    forget_tokens(ctx)
    return JSONResponse({"department": department_json(dept)}, status_code=201)


def _areas(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise InvalidInput(f"{what}: field 'legal_areas' must be a list of texts")
    return check_legal_areas(value)


async def show_plan(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    departments = await run_in_threadpool(ctx.store.departments)
    return JSONResponse({"plan": [plan_json(d) for d in departments]})


async def set_plan(request: Request) -> Response:
    """A department's part of the delegation plan, replaced: laptops learn it at their next sync."""
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    payload = await _body(request)
    model = payload.get("disability_model")
    if model is not None and not isinstance(model, bool):
        raise InvalidInput("plan: field 'disability_model' must be true or false")
    areas = _areas(payload.get("legal_areas"), "plan")
    dept = await run_in_threadpool(ctx.store.set_plan, request.path_params["dept"], areas, model)
    return JSONResponse({"plan": plan_json(dept)})


async def show_vocabularies(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    words = vocabulary_file(ctx.settings.data_dir, ctx.log, ctx.extras)
    return JSONResponse({"vocabularies": (await run_in_threadpool(words.current)).as_json()})


async def set_vocabulary(request: Request) -> Response:
    """A name of a word list labelled (a challenge category added): laptops learn it at
    their next sync."""
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    payload = await _body(request)
    da, en = _text(payload, "da", "vocabulary"), _text(payload, "en", "vocabulary")
    which, name = request.path_params["list"], request.path_params["name"]
    words = vocabulary_file(ctx.settings.data_dir, ctx.log, ctx.extras)
    return JSONResponse({"vocabularies": (await run_in_threadpool(words.set, which, name, da, en)).as_json()})


async def remove_vocabulary(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    which, name = request.path_params["list"], request.path_params["name"]
    words = vocabulary_file(ctx.settings.data_dir, ctx.log, ctx.extras)
    return JSONResponse({"vocabularies": (await run_in_threadpool(words.remove, which, name)).as_json()})


async def list_workers(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    workers = await run_in_threadpool(ctx.store.workers)
    return JSONResponse({"workers": [w.__dict__ for w in workers]})


async def add_worker(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    payload = await _body(request)
    worker_id = _text(payload, "id", "worker")
    department = _text(payload, "department", "worker")
    role = _text(payload, "role", "worker")
    token = await run_in_threadpool(ctx.store.add_worker, worker_id, department, role)
    forget_tokens(ctx)
    return JSONResponse(
        {"worker": {"id": worker_id, "department": department, "role": role}, "token": token},
        status_code=201,
    )


async def list_devices(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    devices = await run_in_threadpool(ctx.log.devices)
    return JSONResponse({"devices": [device_json(d) for d in devices if d.device_id != "server"]})


async def enroll_device(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    worker = _text(await _body(request), "worker", "enrollment")
    code, expires = await run_in_threadpool(ctx.store.enrollment_code, worker, ctx.settings.enrollment_ttl_seconds)
    return JSONResponse({"worker": worker, "code": code, "expires_at": expires}, status_code=201)


async def revoke_device(request: Request) -> Response:
    return await _admin_act(request, revoke, request.path_params["device"])


async def assign_case(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    worker = _text(await _body(request), "worker", "assignment")
    answer = await run_in_threadpool(assign, ctx, request.path_params["case"], worker)
    forget_tokens(ctx)
    return JSONResponse(answer)


async def unassign_case(request: Request) -> Response:
    return await _admin_act(request, unassign, request.path_params["case"], request.path_params["worker"])


async def issue_worker_token(request: Request) -> Response:
    return await _admin_act(request, issue_token, request.path_params["worker"], status_code=201, forget=False)


async def revoke_worker_tokens(request: Request) -> Response:
    return await _admin_act(request, revoke_tokens, request.path_params["worker"])


async def change_worker_route(request: Request) -> Response:
    payload = await _body(request)
    fields = [payload.get(name) for name in ("department", "role")]
    if any(v is not None and not isinstance(v, str) for v in fields):
        raise InvalidInput("worker change: 'department' and 'role' are strings when given")
    return await _admin_act(request, change_worker, request.path_params["worker"], *[v or "" for v in fields])


async def disable_worker(request: Request) -> Response:
    return await _admin_act(request, disable, request.path_params["worker"])


async def erase(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    payload = await _body(request)
    confirm = payload.get("confirm")
    answer = await run_in_threadpool(
        erase_case, ctx, request.path_params["case"], confirm if isinstance(confirm, str) else ""
    )
    return JSONResponse(answer)
