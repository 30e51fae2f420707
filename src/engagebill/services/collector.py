"""Pausing Python's cyclic garbage collector around work that builds a large object graph.

Planning a month end reads every schedule, milestone and work item of an organization and
builds the plan's invoices and lines from them; rendering a PDF builds tens of thousands of
boxes and styles. Everything built lives until the work ends, so the collector's passes
during it free nothing, yet each one walks the growing graph: a tenth of a PDF's rendering
time and a quarter of a 10,000-client plan (measured, docs/benchmarks.md).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(*, collect_after: bool = True) -> Iterator[None]:
    """Run the block with the collector off; one young-generation pass afterwards frees
    whatever cycles the block left behind (``collect_after=False`` when what it built lives
    on, and the pass would only walk it). Only the caller that found the collector on turns
    it back on, so nested and overlapping pauses are safe."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            if collect_after:
                gc.collect(0)


@contextmanager
def survivors_frozen() -> Iterator[None]:
    """Run the block with everything alive now left out of the collector's passes.

    For work that first builds a large graph that lives to the end (a month end's plan) and
    then makes many short-lived objects (the batches it writes): the collector still frees
    the batches' cycles, without walking the plan on every pass. ``gc.freeze`` is process-wide;
    a frozen object that becomes garbage is still freed by reference counting, and any cycle
    among them once the block ends.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
