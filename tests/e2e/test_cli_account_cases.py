"""The engagement account's cases through the CLI, on a SQLite file: a credit of what the
advance settled goes back to the advance, the refund never credits more than was paid, line
credits add up to the invoice, a rate the invoice never charged is refused with exit 7, and a
void invoice says void."""

from __future__ import annotations

from decimal import Decimal

from tests.e2e.test_cli_retainers import Cli, cli, engagement

__all__ = ["cli", "engagement"]  # the fixtures this module uses


def test_the_engagement_account_cases_through_the_cli(cli: Cli, engagement: str) -> None:
    advance = cli.created_id(
        "retainer", "advance", "--engagement", engagement, "--amount", "1000.00",
        "--invoice-date", "2025-03-03",
    )  # fmt: skip
    advance_invoice = cli.created_id("retainer", "invoice-advance", advance)
    cli("invoice", "send", advance_invoice)
    cli("invoice", "pay", advance_invoice, "--amount", "1210.00")

    work = cli.created_id(
        "invoice", "create", "--engagement", engagement, "--line", "Support|1|300.00"
    )
    cli("retainer", "apply", work)
    cli("invoice", "send", work)
    credit = cli("invoice", "credit", work, "--reason", "Not delivered").output
    assert "for 363.00 EUR (363.00 EUR back to the advance, 0.00 EUR to the client)" in credit
    assert "void - void" in cli("invoice", "show", work).output
    cli("retainer", "refund", "--engagement", engagement)
    account = cli.json("engagement", "account", engagement)
    assert account["advance"]["available"]["amount"] == "0.00"
    assert account["totals"]["paid"]["amount"] == "1210.00"
    assert Decimal(account["totals"]["credit_balance"]["amount"]) <= Decimal("1210.00")

    two = cli.created_id(
        "invoice", "create", "--engagement", engagement,
        "--line", "Banner A|1|12.50", "--line", "Banner B|1|12.50",
    )  # fmt: skip
    cli("invoice", "send", two)
    refused = cli("invoice", "credit", two, "--reason", "x", "--line", "A|1|1.00|5", ok=False)
    assert refused.exit_code == 7, refused.output
    assert "[credit_note.vat_not_invoiced]" in refused.output
    assert "S 5 %" in refused.output
    first = cli("invoice", "credit", two, "--reason", "x", "--line", "Banner A|1|12.50").output
    second = cli("invoice", "credit", two, "--reason", "x", "--line", "Banner B|1|12.50").output
    assert "for 15.13 EUR" in first and "for 15.12 EUR" in second
    assert "void - void" in cli("invoice", "show", two).output
