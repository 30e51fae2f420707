"""Validation of identifiers that have official check digits (VAT numbers, python-stdnum),
and of free text: what a column can hold (no control characters, within its width).

Kept out of the domain so that the domain needs only the standard library; every path into
the domain goes through the use cases, which call this.
"""

from __future__ import annotations

import re

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.util import get_cc_module

from engagebill.domain.errors import ValidationError
from engagebill.domain.parties import check_text

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_tax_id(tax_id: str, country_code: str) -> str:
    """Validate a VAT number for its country and return it compact, with the EU prefix.

    An empty tax id is allowed (not every buyer has one). Countries without a VAT number
    scheme known to python-stdnum keep the number as entered, compacted.
    """
    text = (tax_id or "").strip()
    if not text:
        return ""
    country = country_code.strip().lower()
    eu_country = "el" if country == "gr" else country
    try:
        if eu_country in eu_vat.MEMBER_STATES:
            compact = eu_vat.compact(text)
            if not compact[:2].isalpha():
                compact = eu_country.upper() + compact
            return str(eu_vat.validate(compact))
        module = get_cc_module(country, "vat")
        if module is not None:
            return str(module.compact(module.validate(text)))
    except StdnumError as exc:
        raise ValidationError(
            f"tax id {tax_id!r} is not a valid VAT number for {country_code.upper()}: {exc}",
            code="tax_id.invalid",
            details={"tax_id": tax_id, "country_code": country_code.upper()},
        ) from None
    if not re.fullmatch(r"[A-Za-z0-9 .\-/]{2,40}", text):
        raise ValidationError(f"tax id {tax_id!r} has unexpected characters", code="tax_id.invalid")
    return text


def check_email(email: str) -> str:
    text = (email or "").strip()
    if not _EMAIL.match(text) or len(text) > 254:
        raise ValidationError(
            f"{email!r} is not an email address", code="email.invalid", details={"email": email}
        )
    return text


def clean_text(
    value: str, field_name: str, *, max_length: int, required: bool = False, multiline: bool = False
) -> str:
    """``value`` stripped, refused when required and empty, too long, or with control codes."""
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(
            f"{field_name} is empty", code="validation.required", details={"field": field_name}
        )
    return check_text(text, field_name, max_length=max_length, multiline=multiline)
