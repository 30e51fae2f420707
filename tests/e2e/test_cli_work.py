"""The ``engagebill work`` commands, end to end on a SQLite file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from engagebill.entrypoints.cli.main import app

runner = CliRunner()

GOOD = """\
Date,User,Hours,Billable Rate,Notes,Requested by,Approval link
2025-03-12,Ana Lima,8,125.00,Landing page A,Dana Scully,https://mail.example/1
2025-03-18,Ben Okafor,1:30,125.00,Landing page B,Dana Scully,
"""

BAD = """\
date,person,hours,rate,description
2025-03-12,Ana Lima,8,125.00,Landing page A
2025-13-01,Ana Lima,2,125.00,Landing page A fixes
2025-03-15,Ben Okafor,2,125.00,Landing page B
2025-03-16,Ben Okafor,zero,125.00,Landing page B
"""


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.db = f"sqlite:///{tmp_path}/x.db"
        self.tmp_path = tmp_path

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = runner.invoke(app, ["--db", self.db, *args])
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def created_id(self, *args: str) -> str:
        match = re.search(r"\[([a-z]+_[0-9a-f]+)\]", self(*args).output)
        assert match, args
        return match[1]

    def file(self, name: str, text: str) -> str:
        path = self.tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def work_items(self, *args: str) -> list[dict[str, str]]:
        items: list[dict[str, str]] = json.loads(self("work", "list", "--json", *args).stdout)[
            "work_items"
        ]
        return items


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
        "engagement", "create", "--client", client, "--name", "Extras",
        "--kind", "time_and_material",
    )  # fmt: skip


def test_add_then_approve_with_a_reference(cli: Cli, engagement: str) -> None:
    added = cli(
        "work", "add", "--engagement", engagement, "--date", "2025-03-12",
        "--person", "Ana Lima", "--hours", "8", "--rate", "125.00",
        "--description", "Landing page A", "--requester", "Dana Scully",
    )  # fmt: skip
    assert "8.00 h x 125.00 EUR = 1000.00 EUR unapproved" in added.output
    assert "[work_item.no_written_approval]" in added.output
    item_id = re.findall(r"\[(work_[0-9a-f]+)\]", added.output)[0]

    refused = cli("work", "approve", item_id, ok=False)
    assert refused.exit_code == 7
    assert "[work_item.no_written_approval]" in refused.stderr

    unapproved = cli("work", "unapproved")
    assert item_id in unapproved.output and "without a written approval" in unapproved.output

    approved = cli("work", "approve", item_id, "--approval", "https://mail.example/8812")
    assert "approved" in approved.output and "https://mail.example/8812" in approved.output
    (item,) = cli.work_items("--engagement", engagement, "--state", "approved")
    assert item["approval_ref"] == "https://mail.example/8812" and item["hours"] == "8.00"
    assert cli("work", "unapproved").output.strip() == "no unapproved work"


def test_approve_with_an_override_reason(cli: Cli, engagement: str) -> None:
    item_id = cli.created_id(
        "work", "add", "--engagement", engagement, "--date", "2025-03-12",
        "--person", "Ana", "--hours", "1:30", "--rate", "100", "--description", "Hotfix",
    )  # fmt: skip
    cli("work", "approve", item_id, "--override-reason", "agreed by phone")
    (item,) = cli.work_items()
    assert (item["state"], item["override_reason"]) == ("approved", "agreed by phone")


def test_work_on_a_fixed_price_engagement_is_refused(cli: Cli, engagement: str) -> None:
    (client,) = json.loads(cli("client", "list", "--json").stdout)
    fixed = cli.created_id(
        "engagement", "create", "--client", client["id"], "--name", "Rebuild",
        "--kind", "fixed_price",
    )  # fmt: skip
    refused = cli(
        "work", "add", "--engagement", fixed, "--date", "2025-03-12", "--person", "Ana",
        "--hours", "1", "--rate", "100", "--description", "Extra page", ok=False,
    )  # fmt: skip
    assert refused.exit_code == 7 and "[work_item.not_billable_here]" in refused.stderr


def test_import_a_good_file(cli: Cli, engagement: str) -> None:
    result = cli("work", "import", "--engagement", engagement, cli.file("good.csv", GOOD))
    assert "imported 2 work item(s), 1187.50 EUR" in result.output
    assert "1 of them have no written approval" in result.output
    items = cli.work_items("--engagement", engagement)
    assert [(i["person"], i["hours"], i["approval_ref"]) for i in items] == [
        ("Ana Lima", "8.00", "https://mail.example/1"),
        ("Ben Okafor", "1.50", ""),
    ]


def test_import_a_bad_file_reports_every_bad_line_and_writes_nothing(
    cli: Cli, engagement: str
) -> None:
    result = cli("work", "import", "--engagement", engagement, cli.file("bad.csv", BAD), ok=False)
    assert result.exit_code == 4
    lines = result.stderr.strip().splitlines()
    assert [ln.split(":")[0] for ln in lines[:-1]] == ["line 3", "line 5"]
    assert "YYYY-MM-DD" in lines[0] and "not a number of hours" in lines[1]
    assert lines[-1] == (
        "error: 2 of 4 rows cannot be imported; nothing was imported [work_csv.invalid]"
    )
    assert cli.work_items() == []


def test_import_refuses_a_file_that_is_not_utf8(cli: Cli, engagement: str) -> None:
    path = cli.tmp_path / "latin1.csv"
    path.write_bytes("date,person,hours,rate,description\n2025-03-12,José,1,1,x\n".encode("cp1252"))
    result = cli("work", "import", "--engagement", engagement, str(path), ok=False)
    assert result.exit_code == 4
    assert result.stderr.startswith("line 2: not UTF-8 text")
    assert "[work_csv.not_utf8]" in result.stderr


def test_importing_the_same_file_twice_is_refused(cli: Cli, engagement: str) -> None:
    path = cli.file("good.csv", GOOD)
    cli("work", "import", "--engagement", engagement, path)
    again = cli("work", "import", "--engagement", engagement, path, ok=False)
    assert again.exit_code == 5 and "[work_csv.already_imported]" in again.stderr
    assert len(cli.work_items()) == 2
