"""The ``engagebill retainer`` commands, end to end on a SQLite file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from engagebill.entrypoints.cli.main import app

runner = CliRunner()


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.db = f"sqlite:///{tmp_path}/x.db"

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = runner.invoke(app, ["--db", self.db, *args])
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def created_id(self, *args: str) -> str:
        match = re.search(r"\[([a-z]+_[0-9a-f]+)\]", self(*args).output)
        assert match, args
        return match[1]

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    cli("db", "upgrade")
    cli(
        "org", "create", "--name", "Northwind Studio", "--legal-name", "Northwind Studio B.V.",
        "--address", "Keizersgracht 1", "--city", "Amsterdam", "--postal-code", "1015 CJ",
        "--country", "NL", "--email", "billing@northwind.example",
    )  # fmt: skip
    return cli


@pytest.fixture
def engagement(cli: Cli) -> str:
    client = cli.created_id(
        "client", "create", "--name", "Acme Retail", "--legal-name", "Acme Retail GmbH",
        "--address", "Friedrichstrasse 10", "--city", "Berlin", "--postal-code", "10117",
        "--country", "DE",
    )  # fmt: skip
    return cli.created_id(
        "engagement", "create", "--client", client, "--name", "Support retainer",
        "--kind", "retainer", "--retainer-mode", "advance",
    )  # fmt: skip


def test_schedule_list_and_end(cli: Cli, engagement: str) -> None:
    schedule = cli.created_id(
        "retainer", "schedule", "--engagement", engagement, "--amount", "2500.00",
        "--start", "2025-01-01", "--frequency", "quarterly", "--invoice-day", "day:5",
        "--template", "Managed services, {quarter} {year}", "--end", "2025-12-31",
    )  # fmt: skip
    [row] = cli.json("retainer", "schedules")["schedules"]
    assert row == {
        "id": schedule,
        "engagement_id": engagement,
        "mode": "advance",
        "amount": "2500.00",
        "currency": "EUR",
        "frequency": "quarterly",
        "invoice_day": "day:5",
        "line_template": "Managed services, {quarter} {year}",
        "start_date": "2025-01-01",
        "end_date": "2025-12-31",
        "active": True,
    }
    assert f"ended schedule [{schedule}]" in cli("retainer", "end", schedule).output
    assert cli.json("retainer", "schedules")["schedules"][0]["active"] is False


def test_bad_schedule_input_is_one_line_with_its_code(cli: Cli, engagement: str) -> None:
    result = cli(
        "retainer", "schedule", "--engagement", engagement, "--amount", "100",
        "--start", "2025-01-01", "--invoice-day", "second_tuesday", ok=False,
    )  # fmt: skip
    assert result.exit_code == 4
    assert "[schedule.invalid_invoice_day]" in result.stderr


def test_advance_invoiced_on_its_date_then_balance_and_refund(cli: Cli, engagement: str) -> None:
    advance = cli.created_id(
        "retainer", "advance", "--engagement", engagement, "--amount", "10000.00",
        "--invoice-date", "2025-09-12", "--description", "Advance, autumn 2025",
    )  # fmt: skip
    early = cli("retainer", "invoice-advance", advance, "--as-of", "2025-09-10", ok=False)
    assert early.exit_code == 7
    assert "[advance.not_ready]" in early.stderr
    assert "2025-09-12" in early.stderr

    created = cli("retainer", "invoice-advance", advance, "--as-of", "2025-09-12").output
    assert "advance draft gross 12100.00 EUR" in created
    invoice = re.findall(r"\[([a-z]+_[0-9a-f]+)\]", created)[-1]
    again = cli("retainer", "invoice-advance", advance, ok=False)
    assert (again.exit_code, "[advance.already_invoiced]" in again.stderr) == (5, True)
    cli("invoice", "send", invoice)

    balance = cli.json("retainer", "balance", "--engagement", engagement, "--as-of", "2025-09-30")
    assert (balance["invoiced"], balance["used"], balance["available"]) == (
        "10000.00",
        "0.00",
        "10000.00",
    )
    assert [(e["actual"], e["date"], e["amount"]) for e in balance["entries"]] == [
        ("invoiced", "2025-09-12", "10000.00")
    ]
    assert (
        cli.json("retainer", "balance", "--engagement", engagement, "--as-of", "2025-09-11")[
            "available"
        ]
        == "0.00"
    )
    table = cli("retainer", "balance", "--engagement", engagement).output
    assert "available 10000.00 EUR" in table

    refund = cli("retainer", "refund", "--engagement", engagement).output
    assert re.search(r"issued credit note CN-\d{4}-\d+ for 12100\.00 EUR", refund)
    assert "refunded 10000.00 EUR (net)" in refund
    after = cli.json("retainer", "balance", "--engagement", engagement)
    assert (after["refunded"], after["available"]) == ("10000.00", "0.00")
    assert [e["actual"] for e in after["entries"]] == ["invoiced", "refunded"]
    nothing = cli("retainer", "refund", "--engagement", engagement, ok=False)
    assert (nothing.exit_code, "[advance.nothing_to_refund]" in nothing.stderr) == (7, True)


def test_apply_and_discard_on_a_draft(cli: Cli, engagement: str) -> None:
    advance = cli.created_id(
        "retainer", "advance", "--engagement", engagement, "--amount", "1000.00",
        "--invoice-date", "2025-03-03",
    )  # fmt: skip
    cli("invoice", "send", cli.created_id("retainer", "invoice-advance", advance))
    draft = cli.created_id(
        "invoice", "create", "--engagement", engagement, "--line", "Support: DNS move|4|150.00"
    )
    applied = cli("retainer", "apply", draft).output
    assert "gross 726.00 EUR prepaid 726.00 EUR due 0.00 EUR" in applied
    assert cli.json("retainer", "balance", "--engagement", engagement)["used"] == "600.00"
    discarded = cli("retainer", "discard", draft).output
    assert "prepaid 0.00 EUR due 726.00 EUR" in discarded
    assert cli.json("retainer", "balance", "--engagement", engagement)["used"] == "0.00"
    again = cli("retainer", "discard", draft, ok=False)
    assert (again.exit_code, "[advance.not_applied]" in again.stderr) == (7, True)
