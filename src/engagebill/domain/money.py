"""Money: an exact amount in one currency.

``Money`` holds a ``Decimal`` and an ISO 4217 code. It refuses floats (binary fractions are
not cents), refuses to mix currencies, rounds only when asked and then half-up to the
currency's exponent, and splits amounts with ``allocate`` without losing a cent. Storage uses
integer minor units (``to_minor`` / ``from_minor``) because SQLite turns NUMERIC into floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from engagebill.domain.currencies import EXPONENTS
from engagebill.domain.errors import ValidationError

__all__ = ["Money", "currency_exponent", "parse_decimal", "round_half_up"]

# The largest amount stored, in minor units: 10^15 EUR, as far as ``parse_decimal`` lets one
# value go. A BIGINT holds 92 times as much, room for the sums the database takes (a PO's
# consumption, an advance's balance); a quantity times a price could otherwise overflow them.
MAX_MINOR = 10**17


# The minor unit of each exponent in use (0.01 for 2), made once rather than per amount.
_QUANTA = {exponent: Decimal(1).scaleb(-exponent) for exponent in set(EXPONENTS.values())}


def currency_exponent(currency: str) -> int:
    """The number of minor-unit digits of an ISO 4217 currency (EUR 2, JPY 0, BHD 3)."""
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise ValidationError(
            f"unknown currency {currency!r}: use an ISO 4217 code such as EUR or USD",
            code="money.unknown_currency",
            details={"currency": currency},
        ) from None


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round to ``places`` decimals, half away from zero (commercial rounding)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def parse_decimal(
    value: object, *, field: str = "amount", code: str = "money.invalid_amount"
) -> Decimal:
    """Turn a decimal string, int or Decimal into a finite Decimal; refuse floats and junk.

    ``code`` is the error code for junk, so a bad quantity is reported as such.
    """
    if isinstance(value, (bool, float)):
        raise ValidationError(
            f"{field} must be a decimal string, not a float",
            code="money.float_refused",
            details={"field": field},
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValidationError(
                f"{field} {value!r} is not a decimal number",
                code=code,
                details={"field": field},
            ) from None
    else:
        raise ValidationError(
            f"{field} must be a decimal string",
            code=code,
            details={"field": field},
        )
    if not result.is_finite():
        raise ValidationError(
            f"{field} must be a finite number",
            code=code,
            details={"field": field},
        )
    # A bound on magnitude keeps amounts inside a BIGINT of minor units with room to sum.
    if result.copy_abs() >= Decimal("1e15"):  # quiet: abs() overflows on 1e999999999
        raise ValidationError(
            f"{field} {value!r} is too large",
            code="money.out_of_range",
            details={"field": field},
        )
    return result


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of one currency. Arithmetic keeps full precision until ``rounded()``."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", parse_decimal(self.amount))
        elif not self.amount.is_finite():
            raise ValidationError("amount must be a finite number", code="money.invalid_amount")
        currency_exponent(self.currency)

    # construction -------------------------------------------------------------------------
    @classmethod
    def _trusted(cls, amount: Decimal, currency: str) -> Money:
        """Build from values already known valid (results of Money arithmetic), skipping
        validation: planning a month end builds hundreds of thousands of these."""
        value = object.__new__(cls)
        object.__setattr__(value, "amount", amount)
        object.__setattr__(value, "currency", currency)
        return value

    @classmethod
    def of(cls, amount: object, currency: str) -> Money:
        """Parse ``amount`` (decimal string, int or Decimal) exactly; floats are refused."""
        return cls(parse_decimal(amount), currency.upper() if isinstance(currency, str) else "")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """From integer minor units as stored (1234 EUR-cents -> 12.34 EUR)."""
        exponent = currency_exponent(currency)
        return cls._trusted(Decimal(int(minor)).scaleb(-exponent), currency)

    @classmethod
    def sum(cls, amounts: Iterable[Money], currency: str) -> Money:
        currency_exponent(currency)
        total = Decimal(0)
        for amount in amounts:
            if amount.currency != currency:
                raise ValidationError(
                    f"cannot mix {currency} and {amount.currency}",
                    code="money.currency_mismatch",
                    details={"currencies": [currency, amount.currency]},
                )
            total += amount.amount
        return cls._trusted(total, currency)

    # conversion ---------------------------------------------------------------------------
    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def rounded(self) -> Money:
        """Half-up to the currency's exponent (EN 16931 amounts, invoice totals)."""
        return Money._trusted(round_half_up(self.amount, self.exponent), self.currency)

    def to_minor(self) -> int:
        """Integer minor units; refuses amounts that are not already whole minor units, and
        amounts beyond ``MAX_MINOR`` (a quantity times a price can exceed what is stored)."""
        if not self.is_whole_minor():
            raise ValidationError(
                f"{self.amount} {self.currency} has more decimals than the currency allows",
                code="money.too_precise",
                details={"amount": str(self.amount), "currency": self.currency},
            )
        scaled = self.amount.scaleb(self.exponent)
        if abs(scaled) > MAX_MINOR:
            raise ValidationError(
                f"{self.amount} {self.currency} is too large",
                code="money.out_of_range",
                details={"amount": str(self.amount), "currency": self.currency},
            )
        return int(scaled)

    def is_whole_minor(self) -> bool:
        """Whether the amount has no digits below the minor unit.

        Decimal comparison is exact, so an amount equal to itself cut at the minor unit is
        whole (rounding the amount itself, at 28 digits, would call
        0.0100000000000000000000000000001 whole). Cutting refuses a result longer than the
        context's precision; such an amount is read off its digits instead.
        """
        try:
            quantum = _QUANTA[currency_exponent(self.currency)]
            return self.amount == self.amount.quantize(quantum, rounding=ROUND_DOWN)
        except InvalidOperation:
            pass
        _, digits, exponent = self.amount.as_tuple()
        fraction = -(int(exponent) + self.exponent)  # digits left right of the minor unit
        return fraction <= 0 or not any(digits[-fraction:])

    def format(self) -> str:
        """Plain text, fixed to the currency's exponent: ``1234.50 EUR``."""
        return f"{round_half_up(self.amount, self.exponent)} {self.currency}"

    def decimal_string(self) -> str:
        """The amount as a decimal string fixed to the currency's exponent (``"1234.50"``)."""
        return str(round_half_up(self.amount, self.exponent))

    # arithmetic ---------------------------------------------------------------------------
    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValidationError(
                f"cannot mix {self.currency} and {other.currency}",
                code="money.currency_mismatch",
                details={"currencies": [self.currency, other.currency]},
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money._trusted(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money._trusted(self.amount - self._same_currency(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money._trusted(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, (bool, float)):
            raise ValidationError("cannot multiply money by a float", code="money.float_refused")
        if not isinstance(factor, (Decimal, int)):
            return NotImplemented
        return Money._trusted(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same_currency(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same_currency(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same_currency(other).amount

    def __bool__(self) -> bool:
        return self.amount != 0

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return self.format()

    # allocation ---------------------------------------------------------------------------
    def allocate(self, ratios: Sequence[int | Decimal]) -> list[Money]:
        """Split into parts proportional to ``ratios`` in whole minor units, losing nothing.

        Each part is rounded down to a minor unit; the cents left over go one at a time to
        the parts with the largest remainders (ties to the earlier part), so the parts always
        sum exactly to the (rounded) total.
        """
        if not ratios:
            raise ValidationError("allocate needs at least one ratio", code="money.bad_ratios")
        weights = [parse_decimal(r, field="ratio") for r in ratios]
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValidationError(
                "ratios must be non-negative and sum to more than zero",
                code="money.bad_ratios",
            )
        total_minor = self.rounded().to_minor()
        sign = -1 if total_minor < 0 else 1
        magnitude = abs(total_minor)
        weight_sum = sum(weights)
        exact = [Decimal(magnitude) * w / weight_sum for w in weights]
        floors = [int(e) for e in exact]  # int() truncates towards zero: e is non-negative
        leftover = magnitude - sum(floors)
        order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
        for i in order[:leftover]:
            floors[i] += 1
        return [Money.from_minor(sign * f, self.currency) for f in floors]
