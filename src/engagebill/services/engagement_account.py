"""The engagement account inside a use case: lock it, decide with it, store its figures.

Every money decision (a draft's draw, a send that draws or tops the advance up, a credit note,
a refund, a payment, a billing run's draws) runs in this order, in one transaction:

1. ``locked`` / ``locked_for_invoice``: take the engagement's account row, then load the
   account from the issued documents (the row lock comes first, so no other process can
   change those documents' money until this transaction ends);
2. decide with the account (``EngagementAccount.draw``, ``.credit``, ``.refund_split``);
3. write the documents;
4. ``settle``: load the account again from what is now written, refuse the whole transaction
   if the advance would be below zero, and store the advance figures on the row (a cache that
   ``verify`` recomputes).

The read use case ``engagement_account`` serves every surface the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping

from engagebill.domain.engagement_account import EngagementAccount
from engagebill.domain.errors import RuleViolation
from engagebill.services.ports import Context, UnitOfWork


def locked(
    uow: UnitOfWork, organization_id: str, engagement_id: str, currency: str
) -> EngagementAccount:
    uow.accounts.lock(organization_id, engagement_id, currency)
    return uow.accounts.load(organization_id, engagement_id, currency)


def locked_for_invoice(uow: UnitOfWork, organization_id: str, invoice_id: str) -> EngagementAccount:
    found = uow.accounts.lock_for_invoice(organization_id, invoice_id)
    assert found is not None
    return uow.accounts.load(organization_id, *found)


def locked_if_it_draws(
    uow: UnitOfWork, organization_id: str, invoice_id: str
) -> EngagementAccount | None:
    """The locked account when the invoice draws on the advance or tops it up; else None,
    and no lock: most invoices of a month-end run never touch an advance."""
    found = uow.accounts.lock_for_invoice(organization_id, invoice_id, only_if_it_draws=True)
    return None if found is None else uow.accounts.load(organization_id, *found)


def settle(uow: UnitOfWork, organization_id: str, account: EngagementAccount) -> EngagementAccount:
    """The account as the transaction's writes left it, checked and stored on its row."""
    after = uow.accounts.load(organization_id, account.engagement_id, account.currency)
    check(after)
    uow.accounts.save(organization_id, after)
    return after


def settle_many(
    uow: UnitOfWork, organization_id: str, accounts: Mapping[str, str]
) -> list[EngagementAccount]:
    """``settle`` for several engagements (``{engagement_id: currency}``, rows already taken),
    loaded and stored in a few statements: a billing run's batch."""
    after = list(uow.accounts.load_many(organization_id, accounts).values())
    for account in after:
        check(account)
    uow.accounts.save_many(organization_id, after)
    return after


def check(account: EngagementAccount) -> None:
    """Refuse an account that does not add up (the decisions never produce one; this is the
    last line, so that nothing is committed if one ever did)."""
    advance = account.advance
    if advance.available.is_negative():
        raise RuleViolation(
            f"the advance would be overdrawn: {advance.available.format()} available",
            code="advance.overdrawn",
            details={"available": advance.available.decimal_string()},
        )
    for invoice_id, invoice in account.invoices.items():
        position = account.position(invoice_id)
        if position.credited > invoice.gross or position.drawn.is_negative():
            raise RuleViolation(
                f"invoice {invoice.number or invoice_id} would be credited beyond its amount",
                code="credit_note.exceeds_invoice",
                details={"invoice_id": invoice_id},
            )


def engagement_account(
    ctx: Context, *, organization_id: str, engagement_id: str
) -> EngagementAccount:
    """The engagement's account now, from its issued documents."""
    with ctx.read() as uow:
        engagement = uow.engagements.get(organization_id, engagement_id)
        return uow.accounts.load(organization_id, engagement.id, engagement.currency)
