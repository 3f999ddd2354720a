"""Server-rendered pages for staff and auditors: plain, accessible HTML, no JavaScript.

Staff sign in with their staff token; the server answers with a session cookie (random,
HttpOnly, SameSite=Strict, Secure behind HTTPS) that maps to the worker in memory only,
so the token itself is never kept in the browser. The session ends when its token expires
or is revoked, or the worker is disabled, in every server process (`server.sessions`).
Signing in and out cannot be forged from another site (login CSRF): the sign-in form
carries a token bound to a pre-session cookie (`FORM_COOKIE`, also SameSite=Strict), the
sign-out form one bound to the session, both an HMAC under a key of the process; a POST
without the right token, or with an Origin or Sec-Fetch-Site of another site, is refused
with 403 and changes no session. Pages reuse the JSON routes' work
(`server.reading.queries`), so the same rules and the same access-log entries apply; they
are sent with ``Cache-Control: no-store`` so no case data is written to a browser's disk.
Every text goes through `core.words`, in the language of the user's cookie (Danish by
default).

    /ui/sign-in                  sign in with a staff token (POST), sign out (/ui/sign-out)
    /ui/language                 choose Danish or English (?lang=da|en&next=/ui/...)
    /ui/cases                    the caseload of the worker's department, by family (?q=name or CPR)
    /ui/cases/{case}             the case as the coordinator explains it (?cpr=person shows a CPR)
    /ui/cases/{case}/{action}    the coordinator's actions (POST: resolve, coordinator, team, meeting)
    /ui/audit                    auditor's start: replay a case as of a chosen moment
    /ui/audit/cases/{case}       the replay, with each department's view and its grounds
    /ui/audit/verify             the integrity of the whole log
    /ui/audit/access-log         who looked at what
    /ui/audit/exceptions         shares on a legal basis
    /ui/monitoring               management's aggregate reports (`server.monitoring`)
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from core import words
from core.errors import AccessLogUnwritable, TovholderError
from core.events import MEETING_KINDS
from core.pages import environment
from server import office
from server.accounts import verify_accounted
from server.context import ServerContext
from server.errors import Forbidden, NotFound, PayloadTooLarge, Unauthorized, status_of
from server.monitoring import SUPPRESSED, Monitoring, manager
from server.reading.auditing import PAGE, AccessQuery, access_page, exceptions_page, replay_grid
from server.reading.casework import case_page as case_content
from server.reading.casework import caseload as caseload_rows
from server.reading.casework import department_name
from server.reading.queries import (
    AUDITOR,
    MANAGEMENT,
    audit_case,
    parse_moment,
    report_json,
)
from server.reading.service import Reading
from server.sessions import SESSION_SECONDS, sessions
from server.store import Principal, digest
from server.timelines import timelines

COOKIE = "tovholder_session"
#: The user's language (da or en); not secret, kept for a year.
LANGUAGE_COOKIE = "tovholder_lang"
#: The pre-session cookie that the sign-in form's token is bound to.
FORM_COOKIE = "tovholder_form"
MAX_FORM = 4096
MAX_ACTION_FORM = 16384  # a meeting's minutes
#: What a coordinator does on the case page, each posted to /ui/cases/{case}/{action}.
CASE_ACTIONS = ("resolve", "coordinator", "team", "meeting")

templates = environment(Path(__file__).parent / "templates", "/ui/language")
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


#: The sign-out form's token for the page being rendered (set per signed-in request).
_sign_out_token: ContextVar[str] = ContextVar("sign_out_token", default="")
#: The path and query of the page being rendered, for the language switch to come back to.
_here: ContextVar[str] = ContextVar("here", default="/ui/cases")


def speak(request: Request) -> None:
    """Render this request in the user's language, and remember where the page is."""
    words.language.set(words.chosen(request.cookies.get(LANGUAGE_COOKIE)))
    query = f"?{request.url.query}" if request.url.query else ""
    _here.set(request.url.path + query)


def render(name: str, code: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("sign_out_token", _sign_out_token.get())
    values.setdefault("lang", words.language.get())
    values.setdefault("here", _here.get())
    return HTMLResponse(templates.get_template(name).render(**values), status_code=code, headers=HEADERS)


def from_another_site(request: Request) -> bool:
    """Whether the browser says the request comes from another site: an Origin (other
    than the "null" that a no-referrer page sends) naming another host, or a
    Sec-Fetch-Site other than same-origin or none."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        return True
    return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")


async def read_fields(request: Request, limit: int = MAX_FORM) -> dict[str, list[str]] | None:
    """The fields of a small urlencoded form, every value of each; None beyond `limit` bytes."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return parse_qs(body.decode("utf-8", "replace"))


async def read_form(request: Request) -> dict[str, str] | None:
    """The fields of a small urlencoded form (first value each); None beyond MAX_FORM."""
    fields = await read_fields(request)
    return None if fields is None else {k: v[0] for k, v in fields.items() if v}


def sign_in_page(request: Request, code: int, message: str | None) -> Response:
    """The sign-in form with its token, bound to the pre-session cookie (set if new)."""
    ctx: ServerContext = request.app.state.ctx
    speak(request)
    binding = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        "sign_in.html",
        code,
        message=words.t(message) if message else None,
        csrf=sessions(ctx).form_token("sign-in", binding),
    )
    if request.cookies.get(FORM_COOKIE) != binding:
        response.set_cookie(
            FORM_COOKIE,
            binding,
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/ui",
        )
    return response


FORGED = "This form was not sent from this site's own page, or it has expired; nothing was changed."


def signed_in(ctx: ServerContext, request: Request) -> Principal:
    """The worker of the session cookie; Unauthorized without a live session."""
    who = sessions(ctx).principal(request.cookies.get(COOKIE, ""), ctx.store.wallclock())
    if who is None:
        raise Unauthorized("sign in with your staff token")
    return who


PageHandler = Callable[[Request, ServerContext, Reading, Principal], Awaitable[Response]]


def page(handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
    """Run a page handler for the signed-in worker; errors become an HTML page (the
    sign-in page for a missing session), never the JSON error body."""

    async def wrapped(request: Request) -> Response:
        ctx: ServerContext = request.app.state.ctx
        speak(request)
        who: Principal | None = None
        try:
            who = await run_in_threadpool(signed_in, ctx, request)
            _sign_out_token.set(sessions(ctx).form_token("sign-out", request.cookies.get(COOKIE, "")))
            return await handler(request, ctx, Reading.of(ctx), who)
        except Unauthorized:
            return RedirectResponse("/ui/sign-in", status_code=303, headers=HEADERS)
        except TovholderError as exc:
            status = status_of(exc)
            plain = status < 500 or isinstance(exc, AccessLogUnwritable)
            message = str(exc) if plain else "internal error"
            # the language switch leads to the start, not back to what was refused; a refused
            # action on a case leads back to the case
            back = f"/ui/cases/{request.path_params['case']}" if request.method == "POST" else None
            told = words.rule(message)  # a broken rule in the page's language where the catalogue has it
            return render("error.html", status, status=status, message=told, who=who, here="/ui", back=back)

    return wrapped


async def no_such_page(request: Request, status: int) -> Response:
    """The error page for a path of the pages that does not exist (or a method it does not
    take), with a way back: to the worker's start when signed in, else to signing in."""
    ctx: ServerContext = request.app.state.ctx
    speak(request)
    who = await run_in_threadpool(sessions(ctx).principal, request.cookies.get(COOKIE, ""), ctx.store.wallclock())
    if who is not None:
        _sign_out_token.set(sessions(ctx).form_token("sign-out", request.cookies.get(COOKIE, "")))
    message = words.t("Page not found") if status == 404 else words.t("Error")
    return render("error.html", status, status=status, message=message, who=who, here="/ui")


async def sign_in_form(request: Request) -> Response:
    return sign_in_page(request, 200, None)


async def sign_in(request: Request) -> Response:
    """Start a session for a staff token; 403 (no session changed) for a form that was not
    sent from this site's own sign-in page."""
    ctx: ServerContext = request.app.state.ctx
    form = await read_form(request)
    if form is None:
        return sign_in_page(request, 413, "the form is too large")
    binding = request.cookies.get(FORM_COOKIE, "")
    if from_another_site(request) or not sessions(ctx).form_token_holds("sign-in", binding, form.get("csrf", "")):
        return sign_in_page(request, 403, FORGED)
    token = form.get("token", "").strip()
    token_hash = digest(token)
    held = await run_in_threadpool(ctx.store.holder, token_hash) if token else None
    if held is None or held[0].is_admin:
        return sign_in_page(request, 401, "That token is not a valid staff token.")
    who, expires = held
    response = RedirectResponse("/ui/audit" if who.role == AUDITOR else "/ui/cases", status_code=303, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        sessions(ctx).start(who, token_hash, expires),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
    )
    return response


async def sign_out(request: Request) -> Response:
    """End the session; 403 (the session kept) for a form that was not sent from one of
    this site's own pages of that session."""
    ctx: ServerContext = request.app.state.ctx
    form = await read_form(request)
    sid = request.cookies.get(COOKIE, "")
    token = (form or {}).get("csrf", "")
    if from_another_site(request) or not sessions(ctx).form_token_holds("sign-out", sid, token):
        speak(request)
        return render("error.html", 403, status=403, message=FORGED)
    sessions(ctx).end(sid)
    response = RedirectResponse("/ui/sign-in", status_code=303, headers=HEADERS)
    response.delete_cookie(COOKIE, path="/ui")
    return response


async def choose_language(request: Request) -> Response:
    """Remember the language asked for and go back to the page it was asked on (a path of
    these pages only, never another site)."""
    back = request.query_params.get("next", "/ui/cases")
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or "\\" in back or not (parts.path == "/ui" or parts.path.startswith("/ui/")):
        back = "/ui/cases"
    response = RedirectResponse(back, status_code=303, headers=HEADERS)
    response.set_cookie(
        LANGUAGE_COOKIE,
        words.chosen(request.query_params.get("lang")),
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/ui",
    )
    return response


async def home(request: Request) -> Response:
    return RedirectResponse("/ui/cases", status_code=303)


@page
async def caseload(request: Request, ctx: ServerContext, r: Reading, who: Principal) -> Response:
    if who.role == MANAGEMENT:
        return RedirectResponse("/ui/monitoring", status_code=303, headers=HEADERS)
    query = request.query_params.get("q", "")[:100]
    rows = await run_in_threadpool(caseload_rows, r, who, query, "casework")
    name = department_name(ctx.store.directory(), who.department)
    return render("caseload.html", who=who, cases=rows, query=query, department=name)


def department_names(ctx: ServerContext) -> dict[str, str]:
    """Each department's name by its id, as the pages show them."""
    return {d.id: d.name for d in ctx.store.directory().departments.values()}


def _case_purpose(request: Request) -> str:
    """The case page's forms carry a token bound to the session and to the case."""
    return f"case\x00{request.path_params['case']}"


@page
async def case_page(request: Request, ctx: ServerContext, r: Reading, who: Principal) -> Response:
    shown = request.query_params.get("cpr")
    view = await run_in_threadpool(case_content, r, who, request.path_params["case"], shown, "casework")
    names = department_names(ctx)
    done = request.query_params.get("done")

    def timeline() -> str:
        caption = words.t("Everything your department may see, with the grounds")
        values = {"events": view["events"], "caption": caption, "grounds": True, "departments": names}
        return templates.get_template("_events.html").render(**values, names=view["names"])

    key = (view["case"], who.department, view["seq"], words.language.get())
    return render(
        "case.html",
        timeline=Markup(timelines(ctx).get(key, r.now(), view["until"], timeline)),  # noqa: S704 (rendered, escaped)
        who=who,
        case=view,
        shown=shown,
        departments=names,
        names=view["names"],
        csrf=sessions(ctx).form_token(_case_purpose(request), request.cookies.get(COOKIE, "")),
        meeting_kinds=MEETING_KINDS,
        done=done if done in CASE_ACTIONS else None,
    )


def _action(what: str, ctx: ServerContext, fields: dict[str, list[str]]) -> office.Action:
    """The coordinator's action a case page form asks for."""

    def one(name: str) -> str:
        return (fields.get(name) or [""])[0]

    if what == "resolve":
        return office.resolve_conflict(one("conflict"), one("version"), one("text"))
    if what == "coordinator":
        return office.assign_coordinator(ctx, one("worker"), one("reason") or "handover")
    if what == "team":
        return office.add_department(one("department"))
    return office.record_meeting(one("kind"), one("held"), fields.get("participants", []), one("minutes"))


@page
async def case_action(request: Request, ctx: ServerContext, r: Reading, who: Principal) -> Response:
    """A coordinator's action from the case page (`server.office`); 403 and nothing changed
    for a form not sent from this session's own page of this case, or by anyone else."""
    case_id, what = request.path_params["case"], request.path_params["action"]
    fields = await read_fields(request, MAX_ACTION_FORM)
    if fields is None:
        raise PayloadTooLarge("the form is too large")
    token = (fields.get("csrf") or [""])[0]
    if what not in CASE_ACTIONS:
        raise NotFound("no such action")
    sid = request.cookies.get(COOKIE, "")
    if from_another_site(request) or not sessions(ctx).form_token_holds(_case_purpose(request), sid, token):
        raise Forbidden(FORGED)
    # the action is made in the thread too: assigning a coordinator looks the worker up
    await run_in_threadpool(lambda: office.act(ctx, who, case_id, _action(what, ctx, fields)))
    return RedirectResponse(f"/ui/cases/{case_id}?done={what}", status_code=303, headers=HEADERS)


def _auditor(who: Principal) -> None:
    if who.role != AUDITOR:
        raise Forbidden("these pages are for auditors")


@page
async def audit_home(request: Request, ctx: ServerContext, r: Reading, who: Principal) -> Response:
    _auditor(who)
    return render("audit_home.html", who=who)


@page
async def audit_case_page(request: Request, ctx: ServerContext, r: Reading, who: Principal) -> Response:
    _auditor(who)
    case_id = request.path_params["case"] if "case" in request.path_params else request.query_params.get("case", "")
    typed = request.query_params.get("as_of", "")
    as_of = parse_moment(typed, r.now(), words.LOCAL)  # typed on the page: Copenhagen time
    result = await run_in_threadpool(audit_case, r, who, case_id.strip(), as_of, "audit")
    names = department_names(ctx)
    grid = replay_grid(result)
    return render("audit_case.html", who=who, replay=result, grid=grid, as_of=as_of, typed=typed, departments=names)


@page
async def audit_verify(request: Request, ctx: ServerContext, r: Reading, who: Principal) -> Response:
    _auditor(who)
    report = await run_in_threadpool(verify_accounted, ctx.log, ctx.store, ctx.server_keys.signing_public)
    return render("verify.html", who=who, report=report_json(report))


@page
async def audit_access(request: Request, ctx: ServerContext, r: Reading, who: Principal) -> Response:
    _auditor(who)
    query = AccessQuery.of(dict(request.query_params))
    rows, following = await run_in_threadpool(access_page, r, who, query, "audit")
    names = department_names(ctx)
    more = urlencode({**query._asdict(), "after": following}) if following else ""
    return render("access_log.html", who=who, query=query, entries=rows, more=more, departments=names, page=PAGE)


@page
async def audit_exceptions(request: Request, ctx: ServerContext, r: Reading, who: Principal) -> Response:
    _auditor(who)
    rows = await run_in_threadpool(exceptions_page, r, who, "audit")
    names = department_names(ctx)
    return render("exceptions.html", who=who, rows=rows, departments=names)


@page
async def monitoring_page(request: Request, ctx: ServerContext, r: Reading, who: Principal) -> Response:
    manager(who)
    reports = await run_in_threadpool(Monitoring.of(ctx).reports)
    return render("monitoring.html", who=who, reports=reports, suppressed=SUPPRESSED)
