"""Anonymous first, identified later: `tally record` and `case link`.

A drop-in centre counts the contacts of people who never register (`tally record`, in a
case of kind `tally`), and records the contacts of a person it knows by a pseudonym in a
case of kind `pseudonymous`. When that person chooses to be identified and consents,
`case link` records, in the identified case, which pseudonymous history is theirs and
under which consent the departments it names may see it (`core.linked`).
"""

from __future__ import annotations

import argparse
from datetime import date
from types import MappingProxyType

from client.commands.common import Parsers, open_laptop, record, recorded, split
from client.laptop import Laptop
from core import events as ev
from core import vocabularies
from core.errors import InvalidInput, UnknownReference
from core.vocabularies import Vocabularies

MAX_COUNTS = 20  # challenges in one tally


def register(p: Parsers, case: object) -> None:
    a = p.single(
        "tally",
        "anonymous tallies of contacts at a centre",
        "record",
        cmd_tally,
        "count a day's anonymous contacts per challenge in a tally case (no person is named)",
    )
    a.add_argument("--day", required=True, metavar="YYYY-MM-DD", help="the day the contacts were had")
    a.add_argument(
        "--count",
        required=True,
        action="append",
        metavar="CHALLENGE=N",
        help="contacts with one challenge of the municipality's list (its name or Danish or English label, "
        "e.g. finances=3 or økonomi=3); repeat for each challenge",
    )
    a.add_argument("--kind", default="drop-in", choices=ev.CONTACT_KINDS)

    a = p.on_case(
        case,
        "link",
        cmd_case_link,
        "link a pseudonymous case's history to this identified case, under the person's consent",
    )
    a.add_argument("--pseudonymous", required=True, metavar="CASE", help="the pseudonymous case")
    a.add_argument("--person", required=True, metavar="PERSON", help="the person in this case")
    a.add_argument("--consent", required=True, metavar="CONSENT", help="the person's consent in this case")
    a.add_argument(
        "--pseudonymous-person",
        metavar="PERSON",
        help="the person in the pseudonymous case (default: its one person, when this laptop holds it)",
    )


def counts(given: list[str], words: Vocabularies = vocabularies.DEFAULT) -> dict[str, int]:
    """CHALLENGE=N pairs as a map from the challenge's name in the municipality's list
    (a label given is turned into its name); InvalidInput for a malformed, unknown or
    repeated one."""
    out: dict[str, int] = {}
    if len(given) > MAX_COUNTS:
        raise InvalidInput(f"a tally counts at most {MAX_COUNTS} challenges")
    for item in given:
        word, sep, number = item.rpartition("=")
        if not sep or not number.strip().isdigit():
            raise InvalidInput("a count is written CHALLENGE=N, e.g. finances=3")
        name = words.name_of(vocabularies.CHALLENGES, word)
        if name in out:
            raise InvalidInput(f"challenge {name!r} is counted twice")
        out[name] = int(number)
    return out


def tallied(
    day: date, given: list[str], words: Vocabularies = vocabularies.DEFAULT, kind: str = "drop-in"
) -> ev.Payload[ev.ContactsTallied]:
    """A day's anonymous contacts, CHALLENGE=N each (`tally record` and the app)."""
    return ev.payload(ev.ContactsTallied, day=day, counts=MappingProxyType(counts(given, words)), kind=kind)


def cmd_tally(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        e = laptop.record(
            args.case, tallied(ev.parse_date(args.day, "--day"), args.count, laptop.vocabularies, args.kind)
        )
    recorded(args, e)


def pseudonymous_person(laptop: Laptop, case_id: str) -> str:
    """The one person of a pseudonymous case this laptop holds; UnknownReference else."""
    if case_id not in laptop.store.held_cases():
        raise UnknownReference(f"case {case_id} is not on this laptop; name its person with --pseudonymous-person")
    persons = list(laptop.view(case_id).state.persons)
    if len(persons) != 1:
        raise UnknownReference(f"case {case_id} has no one person; name it with --pseudonymous-person")
    return persons[0]


def cmd_case_link(args: argparse.Namespace) -> None:
    if not split(args.pseudonymous) or args.pseudonymous == args.case:
        raise InvalidInput("--pseudonymous names another case")
    linked_person = args.pseudonymous_person
    if not linked_person:
        with open_laptop(args, reading=True) as laptop:
            linked_person = pseudonymous_person(laptop, args.pseudonymous)
    link_id = ev.new_id()
    linked = ev.payload(
        ev.CaseLinked,
        link_id=link_id,
        linked_case=args.pseudonymous,
        linked_person=linked_person,
        person_id=args.person,
        consent_id=args.consent,
        persons=(args.person,),
    )
    record(args, linked, link=link_id)
