"""The server: the Starlette application (sync, department views, audit, pages),
authentication, the uvicorn entry point and the server's commands.

    app.py          the application: every route listed once, one error shape, timing
    context.py      one data folder opened: the log, its keys, the admin store, services
    settings.py     the settings table, read from tovholder.toml and the environment
    errors.py       errors of the HTTP layer and the one JSON error body
    metrics.py      counters, latency histograms and gauges for /metrics
    run.py          uvicorn over the application; HTTPS off loopback
    store.py        the admin store: departments, workers, tokens, enrollment codes
    auth.py         who is asking: signed device requests, bearer tokens
    syncing.py      enrollment, push and pull endpoints of the laptops
    ordering.py     a laptop's batches judged in its order
    view_cache.py   judged department views kept as encoded JSON while they hold
    compression.py  those answers compressed once per view (deflate, gzip)
    openapi.py      the OpenAPI document, built from one table of operations
    pages.py        the HTML pages for staff and auditors (templates/)
    admin/          the administrator: actions, and their endpoints under /v1/admin
    reading/        department views and audit: the services, the work, the endpoints
    commands/       the `server`, `admin`, `audit` and `search` command groups
"""
