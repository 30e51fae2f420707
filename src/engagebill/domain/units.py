"""Units of measure: UN/ECE Recommendation 20 codes, as EN 16931 requires (BR-CL-23).

People type "hours" or "pcs"; invoices carry HUR or H87. ``unit_code`` accepts the codes an
agency uses and the usual words for them, and refuses anything else with a clear error.
"""

from __future__ import annotations

from engagebill.domain.errors import ValidationError

CODES: dict[str, str] = {
    "C62": "one",
    "H87": "piece",
    "HUR": "hour",
    "MIN": "minute",
    "DAY": "day",
    "WEE": "week",
    "MON": "month",
    "QAN": "quarter",
    "ANN": "year",
    "E48": "service unit",
    "LS": "lump sum",
    "KGM": "kilogram",
    "MTR": "metre",
    "MTK": "square metre",
    "LTR": "litre",
    "KMT": "kilometre",
    "GB": "gigabyte",
    "E34": "gigabyte (decimal)",
    "E49": "working day",
    "E53": "test",
    "SET": "set",
    "XPK": "package",
    "PR": "pair",
}

WORDS: dict[str, str] = {
    "unit": "C62",
    "units": "C62",
    "ea": "C62",
    "each": "C62",
    "x": "C62",
    "item": "C62",
    "piece": "H87",
    "pieces": "H87",
    "pcs": "H87",
    "pc": "H87",
    "h": "HUR",
    "hr": "HUR",
    "hrs": "HUR",
    "hour": "HUR",
    "hours": "HUR",
    "min": "MIN",
    "minute": "MIN",
    "minutes": "MIN",
    "d": "DAY",
    "day": "DAY",
    "days": "DAY",
    "week": "WEE",
    "weeks": "WEE",
    "month": "MON",
    "months": "MON",
    "quarter": "QAN",
    "year": "ANN",
    "years": "ANN",
    "lump sum": "LS",
    "kg": "KGM",
    "m": "MTR",
    "l": "LTR",
    "km": "KMT",
}


def unit_code(text: str) -> str:
    """The Recommendation 20 code for a typed unit."""
    cleaned = text.strip()
    if cleaned.upper() in CODES:
        return cleaned.upper()
    if cleaned.lower() in WORDS:
        return WORDS[cleaned.lower()]
    raise ValidationError(
        f"unit {text!r} is not a UN/ECE unit code; use e.g. C62 (one), HUR (hour), DAY, MON",
        code="line.invalid_unit",
        details={"unit": text},
    )
