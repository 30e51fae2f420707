"""Output shapes shared by every machine interface (REST API, MCP): money as a decimal string
with its currency, and coded warnings. One definition, so both speak the same JSON."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from engagebill.domain.money import Money
from engagebill.domain.purchase_orders import Warning


class Model(BaseModel):
    # Unknown fields are refused rather than dropped: a misspelt field must not go unnoticed.
    model_config = ConfigDict(extra="forbid")


class MoneyOut(Model):
    amount: str = Field(
        description="Decimal string fixed to the currency's minor units", examples=["12100.00"]
    )
    currency: str = Field(description="ISO 4217 code", examples=["EUR"])


def money(value: Money) -> MoneyOut:
    return MoneyOut(amount=value.decimal_string(), currency=value.currency)


class WarningOut(Model):
    code: str
    message: str


def warnings_out(items: Iterable[Warning]) -> list[WarningOut]:
    return [WarningOut(code=w.code, message=w.message) for w in items]
