"""The birth date a CPR number carries, by the century rules of the CPR register.

A CPR number is DDMMYY-SSSS. The two-digit year is placed in its century by the first
digit of the serial number (the seventh digit), as the CPR Office assigns them:

| seventh digit | year 00-36 | 37-57 | 58-99 |
|---|---|---|---|
| 0, 1, 2, 3 | 19xx | 19xx | 19xx |
| 4, 9 | 20xx | 19xx | 19xx |
| 5, 6, 7, 8 | 20xx | 20xx | 18xx |

The age rules of consent (rule 2) use this date when no birth date is stated, and a
stated birth date that disagrees with the CPR number is refused. Errors never echo the
number.
"""

from __future__ import annotations

from datetime import date

from core.errors import InvalidInput
from core.keys import normalise_cpr


def century_of(year2: int, seventh: int) -> int:
    """The century (1800, 1900 or 2000) of a CPR number's two-digit year."""
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if year2 <= 36 else 1900
    return 2000 if year2 <= 57 else 1800


def birth_date_of(cpr: str) -> date:
    """The birth date a CPR number carries; InvalidInput when it names no real day."""
    digits = normalise_cpr(cpr)
    dd, mm, yy, seventh = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6])
    try:
        return date(century_of(yy, seventh) + yy, mm, dd)
    except ValueError:
        raise InvalidInput("a CPR number starts with a valid date of birth, DDMMYY") from None


def check_agrees(cpr: str | None, birth_date: date | None) -> None:
    """InvalidInput when a stated birth date is not the one the CPR number carries."""
    if cpr is not None and birth_date is not None and birth_date_of(cpr) != birth_date:
        raise InvalidInput("the birth date does not agree with the CPR number; correct one of them")
