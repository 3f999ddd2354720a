"""Departments, whether they are public authorities, and the delegation plan.

The delegation plan (*kompetenceplan*) says which department owns which legal area; only
that department may record decisions in it (rule 5). A legal basis such as
"serviceloven § 52" is matched against the plan's prefixes, longest first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from core.errors import InvalidInput, RuleViolation
from core.records import Record, field

_ID = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


class Department(Record, kw_only=False):
    """A department that can be a party to cases. Non-authorities see only what consent covers."""

    id: str
    name: str
    authority: bool = True
    legal_areas: tuple[str, ...] = ()
    disability_model: bool = False


def check_department_id(department_id: str) -> str:
    """Return the id if it is a well-formed department id, else raise InvalidInput."""
    if not isinstance(department_id, str) or not _ID.match(department_id):
        raise InvalidInput("a department id is 2 to 40 lower-case letters, digits, '-' or '_', starting with a letter")
    return department_id


DEFAULT_DEPARTMENTS: tuple[Department, ...] = (
    # The delegation plan in force (barnets lov since 1 January 2024): a default that each
    # municipality edits (`tovholder admin plan set`). "One family, one entrance": the
    # disability department decides the extra costs (§ 86) and lost earnings (§ 87) of a
    # child with a disability; a municipality without that model moves those two areas.
    Department(
        "jobcenter",
        "Jobcenter",
        legal_areas=("beskæftigelsesindsatsloven", "lov om en aktiv beskæftigelsesindsats", "lab", "integrationsloven"),
    ),
    Department(
        "benefits",
        "Ydelse",
        legal_areas=("aktivloven", "lov om aktiv socialpolitik", "kontanthjælp"),
    ),
    Department("children-family", "Børn og Familie", legal_areas=("barnets lov",)),
    Department(
        "children-disability",
        "Børn med handicap",
        legal_areas=("barnets lov § 86", "barnets lov § 87"),
        disability_model=True,
    ),
    Department("adult-social", "Voksen: Handicap & Psykiatri", legal_areas=("serviceloven",), disability_model=True),
    Department(
        "addiction",
        "Rusmiddelcenter",
        legal_areas=("serviceloven § 101", "serviceloven § 101 a", "sundhedsloven § 141", "sundhedsloven § 142"),
    ),
    Department("health", "Sundhed", legal_areas=("sundhedsloven",)),
    Department("school", "Skole / PPR", legal_areas=("folkeskoleloven",)),
    Department("youth-guidance", "Ungdommens Uddannelsesvejledning (UU)", legal_areas=("vejledningsloven",)),
    Department("housing-social", "Boligsocial indsats", authority=False),
    Department("drop-in", "Værested", authority=False),
)


def normal_area(area: str) -> str:
    """A legal area as the plan compares it: lower case, one space around each §."""
    return " ".join(area.lower().replace("§", " § ").split())


def check_legal_areas(areas: Iterable[str]) -> tuple[str, ...]:
    """The legal areas, trimmed, once each; InvalidInput for one that is not a short text."""
    found: dict[str, str] = {}
    for area in areas:
        if not isinstance(area, str) or not area.strip() or len(area) > 120:
            raise InvalidInput("a legal area is a text of 1 to 120 characters, e.g. 'barnets lov § 86'")
        found.setdefault(normal_area(area), " ".join(area.split()))
    return tuple(found.values())


class Directory(Record, kw_only=False):
    """The municipality's departments and its delegation plan, as rules consult them."""

    departments: Mapping[str, Department] = field(default_factory=dict)

    @classmethod
    def of(cls, departments: Iterable[Department]) -> Directory:
        return cls({d.id: d for d in departments})

    @classmethod
    def default(cls) -> Directory:
        return cls.of(DEFAULT_DEPARTMENTS)

    def __contains__(self, department_id: object) -> bool:
        return department_id in self.departments

    def id_of(self, word: str) -> str:
        """The id of the department `word` names by its id or its name, in any case and
        spacing (`børn og familie` is `children-family`); the word itself when it names
        none, for the rules to refuse as an unknown department."""
        wanted = " ".join(word.split()).casefold()
        for dept in self.departments.values():
            if wanted in (dept.id.casefold(), " ".join(dept.name.split()).casefold()):
                return dept.id
        return word

    def get(self, department_id: str) -> Department:
        """The department, or RuleViolation when it is not one of the municipality's."""
        try:
            return self.departments[department_id]
        except KeyError:
            raise RuleViolation(f"unknown department {department_id!r}") from None

    def is_authority(self, department_id: str) -> bool:
        dept = self.departments.get(department_id)
        return dept.authority if dept else False

    def with_department(self, dept: Department) -> Directory:
        """The directory with `dept` added or replaced; InvalidInput when a legal area of
        it is already another department's (the plan gives each area one owner)."""
        areas = {normal_area(a) for a in dept.legal_areas}
        for other in self.departments.values():
            taken = sorted(a for a in other.legal_areas if other.id != dept.id and normal_area(a) in areas)
            if taken:
                raise InvalidInput(
                    f"the legal area {taken[0]!r} belongs to {other.id} in the delegation plan; "
                    "take it from there first"
                )
        return Directory({**self.departments, dept.id: dept})

    def owner_of(self, legal_basis: str) -> tuple[str, str]:
        """(department id, legal area) that owns a legal basis under the delegation plan."""
        text = normal_area(legal_basis)
        best: tuple[int, str, str] | None = None
        for dept in self.departments.values():
            for area in dept.legal_areas:
                norm = normal_area(area)
                if (
                    text == norm
                    or text.startswith(norm + " ")
                    or text.startswith(norm + ",")
                    or (text.startswith(norm) and not norm[-1].isdigit())
                ) and (best is None or len(norm) > best[0]):
                    best = (len(norm), dept.id, area)
        if best is None:
            raise RuleViolation(
                f"the legal basis {legal_basis!r} is not in the delegation plan; no department may decide under it"
            )
        return best[1], best[2]


PLAN_FILE = "delegation-plan.json"
"""The file in a server's data folder that `server init` writes the plan it starts from to."""


def plan_text(departments: Iterable[Department]) -> str:
    """The delegation plan as the file holds it: JSON, one entry per department."""
    rows = [d.as_dict() | {"legal_areas": list(d.legal_areas)} for d in departments]
    return json.dumps({"delegation_plan": rows}, ensure_ascii=False, indent=2) + "\n"


def plan_from_text(text: str) -> tuple[Department, ...]:
    """The departments of a plan file; InvalidInput naming what is wrong with it."""
    try:
        rows = json.loads(text)["delegation_plan"]
        if not isinstance(rows, list):
            raise TypeError
        found = tuple(_department_of(r) for r in rows)
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            'a delegation plan file is JSON: {"delegation_plan": [{"id", "name", "authority", '
            '"legal_areas", "disability_model"}, ...]}'
        ) from None
    directory = Directory()
    for dept in found:
        if dept.id in directory:
            raise InvalidInput(f"the delegation plan names department {dept.id} twice")
        directory = directory.with_department(dept)
    return found


def _department_of(row: Any) -> Department:
    if (
        not isinstance(row, dict)
        or not isinstance(row["name"], str)
        or not isinstance(row.get("legal_areas", []), list)
    ):
        raise TypeError
    return Department(
        check_department_id(row["id"]),
        row["name"],
        bool(row.get("authority", True)),
        check_legal_areas(row.get("legal_areas", [])),
        bool(row.get("disability_model", False)),
    )
