"""Server-rendered pages (Jinja2, plain forms, POST/redirect/GET).

``recipient`` owns the recipient's pages at /l/{token}, guarded by ``csrf`` and ``ratelimit``;
``agency`` owns the agency's app. This module owns what the pages share: where the templates
and the static files live, and the Jinja2 environment with its presentation filters (money,
dates, rates, units). Pages load nothing from third parties: the stylesheets are in
``static/``, served by us at /static (mounted by ``recipient.install``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from engagebill.domain.money import Money, round_half_up

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def money(value: Money) -> str:
    """``10,000.00 EUR``: grouped for reading, fixed to the currency's exponent."""
    exponent = value.exponent
    amount = round_half_up(value.amount, exponent)
    return f"{amount:,.{exponent}f} {value.currency}"


def day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def moment(value: datetime) -> str:
    # Times are stored in UTC; saying so is clearer than guessing the reader's zone.
    return f"{value.day} {value:%B %Y, %H:%M} UTC"


def plain_decimal(value: Decimal) -> str:
    """A quantity or a rate without trailing zeros: ``21``, ``7.5``, ``1.25``."""
    return format(value.normalize(), "f")


# UN/ECE Recommendation 20 unit codes (BT-130) as a reader says them; "C62" is "one", unsaid.
UNIT_WORDS = {
    "C62": "",
    "EA": "",
    "H87": "",
    "HUR": "h",
    "DAY": "days",
    "WEE": "weeks",
    "MON": "months",
    "ANN": "years",
    "MIN": "min",
}


def unit_word(code: str) -> str:
    return UNIT_WORDS.get(code.upper(), code)


def make_templates() -> Environment:
    """The pages' Jinja2 environment: HTML autoescaped, undefined names an error."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        money=money, day=day, moment=moment, plain_decimal=plain_decimal, unit_word=unit_word
    )
    return environment
