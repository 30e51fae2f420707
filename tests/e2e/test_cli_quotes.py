"""``engagebill quote``: a milestone quote from creation to the signed-off milestone's invoice,
driven through the command line on a fresh SQLite file, and bad input refused in one line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from engagebill.bootstrap import build
from engagebill.config import Settings
from engagebill.domain.invoices import Invoice
from engagebill.entrypoints.cli.main import app
from engagebill.services import delivery, queries

ID = re.compile(r"\[([a-z]+_[0-9a-f]{32})\]")


class Cli:
    """Runs ``engagebill --db <file> ...`` and keeps the ids it printed."""

    def __init__(self, db: Path) -> None:
        self.runner = CliRunner()
        self.db = f"sqlite:///{db}"

    def run(self, *args: str) -> Result:
        return self.runner.invoke(app, ["--db", self.db, *args])

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return result.stdout

    def created(self, *args: str) -> str:
        """The id a create command printed as ``[id]``."""
        match = ID.search(self.ok(*args))
        assert match, args
        return match.group(1)

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def stored_invoice(self, invoice_id: str) -> Invoice:
        """The invoice as the CLI stored it, read back through the read use case."""
        application = build(Settings(database_url=self.db))
        try:
            [org] = json.loads(self.ok("org", "list", "--json"))
            detail = queries.get_invoice(
                application.ctx, organization_id=org["id"], invoice_id=invoice_id
            )
        finally:
            application.dispose()
        return detail.invoice


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path / "x.db")
    cli.ok("db", "upgrade")
    cli.ok(
        "org", "create", "--name", "Northwind Studio", "--legal-name", "Northwind Studio B.V.",
        "--address", "Keizersgracht 1", "--city", "Amsterdam", "--postal-code", "1015 CJ",
        "--country", "NL", "--email", "billing@northwind.example", "--tax-id", "NL004495445B01",
    )  # fmt: skip
    return cli


@pytest.fixture
def client_id(cli: Cli) -> str:
    return cli.created(
        "client", "create", "--name", "Acme Retail", "--legal-name", "Acme Retail GmbH",
        "--address", "Friedrichstrasse 10", "--city", "Berlin", "--postal-code", "10117",
        "--country", "DE", "--tax-id", "DE136695976",
    )  # fmt: skip


@pytest.fixture
def project(cli: Cli, client_id: str) -> str:
    engagement = cli.created(
        "engagement", "create", "--client", client_id, "--name", "Website rebuild",
        "--kind", "fixed_price",
    )  # fmt: skip
    cli.ok("po", "create", "--engagement", engagement, "--number", "PO-WEB-7")
    return engagement


ITEMS = [
    "--item", "discovery and wireframes|Workshops, sitemap|20000.00",
    "--item", "design system sign-off|Tokens | components | docs|25000.00",
    "--item", "launch||15000.00",
]  # fmt: skip


def test_create_send_accept_and_sign_off(cli: Cli, project: str) -> None:
    quote = cli.created(
        "quote", "create", "--engagement", project, "--title", "Website rebuild", *ITEMS,
        "--total", "60000.00",
    )  # fmt: skip
    [draft] = cli.json("quote", "list")["quotes"]
    assert (draft["state"], draft["number"], draft["total"]) == ("draft", None, "60000.00")
    assert draft["items"][1]["description"] == "Tokens | components | docs"

    sent = cli.ok("quote", "send", quote)
    number = re.search(r"Q-\d{4}-0001", sent)
    assert number, sent
    shown_hash = cli.json("quote", "list", "--engagement", project)["quotes"][0]["content_hash"]
    assert shown_hash and f"content hash {shown_hash}" in sent

    accepted = cli.ok("quote", "accept", quote, "--name", "Dana Scully", "--hash", shown_hash)
    assert "by Dana Scully" in accepted and shown_hash in accepted
    [stored] = cli.json("quote", "list")["quotes"]
    assert (stored["state"], stored["accepted_hash"]) == ("accepted", shown_hash)
    assert stored["accepted_by"] == "Dana Scully" and stored["accepted_at"]

    milestones = cli.json("quote", "milestones", "--engagement", project)["milestones"]
    assert [(m["position"], m["state"], m["amount"]) for m in milestones] == [
        (1, "planned", "20000.00"),
        (2, "planned", "25000.00"),
        (3, "planned", "15000.00"),
    ]
    assert {m["quote_number"] for m in milestones} == {number.group(0)}

    signed = cli.ok("quote", "sign-off", milestones[1]["id"], "--by", "Dana Scully")
    assert "signed off milestone 2 (design system sign-off) by Dana Scully" in signed
    invoice_id = ID.search(signed).group(1)  # type: ignore[union-attr]
    [row] = cli.json("invoice", "list")["invoices"]
    assert (row["id"], row["state"], row["po_number"]) == (invoice_id, "draft", "PO-WEB-7")
    assert row["gross"] == "30250.00"  # 25,000 + 21% VAT
    assert "PO PO-WEB-7" in cli.ok("invoice", "show", invoice_id)
    invoice = cli.stored_invoice(invoice_id)  # the table wraps in a narrow terminal
    assert [ln.description for ln in invoice.current.lines] == [
        "Website rebuild, Milestone 2: design system sign-off"
    ]
    assert invoice.current.quote_reference == number.group(0)

    invoiced = cli.json("quote", "milestones", "--state", "invoiced")["milestones"]
    assert [(m["position"], m["invoice_id"]) for m in invoiced] == [(2, invoice_id)]
    again = cli.run("quote", "sign-off", milestones[1]["id"], "--by", "Someone Else")
    assert again.exit_code == 6
    assert again.stderr.strip().endswith("[milestone.not_signable]")
    detail = cli.ok("quote", "show", quote)
    assert "quote.accepted" in detail and "milestone 2 design system sign-off" in detail


def test_items_that_do_not_sum_to_the_total_are_refused_in_one_line(cli: Cli, project: str) -> None:
    result = cli.run(
        "quote", "create", "--engagement", project, "--title", "Website rebuild", *ITEMS,
        "--total", "65000.00",
    )  # fmt: skip
    assert result.exit_code == 7
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "error: the milestones sum to 60000.00 EUR but the quote total is 65000.00 EUR "
        "[quote.milestones_do_not_sum]"
    ]
    assert cli.json("quote", "list")["quotes"] == []


@pytest.mark.parametrize(
    ("args", "exit_code", "code"),
    [
        (["--item", "launch 15000.00"], 4, "quote.invalid_item_format"),
        (["--item", "launch||fifteen"], 4, "quote.invalid_amount"),
        ([], 4, "quote.no_items"),
    ],
)
def test_bad_items_are_refused_with_their_code(
    cli: Cli, project: str, args: list[str], exit_code: int, code: str
) -> None:
    result = cli.run("quote", "create", "--engagement", project, "--title", "T", *args)
    assert result.exit_code == exit_code
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ") and result.stderr.strip().endswith(f"[{code}]")
    assert cli.json("quote", "list")["quotes"] == []


def test_a_quote_on_a_retainer_is_refused(cli: Cli, client_id: str) -> None:
    retainer = cli.created(
        "engagement", "create", "--client", client_id, "--name", "Retainer", "--kind", "retainer"
    )
    result = cli.run("quote", "create", "--engagement", retainer, "--title", "T", *ITEMS)
    assert result.exit_code == 7
    assert result.stderr.strip().endswith("[quote.retainer_engagement]")


def test_the_client_is_asked_to_sign_off_by_email(cli: Cli, project: str) -> None:
    quote = cli.created(
        "quote", "create", "--engagement", project, "--title", "Website rebuild", *ITEMS,
    )  # fmt: skip
    cli.ok("quote", "send", quote)
    cli.ok("quote", "accept", quote, "--name", "Dana Scully")
    first = cli.json("quote", "milestones", "--engagement", project)["milestones"][0]

    asked = cli.ok(
        "quote", "ask-sign-off", first["id"], "--email", "lead@acme.example", "--name", "Lee",
    )  # fmt: skip
    assert "asked lead@acme.example to sign off; the email with the link is queued" in asked
    application = build(Settings(database_url=cli.db))
    try:
        [org] = json.loads(cli.ok("org", "list", "--json"))
        subjects = [
            m.payload["subject"]
            for m in delivery.outbox_messages(application.ctx, organization_id=org["id"])
        ]
    finally:
        application.dispose()
    assert "Please sign off milestone 1, discovery and wireframes, of quote Q-" in " ".join(
        subjects
    )
    bad = cli.run("quote", "ask-sign-off", first["id"], "--email", "nobody")
    assert bad.exit_code == 4 and bad.stderr.strip().endswith("[email.invalid]")
