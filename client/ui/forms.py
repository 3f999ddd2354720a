"""The app's recording forms: what each asks, and the event it makes with the commands' own builders.

A form is a list of fields and a `build` that turns the sent values into the same typed
payload the matching `tovholder client` command makes (`client.commands`), recorded
with `Laptop.record_at` under the same rules. Persons, departments, goals and facts are
picked from lists; no id is ever typed. A value the form cannot read raises `FieldError`
naming its field; a rule the event breaks (`RuleViolation`) is shown beside the field
the form's `blame` names for the words of its message, in the user's language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, NamedTuple

from client.commands.anonymous import tallied
from client.commands.cases import person_added, team_joined
from client.commands.plan import activity_added, goal_added, goal_closed, progress_recorded
from client.commands.sharing import consent_given, consent_withdrawn
from client.commands.work import (
    conflict_resolved,
    contact_recorded,
    meeting_held,
    referral_made,
    referral_outcome,
)
from client.laptop import CaseView, Laptop, goal_revision
from client.ui.fields import CHOICES, Field, FieldError, Values, a_date, a_moment, many, one, picked
from core import events as ev
from core import words
from core.errors import InvalidInput

Built = tuple[ev.Payload[Any], datetime | None]


class Form(NamedTuple):
    name: str
    title: str
    fields: tuple[Field, ...]
    build: Callable[[Laptop, CaseView, Values], Built]
    blame: tuple[tuple[str, str], ...] = ()  # (word of a rule's message, field)


# --- the forms ----------------------------------------------------------------------------

HAPPENED = Field("happened_at", "Happened at (empty: now)", "moment")


def _contact(laptop: Laptop, view: CaseView, values: Values) -> Built:
    contact = contact_recorded(
        laptop.vocabularies,
        kind=one(values, "kind") or "drop-in",
        place=one(values, "place"),
        challenges=picked(laptop, view, values, "challenges", "challenges"),
        note=one(values, "note"),
        persons=picked(laptop, view, values, "persons", "persons"),
    )
    return contact, a_moment(values, "happened_at", laptop.clock())


def _tally(laptop: Laptop, view: CaseView, values: Values) -> Built:
    given = [f"{name}={n}" for name, _ in CHOICES["challenges"](laptop, view) if (n := one(values, f"count_{name}"))]
    if not given:
        raise FieldError("day", words.t("Count at least one contact."))
    day = a_date(values, "day") or laptop.clock().astimezone(words.LOCAL).date()
    try:
        return tallied(day, given, laptop.vocabularies), None
    except InvalidInput:
        raise FieldError("day", words.t("A count is a whole number.")) from None


def _person(laptop: Laptop, view: CaseView, values: Values) -> Built:
    role = one(values, "role", required=True)
    added = person_added(role, one(values, "name", required=True), one(values, "cpr") or None, a_date(values, "born"))
    return added, None


CONSENT_TEXT = (
    "I consent to {recipients} receiving information about {categories} concerning {subject}, "
    "for this purpose: {purpose}. The consent is valid until {until}, and I may withdraw it at any time."
)


def consent_text(laptop: Laptop, view: CaseView, values: Values, until: date) -> str:
    """The words shown to the citizen: as the worker wrote them, or made from the choices."""
    written = one(values, "text")
    if written:
        return written
    labels = {k: dict(CHOICES[k](laptop, view)) for k in ("persons", "departments", "categories")}
    return words.t(CONSENT_TEXT).format(
        recipients=", ".join(labels["departments"][d] for d in many(values, "recipients")),
        categories=", ".join(labels["categories"][c] for c in many(values, "categories")),
        subject=labels["persons"][many(values, "subject")[0]],
        purpose=one(values, "purpose"),
        until=words.day(until),
    )


def _consent(laptop: Laptop, view: CaseView, values: Values) -> Built:
    subject = picked(laptop, view, values, "subject", "persons", required=True)[0]
    valid_until = a_date(values, "valid_until", required=True)
    if valid_until is None:  # required above; for the type checker
        raise FieldError("valid_until", words.t("Fill in this field."))
    given = consent_given(
        subject,
        picked(laptop, view, values, "given_by", "persons", required=True),
        picked(laptop, view, values, "recipients", "departments", required=True),
        picked(laptop, view, values, "categories", "categories", required=True),
        one(values, "purpose", required=True),
        valid_until,
        one(values, "child_view") or None,
        consent_text(laptop, view, values, valid_until),
    )
    return given, None


def _withdrawal(laptop: Laptop, view: CaseView, values: Values) -> Built:
    consent = one(values, "consent", required=True)
    if consent not in view.state.consents:
        raise FieldError("consent", words.t("Choose from the list."))
    return consent_withdrawn(view, consent, one(values, "reason")), None


def _goal(laptop: Laptop, view: CaseView, values: Values) -> Built:
    parent = picked(laptop, view, values, "parent", "goals")
    added = goal_added(
        picked(laptop, view, values, "person", "persons", required=True)[0],
        one(values, "text", required=True),
        picked(laptop, view, values, "owner", "departments", required=True)[0],
        parent=parent[0] if parent else None,
        due=a_date(values, "due"),
    )
    return added, None


def _revision(laptop: Laptop, view: CaseView, values: Values) -> Built:
    goal = picked(laptop, view, values, "goal", "goals", required=True)[0]
    return goal_revision(view, goal, one(values, "text", required=True), due=a_date(values, "due")), None


def _goal_closed(laptop: Laptop, view: CaseView, values: Values) -> Built:
    goal = picked(laptop, view, values, "goal", "goals", required=True)[0]
    return goal_closed(view, goal, one(values, "reason")), None


def _activity(laptop: Laptop, view: CaseView, values: Values) -> Built:
    added = activity_added(
        view,
        picked(laptop, view, values, "goal", "goals", required=True)[0],
        picked(laptop, view, values, "department", "departments", required=True)[0],
        one(values, "kind", required=True),
        a_date(values, "starts"),
        a_date(values, "ends"),
    )
    return added, None


def _outcome(laptop: Laptop, view: CaseView, values: Values) -> Built:
    referral = picked(laptop, view, values, "referral", "referrals", required=True)[0]
    arrived = picked(laptop, view, values, "outcome", "outcomes", required=True)[0] == "arrived"
    return referral_outcome(view, referral, arrived, one(values, "note")), None


def _team(laptop: Laptop, view: CaseView, values: Values) -> Built:
    department = picked(laptop, view, values, "department", "departments", required=True)[0]
    return team_joined(department), None


def _progress(laptop: Laptop, view: CaseView, values: Values) -> Built:
    goal = picked(laptop, view, values, "goal", "goals", required=True)[0]
    score = picked(laptop, view, values, "score", "scores", required=True)[0]
    return progress_recorded(view, goal, int(score), one(values, "note")), None


def _meeting(laptop: Laptop, view: CaseView, values: Values) -> Built:
    held = meeting_held(
        picked(laptop, view, values, "kind", "meeting-kinds", required=True)[0],
        participants=picked(laptop, view, values, "participants", "departments"),
        minutes=one(values, "minutes"),
        persons=picked(laptop, view, values, "persons", "persons"),
    )
    return held, a_moment(values, "happened_at", laptop.clock())


def _referral(laptop: Laptop, view: CaseView, values: Values) -> Built:
    made = referral_made(
        laptop.author.department,
        picked(laptop, view, values, "to", "departments", required=True)[0],
        one(values, "reason", required=True),
        picked(laptop, view, values, "persons", "persons"),
    )
    return made, None


def _decision(laptop: Laptop, view: CaseView, values: Values) -> Built:
    basis = one(values, "legal_basis", required=True)
    owner, _ = laptop.directory.owner_of(basis)
    if owner != laptop.author.department:
        raise FieldError("legal_basis", words.t("Your department does not decide under this legal basis."))
    amount = one(values, "amount")
    if amount and not amount.replace(".", "").isdigit():
        raise FieldError("amount", words.t("Write the amount in kroner, e.g. 4500."))
    decision = laptop.decision(
        basis,
        kind=picked(laptop, view, values, "kind", "decision-kinds", required=True)[0],
        considerations=one(values, "considerations", required=True),
        facts=picked(laptop, view, values, "facts", "events", required=True),
        explanation=one(values, "explanation", required=True),
        amount=round(float(amount) * 100) if amount else None,
        persons=picked(laptop, view, values, "persons", "persons"),
    )
    return decision, None


def _resolution(laptop: Laptop, view: CaseView, values: Values) -> Built:
    return conflict_resolved(
        view, one(values, "conflict", required=True), one(values, "resolution", required=True)
    ), None


def may_decide(laptop: Laptop) -> bool:
    """Whether the worker's department owns a legal area: decisions are offered only then."""
    department = laptop.directory.departments.get(laptop.author.department)
    return department is not None and bool(department.legal_areas)


FORMS: dict[str, Form] = {
    f.name: f
    for f in (
        Form(
            "contact",
            "Quick contact",
            (
                Field("persons", "Who", "checks", "persons"),
                Field("kind", "Kind of contact", "select", "contact-kinds", required=True, default="drop-in"),
                Field("challenges", "Challenges", "checks", "challenges"),
                Field("place", "Place"),
                Field("note", "Note", "textarea"),
                HAPPENED,
            ),
            _contact,
        ),
        Form(
            "tally",
            "Anonymous tally",
            (
                Field("day", "Day (empty: today)", "date"),
                Field("counts", "Contacts per challenge", "counts", "challenges"),
            ),
            _tally,
        ),
        Form(
            "person",
            "Add a person",
            (
                Field("name", "Name", required=True),
                Field("role", "Role", "select", "roles", required=True),
                Field("cpr", "CPR number (optional)"),
                Field("born", "Born (optional)", "date"),
            ),
            _person,
            (("birth date does not agree", "born"), ("cpr", "cpr"), ("citizen", "role"), ("name", "name")),
        ),
        Form(
            "consent",
            "Give consent",
            (
                Field("subject", "Whose consent", "select", "persons", required=True),
                Field("given_by", "Given by", "checks", "persons", required=True),
                Field("recipients", "Shared with", "checks", "departments", required=True),
                Field("categories", "Information", "checks", "categories", required=True),
                Field("purpose", "Purpose", required=True),
                Field("valid_until", "Valid until", "date", required=True, hint="Health: at most one year."),
                Field("child_view", "The child's own view (from 10 years)", "textarea"),
                Field(
                    "text",
                    "The text shown to the citizen",
                    "textarea",
                    hint="Empty: made from the choices above. Kept with its SHA-256.",
                ),
            ),
            _consent,
            (
                ("expire", "valid_until"),
                ("valid-until", "valid_until"),
                ("purpose", "purpose"),
                ("own view", "child_view"),
                ("given by", "given_by"),
                ("gives", "given_by"),
                ("department", "recipients"),
            ),
        ),
        Form("withdraw", "Withdraw consent", (Field("reason", "Reason"),), _withdrawal),
        Form(
            "goal",
            "Add a goal",
            (
                Field("person", "For", "select", "persons", required=True),
                Field("text", "Goal", required=True),
                Field("owner", "Owner", "select", "departments", required=True),
                Field("parent", "Sub-goal of", "select", "goals"),
                Field("due", "Due", "date"),
            ),
            _goal,
            (("parent", "parent"), ("owner", "owner")),
        ),
        Form(
            "revise",
            "Revise a goal",
            (
                Field("goal", "Goal", "select", "goals", required=True),
                Field("text", "New wording", required=True),
                Field("due", "Due", "date"),
            ),
            _revision,
        ),
        Form(
            "close-goal",
            "Close a goal",
            (Field("goal", "Goal", "select", "goals", required=True), Field("reason", "Reason")),
            _goal_closed,
        ),
        Form(
            "activity",
            "Add an activity",
            (
                Field("goal", "Goal", "select", "goals", required=True),
                Field("department", "Carried out by", "select", "departments", required=True),
                Field("kind", "Kind", required=True, hint="e.g. mentor, treatment course"),
                Field("starts", "Starts", "date"),
                Field("ends", "Ends", "date"),
            ),
            _activity,
            (("end", "ends"), ("kind", "kind")),
        ),
        Form(
            "outcome",
            "Referral outcome",
            (
                Field("referral", "Referral", "select", "referrals", required=True),
                Field("outcome", "Did the citizen arrive?", "select", "outcomes", required=True),
                Field("note", "Note", "textarea"),
            ),
            _outcome,
        ),
        Form(
            "team",
            "Add a department to the team",
            (Field("department", "Department", "select", "departments", required=True),),
            _team,
            (("party", "department"),),
        ),
        Form(
            "progress",
            "Record progress",
            (
                Field("goal", "Goal", "select", "goals", required=True),
                Field("score", "Score (1–5)", "select", "scores", required=True),
                Field("note", "Note", "textarea"),
            ),
            _progress,
        ),
        Form(
            "meeting",
            "Record a meeting",
            (
                Field("kind", "Kind of meeting", "select", "meeting-kinds", required=True),
                Field("participants", "Departments taking part", "checks", "departments"),
                Field("persons", "Concerns", "checks", "persons"),
                Field("minutes", "Minutes", "textarea"),
                HAPPENED,
            ),
            _meeting,
            (("participant", "participants"),),
        ),
        Form(
            "referral",
            "Make a referral",
            (
                Field("to", "To", "select", "departments", required=True),
                Field("reason", "Reason", required=True),
                Field("persons", "Concerns", "checks", "persons"),
            ),
            _referral,
            (("department", "to"),),
        ),
        Form(
            "decision",
            "Record a decision",
            (
                Field("legal_basis", "Legal basis", required=True, hint="e.g. aktivloven § 81"),
                Field("kind", "Kind of decision", "select", "decision-kinds", required=True),
                Field("facts", "Facts it rests on", "checks", "events", required=True),
                Field("considerations", "Considerations", "textarea", required=True),
                Field("explanation", "Explanation to the citizen", "textarea", required=True),
                Field("amount", "Amount in kroner (optional)"),
                Field("persons", "Concerns", "checks", "persons"),
            ),
            _decision,
            (("legal", "legal_basis"), ("belongs to", "legal_basis"), ("fact", "facts")),
        ),
        Form("resolve", "Resolve the conflict", (Field("resolution", "How it was settled", "textarea"),), _resolution),
    )
}
#: The forms a case page links to, in this order (the others are inline on the page).
LINKED = (
    "person",
    "team",
    "consent",
    "goal",
    "revise",
    "close-goal",
    "progress",
    "activity",
    "meeting",
    "referral",
    "outcome",
    "decision",
)


def blamed(form: Form, message: str) -> str:
    """The field a rule's message is about, by the words it uses; "" for the form."""
    text = message.casefold()
    return next((name for word, name in form.blame if word in text), "")
