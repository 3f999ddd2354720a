"""The app's pages: unlock, the caseload, a case, its forms, sync and lock.

    GET  /unlock                 the passphrase form (POST unlocks; a wrong one unlocks nothing)
    POST /lock                   lock now: the store is closed and the key dropped
    GET  /cases                  the caseload (?q= a name, CPR number or date of birth)
    GET  /cases/new              open a case, with its first person (POST)
    GET  /cases/{case}           the case, with the quick contact (or tally) form
    GET  /cases/{case}/{form}    one of the recording forms (POST records)
    POST /sync                   push the outbox and pull the caseload now
    GET  /language               Danish or English (?lang=da|en&next=/...)

Every page but /unlock answers only to the browser session that unlocked the store, and
every POST needs the form's token (403 and nothing changed without it). Pages are
plain HTML with no script, sent ``Cache-Control: no-store``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from client.commands.cases import person_added
from client.laptop import Laptop
from client.ui import caseload as rows
from client.ui.desk import Desk
from client.ui.fields import Field, FieldError, Values, choices
from client.ui.forms import FORMS, LINKED, Form, blamed, may_decide
from client.ui.guards import FORM_COOKIE, HEADERS, LANGUAGE_COOKIE, SESSION_COOKIE, FormTokens
from core import events as ev
from core import words
from core.errors import RuleViolation, TovholderError, UnknownReference, WrongPassphrase
from core.pages import environment

MAX_FORM = 64 * 1024
FORGED = "This form was not sent from this app's own page, or it has expired; nothing was changed."

templates = environment(Path(__file__).parent / "templates", "/language")


class Held:
    """The app's parts every page uses: the desk and the form tokens."""

    def __init__(self, desk: Desk, tokens: FormTokens) -> None:
        self.desk = desk
        self.tokens = tokens


def _held(request: Request) -> Held:
    held: Held = request.app.state.held
    return held


def render(request: Request, name: str, code: int = 200, **values: Any) -> HTMLResponse:
    held = _held(request)
    laptop = values.get("laptop")
    session = request.cookies.get(SESSION_COOKIE, "")
    values.setdefault("lang", words.language.get())
    values.setdefault("here", request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    values.setdefault("csrf", held.tokens.token("form", session) if laptop is not None else "")
    values.setdefault("desk", held.desk)
    if laptop is not None:
        values.setdefault("pending_total", laptop.store.count_pending())
        values.setdefault("departments", _names(laptop))
    return HTMLResponse(templates.get_template(name).render(**values), status_code=code, headers=HEADERS)


def speak(request: Request) -> None:
    words.language.set(words.chosen(request.cookies.get(LANGUAGE_COOKIE)))


async def read_form(request: Request) -> Values | None:
    """The sent fields (every value of each); None beyond MAX_FORM."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


Handler = Callable[[Request, Laptop, Values | None], Awaitable[Response]]


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run a handler for the session that unlocked the store (else to the unlock page);
    a POST only with the right form token (else 403, nothing changed)."""

    async def wrapped(request: Request) -> Response:
        speak(request)
        held = _held(request)
        session = request.cookies.get(SESSION_COOKIE, "")
        laptop = held.desk.laptop_for(session)
        if laptop is None:
            return RedirectResponse("/unlock", status_code=303, headers=HEADERS)
        values: Values | None = None
        if request.method == "POST":
            values = await read_form(request)
            if values is None:
                return render(request, "error.html", 413, message=words.t("the form is too large"), laptop=laptop)
            if not held.tokens.holds("form", session, values.get("csrf", [""])[0]):
                return render(request, "error.html", 403, message=words.t(FORGED), laptop=laptop)
        try:
            return await handler(request, laptop, values)
        except UnknownReference as exc:
            return render(request, "error.html", 404, message=words.rule(str(exc)), laptop=laptop)

    return wrapped


# --- unlock and lock -------------------------------------------------------------------------


def unlock_page(request: Request, code: int = 200, message: str = "") -> Response:
    held = _held(request)
    binding = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "unlock.html", code, message=message, unlock_token=held.tokens.token("unlock", binding))
    if request.cookies.get(FORM_COOKIE) != binding:
        response.set_cookie(FORM_COOKIE, binding, httponly=True, samesite="strict", path="/")
    return response


async def unlock_form(request: Request) -> Response:
    speak(request)
    return unlock_page(request)


async def unlock(request: Request) -> Response:
    """Open the store with the passphrase; a wrong one is told in words and unlocks nothing."""
    speak(request)
    held = _held(request)
    values = await read_form(request) or {}
    token = values.get("csrf", [""])[0]
    if not held.tokens.holds("unlock", request.cookies.get(FORM_COOKIE, ""), token):
        return unlock_page(request, 403, words.t(FORGED))
    passphrase = values.get("passphrase", [""])[0]
    try:
        session = await run_in_threadpool(held.desk.unlock, passphrase)
    except WrongPassphrase:
        return unlock_page(
            request, 401, words.t("The passphrase does not open this laptop's store; nothing was unlocked.")
        )
    response = RedirectResponse("/cases", status_code=303, headers=HEADERS)
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")
    return response


@page
async def lock(request: Request, laptop: Laptop, values: Values | None) -> Response:
    desk = _held(request).desk
    async with desk.busy:  # after a sync under way
        desk.lock()
    response = RedirectResponse("/unlock", status_code=303, headers=HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def choose_language(request: Request) -> Response:
    back = request.query_params.get("next", "/cases")
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or "\\" in back or not back.startswith("/"):
        back = "/cases"
    response = RedirectResponse(back, status_code=303, headers=HEADERS)
    chosen = words.chosen(request.query_params.get("lang"))
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, httponly=True, samesite="strict", path="/")
    return response


async def home(request: Request) -> Response:
    return RedirectResponse("/cases", status_code=303, headers=HEADERS)


# --- the caseload and a case -----------------------------------------------------------------


def _names(laptop: Laptop) -> dict[str, str]:
    """The departments' names by id."""
    return {d.id: d.name for d in laptop.directory.departments.values()}


def _today(laptop: Laptop) -> date:
    """Today in Denmark."""
    return laptop.clock().astimezone(words.LOCAL).date()


@page
async def caseload(request: Request, laptop: Laptop, values: Values | None) -> Response:
    desk = _held(request).desk
    query = request.query_params.get("q", "")[:100]
    today = _today(laptop)
    views = [desk.view(laptop, case) for case in laptop.store.held_cases()]  # reads wait for no sync
    found = [rows.caseload_row(v, desk.changed.get(v.state.case_id, 0), today) for v in views if rows.matches(v, query)]
    found.sort(key=lambda r: (-r["conflicts"], -r["pending"], r["names"]))
    return render(
        request,
        "caseload.html",
        laptop=laptop,
        cases=found,
        query=query,
        coordinator=laptop.author.role == "coordinator",
        open_conflicts=sum(r["conflicts"] for r in found),
    )


def _form_values(laptop: Laptop, view: Any, form: Form) -> dict[str, list[tuple[str, str]]]:
    return {f.name: choices(laptop, view, f) for f in form.fields}


@page
async def case_page(request: Request, laptop: Laptop, values: Values | None) -> Response:
    return await _case(request, laptop, request.path_params["case"])


async def _case(request: Request, laptop: Laptop, case_id: str, code: int = 200, **shown: Any) -> Response:
    desk = _held(request).desk
    if case_id not in laptop.store.held_cases():
        raise UnknownReference("That case is not on this laptop.")
    view = desk.view(laptop, case_id)
    quick = FORMS["tally" if view.state.kind == "tally" else "contact"]
    coordinator = view.state.coordinator is not None and view.state.coordinator[0] == laptop.author.worker
    return render(
        request,
        "case.html",
        code,
        laptop=laptop,
        case=rows.case_page(view, _today(laptop), _names(laptop), desk.synced_from.get(case_id), laptop.device_id),
        quick=quick,
        quick_choices=_form_values(laptop, view, quick),
        linked=[FORMS[n] for n in LINKED if n != "decision" or may_decide(laptop)],
        coordinator=coordinator,
        forms_resolve=FORMS["resolve"],
        failed=shown.pop("failed", ""),
        sent=request.query_params.get("recorded", ""),
        values=shown.pop("values", {}),
        errors=shown.pop("errors", {}),
        **shown,
    )


@page
async def form_page(request: Request, laptop: Laptop, values: Values | None) -> Response:
    return await _form(request, laptop, request.path_params["case"], request.path_params["form"])


async def _form(request: Request, laptop: Laptop, case_id: str, name: str, code: int = 200, **shown: Any) -> Response:
    desk = _held(request).desk
    form = FORMS.get(name)
    if form is None or case_id not in laptop.store.held_cases() or (name == "decision" and not may_decide(laptop)):
        raise UnknownReference("There is no such form for this case.")
    view = desk.view(laptop, case_id)
    return render(
        request,
        "form.html",
        code,
        laptop=laptop,
        form=form,
        case=rows.case_page(view, _today(laptop), _names(laptop)),
        form_choices=_form_values(laptop, view, form),
        values=shown.get("values", {}),
        errors=shown.get("errors", {}),
    )


@page
async def record(request: Request, laptop: Laptop, values: Values | None) -> Response:
    """Record what a form says, with the command's builder and rules; the page again with
    the error beside its field when a value or a rule refuses it (nothing recorded)."""
    case_id, name = request.path_params["case"], request.path_params["form"]
    desk = _held(request).desk
    form = FORMS.get(name)
    sent = values or {}
    if form is None or case_id not in laptop.store.held_cases() or (name == "decision" and not may_decide(laptop)):
        raise UnknownReference("There is no such form for this case.")
    try:
        async with desk.busy:
            view = desk.view(laptop, case_id)
            what, at = form.build(laptop, view, sent)
            laptop.record_at(case_id, what, at, view=view)  # the kept view gets the event
    except FieldError as exc:
        return await _again(request, laptop, case_id, form, sent, {exc.field: str(exc)})
    except (RuleViolation, TovholderError) as exc:
        desk.wrote(case_id)  # judged, perhaps applied to the kept view, but not kept: fold it again
        message = words.rule(str(exc))
        return await _again(request, laptop, case_id, form, sent, {blamed(form, str(exc)) or "_form": message})
    return RedirectResponse(f"/cases/{case_id}?recorded={name}#{name}", status_code=303, headers=HEADERS)


async def _again(
    request: Request, laptop: Laptop, case_id: str, form: Form, sent: Values, errors: dict[str, str]
) -> Response:
    inline = form.name in ("contact", "tally", "withdraw", "resolve")
    if inline:
        return await _case(request, laptop, case_id, 422, values=sent, errors=errors, failed=form.name)
    return await _form(request, laptop, case_id, form.name, 422, values=sent, errors=errors)


@page
async def new_case_form(request: Request, laptop: Laptop, values: Values | None) -> Response:
    return _new_case(request, laptop)


def _new_case(request: Request, laptop: Laptop, code: int = 200, **shown: Any) -> Response:
    return render(
        request,
        "new_case.html",
        code,
        laptop=laptop,
        kinds=[(k, words.word(k)) for k in ev.CASE_KINDS],
        roles=[(r, words.word(r)) for r in ev.PERSON_ROLES],
        lead_choices=[(d.id, d.name) for d in laptop.directory.departments.values()],
        values=shown.get("values", {}),
        errors=shown.get("errors", {}),
    )


@page
async def new_case(request: Request, laptop: Laptop, values: Values | None) -> Response:
    """Open a case (as `case open`) and, when a name is given, add its first person (as
    `person add`): one page for what the commands do in two."""
    sent = values or {}
    kind, lead = sent.get("kind", [""])[0], sent.get("lead", [""])[0]
    name, role = sent.get("name", [""])[0].strip(), sent.get("role", ["citizen"])[0]
    desk = _held(request).desk
    errors: dict[str, str] = {}
    if kind not in ev.CASE_KINDS:
        errors["kind"] = words.t("Choose from the list.")
    if lead not in laptop.directory.departments:
        errors["lead"] = words.t("Choose from the list.")
    if name and role not in ev.PERSON_ROLES:
        errors["role"] = words.t("Choose from the list.")
    if errors:
        return _new_case(request, laptop, 422, values=sent, errors=errors)
    try:
        async with desk.busy:
            opened = laptop.open_case(kind, lead, sent.get("reason", [""])[0])
            if name:
                laptop.record(opened.case_id, person_added(role, name))
            desk.wrote(opened.case_id)
    except TovholderError as exc:
        return _new_case(request, laptop, 422, values=sent, errors={"_form": words.rule(str(exc))})
    return RedirectResponse(f"/cases/{opened.case_id}", status_code=303, headers=HEADERS)


# --- sync --------------------------------------------------------------------------------------


@page
async def sync_now(request: Request, laptop: Laptop, values: Values | None) -> Response:
    """Sync now; the page it was asked from then says how it went."""
    await _held(request).desk.sync(laptop)
    back = (values or {}).get("next", ["/cases"])[0]
    if not back.startswith("/") or back.startswith("//"):
        back = "/cases"
    return RedirectResponse(back, status_code=303, headers=HEADERS)


def sync_words(desk: Desk) -> str:
    """How the last sync went, in the user's language."""
    if not desk.last_sync:
        return words.t("Not synced since the app started.")
    if not desk.last_sync_failed:
        return words.t("Synced.")
    return words.t("The server did not answer; nothing was lost, sync again later.")


templates.globals.update(sync_words=sync_words)


async def background_sync(desk: Desk, every: float) -> None:
    """Lock an idle desk, and sync an unlocked one when the server answers, every `every` seconds."""
    while True:
        await asyncio.sleep(min(every, 5.0))
        desk.lock_if_idle()
        laptop = desk.held()
        if laptop is not None and desk.due(every):
            await desk.sync(laptop, attempts=1)  # a failure is kept in desk.last_sync


def field_id(form: Form, field: Field) -> str:
    return f"{form.name}-{field.name}"


templates.globals.update(field_id=field_id)
