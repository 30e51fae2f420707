"""The domain's ISO 4217 exponent table matches the ``iso4217`` package exactly.

``engagebill.domain.currencies.EXPONENTS`` is a copy of ISO 4217 so that the domain needs only
the standard library; this proves the copy has neither missing, extra nor wrong currencies
compared with the published list (currencies without a minor unit are left out of both).
"""

from __future__ import annotations

import iso4217

from engagebill.domain.currencies import EXPONENTS
from engagebill.domain.money import currency_exponent


def iso_exponents() -> dict[str, int]:
    return {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None}


def test_no_iso_currency_is_missing_from_the_table() -> None:
    missing = sorted(set(iso_exponents()) - set(EXPONENTS))

    assert missing == []


def test_the_table_has_no_currency_that_iso_does_not_list() -> None:
    extra = sorted(set(EXPONENTS) - set(iso_exponents()))

    assert extra == []


def test_every_exponent_matches_iso_4217() -> None:
    iso = iso_exponents()
    wrong = {
        code: (exponent, iso[code])
        for code, exponent in EXPONENTS.items()
        if code in iso and iso[code] != exponent
    }

    assert wrong == {}


def test_the_table_equals_the_iso_list() -> None:
    assert iso_exponents() == EXPONENTS


def test_currency_exponent_reads_the_table() -> None:
    assert currency_exponent("JPY") == 0
    assert currency_exponent("EUR") == 2
    assert currency_exponent("BHD") == 3
    assert all(currency_exponent(code) == exponent for code, exponent in EXPONENTS.items())
