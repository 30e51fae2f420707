"""Run the ``engagebill`` CLI in this process and SIGKILL it at a chosen point.

    python -m tests.proof.crash_child KILL [--batch-size N] -- <engagebill arguments>

KILL is ``none``, ``statement:N`` (right after the Nth SQL statement), ``before_commit:N`` or
``after_commit:N`` (around the Nth COMMIT); ``--batch-size`` sets the billing run's batch size.

The hooks live here, in the test tree, on SQLAlchemy's Engine class and dialect: production
code has no crash switch. SIGKILL gives the process no chance to clean up, exactly like a
killed container or a power cut seen from the database.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.default import DefaultDialect

KINDS = ("statement", "before_commit", "after_commit")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install(kind: str, at: int, counts: dict[str, int]) -> None:
    """Count statements and commits of every engine; kill at the chosen one."""

    @event.listens_for(Engine, "after_cursor_execute")
    def _statement(*_: Any) -> None:
        counts["statements"] += 1
        if kind == "statement" and counts["statements"] == at:
            _die()

    commit = DefaultDialect.do_commit

    def do_commit(self: DefaultDialect, dbapi_connection: Any) -> None:
        counts["commits"] += 1
        if kind == "before_commit" and counts["commits"] == at:
            _die()
        commit(self, dbapi_connection)
        if kind == "after_commit" and counts["commits"] == at:
            _die()

    DefaultDialect.do_commit = do_commit  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    split = argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("kill")
    parser.add_argument("--batch-size", type=int, default=0)
    args = parser.parse_args(argv[:split])
    counts = {"statements": 0, "commits": 0}
    kind, _, at = args.kill.partition(":")
    if kind != "none":
        assert kind in KINDS and int(at) > 0, args.kill
    install(kind, int(at or 0), counts)

    if args.batch_size:
        # A smaller batch gives a small run several transactions to be killed between.
        from engagebill.services import billing_run

        billing_run.execute_run = functools.partial(  # type: ignore[assignment]
            billing_run.execute_run, batch_size=args.batch_size
        )
    from engagebill.entrypoints.cli.main import app

    app(args=argv[split + 1 :], prog_name="engagebill")


if __name__ == "__main__":
    main(sys.argv[1:])
