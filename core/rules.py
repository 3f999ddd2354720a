"""The rules of docs/domain.md, judged when an event is recorded.

`check(state, event, directory)` raises `RuleViolation` with a plain sentence when the
event breaks a rule; nothing is recorded then. Each rule is a function named after it,
beside the events it governs. Messages never quote names, CPR numbers or notes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, timedelta

from core import events as ev
from core import vocabularies
from core.case import CaseState
from core.cpr import birth_date_of, check_agrees
from core.departments import Directory
from core.errors import InvalidInput, RuleViolation, UnknownReference

MIN_PURPOSE = 10  # characters: a purpose says what the information will be used for
VAGUE_PURPOSES = frozenset(
    {
        "all relevant information",
        "alle relevante oplysninger",
        "all information",
        "alle oplysninger",
        "relevant information",
        "relevante oplysninger",
        "everything",
        "alt",
        "any",
        "all",
    }
)
LEGAL_BASES = {
    "serviceloven-49a": "early concern for a child discussed at an SSD meeting (serviceloven § 49 a)",
    "retsplejeloven-115": "crime prevention in SSP cooperation (retsplejeloven § 115)",
    "forvaltningsloven-28": (
        "information of substantial importance to the receiving authority's decision (forvaltningsloven § 28)"
    ),
}
DECIDING_ROLES = frozenset({"caseworker", "coordinator"})
AFTERCARE = "aftercare"
VOCABULARY_NAME = vocabularies.NAME  # a name of a configured list, not a label
MAX_SPECIAL_CONSENT = timedelta(days=366)
MAX_TALLY = 1000  # contacts of one challenge on one day at one centre

Check = Callable[[CaseState, ev.CaseEvent, Directory], None]


def check(state: CaseState, e: ev.CaseEvent, directory: Directory) -> None:
    """Raise RuleViolation unless `e` may be recorded on a case in `state`."""
    case_lifecycle(state, e)
    categories_known(e)
    if not isinstance(e, ev.CaseOpened):
        party_principle(state, e)
        if not isinstance(e, ev.PersonAdded):
            persons_known(state, e)
    if isinstance(e, ev.PersonAdded | ev.PersonCorrected):
        anonymity(state, e)
    rule = _RULES.get(type(e))
    if rule is not None:
        rule(state, e, directory)


# --- rules that hold for every event --------------------------------------------------


def case_lifecycle(state: CaseState, e: ev.CaseEvent) -> None:
    """A case starts with `case opened`; a closed case takes nothing but a reopening,
    erasure and audit events; an erased case takes nothing."""
    if state.status == "erased":
        raise RuleViolation(f"case {state.case_id} was erased; nothing more can be recorded")
    if isinstance(e, ev.CaseOpened):
        if state.seq:
            raise RuleViolation(f"case {state.case_id} is already open")
        return
    if state.status == "new":
        raise UnknownReference(f"case {state.case_id} has not been opened")
    allowed_when_closed = (
        ev.CaseReopened,
        ev.ErasureRequested,
        ev.ErasureDecided,
        ev.CaseErased,
        ev.ConflictFlagged,
        ev.ConflictResolved,
    )
    if state.status == "closed" and not isinstance(e, allowed_when_closed):
        raise RuleViolation(f"case {state.case_id} is closed; reopen it before recording")
    if isinstance(e, ev.CaseReopened) and state.status != "closed":
        raise RuleViolation(f"case {state.case_id} is not closed")


def categories_known(e: ev.CaseEvent) -> None:
    ev.check_categories(e.categories)


def party_principle(state: CaseState, e: ev.CaseEvent) -> None:
    """Rule 1: only a department that is a party to the case records in it."""
    if e.header.role == "server":
        return
    if not state.is_party(e.department):
        raise RuleViolation(
            f"department {e.department} is not a party to case {state.case_id}; a team member must add it first"
        )


def persons_known(state: CaseState, e: ev.CaseEvent) -> None:
    for p in e.persons:
        if p not in state.persons:
            raise UnknownReference(f"person {p} is not part of case {state.case_id}")


# --- the case and its persons ---------------------------------------------------------


def case_opening(state: CaseState, e: ev.CaseOpened, d: Directory) -> None:
    if e.kind not in ev.CASE_KINDS:
        raise InvalidInput("a case is of kind citizen or family (or, at a drop-in centre, pseudonymous or tally)")
    d.get(e.lead_department)
    d.get(e.department)


def person_details(state: CaseState, e: ev.PersonAdded, d: Directory) -> None:
    if e.person_id in state.persons:
        raise RuleViolation(f"person {e.person_id} is already part of case {state.case_id}")
    if e.role not in ev.PERSON_ROLES:
        raise InvalidInput(f"a person's role is one of {', '.join(ev.PERSON_ROLES)}")
    if not e.name.strip():
        raise InvalidInput("a person needs a name")
    if state.kind == "citizen" and any(p.role == "citizen" for p in state.persons.values()) and e.role == "citizen":
        raise RuleViolation("a citizen case has one citizen; open a family case for several")
    if e.cpr is not None:
        birth_date_of(e.cpr)
    check_agrees(e.cpr, e.birth_date)


def anonymity(state: CaseState, e: ev.PersonAdded | ev.PersonCorrected) -> None:
    """A tally case names nobody; a pseudonymous case knows its person by a pseudonym
    only, never by a CPR number or birth date (identifying them is what a link is for)."""
    if state.kind == "tally":
        raise RuleViolation(f"case {state.case_id} is an anonymous tally; it names no person")
    if state.kind == "pseudonymous" and isinstance(e, ev.PersonAdded) and state.persons:
        raise RuleViolation(f"case {state.case_id} is pseudonymous; it holds one person")
    if state.kind == "pseudonymous" and (e.cpr or e.birth_date):
        raise RuleViolation(
            f"case {state.case_id} is pseudonymous; it holds no CPR number or birth date "
            "(open an identified case and link it)"
        )


def person_correction(state: CaseState, e: ev.PersonCorrected, d: Directory) -> None:
    if e.person_id not in state.persons:
        raise UnknownReference(f"person {e.person_id} is not part of case {state.case_id}")
    if e.role is not None and e.role not in ev.PERSON_ROLES:
        raise InvalidInput(f"a person's role is one of {', '.join(ev.PERSON_ROLES)}")
    if e.cpr is not None:
        birth_date_of(e.cpr)
    p = state.persons[e.person_id]
    check_agrees(e.cpr or p.cpr, e.birth_date or p.birth_date)


def one_coordinator(state: CaseState, e: ev.CoordinatorAssigned, d: Directory) -> None:
    """A case has one active coordinator; a second one comes only by handover or cover."""
    if e.reason not in ("intake", "handover", "cover"):
        raise InvalidInput("a coordinator is assigned for intake, handover or cover")
    d.get(e.coordinator_department)
    if state.coordinator is not None and e.reason == "intake":
        raise RuleViolation(f"case {state.case_id} already has a coordinator; assign a new one by handover or cover")
    if state.coordinator is None and e.reason != "intake":
        raise RuleViolation(f"case {state.case_id} has no coordinator to hand over from")


def team_join(state: CaseState, e: ev.TeamMemberJoined, d: Directory) -> None:
    d.get(e.member_department)
    if e.worker is None and state.is_party(e.member_department):
        raise RuleViolation(f"department {e.member_department} is already a party to the case")


def team_leave(state: CaseState, e: ev.TeamMemberLeft, d: Directory) -> None:
    if not state.is_party(e.member_department):
        # An unknown reference: a laptop that holds part of the case leaves it to the server.
        raise UnknownReference(f"department {e.member_department} is not a party to the case")
    if e.member_department == state.lead and e.worker is None:
        raise RuleViolation("the lead department cannot leave; transfer the case first")


def transfer(state: CaseState, e: ev.CaseTransferred, d: Directory) -> None:
    d.get(e.to_department)
    if e.from_department != state.lead:
        raise RuleViolation(f"the case is led by {state.lead}, not {e.from_department}")
    if e.to_department == e.from_department:
        raise RuleViolation("a case is transferred to another department")


# --- consent and legal bases ------------------------------------------------------------


def consent_rules(state: CaseState, e: ev.ConsentGiven, d: Directory) -> None:
    """Rule 2: a consent names subject, giver, recipients, categories, purpose and period;
    a child's consent comes from the custody holder (and from 15 the young person too)."""
    if e.consent_id in state.consents:
        raise RuleViolation(f"consent {e.consent_id} already exists")
    subject = state.persons.get(e.subject)
    if subject is None:
        raise UnknownReference(f"the consent's subject {e.subject} is not part of the case")
    if not e.recipients:
        raise InvalidInput("a consent names at least one receiving department")
    for r in e.recipients:
        d.get(r)
    if not e.consent_categories:
        raise InvalidInput("a consent names the categories of information it covers")
    ev.check_categories(e.consent_categories, "categories in the consent")
    purpose = " ".join(e.purpose.lower().split()).strip(" .")
    if purpose in VAGUE_PURPOSES:
        raise RuleViolation(
            "a consent must state a specific purpose; a vague consent such as 'all relevant information' is not valid"
        )
    if len(purpose) < MIN_PURPOSE:
        raise RuleViolation(
            f"a consent must state a specific purpose, in at least {MIN_PURPOSE} characters "
            "(what the information will be used for, e.g. 'joint job and housing plan')"
        )
    if (e.text or e.text_sha256) and hashlib.sha256(e.text.encode()).hexdigest() != e.text_sha256:
        raise RuleViolation("the text shown to the citizen does not match its SHA-256 in the consent")
    day = e.occurred_at.date()
    if e.valid_until < day:
        raise RuleViolation("a consent's valid-until date cannot be in the past")
    special = sorted(set(e.consent_categories) & ev.SPECIAL_CATEGORIES)
    if special and e.valid_until > _one_year_after(day):
        raise RuleViolation(
            f"consent for {' and '.join(special)} information must expire within one year of {day.isoformat()}"
        )
    givers = [state.persons.get(g) for g in e.given_by]
    if not e.given_by or any(g is None for g in givers):
        raise UnknownReference("a consent is given by persons of the case")
    age = subject.age_on(day)
    custody = any(g is not None and g.role in ev.CUSTODY_ROLES and g.person_id != e.subject for g in givers)
    own = e.subject in e.given_by
    if age is None:
        if not own and not custody:
            raise RuleViolation("a consent is given by its subject or by a custody holder")
    elif age < 15:
        if not custody:
            raise RuleViolation("consent for a child under 15 is given by a custody holder")
        if age >= 10 and not (e.child_view or "").strip():
            raise RuleViolation("a child from 10 must have their own view recorded with the consent")
    elif age < 18:
        if not (custody and own):
            raise RuleViolation("consent for a young person from 15 needs both the custody holder and the young person")
    elif not own and not any(g is not None and g.role == "guardian" for g in givers):
        raise RuleViolation("an adult gives their own consent (or a court-appointed guardian does)")


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def withdrawal(state: CaseState, e: ev.ConsentWithdrawn, d: Directory) -> None:
    """A consent is withdrawn whole, or for recipients or categories it still covers."""
    c = state.consents.get(e.consent_id)
    if c is None:
        raise UnknownReference(f"consent {e.consent_id} is not part of case {state.case_id}")
    if c.withdrawn_at is not None:
        raise RuleViolation(f"consent {e.consent_id} was already withdrawn")
    now = c.as_of(e.occurred_at)
    for what, taken, held in (
        ("recipient", e.from_recipients, now.recipients),
        ("category", e.from_categories, now.categories),
    ):
        stray = sorted(set(taken) - set(held))
        if stray:
            raise RuleViolation(
                f"consent {e.consent_id} has no {what} {', '.join(stray)} to withdraw; it covers {', '.join(held)}"
            )


def legal_basis_share(state: CaseState, e: ev.SharedOnLegalBasis, d: Directory) -> None:
    """Rule 3: sharing without consent only under a named basis, to authorities, with a
    reason; § 49 a is tied to an SSD meeting (and at most one follow-up), § 115 is never
    for investigation."""
    if e.basis not in LEGAL_BASES:
        raise RuleViolation(f"sharing without consent needs a legal basis: one of {', '.join(LEGAL_BASES)}")
    if not d.is_authority(e.department):
        raise RuleViolation(
            f"{e.department} is not a public authority: the legal bases of sharing without consent do not apply "
            "to it; it shares on consent only, and reports a child at risk with an underretning (barnets lov § 133)"
        )
    if not e.recipients:
        raise InvalidInput("a share names at least one receiving department")
    for r in e.recipients:
        if not d.get(r).authority:
            raise RuleViolation(f"{r} is not a public authority and receives information on consent alone")
    if not e.share_categories:
        raise InvalidInput("a share names the categories of information it covers")
    ev.check_categories(e.share_categories, "categories in the share")
    if not e.reason.strip():
        raise RuleViolation("a share on a legal basis must state its reason")
    if e.basis == "serviceloven-49a":
        meeting = state.meetings.get(e.meeting_id or "")
        if meeting is None or meeting.kind != "ssd":
            raise RuleViolation("a share under § 49 a is tied to an SSD meeting held in the case")
        outside = [r for r in e.recipients if r not in meeting.participants]
        if outside:
            raise RuleViolation("a share under § 49 a is visible only to the SSD meeting's participants")
        ssd_meetings_per_child(state, e)
    if e.basis == "retsplejeloven-115" and e.purpose != "prevention":
        raise RuleViolation("information shared under § 115 is for crime prevention, never for investigation")


def ssd_meetings_per_child(state: CaseState, e: ev.SharedOnLegalBasis) -> None:
    """Rule 3: § 49 a allows, for each child, the first SSD meeting and one follow-up; a
    sibling's first meeting in a family case is a first meeting. A share naming no person
    counts for every child."""
    for child in e.persons or (None,):
        meetings = {
            s.meeting_id
            for s in state.shares.values()
            if s.basis == "serviceloven-49a" and (child is None or not s.persons or child in s.persons)
        }
        if e.meeting_id not in meetings and len(meetings) >= 2:
            raise RuleViolation("§ 49 a allows the first SSD meeting and at most one follow-up meeting for each child")


def child_at_risk(state: CaseState, e: ev.ChildAtRiskReported, d: Directory) -> None:
    """Barnets lov § 133: anyone who works with children, a non-authority too, reports a
    child at risk to the municipality; the report goes to an authority that is a party to
    the case, concerns a child of the case and says what gives concern."""
    if e.report_id in state.reports:
        raise RuleViolation(f"underretning {e.report_id} already exists")
    child = state.persons.get(e.child)
    if child is None or e.child not in e.persons:
        raise UnknownReference(f"the underretning's child {e.child} is not part of the case")
    age = child.age_on(e.occurred_at.date())
    if age is not None and age >= 18:
        raise RuleViolation("an underretning (barnets lov § 133) concerns a child under 18")
    if not d.get(e.to_department).authority:
        raise RuleViolation(f"an underretning goes to a public authority; {e.to_department} is not one")
    if not state.is_party(e.to_department):
        # An unknown reference: a laptop may not hold the team's events; the server judges.
        raise UnknownReference(f"{e.to_department} is not a party to the case; a team member must add it first")
    if not e.reason.strip():
        raise RuleViolation("an underretning states what gives concern for the child")


def erasure_request(state: CaseState, e: ev.ErasureRequested, d: Directory) -> None:
    if e.request_id in state.erasure_requests:
        raise RuleViolation(f"erasure request {e.request_id} already exists")


def erasure_decision(state: CaseState, e: ev.ErasureDecided, d: Directory) -> None:
    """Rule 10: every erasure request gets one decision, with its legal basis; only the
    department that owns the case grants it (`erasure_grantor`)."""
    req = state.erasure_requests.get(e.request_id)
    if req is None:
        raise UnknownReference(f"erasure request {e.request_id} is not part of the case")
    if req[1] is not None:
        raise RuleViolation(f"erasure request {e.request_id} was already decided")
    if not e.legal_basis.strip():
        raise RuleViolation("an erasure decision states its legal basis")
    erasure_grantor(state, e)


def erasure_grantor(state: CaseState, e: ev.ErasureDecided) -> None:
    """Rule 10: an erasure is granted only by a caseworker or coordinator of the case's
    lead department (the department that owns the case when the decision is recorded).

    A refusal keeps the case as it is, so any party may record one; a grant destroys the
    case for every department, so an outreach worker or a team member's department may
    not. `core.retention.erase` asks the same question of every granted decision again
    before it erases.
    """
    if not e.granted:
        return
    if e.header.role not in DECIDING_ROLES or e.department != state.lead:
        raise RuleViolation(
            f"only a caseworker or coordinator of the lead department ({state.lead}) may grant an erasure; "
            f"a worker with role {e.header.role} in {e.department} may not"
        )


# --- the work ---------------------------------------------------------------------------


def contact_details(state: CaseState, e: ev.ContactRecorded, d: Directory) -> None:
    """A contact is of a known kind; its challenges are names of the configured list
    (the laptop turns a typed label into its name), never free text."""
    if e.kind not in ev.CONTACT_KINDS:
        raise InvalidInput(f"a contact is one of {', '.join(ev.CONTACT_KINDS)}")
    if not all(isinstance(c, str) and VOCABULARY_NAME.fullmatch(c) for c in e.challenges):
        raise InvalidInput("a contact's challenges are names of the challenge categories, not free text")


def tally(state: CaseState, e: ev.ContactsTallied, d: Directory) -> None:
    """An anonymous tally counts contacts of one past or present day, per challenge (a name
    of the configured list; the laptop turns a typed label into its name), in a case of
    kind `tally`, and names nobody."""
    if state.kind != "tally":
        raise RuleViolation(f"case {state.case_id} is not a tally case; anonymous tallies go in a case of kind tally")
    if e.persons:
        raise RuleViolation("an anonymous tally names no person")
    if e.kind not in ev.CONTACT_KINDS:
        raise InvalidInput(f"a contact is one of {', '.join(ev.CONTACT_KINDS)}")
    if not e.counts:
        raise InvalidInput("a tally counts the contacts of at least one challenge")
    if not all(isinstance(c, str) and VOCABULARY_NAME.fullmatch(c) for c in e.counts):
        raise InvalidInput("a tally's challenges are names of the challenge categories, not free text")
    if any(type(n) is not int or not 1 <= n <= MAX_TALLY for n in e.counts.values()):
        raise InvalidInput(f"a tally's count is a whole number from 1 to {MAX_TALLY}")
    if e.day > e.occurred_at.date():
        raise InvalidInput("a tally counts the contacts of a day that has begun, not a later one")


def case_link(state: CaseState, e: ev.CaseLinked, d: Directory) -> None:
    """A pseudonymous history is linked to an identified case under a consent of that
    case whose subject is the person linked and which is in force when linking.

    Whether the linked case is pseudonymous, and whether the linking department is a
    party to it, is judged where both cases are known: when a linked history is read
    (`core.linked`)."""
    if state.kind not in ("citizen", "family"):
        raise RuleViolation("a pseudonymous history is linked to an identified (citizen or family) case")
    if e.linked_case == state.case_id:
        raise RuleViolation("a case cannot be linked to itself")
    if any(link.linked_case == e.linked_case for link in state.links.values()):
        raise RuleViolation(f"case {e.linked_case} is already linked to case {state.case_id}")
    if e.person_id not in state.persons:
        raise UnknownReference(f"person {e.person_id} is not part of case {state.case_id}")
    consent = state.consents.get(e.consent_id)
    if consent is None:
        raise UnknownReference(f"consent {e.consent_id} is not part of case {state.case_id}")
    if consent.subject != e.person_id or not consent.active_at(e.occurred_at):
        raise RuleViolation("a link needs a consent in force whose subject is the person linked")


def meeting_details(state: CaseState, e: ev.MeetingHeld, d: Directory) -> None:
    """A meeting of a known kind, with departments of the directory, persons of the case
    present, and items of the checklist."""
    if e.kind not in ev.MEETING_KINDS:
        raise InvalidInput(f"a meeting is one of {', '.join(ev.MEETING_KINDS)}")
    for p in e.participants:
        d.get(p)
    for p in e.present:
        if p not in state.persons:
            raise UnknownReference(f"person {p} is not part of case {state.case_id}")
    unknown = sorted(set(e.checklist) - set(ev.MEETING_CHECKLIST))
    if unknown:
        raise InvalidInput(f"a meeting's checklist has the items {', '.join(ev.MEETING_CHECKLIST)}")
    if not all(x.strip() for x in (*e.companions, *e.experts)):
        raise InvalidInput("a companion or an expert taking part is named")


def goal_added(state: CaseState, e: ev.GoalAdded, d: Directory) -> None:
    if e.goal_id in state.goals:
        raise RuleViolation(f"goal {e.goal_id} already exists")
    d.get(e.owner)
    if not e.text.strip():
        raise InvalidInput("a goal needs a text")
    if e.parent_goal is not None and e.parent_goal not in state.goals:
        raise UnknownReference(f"goal {e.parent_goal} is not part of case {state.case_id}")
    if e.phase not in ("", AFTERCARE):
        raise InvalidInput(f"a goal's phase is {AFTERCARE} or none")
    if e.phase == AFTERCARE and not any(p in state.aftercare for p in e.persons):
        raise RuleViolation("a goal of the aftercare plan concerns a young person whose aftercare has started")


def _open_goal(state: CaseState, goal_id: str) -> None:
    g = state.goals.get(goal_id)
    if g is None:
        raise UnknownReference(f"goal {goal_id} is not part of case {state.case_id}")
    if g.closed:
        raise RuleViolation(f"goal {goal_id} is closed")


def goal_revised(state: CaseState, e: ev.GoalRevised, d: Directory) -> None:
    _open_goal(state, e.goal_id)
    if not e.text.strip():
        raise InvalidInput("a goal revision needs a text")
    if e.base_revision < 1 or e.base_revision > state.goals[e.goal_id].revision:
        raise RuleViolation(f"goal {e.goal_id} has no revision {e.base_revision}")


def goal_closed(state: CaseState, e: ev.GoalClosed, d: Directory) -> None:
    _open_goal(state, e.goal_id)


def progress_score(state: CaseState, e: ev.ProgressRecorded, d: Directory) -> None:
    _open_goal(state, e.goal_id)
    if not (isinstance(e.score, int) and 1 <= e.score <= 5):
        raise InvalidInput("progress is measured in small steps from 1 to 5")


def activity_added(state: CaseState, e: ev.ActivityAdded, d: Directory) -> None:
    if e.activity_id in state.activities:
        raise RuleViolation(f"activity {e.activity_id} already exists")
    if e.goal_id not in state.goals:
        raise UnknownReference(f"goal {e.goal_id} is not part of case {state.case_id}")
    d.get(e.activity_department)


def analysis_gate(state: CaseState, e: ev.ActivityStarted, d: Directory) -> None:
    """Rule 6: in the disability model (a disability-model department's measure, or any
    measure in a case such a department leads) no measure starts, by its start date,
    before the cross-disciplinary analysis meeting has been held."""
    a = state.activities.get(e.activity_id)
    if a is None:
        raise UnknownReference(f"activity {e.activity_id} is not part of case {state.case_id}")
    if a.started:
        raise RuleViolation(f"activity {e.activity_id} has already started")
    gated = d.get(a.department).disability_model or (state.lead is not None and d.get(state.lead).disability_model)
    if not gated:
        return
    start = e.on or e.occurred_at.date()
    if not any(m.kind == "analysis" and m.held_at.date() <= start for m in state.meetings.values()):
        raise RuleViolation(
            "in the disability model no measure may start before the cross-disciplinary analysis meeting has been "
            f"held; none was held on or before {start.isoformat()}"
        )


def activity_ended(state: CaseState, e: ev.ActivityEnded, d: Directory) -> None:
    a = state.activities.get(e.activity_id)
    if a is None:
        raise UnknownReference(f"activity {e.activity_id} is not part of case {state.case_id}")
    if not a.started or a.ended:
        raise RuleViolation(f"activity {e.activity_id} is not running")


def referral_made(state: CaseState, e: ev.ReferralMade, d: Directory) -> None:
    d.get(e.from_department)
    d.get(e.to_department)
    if not e.reason.strip():
        raise InvalidInput("a referral states its reason")


def referral_outcome(state: CaseState, e: ev.ReferralOutcome, d: Directory) -> None:
    if e.referral_id not in state.referrals:
        raise UnknownReference(f"referral {e.referral_id} is not part of case {state.case_id}")


def decision_competence(state: CaseState, e: ev.DecisionMade, d: Directory) -> None:
    """Rule 5: only a caseworker of the department that owns the legal area decides in it,
    stating the legal rules, the considerations and the recorded facts relied on."""
    owner, area = d.owner_of(e.legal_basis)
    if owner != e.department:
        raise RuleViolation(f"a decision under {area} belongs to {owner}; {e.department} may not record it")
    if e.legal_area != area:
        raise RuleViolation(f"the decision's legal area must be {area}")
    if e.header.role not in DECIDING_ROLES:
        raise RuleViolation("only a caseworker (or the coordinator) records a decision")
    if e.kind not in ev.DECISION_KINDS:
        raise InvalidInput(f"a decision is one of {', '.join(ev.DECISION_KINDS)}")
    if not e.considerations.strip():
        raise RuleViolation("a decision states its main considerations (duty to give reasons)")
    if not e.explanation.strip():
        raise RuleViolation("a decision carries a plain-language explanation")
    if not e.facts:
        raise RuleViolation("a decision names the recorded facts it rests on")
    for f in e.facts:
        if f not in state.event_ids:
            raise UnknownReference(f"the fact {f} is not an earlier event of case {state.case_id}")


def financing(state: CaseState, e: ev.FinancingAgreed, d: Directory) -> None:
    if e.activity_id not in state.activities:
        raise UnknownReference(f"activity {e.activity_id} is not part of case {state.case_id}")
    for dept, pct in e.shares.items():
        d.get(dept)
        if not isinstance(pct, int) or isinstance(pct, bool) or not 1 <= pct <= 100:
            raise InvalidInput("each department's share of a financing split is a whole percentage from 1 to 100")
    if sum(e.shares.values()) != 100:
        raise RuleViolation("the shares of a financing split add up to 100 %")
    for dept in e.shares:
        if not state.is_party(dept):
            # An unknown reference: a laptop may not hold the team's events; the server judges.
            raise UnknownReference(f"{dept} is not a party to the case and cannot take a share of its financing")
    for dept in (e.granted_by, e.paid_by):
        if dept:
            d.get(dept)


def conflict_resolution(state: CaseState, e: ev.ConflictResolved, d: Directory) -> None:
    """The coordinator resolves a flagged conflict (the lead department while there is none)."""
    if e.conflict_id not in state.conflicts:
        raise UnknownReference(f"conflict {e.conflict_id} is not part of case {state.case_id}")
    if state.conflicts[e.conflict_id]:
        raise RuleViolation(f"conflict {e.conflict_id} was already resolved")
    _coordinator_settles(state, e, "conflict", e.resolution)


def coordinates(state: CaseState, worker: str, department: str) -> bool:
    """Whether `worker` of `department` acts for the case as its coordinator: they are its
    coordinator, or it has none and `department` leads it."""
    if state.coordinator is not None:
        return worker == state.coordinator[0]
    return department == state.lead


def _coordinator_settles(state: CaseState, e: ev.CaseEvent, what: str, resolution: str) -> None:
    if not coordinates(state, e.header.author, e.department):
        if state.coordinator is not None:
            raise RuleViolation(f"only the case's coordinator resolves a flagged {what}")
        raise RuleViolation(f"with no coordinator assigned, the lead department resolves a flagged {what}")
    if not resolution.strip():
        raise InvalidInput(f"a {what} resolution says how the {what} was resolved")


def clash_flag(state: CaseState, e: ev.ClashFlagged, d: Directory) -> None:
    """Any party flags two goals, activities or decisions of the case as working against
    each other, and says why."""
    if e.clash_id in state.clashes:
        raise RuleViolation(f"clash {e.clash_id} already exists")
    if len(e.items) != 2 or e.items[0] == e.items[1]:
        raise InvalidInput("a clash names two different goals, activities or decisions")
    for item in e.items:
        if item not in state.goals and item not in state.activities and item not in state.decisions:
            raise UnknownReference(f"{item} is no goal, activity or decision of case {state.case_id}")
    if not e.reason.strip():
        raise InvalidInput("a clash says why the two work against each other")


def clash_resolution(state: CaseState, e: ev.ClashResolved, d: Directory) -> None:
    """The coordinator resolves a clash (the lead department while there is none)."""
    c = state.clashes.get(e.clash_id)
    if c is None:
        raise UnknownReference(f"clash {e.clash_id} is not part of case {state.case_id}")
    if c.resolved:
        raise RuleViolation(f"clash {e.clash_id} was already resolved")
    _coordinator_settles(state, e, "clash", e.resolution)


def aftercare_start(state: CaseState, e: ev.AftercareStarted, d: Directory) -> None:
    """Aftercare is for a young person of the case from 18, until 23 at the latest."""
    person = state.persons.get(e.person)
    if person is None:
        raise UnknownReference(f"person {e.person} is not part of case {state.case_id}")
    if e.person in state.aftercare:
        raise RuleViolation("the young person's aftercare has already started")
    age = person.age_on(e.occurred_at.date())
    if age is None:
        raise RuleViolation("aftercare needs the young person's birth date")
    if age < 18:
        raise RuleViolation("aftercare starts when the young person has turned 18")
    if e.until <= e.occurred_at.date() or (person.age_on(e.until) or 0) >= 23:
        raise InvalidInput("aftercare ends after it starts and before the young person turns 23")


def server_only(state: CaseState, e: ev.CaseEvent, d: Directory) -> None:
    if e.header.role != "server":
        raise RuleViolation(f"{e.header.topic} is recorded by the server only")


_RULES: dict[type, Callable[..., None]] = {
    ev.CaseOpened: case_opening,
    ev.PersonAdded: person_details,
    ev.PersonCorrected: person_correction,
    ev.CoordinatorAssigned: one_coordinator,
    ev.TeamMemberJoined: team_join,
    ev.TeamMemberLeft: team_leave,
    ev.CaseTransferred: transfer,
    ev.ConsentGiven: consent_rules,
    ev.ConsentWithdrawn: withdrawal,
    ev.SharedOnLegalBasis: legal_basis_share,
    ev.ChildAtRiskReported: child_at_risk,
    ev.ErasureRequested: erasure_request,
    ev.ErasureDecided: erasure_decision,
    ev.ContactRecorded: contact_details,
    ev.MeetingHeld: meeting_details,
    ev.ContactsTallied: tally,
    ev.CaseLinked: case_link,
    ev.GoalAdded: goal_added,
    ev.GoalRevised: goal_revised,
    ev.GoalClosed: goal_closed,
    ev.ProgressRecorded: progress_score,
    ev.ActivityAdded: activity_added,
    ev.ActivityStarted: analysis_gate,
    ev.ActivityEnded: activity_ended,
    ev.ReferralMade: referral_made,
    ev.ReferralOutcome: referral_outcome,
    ev.DecisionMade: decision_competence,
    ev.FinancingAgreed: financing,
    ev.ConflictFlagged: server_only,
    ev.ConflictResolved: conflict_resolution,
    ev.ClashFlagged: clash_flag,
    ev.ClashResolved: clash_resolution,
    ev.AftercareStarted: aftercare_start,
    ev.CaseErased: server_only,
}


CLASHING: tuple[type[ev.CaseEvent], ...] = (ev.GoalRevised, ev.DecisionMade)
"""The event types that can clash with what happened meanwhile (`clash`); others commute."""


def clash(seen: CaseState, now: CaseState, e: ev.CaseEvent) -> str | None:
    """The rule under which `e`, recorded having seen `seen`, clashes with what happened
    meanwhile (`now`), or None when it commutes. Clashing events are kept and flagged.

    Whether `e` breaks a rule against `now` at all is `check`'s question; the caller asks
    it once (see `server.syncing.push`).
    """
    if not isinstance(e, CLASHING):
        return None
    if isinstance(e, ev.GoalRevised):
        g = now.goals.get(e.goal_id)
        if g is not None and g.revision != e.base_revision:
            return "concurrent revisions of the same goal from the same base"
    if isinstance(e, ev.DecisionMade):
        withdrawn = [
            c.consent_id
            for c in now.consents.values()
            if c.withdrawn_at is not None
            and (seen.consents.get(c.consent_id) is None or seen.consents[c.consent_id].withdrawn_at is None)
        ]
        if withdrawn:
            return "a decision recorded against a consent withdrawn meanwhile"
    return None
