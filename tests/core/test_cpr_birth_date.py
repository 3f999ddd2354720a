"""The birth date in a CPR number, by the century digit rules of the CPR register, and
the age rules of consent that use it when no birth date is stated."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import events as ev
from core.cpr import birth_date_of, century_of
from core.errors import InvalidInput, RuleViolation
from tests.core.conftest import TODAY, family, rejected

# Which seventh digits the register gives to someone born in a year (its rules, inverted).
DIGITS = {
    range(1858, 1900): (5, 6, 7, 8),
    range(1900, 1937): (0, 1, 2, 3),
    range(1937, 2000): (0, 1, 2, 3, 4, 9),
    range(2000, 2037): (4, 5, 6, 7, 8, 9),
    range(2037, 2058): (5, 6, 7, 8),
}


def digits_for(year: int) -> tuple[int, ...]:
    return next(d for years, d in DIGITS.items() if year in years)


def cpr_of(day: date, seventh: int, rest: int = 123) -> str:
    return f"{day:%d%m%y}-{seventh}{rest:03d}"


@given(day=st.dates(date(1858, 1, 1), date(2057, 12, 31)), data=st.data())
def test_a_cpr_number_carries_its_birth_date_in_every_century_the_register_uses(day: date, data: st.DataObject) -> None:
    seventh = data.draw(st.sampled_from(digits_for(day.year)))
    assert birth_date_of(cpr_of(day, seventh, data.draw(st.integers(0, 999)))) == day


@given(year2=st.integers(0, 99), seventh=st.integers(0, 9))
def test_the_seventh_digit_puts_every_two_digit_year_in_exactly_one_century(year2: int, seventh: int) -> None:
    year = century_of(year2, seventh) + year2
    assert 1858 <= year <= 2057
    assert seventh in digits_for(year)


@pytest.mark.parametrize(
    ("cpr", "born"),
    [
        ("010190-1234", date(1990, 1, 1)),
        ("010110-4234", date(2010, 1, 1)),
        ("010150-4234", date(1950, 1, 1)),
        ("010150-5234", date(2050, 1, 1)),
        ("010160-5234", date(1860, 1, 1)),
        ("010136-9234", date(2036, 1, 1)),
        ("010137-9234", date(1937, 1, 1)),
    ],
)
def test_the_register_examples_read_as_the_register_means_them(cpr: str, born: date) -> None:
    assert birth_date_of(cpr) == born


def test_a_29_february_in_a_year_that_had_none_is_refused_without_echoing_the_number() -> None:
    with pytest.raises(InvalidInput, match="a CPR number starts with a valid date of birth") as info:
        birth_date_of("290201-0123")
    assert "290201" not in str(info.value)
    assert birth_date_of("290200-4123") == date(2000, 2, 29)


def test_a_sixteen_year_olds_consent_from_the_mother_alone_is_refused_when_only_the_cpr_number_gives_the_age() -> None:
    b = family({"mother": ("parent", 44)})
    sixteen = TODAY.date().replace(year=TODAY.year - 16, month=1)
    b.person("girl", "child", None, cpr=cpr_of(sixteen, 4))
    rejected(
        b,
        RuleViolation,
        "consent for a young person from 15 needs both the custody holder and the young person",
        ev.ConsentGiven,
        consent_id="c1",
        subject=b.persons["girl"],
        given_by=(b.persons["mother"],),
        recipients=("school",),
        consent_categories=("education",),
        purpose="coordinating the school plan",
        valid_until=TODAY.date(),
        persons=(b.persons["girl"],),
    )


def test_a_stated_birth_date_that_disagrees_with_the_cpr_number_is_refused() -> None:
    b = family()
    message = "the birth date does not agree with the CPR number; correct one of them"
    person: dict[str, Any] = {"person_id": "p9", "role": "child", "name": "Ida", "persons": ("p9",)}
    rejected(b, InvalidInput, message, ev.PersonAdded, cpr="010110-4234", birth_date=date(2010, 1, 2), **person)
    b.rec(ev.PersonAdded, cpr="010110-4234", birth_date=date(2010, 1, 1), **person)
    rejected(b, InvalidInput, message, ev.PersonCorrected, person_id="p9", birth_date=date(2011, 1, 1), persons=("p9",))
    b.rec(ev.PersonCorrected, person_id="p9", cpr="010111-4234", birth_date=date(2011, 1, 1), persons=("p9",))
