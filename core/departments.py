"""Departments, whether they are public authorities, and the delegation plan.

The delegation plan (*kompetenceplan*) says which department owns which legal area; only
that department may record decisions in it (rule 5). A legal basis such as
"serviceloven § 52" is matched against the plan's prefixes, longest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

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
    Department("jobcenter", "Jobcenter", legal_areas=("lab", "beskæftigelsesloven")),
    Department("benefits", "Ydelse (benefits)", legal_areas=("aktivloven", "kontanthjælp")),
    Department(
        "children-family",
        "Børn & Familie",
        legal_areas=("barnets lov", "serviceloven § 52", "serviceloven § 11", "serviceloven § 50"),
    ),
    Department(
        "children-disability",
        "Børn med handicap",
        legal_areas=("serviceloven § 41", "serviceloven § 42", "serviceloven § 44"),
        disability_model=True,
    ),
    Department(
        "adult-social",
        "Voksen: Handicap & Psykiatri",
        legal_areas=("serviceloven § 85", "serviceloven § 107", "serviceloven § 108"),
        disability_model=True,
    ),
    Department("addiction", "Rusmiddelcenter", legal_areas=("serviceloven § 101", "sundhedsloven § 141")),
    Department("health", "Sundhed", legal_areas=("sundhedsloven",)),
    Department("school", "Skole / PPR", legal_areas=("folkeskoleloven",)),
    Department("youth-guidance", "Ungdommens Uddannelsesvejledning (UU)", legal_areas=("vejledningsloven",)),
    Department("housing-social", "Boligsocial indsats", authority=False),
    Department("drop-in", "Værested", authority=False),
)


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

    def get(self, department_id: str) -> Department:
        """The department, or RuleViolation when it is not one of the municipality's."""
        try:
            return self.departments[department_id]
        except KeyError:
            raise RuleViolation(f"unknown department {department_id!r}") from None

    def is_authority(self, department_id: str) -> bool:
        dept = self.departments.get(department_id)
        return dept.authority if dept else False

    def owner_of(self, legal_basis: str) -> tuple[str, str]:
        """(department id, legal area) that owns a legal basis under the delegation plan."""
        text = " ".join(legal_basis.lower().replace("§", " § ").split())
        best: tuple[int, str, str] | None = None
        for dept in self.departments.values():
            for area in dept.legal_areas:
                norm = " ".join(area.lower().replace("§", " § ").split())
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
