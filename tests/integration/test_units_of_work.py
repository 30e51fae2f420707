"""Units of work on both databases: readers, and what a use case writes and reads.

A reader (``ctx.read()``) sees what was committed and, on SQLite, neither writes nor waits
for the writer. Saving an invoice writes only what changed: sending leaves the draft's lines
as they are, and a view or an approval touches no version. A link's views are counted from
that link's rows only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from engagebill.domain.errors import Gone
from engagebill.domain.lifecycle import InvoiceState
from engagebill.services import invoicing, links, queries, recipient_links
from engagebill.services.audit import verify_chains
from engagebill.services.links import IssuedLink
from tests.support import World, an_engagement, line


def _sent(world: World) -> tuple[str, str]:
    """A sent invoice and the token of its recipient's link."""
    engagement = an_engagement(world.app, world.org_id, world.client_id)
    draft = invoicing.create_draft(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement,
        lines=[line("Design", price="4000.00"), line("Build", price="6000.00")],
    ).invoice
    issued: list[IssuedLink] = []
    invoicing.send_invoice(
        world.ctx, organization_id=world.org_id, invoice_id=draft.id, issued=issued
    )
    return draft.id, issued[0].token


@contextmanager
def statements(world: World) -> Iterator[list[str]]:
    """The SQL the writer's connections run inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    event.listen(world.app.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(world.app.engine, "before_cursor_execute", record)


def test_a_reader_sees_what_was_committed(world: World) -> None:
    invoice_id, _ = _sent(world)
    detail = queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=invoice_id)
    assert detail.invoice.state is InvoiceState.SENT
    assert [ln.description for ln in detail.invoice.current.lines] == ["Design", "Build"]


def test_a_reader_on_sqlite_refuses_to_write(world: World, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL readers share the writer's connections")
    invoice_id, _ = _sent(world)
    [link] = links.links_for(world.ctx, organization_id=world.org_id, document_id=invoice_id)
    with world.ctx.read() as uow, pytest.raises(OperationalError, match="readonly"):
        uow.links.record_view(link, world.clock.now())


def test_a_reader_on_sqlite_does_not_wait_for_the_writer(world: World, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the writer's turn is SQLite's")
    invoice_id, token = _sent(world)
    with world.ctx.uow():  # holds the write lock (BEGIN IMMEDIATE) and the writers' turn
        document = recipient_links.open_document(world.ctx, token)  # would wait 30 s before
    assert document.invoice is not None and document.invoice.id == invoice_id


def test_sending_freezes_the_draft_lines_without_rewriting_them(world: World) -> None:
    engagement = an_engagement(world.app, world.org_id, world.client_id)
    draft = invoicing.create_draft(
        world.ctx, organization_id=world.org_id, engagement_id=engagement, lines=[line()]
    ).invoice
    with statements(world) as seen:
        sent = invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=draft.id)
    assert sent.current.frozen
    assert not [s for s in seen if "invoice_lines" in s and not s.startswith("SELECT")]
    stored = queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=draft.id)
    assert stored.invoice.current.frozen
    assert stored.invoice.current.content_hash == sent.current.content_hash
    assert stored.invoice.current.lines == sent.current.lines


def test_editing_a_draft_rewrites_its_lines_only_when_they_change(world: World) -> None:
    engagement = an_engagement(world.app, world.org_id, world.client_id)
    draft = invoicing.create_draft(
        world.ctx, organization_id=world.org_id, engagement_id=engagement, lines=[line()]
    ).invoice
    edit = invoicing.edit_draft
    with statements(world) as seen:
        edit(world.ctx, organization_id=world.org_id, invoice_id=draft.id, notes="Thanks")
    assert not [s for s in seen if "invoice_lines" in s and not s.startswith("SELECT")]
    with statements(world) as seen:
        edited = edit(
            world.ctx,
            organization_id=world.org_id,
            invoice_id=draft.id,
            lines=[line("Retainer, April", price="9000.00")],
        ).invoice
    assert [s for s in seen if s.startswith("DELETE FROM invoice_lines")]
    stored = queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=draft.id)
    assert stored.invoice.current.notes == "Thanks"
    assert [ln.description for ln in stored.invoice.current.lines] == ["Retainer, April"]
    assert stored.invoice.current.lines == edited.current.lines


def test_viewing_and_approving_touch_no_version(world: World) -> None:
    invoice_id, token = _sent(world)
    with statements(world) as seen:
        viewed = recipient_links.view_document(world.ctx, token)
        approved = recipient_links.link_approve(world.ctx, token, name="Dana Scully")
    assert viewed.invoice is not None and viewed.invoice.state is InvoiceState.VIEWED
    assert approved.state is InvoiceState.APPROVED
    assert not [s for s in seen if "invoice_versions" in s and not s.startswith("SELECT")]
    [report] = verify_chains(world.ctx, organization_id=world.org_id)
    assert report.broken is None
    stored = queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=invoice_id)
    assert [e.kind for e in stored.events][-2:] == ["invoice.viewed", "invoice.approved"]


def test_a_link_counts_only_its_own_views(world: World) -> None:
    first, first_token = _sent(world)
    second, _ = _sent(world)
    links.record_view(world.ctx, first_token)
    world.clock.advance(minutes=5)
    later = world.clock.moment
    links.record_view(world.ctx, first_token)
    [viewed] = links.links_for(world.ctx, organization_id=world.org_id, document_id=first)
    [unseen] = links.links_for(world.ctx, organization_id=world.org_id, document_id=second)
    assert viewed.views == 2
    assert viewed.last_viewed_at is not None and viewed.last_viewed_at > later
    assert unseen.views == 0 and unseen.last_viewed_at is None


def test_a_revoked_link_cannot_approve(world: World) -> None:
    invoice_id, token = _sent(world)
    [link] = links.links_for(world.ctx, organization_id=world.org_id, document_id=invoice_id)
    links.revoke_link(world.ctx, organization_id=world.org_id, link_id=link.id)
    with pytest.raises(Gone):
        recipient_links.link_approve(world.ctx, token, name="Dana Scully")
    stored = queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=invoice_id)
    assert stored.invoice.state is InvoiceState.SENT
