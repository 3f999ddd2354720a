"""The OpenAPI document and the application name the same operations, both ways."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route

from server.app import create_app
from server.context import ServerContext, init_data_dir
from server.openapi import document
from server.reading.service import Reading


def test_every_operation_served_is_documented_and_every_documented_one_served(tmp_path: Path) -> None:
    folder, _ = init_data_dir(tmp_path / "srv")
    ctx = ServerContext.open(folder, {})
    try:
        app = create_app(ctx)
        served = {
            (route.path, method.lower())
            for route in app.routes
            if isinstance(route, Route) and not route.path.startswith("/ui")  # the pages are HTML for people
            for method in route.methods or ()
            if method != "HEAD"  # Starlette answers HEAD wherever it answers GET
        }
    finally:
        Reading.of(ctx).close()
        ctx.close()
    documented = {(path, method) for path, item in document()["paths"].items() for method in item}
    assert served == documented
