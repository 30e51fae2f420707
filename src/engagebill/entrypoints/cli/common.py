"""What every CLI command shares: the app it works on, error mapping, and input parsing.

Errors are mapped here and only here: a domain error prints one line on stderr
(``error: <message> [<code>]``) and exits with the code of its class; nothing is half-written
because every use case runs in one transaction.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from engagebill.adapters.db.migrate import is_current
from engagebill.bootstrap import App, build
from engagebill.config import Settings
from engagebill.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidTransition,
    NotFound,
    RuleViolation,
    ValidationError,
)
from engagebill.services.lines import LineInput
from engagebill.services.parties import resolve_organization

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

# Exit codes by error class; 2 stays Click's "usage error".
EXIT_CODES: list[tuple[type[DomainError], int]] = [
    (NotFound, 3),
    (ValidationError, 4),
    (Conflict, 5),
    (InvalidTransition, 6),
    (RuleViolation, 7),
    (Forbidden, 8),
    (DomainError, 1),
]


@dataclass
class State:
    database_url: str | None = None
    _app: App | None = field(default=None, repr=False)

    def app(self, *, check_schema: bool = True) -> App:
        if self._app is None:
            self._app = build(Settings.from_env(self.database_url))
            if check_schema and not is_current(self._app.engine):
                fail(
                    DomainError(
                        "the database is not initialised or is out of date: run "
                        "`engagebill db upgrade` first",
                        code="database.not_migrated",
                    )
                )
        return self._app

    def organization_id(self, org: str | None) -> str:
        with self.app().ctx.uow() as uow:
            return resolve_organization(uow, org).id


state = State()


def fail(error: DomainError) -> NoReturn:
    err_console.print(f"error: {error.message} [{error.code}]", markup=False, soft_wrap=True)
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            raise typer.Exit(code)
    raise typer.Exit(1)  # pragma: no cover


P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn domain and database errors into one clear line and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            fail(exc)
        except (OperationalError, ProgrammingError) as exc:
            fail(
                DomainError(
                    f"the database cannot be used: {str(exc.orig).splitlines()[0]}",
                    code="database.unavailable",
                )
            )
        except DBAPIError as exc:
            fail(
                DomainError(
                    f"the database refused the change: {str(exc.orig).splitlines()[0]}",
                    code="database.refused",
                )
            )

    return wrapper


def parse_date(value: str | None, name: str = "date") -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{name} {value!r} is not an ISO date such as 2025-03-01",
            code="validation.invalid_date",
        ) from None


LINE_HELP = (
    "A line as 'DESCRIPTION|QUANTITY|UNIT_PRICE[|VAT_RATE[|VAT_CATEGORY[|UNIT]]]', "
    "e.g. 'Monthly retainer, March 2025|1|10000.00|21'. Repeat for more lines."
)


def parse_line_option(text: str) -> LineInput:
    parts = [p.strip() for p in text.split("|")]
    if len(parts) < 3 or len(parts) > 6:
        raise ValidationError(
            f"line {text!r} must be DESCRIPTION|QUANTITY|UNIT_PRICE[|VAT_RATE[|CATEGORY[|UNIT]]]",
            code="line.invalid_format",
        )
    description, quantity, price = parts[:3]
    rate = parts[3] if len(parts) > 3 and parts[3] else "21"
    category = (
        parts[4] if len(parts) > 4 and parts[4] else ("S" if rate not in ("0", "0.00") else "Z")
    )
    unit = parts[5] if len(parts) > 5 and parts[5] else "C62"
    return LineInput(
        description=description,
        quantity=quantity,
        unit_price=price,
        vat_rate=rate,
        vat_category=category,
        unit=unit,
    )


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
