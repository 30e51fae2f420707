"""Free text that ends up on documents refuses what XML and PDFs cannot carry."""

from __future__ import annotations

import pytest

from engagebill.domain.errors import ValidationError
from engagebill.domain.parties import has_control_characters, require_text


@pytest.mark.parametrize("text", ["Ac\x1ame", "Acme\x00", "tab\there", "\ud800"])
def test_control_characters_are_refused_in_a_name(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        require_text(text, "legal name")
    assert refused.value.code == "validation.control_characters"
    assert refused.value.details == {"field": "legal name"}


def test_a_message_may_have_lines_and_tabs_but_no_other_control_codes() -> None:
    message = "Please split the invoice:\n\t- retainer\r\n\t- project"
    assert require_text(message, "message", multiline=True) == message
    assert has_control_characters("line\x0bbreak", multiline=True)


def test_ordinary_text_in_any_script_passes() -> None:
    for text in ("Müller & Söhne GmbH", "株式会社アクメ", "Ωmega · €100", "O’Brien"):
        assert require_text(f"  {text} ", "name") == text
