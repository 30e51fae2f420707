"""The collector pauses used by the billing plan and the PDF renderer restore what they found."""

from __future__ import annotations

import gc

import pytest

from engagebill.services.collector import collector_paused, survivors_frozen


def _fail_while_paused() -> None:
    with collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("the block failed")


def test_a_pause_turns_the_collector_back_on_even_when_the_block_fails() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="the block failed"):
        _fail_while_paused()
    assert gc.isenabled()


def test_only_the_outermost_pause_turns_the_collector_back_on() -> None:
    with collector_paused(collect_after=False):
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_survivors_are_frozen_only_inside_the_block() -> None:
    kept = [object() for _ in range(10)]
    with survivors_frozen():
        assert gc.get_freeze_count() >= 1
    assert gc.get_freeze_count() == 0
    assert len(kept) == 10
