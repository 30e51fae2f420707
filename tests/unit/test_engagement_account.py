"""The engagement account as a pure value: credits, draws, refunds and revisions.

The state machine in tests/integration drives these rules through the use cases on both
databases; here they are stated one by one, on values built in memory.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engagebill.domain.engagement_account import (
    AccountCredit,
    AccountInvoice,
    EngagementAccount,
    percent,
)
from engagebill.domain.errors import RuleViolation
from engagebill.domain.lifecycle import InvoiceState, PaymentStatus
from engagebill.domain.money import Money
from engagebill.domain.taxes import VatCategory, VatGroup, vat_groups

S = VatCategory.STANDARD
DAY = date(2025, 3, 3)


def eur(amount: str | Decimal) -> Money:
    return Money.of(amount, "EUR")


def an_invoice(
    ident: str,
    net: str,
    gross: str,
    *,
    advance: bool = False,
    used: str = "0",
    prepaid: str = "0",
    paid: str = "0",
    state: InvoiceState = InvoiceState.SENT,
) -> AccountInvoice:
    return AccountInvoice(
        id=ident,
        number=ident.upper(),
        advance=advance,
        state=state,
        issue_date=DAY,
        net=eur(net),
        gross=eur(gross),
        advance_used=eur(used),
        prepaid=eur(prepaid),
        paid=eur(paid),
    )


def groups(*pairs: tuple[str, str]) -> tuple[VatGroup, ...]:
    """The breakdown of (net, rate) pairs, as an invoice computes it."""
    sums: dict[tuple[VatCategory, Decimal], Decimal] = {}
    for net, rate in pairs:
        key = (S, Decimal(rate))
        sums[key] = sums.get(key, Decimal(0)) + Decimal(net)
    return tuple(vat_groups(sums, "EUR"))


def credited(terms_groups: tuple[VatGroup, ...], ident: str, invoice_id: str) -> AccountCredit:
    return AccountCredit(ident, ident.upper(), invoice_id, DAY, terms_groups, eur("0"), eur("0"))


def test_the_note_that_completes_a_group_takes_what_is_left_of_its_tax() -> None:
    invoice_groups = groups(("12.50", "21"), ("12.50", "21"))  # 25.00, VAT 5.25
    account = EngagementAccount("eng", "EUR", [an_invoice("inv", "25.00", "30.25")], [])
    first = account.credit("inv", invoice_groups, {(S, Decimal(21)): eur("12.50")})
    assert (first.vat, first.voids) == (eur("2.63"), False)
    account = EngagementAccount(
        "eng", "EUR", [an_invoice("inv", "25.00", "30.25")], [credited(first.groups, "cn1", "inv")]
    )
    second = account.credit("inv", invoice_groups, {(S, Decimal(21)): eur("12.50")})
    assert (second.vat, second.voids) == (eur("2.62"), True)
    assert first.gross + second.gross == eur("30.25")


@given(
    st.lists(st.integers(min_value=1, max_value=99_999), min_size=1, max_size=12),
    st.sampled_from(["21", "9", "5.5", "19"]),
)
def test_line_by_line_credits_always_add_up_to_the_invoice(cents: list[int], rate: str) -> None:
    nets = [Decimal(c).scaleb(-2) for c in cents]
    invoice_groups = groups(*((str(n), rate) for n in nets))
    total = invoice_groups[0]
    invoice = an_invoice("inv", str(total.taxable.amount), str((total.taxable + total.tax).amount))
    notes: list[AccountCredit] = []
    for position, net in enumerate(nets):
        account = EngagementAccount("eng", "EUR", [invoice], notes)
        terms = account.credit("inv", invoice_groups, {(S, Decimal(rate)): eur(net)})
        # Each note's tax is within a cent of its own net's, never below zero.
        own = Money(net * Decimal(rate) / 100, "EUR").rounded()
        assert abs(terms.vat.amount - own.amount) <= Decimal("0.01")
        assert not terms.vat.is_negative()
        assert terms.voids is (position == len(nets) - 1)
        notes.append(credited(terms.groups, f"cn{position}", "inv"))
    assert Money.sum((n.gross for n in notes), "EUR") == total.taxable + total.tax


def test_a_credit_may_only_use_the_invoices_vat_groups() -> None:
    account = EngagementAccount("eng", "EUR", [an_invoice("inv", "200.00", "230.00")], [])
    with pytest.raises(RuleViolation) as refused:
        account.credit("inv", groups(("100", "21"), ("100", "9")), {(S, Decimal(5)): eur("10.00")})
    assert refused.value.code == "credit_note.vat_not_invoiced"
    assert refused.value.details["vat_rate"] == "5"
    assert "(S 9 %, S 21 %)" in refused.value.message


def test_a_credit_settles_what_is_owed_then_the_advance_then_cash() -> None:
    # 500.00 gross, 300.00 of it settled by the advance (net 250.00), 100.00 paid, 100.00 owed.
    invoice = an_invoice("inv", "413.22", "500.00", used="250.00", prepaid="300.00", paid="100.00")
    invoice_groups = groups(("413.22", "21"))
    account = EngagementAccount("eng", "EUR", [invoice], [])

    owed_only = account.credit("inv", invoice_groups, {(S, Decimal(21)): eur("82.64")})
    assert owed_only.gross == eur("99.99")
    assert owed_only.prepaid.is_zero()  # it only cancels what was still owed

    into_the_advance = account.credit("inv", invoice_groups, {(S, Decimal(21)): eur("165.29")})
    assert into_the_advance.gross == eur("200.00")
    assert into_the_advance.prepaid == eur("100.00")  # 100.00 owed, then 100.00 of the draw
    assert into_the_advance.advance_returned == eur("83.33")

    everything = account.credit("inv", invoice_groups, {(S, Decimal(21)): eur("413.22")})
    assert (everything.prepaid, everything.advance_returned, everything.voids) == (
        eur("300.00"),
        eur("250.00"),
        True,
    )
    after = EngagementAccount(
        "eng",
        "EUR",
        [invoice],
        [
            AccountCredit(
                "cn", "CN", "inv", DAY, everything.groups, everything.prepaid, eur("250.00")
            )
        ],
    )
    position = after.position("inv")
    assert (position.drawn, position.outstanding, position.credit_balance) == (
        eur("0.00"),
        eur("0.00"),
        eur("100.00"),  # the cash paid is what becomes refundable
    )


def test_the_advance_is_never_overdrawn_and_void_gives_its_draw_back() -> None:
    invoices = [
        an_invoice("adv", "1000.00", "1210.00", advance=True, paid="1210.00"),
        an_invoice(
            "oct", "800.00", "968.00", used="800.00", prepaid="968.00", state=InvoiceState.DRAFT
        ),
    ]
    account = EngagementAccount("eng", "EUR", invoices, [])
    advance = account.advance
    assert (advance.invoiced, advance.reserved, advance.available) == (
        eur("1000.00"),
        eur("800.00"),
        eur("200.00"),
    )
    # A later run asking for 600.00 draws the 200.00 left and bills the rest.
    assert account.draw(eur("600.00"), eur("726.00")) == (eur("200.00"), eur("242.00"))
    # Edited to 1,200.00, the draft draws its own 800.00 and the 200.00 left: no more.
    assert account.draw(eur("1200.00"), eur("1452.00"), invoice_id="oct")[0] == eur("1000.00")
    # Crediting the advance invoice may take back only what is available.
    with pytest.raises(RuleViolation) as refused:
        account.credit("adv", groups(("1000.00", "21")), {(S, Decimal(21)): eur("200.01")})
    assert refused.value.code == "advance.credit_exceeds_available"
    void = EngagementAccount(
        "eng",
        "EUR",
        [
            invoices[0],
            an_invoice("w", "100", "121", used="100", prepaid="121", state=InvoiceState.VOID),
        ],
        [],
    )
    assert void.advance.drawn.is_zero()
    assert void.position("w").status is PaymentStatus.VOID


def test_a_refund_takes_the_newest_advance_invoice_first_and_never_more_than_is_left() -> None:
    invoices = [
        an_invoice("old", "3000.00", "3630.00", advance=True),
        an_invoice("new", "2000.00", "2420.00", advance=True),
        an_invoice("work", "900.00", "1089.00", used="900.00", prepaid="1089.00"),
    ]
    account = EngagementAccount("eng", "EUR", invoices, [])
    split = account.refund_split(
        [("new", groups(("2000.00", "21"))), ("old", groups(("3000.00", "21")))]
    )
    assert split == [
        ("new", [((S, Decimal("21.00")), eur("2000.00"))]),
        ("old", [((S, Decimal("21.00")), eur("2100.00"))]),
    ]


def test_a_revision_may_not_go_below_what_was_credited_or_drawn() -> None:
    invoice = an_invoice("inv", "1000.00", "1210.00")
    note = credited(groups(("900.00", "21")), "cn", "inv")
    account = EngagementAccount("eng", "EUR", [invoice], [note])
    with pytest.raises(RuleViolation) as below:
        account.check_revision(
            "inv",
            groups=groups(("500.00", "21")),
            net=eur("500"),
            gross=eur("605"),
            prepaid=eur("0"),
        )
    assert below.value.code == "invoice.revision_below_credit"
    account.check_revision(
        "inv",
        groups=groups(("950.00", "21")),
        net=eur("950"),
        gross=eur("1149.50"),
        prepaid=eur("0"),
    )


def test_rates_read_as_people_write_them() -> None:
    assert [percent(Decimal(r)) for r in ("21.00", "5.50", "20", "0.00")] == [
        "21",
        "5.5",
        "20",
        "0",
    ]
