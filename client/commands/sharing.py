"""What crosses between departments, and the citizen's say over the file: `consent`,
`share` (on a legal basis, without consent), `underretning` (a child at risk) and `erasure`
commands."""

from __future__ import annotations

import argparse
import hashlib
from datetime import date

from client.commands.common import Parsers, category_names, first_event, record, record_seen, split
from client.laptop import CaseView
from core import events as ev
from core.errors import UnknownReference
from core.rules import LEGAL_BASES


def register(p: Parsers) -> None:
    consent = p.group("consent", "consents given and withdrawn")
    a = p.on_case(consent, "give", cmd_consent_give, "record a consent (prints the consent id)")
    a.add_argument("--subject", required=True, metavar="PERSON")
    a.add_argument("--given-by", required=True, metavar="PERSON[,PERSON...]")
    a.add_argument("--to", required=True, metavar="DEPT[,DEPT...]")
    a.add_argument("--categories", required=True, metavar="CAT[,CAT...]")
    a.add_argument("--purpose", required=True)
    a.add_argument("--until", required=True, metavar="YYYY-MM-DD")
    a.add_argument("--child-view", help="the child's own view (required from 10)")
    a.add_argument("--text", default="", help="the words shown to the citizen (kept with their SHA-256)")
    a = p.on_case(consent, "withdraw", cmd_consent_withdraw, "withdraw a consent")
    a.add_argument("consent", metavar="CONSENT_ID")
    a.add_argument("--reason", default="")
    a.add_argument("--recipient", metavar="DEPT[,DEPT...]", help="withdraw it for these recipients only")
    a.add_argument("--category", metavar="CAT[,CAT...]", help="withdraw it for these categories only")

    a = p.single(
        "share",
        "sharing without consent, on a legal basis",
        "record",
        cmd_share,
        "record a share on a legal basis (prints the share id); it shows in the auditor's exceptions report",
    )
    a.add_argument("--basis", required=True, choices=tuple(LEGAL_BASES))
    a.add_argument("--to", required=True, metavar="DEPT[,DEPT...]", help="receiving authorities")
    a.add_argument("--categories", required=True, metavar="CAT[,CAT...]")
    a.add_argument("--reason", required=True)
    a.add_argument("--meeting", metavar="MEETING_ID", help="the SSD meeting (required under § 49 a)")
    a.add_argument("--purpose", default="prevention", choices=("prevention", "investigation"))
    a.add_argument("--person", metavar="PERSON[,PERSON...]", help="the persons it concerns")

    a = p.single(
        "underretning",
        "the duty to notify the municipality of a child at risk (barnets lov § 133)",
        "record",
        cmd_underretning,
        "record an underretning about a child at risk (prints its id); any worker, a non-authority's too; "
        "it shows in the auditor's exceptions report",
    )
    a.add_argument("--child", required=True, metavar="PERSON")
    a.add_argument("--to", required=True, metavar="DEPT", help="the receiving authority, a party to the case")
    a.add_argument("--reason", required=True, help="what gives concern for the child")

    erasure = p.group("erasure", "requests for erasure and their decisions")
    a = p.on_case(erasure, "request", cmd_erasure_request, "record a request for erasure (prints the request id)")
    a.add_argument("--requested-by", required=True, metavar="PERSON")
    a.add_argument("--reason", default="")
    a = p.on_case(erasure, "decide", cmd_erasure_decide, "grant or refuse a request for erasure, with its legal basis")
    a.add_argument("request", metavar="REQUEST")
    outcome = a.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--grant", action="store_true", help="the case key is destroyed after an archive export")
    outcome.add_argument("--refuse", action="store_true")
    a.add_argument("--legal-basis", required=True, help='e.g. "arkivloven § 5"')
    a.add_argument("--reason", default="")


def consent_given(
    subject: str,
    given_by: tuple[str, ...],
    recipients: tuple[str, ...],
    categories: tuple[str, ...],
    purpose: str,
    valid_until: date,
    child_view: str | None = None,
    text: str = "",
) -> ev.Payload[ev.ConsentGiven]:
    """A consent of `subject`, its categories named or labelled (`consent give` and the
    app); `text`, the words shown to the citizen, is kept with its SHA-256."""
    return ev.payload(
        ev.ConsentGiven,
        consent_id=ev.new_id(),
        subject=subject,
        given_by=given_by,
        recipients=recipients,
        consent_categories=category_names(",".join(categories)),
        purpose=purpose,
        valid_until=valid_until,
        child_view=child_view,
        text=text,
        text_sha256=hashlib.sha256(text.encode()).hexdigest() if text else "",
        persons=(subject,),
    )


def consent_withdrawn(
    view: CaseView,
    consent_id: str,
    reason: str = "",
    recipients: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> ev.Payload[ev.ConsentWithdrawn]:
    """A consent withdrawn, whole or for some recipients or categories (`consent
    withdraw` and the app), about the consent's subject."""
    consent = view.state.consents.get(consent_id)
    return ev.payload(
        ev.ConsentWithdrawn,
        consent_id=consent_id,
        reason=reason,
        from_recipients=recipients,
        from_categories=category_names(",".join(categories)),
        persons=(consent.subject,) if consent else (),
    )


def cmd_consent_give(args: argparse.Namespace) -> None:
    given = consent_given(
        args.subject,
        split(args.given_by),
        split(args.to),
        split(args.categories),
        args.purpose,
        ev.parse_date(args.until, "--until"),
        args.child_view,
        args.text,
    )
    record(args, given, consent=given.fields["consent_id"])


def cmd_consent_withdraw(args: argparse.Namespace) -> None:
    def withdrawn(view: CaseView) -> ev.Payload[ev.ConsentWithdrawn]:
        return consent_withdrawn(view, args.consent, args.reason, split(args.recipient), split(args.category))

    record_seen(args, withdrawn, consent=args.consent)


def cmd_share(args: argparse.Namespace) -> None:
    share_id = ev.new_id()
    shared = ev.payload(
        ev.SharedOnLegalBasis,
        share_id=share_id,
        basis=args.basis,
        recipients=split(args.to),
        share_categories=category_names(args.categories),
        reason=args.reason,
        meeting_id=args.meeting,
        purpose=args.purpose,
        persons=split(args.person),
    )
    record(args, shared, share=share_id)


def cmd_underretning(args: argparse.Namespace) -> None:
    report_id = ev.new_id()
    reported = ev.payload(
        ev.ChildAtRiskReported,
        report_id=report_id,
        child=args.child,
        to_department=args.to,
        reason=args.reason,
        persons=(args.child,),
    )
    record(args, reported, underretning=report_id)


def cmd_erasure_request(args: argparse.Namespace) -> None:
    request_id = ev.new_id()
    requested = ev.payload(
        ev.ErasureRequested,
        request_id=request_id,
        requested_by=args.requested_by,
        reason=args.reason,
        persons=(args.requested_by,),
    )
    record(args, requested, request=request_id)


def cmd_erasure_decide(args: argparse.Namespace) -> None:
    def decided(view: CaseView) -> ev.Payload[ev.ErasureDecided]:
        request = first_event(view, ev.ErasureRequested, request_id=args.request)
        if request is None:
            raise UnknownReference(f"erasure request {args.request} is not part of case {args.case}")
        return ev.payload(
            ev.ErasureDecided,
            request_id=args.request,
            granted=args.grant,
            legal_basis=args.legal_basis,
            reason=args.reason,
            persons=request.persons,
        )

    record_seen(args, decided, request=args.request)
