"""Verification of the event chains: recompute every hash and name the first broken event."""

from __future__ import annotations

from dataclasses import dataclass

from engagebill.domain.events import ChainBreak, verify_chain
from engagebill.services.ports import Context


@dataclass(frozen=True, slots=True)
class ChainReport:
    organization_id: str
    events: int
    broken: ChainBreak | None


def verify_chains(ctx: Context, *, organization_id: str | None = None) -> list[ChainReport]:
    """Verify one organization's chain, or every organization's."""
    reports = []
    with ctx.uow() as uow:
        # Every organization, from its own table: a deleted chain head must not hide a chain.
        organizations = (
            [organization_id] if organization_id else [o.id for o in uow.organizations.list()]
        )
        for org in organizations:
            head_seq, head_hash = uow.events.head(org)
            broken = verify_chain(
                org, uow.events.records(org), head_seq=head_seq, head_hash=head_hash
            )
            reports.append(ChainReport(org, head_seq, broken))
    return reports
