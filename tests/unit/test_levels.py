"""Level names and numbers: what parse_level accepts, and the name any number is logged under."""

from __future__ import annotations

import pytest

from fapilog._levels import CRITICAL, DEBUG, ERROR, INFO, WARNING, level_name, parse_level


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("debug", DEBUG),
        ("INFO", INFO),
        (" Warning ", WARNING),
        ("warn", WARNING),
        ("error", ERROR),
        ("fatal", CRITICAL),
        ("CRITICAL", CRITICAL),
        (25, 25),
        (-3, -3),
        ("35", 35),
    ],
)
def test_names_aliases_numbers_and_digit_strings_parse(value: object, expected: int) -> None:
    """A name in any case (with the aliases warn and fatal), an int, or a short string of ASCII
    digits gives its number."""
    assert parse_level(value) == expected


@pytest.mark.parametrize("value", [True, False, None, 2.5, "loud", "", "-10", "²", "5" * 10])
def test_anything_else_is_not_a_level(value: object) -> None:
    """Booleans, floats, unknown names, signs, non-ASCII digits and overlong digit strings are
    not levels (None): the caller decides what that means instead of getting an exception."""
    assert parse_level(value) is None


@pytest.mark.parametrize(
    ("number", "name"),
    [(0, "debug"), (10, "debug"), (19, "debug"), (20, "info"), (35, "warning"), (99, "critical")],
)
def test_any_number_is_named_after_the_standard_level_at_or_below_it(
    number: int, name: str
) -> None:
    """A non-standard number is logged under the highest standard level at or below it, and
    never below debug."""
    assert level_name(number) == name
