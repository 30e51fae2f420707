"""Verification: recompute what is stored and name what does not hold.

Two checks, each per organization:

* ``verify_chains``: the event chain; every hash recomputed, the first broken event named;
* ``verify_accounts``: every engagement's account recomputed from its issued documents and
  compared with the figures cached on its ``engagement_accounts`` row, and every invoice's
  credit caches (credited gross, net and prepaid) compared with its credit notes. A stored
  figure is only a cache (``services.engagement_account``); one that disagrees with the
  documents was written behind the application's back, or by a use case that forgot to
  settle the account. An account whose documents break one of its rules (the advance below
  zero, an invoice credited beyond its amount) is named too.

On PostgreSQL the statements of one read see what was committed before each of them, so a
disagreement seen while other transactions write may be one of those writes half seen: each
engagement found disagreeing is read again under its lock, when nothing can change its money,
and only what still disagrees is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engagebill.domain.engagement_account import AdvanceFigures, EngagementAccount
from engagebill.domain.errors import RuleViolation
from engagebill.domain.events import ChainBreak, verify_chain
from engagebill.domain.money import Money
from engagebill.services.engagement_account import check
from engagebill.services.ports import Context, UnitOfWork


@dataclass(frozen=True, slots=True)
class ChainReport:
    organization_id: str
    events: int
    broken: ChainBreak | None


def verify_chains(ctx: Context, *, organization_id: str | None = None) -> list[ChainReport]:
    """Verify one organization's chain, or every organization's."""
    reports = []
    with ctx.uow() as uow:
        organizations = _organizations(uow, organization_id)
        for org in organizations:
            head_seq, head_hash = uow.events.head(org)
            broken = verify_chain(
                org, uow.events.records(org), head_seq=head_seq, head_hash=head_hash
            )
            reports.append(ChainReport(org, head_seq, broken))
    return reports


def _organizations(uow: UnitOfWork, organization_id: str | None) -> list[str]:
    # Every organization, from its own table: a deleted chain head must not hide a chain.
    return [organization_id] if organization_id else [o.id for o in uow.organizations.list()]


# --- the engagement accounts ---------------------------------------------------------------------
# The figures an engagement's row caches, by their stored names (adapters/db/accounts.py).
ACCOUNT_FIGURES: dict[str, Callable[[AdvanceFigures], Money]] = {
    "advance_invoiced_minor": lambda a: a.invoiced,
    "advance_drawn_minor": lambda a: a.drawn,
    "advance_reserved_minor": lambda a: a.reserved,
    "advance_refunded_minor": lambda a: a.refunded,
    "advance_available_minor": lambda a: a.available,
}
# The credit caches on an invoice's header, in the order the repository returns them.
CREDIT_FIGURES = ("credited_minor", "credited_net_minor", "credited_prepaid_minor")


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One stored figure that is not what the documents make it. ``stored`` is None when an
    engagement whose documents count has no row at all."""

    subject: str  # "engagement" or "invoice"
    id: str
    figure: str
    stored: int | None
    recomputed: int


@dataclass(frozen=True, slots=True)
class RuleBreak:
    """An engagement whose documents break a rule of its account (``advance.overdrawn``,
    ``credit_note.exceeds_invoice``)."""

    engagement_id: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class AccountReport:
    organization_id: str
    engagements: int
    invoices: int
    mismatches: tuple[Mismatch, ...]
    rule_breaks: tuple[RuleBreak, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.rule_breaks


def account_figures(account: EngagementAccount) -> dict[str, int]:
    """The figures of ``account`` as its row stores them, in minor units."""
    advance = account.advance
    return {name: figure(advance).to_minor() for name, figure in ACCOUNT_FIGURES.items()}


def credit_figures(account: EngagementAccount, invoice_id: str) -> tuple[int, int, int]:
    """What the invoice's credit caches must be: its credit notes' gross, net and prepaid."""
    notes, currency = account.credits_of(invoice_id), account.currency
    return (
        Money.sum((c.gross for c in notes), currency).to_minor(),
        Money.sum((c.net for c in notes), currency).to_minor(),
        Money.sum((c.prepaid for c in notes), currency).to_minor(),
    )


def compare_accounts(
    accounts: Mapping[str, EngagementAccount],
    stored: Mapping[str, Mapping[str, int]],
    stored_credits: Mapping[str, tuple[int, int, int]],
) -> tuple[list[Mismatch], list[RuleBreak]]:
    """What of ``stored`` (rows by engagement) and ``stored_credits`` (caches by invoice)
    disagrees with ``accounts``, and which accounts break their rules. Invoices of
    engagements not in ``accounts`` are not compared."""
    mismatches: list[Mismatch] = []
    breaks: list[RuleBreak] = []
    for engagement_id, account in accounts.items():
        row = stored.get(engagement_id)
        for name, value in account_figures(account).items():
            # No row yet: nothing was decided on this engagement, which is right only when
            # its documents count nothing.
            kept = None if row is None else row.get(name)
            if kept != value and not (row is None and value == 0):
                mismatches.append(Mismatch("engagement", engagement_id, name, kept, value))
        for invoice_id in account.invoices:
            caches = stored_credits.get(invoice_id)
            for name, kept_value, value in zip(
                CREDIT_FIGURES,
                caches if caches is not None else (None, None, None),
                credit_figures(account, invoice_id),
                strict=True,
            ):
                if kept_value != value:
                    mismatches.append(Mismatch("invoice", invoice_id, name, kept_value, value))
        try:
            check(account)
        except RuleViolation as error:
            breaks.append(RuleBreak(engagement_id, error.code, error.message))
    return mismatches, breaks


def verify_accounts(ctx: Context, *, organization_id: str | None = None) -> list[AccountReport]:
    """Recompute every engagement's account of one organization, or of every organization,
    and compare it with the figures stored on its row and its invoices' headers."""
    with ctx.read() as uow:
        organizations = _organizations(uow, organization_id)
    reports = []
    for org in organizations:
        with ctx.read() as uow:
            engagements = {e.id: e.currency for e in uow.engagements.list(org)}
            accounts = uow.accounts.load_many(org, engagements)
            mismatches, breaks = compare_accounts(
                accounts, uow.accounts.stored(org), uow.accounts.stored_credits(org)
            )
        suspects = sorted(
            {
                m.id if m.subject == "engagement" else _engagement_of(accounts, m.id)
                for m in mismatches
            }
            | {b.engagement_id for b in breaks}
        )
        if suspects:
            mismatches, breaks = _confirmed(ctx, org, engagements, suspects)
        reports.append(
            AccountReport(
                org,
                len(accounts),
                sum(len(a.invoices) for a in accounts.values()),
                tuple(mismatches),
                tuple(breaks),
            )
        )
    return reports


def _engagement_of(accounts: Mapping[str, EngagementAccount], invoice_id: str) -> str:
    return next(e for e, account in accounts.items() if invoice_id in account.invoices)


def _confirmed(
    ctx: Context, organization_id: str, engagements: Mapping[str, str], suspects: list[str]
) -> tuple[list[Mismatch], list[RuleBreak]]:
    """The suspects read again under their accounts' locks, taken in the one lock order of
    every process (sorted), in a transaction that is rolled back: verifying writes nothing,
    not even the row a lock creates when there is none."""
    with ctx.uow() as uow:
        before = set(uow.accounts.stored(organization_id))
        for engagement_id in suspects:
            uow.accounts.lock(organization_id, engagement_id, engagements[engagement_id])
        accounts = uow.accounts.load_many(organization_id, {e: engagements[e] for e in suspects})
        stored = {
            engagement_id: row
            for engagement_id, row in uow.accounts.stored(organization_id).items()
            # A row of zeros that was not there before is the one the lock just created.
            if engagement_id in before or any(row.values())
        }
        return compare_accounts(accounts, stored, uow.accounts.stored_credits(organization_id))
