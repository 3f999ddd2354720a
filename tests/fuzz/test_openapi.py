"""Every operation of /openapi.json, driven by schemathesis against the real app in-process.

The requests are made from the published schema (valid and invalid parameters, bodies and
headers), with real staff, auditor and admin tokens and, for half of them, the ids of a
case and department that exist, so generation reaches past authentication into the views,
the replay, the access log and the admin store. Whatever the input, the server must
answer with a status below 500 and, for JSON errors, the one error shape.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import msgpack
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from server.app import create_app
from server.context import ServerContext, init_data_dir
from server.openapi import document
from server.reading.service import Reading
from tests.conftest import BACKENDS, POSTGRES, _drop_schema
from tests.core.conftest import Devices, family

#: Examples per operation and generation mode (derandomized, so each run plays the same).
EXAMPLES = 40


class Fuzzed:
    """A server data folder with a recorded case and a token for each kind of caller."""

    def __init__(self, folder: Path, database_url: str | None = None) -> None:
        path, admin = init_data_dir(folder, database_url)
        self.ctx = ServerContext.open(path, {})
        self.app = create_app(self.ctx)
        self.tokens = {
            "admin": admin,
            "jobcenter": self.ctx.store.add_worker("anna", "jobcenter", "caseworker"),
            "children-family": self.ctx.store.add_worker("bo", "children-family", "coordinator"),
            "auditor": self.ctx.store.add_worker("ida", "children-family", "auditor"),
        }
        b = family({"mother": ("parent", 38)})
        b.join("jobcenter")
        b.consent("mother", ["mother"], ["jobcenter"], ["contact"], valid_until=date(2099, 1, 1))
        b.contact(note="a note only the lead may read")
        Devices().push(self.ctx.log, b.sealed, [b.key])
        self.case_id = b.case_id

    def close(self) -> None:
        Reading.of(self.ctx).close()
        self.ctx.close()


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    schema = "fuzz_" + uuid.uuid4().hex[:12]
    url = f"{POSTGRES}?schema={schema}" if request.param == "postgres" else None
    f = Fuzzed(tmp_path_factory.mktemp("fuzz") / "srv", url)
    yield f
    f.close()
    if url is not None:
        _drop_schema(schema)


@pytest.fixture(scope="module")
def api_schema(fuzzed: Fuzzed) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed.app)


@schemathesis.serializer("application/msgpack")
def _msgpack(ctx: Any, value: Any) -> bytes:
    """The laptops' wire format: generated binary bodies as they are, anything else packed."""
    return value if isinstance(value, bytes) else msgpack.packb(value, default=repr)


def _has_input(op: dict[str, Any]) -> bool:
    return bool(op.get("parameters") or op.get("requestBody"))


#: Every operation of the published document (read without starting a server), in both
#: generation modes; invalid input only where the operation takes any.
OPERATIONS = [
    (path, method, mode)
    for path, item in document()["paths"].items()
    for method, op in item.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _has_input(op)
]


def _caller(path: str, department: str | None) -> str:
    """The token that may use `path`: admin routes want the admin, audit the auditor, a
    department's routes a worker of that department (any other gets 401 or 403)."""
    if path.startswith("/v1/admin"):
        return "admin"
    if path.startswith(("/v1/audit", "/v1/citizens")):
        return "auditor"
    return department if department in ("jobcenter", "children-family") else "jobcenter"


def _check(case: Any, fuzzed: Fuzzed) -> None:
    params = case.path_parameters or {}
    # Half the examples aim at what exists, so they reach the views and not only the 404s.
    aim = zlib.crc32(repr(sorted(params.items())).encode()) % 2 == 0
    if aim and "case" in params:
        params["case"] = fuzzed.case_id
    if aim and "dept" in params:
        params["dept"] = "jobcenter"
    headers = dict(case.headers or {})
    if "authorization" not in {k.lower() for k in headers}:
        headers["Authorization"] = f"Bearer {fuzzed.tokens[_caller(case.path, params.get('dept'))]}"
    response = case.call(headers=headers)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} answered {response.status_code}: {response.text[:300]}"
    )
    kind = response.headers.get("content-type", [""])[0]
    if response.status_code >= 400 and kind.startswith("application/json"):
        body = response.json()
        assert set(body) == {"error"} and body["error"]["status"] == response.status_code


@pytest.mark.parametrize(
    ("path", "method", "mode"), OPERATIONS, ids=[f"{g.value}-{m.upper()} {p}" for p, m, g in OPERATIONS]
)
def test_no_input_makes_the_server_fail(
    path: str, method: str, mode: GenerationMode, api_schema: Any, fuzzed: Fuzzed
) -> None:
    operation = api_schema[path][method]

    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )
    @given(operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        _check(case, fuzzed)

    run()
