"""HTTP endpoints of the administrator (JSON, admin bearer token): departments, workers,
device enrollment and revocation, case assignments."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.departments import Department
from core.errors import InvalidInput
from core.log import Device
from server.auth import admin, forget_tokens, read_body
from server.context import ServerContext
from server.errors import NotFound
from server.syncing import parse_json


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


def department_json(d: Department) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "authority": d.authority,
        "legal_areas": list(d.legal_areas),
        "disability_model": d.disability_model,
    }


def device_json(d: Device) -> dict[str, Any]:
    return {
        "device": d.device_id,
        "worker": d.worker,
        "enrolled_at": d.enrolled_at,
        "revoked_at": d.revoked_at,
    }


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
    dept = Department(_text(payload, "id", "department"), _text(payload, "name", "department"), authority)
    await run_in_threadpool(ctx.store.add_department, dept)
    forget_tokens(ctx)
    return JSONResponse({"department": department_json(dept)}, status_code=201)


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


def revoke(ctx: ServerContext, device_id: str) -> dict[str, Any]:
    if device_id == "server" or not ctx.log.revoke_device(device_id):
        raise NotFound(f"device {device_id} is not enrolled")
    device = ctx.log.device(device_id)
    return device_json(device) if device else {"device": device_id}


async def revoke_device(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    answer = await run_in_threadpool(revoke, ctx, request.path_params["device"])
    forget_tokens(ctx)
    return JSONResponse(answer)


def assign(ctx: ServerContext, case_id: str, worker: str) -> dict[str, Any]:
    if ctx.store.worker(worker) is None:
        raise NotFound(f"worker {worker} does not exist")
    changed = ctx.caseload.assign(case_id, worker)
    return {"case": case_id, "worker": worker, "assigned": True, "changed": changed}


def unassign(ctx: ServerContext, case_id: str, worker: str) -> dict[str, Any]:
    changed = ctx.caseload.unassign(case_id, worker)
    return {"case": case_id, "worker": worker, "assigned": False, "changed": changed}


async def assign_case(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    worker = _text(await _body(request), "worker", "assignment")
    answer = await run_in_threadpool(assign, ctx, request.path_params["case"], worker)
    forget_tokens(ctx)
    return JSONResponse(answer)


async def unassign_case(request: Request) -> Response:
    ctx = _ctx(request)
    await run_in_threadpool(admin, ctx, request)
    p = request.path_params
    answer = await run_in_threadpool(unassign, ctx, p["case"], p["worker"])
    forget_tokens(ctx)
    return JSONResponse(answer)


routes = [
    Route("/v1/admin/departments", list_departments, methods=["GET"]),
    Route("/v1/admin/departments", add_department, methods=["POST"]),
    Route("/v1/admin/workers", list_workers, methods=["GET"]),
    Route("/v1/admin/workers", add_worker, methods=["POST"]),
    Route("/v1/admin/devices", list_devices, methods=["GET"]),
    Route("/v1/admin/devices/enrollments", enroll_device, methods=["POST"]),
    Route("/v1/admin/devices/{device}/revoke", revoke_device, methods=["POST"]),
    Route("/v1/admin/cases/{case}/assignments", assign_case, methods=["POST"]),
    Route("/v1/admin/cases/{case}/assignments/{worker}", unassign_case, methods=["DELETE"]),
]
