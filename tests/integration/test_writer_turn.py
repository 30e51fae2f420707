"""The writers' turn on a SQLite file: threads and processes write one at a time, in turn,
and a process that dies holding the turn gives it up."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from engagebill.adapters.db.writer_turn import WriterTurn, lock_path_for
from engagebill.bootstrap import build
from engagebill.config import Settings


def _hold(lock_path: str, held: Any, release: Any) -> None:
    turn = WriterTurn(lock_path)
    turn.acquire()
    held.set()
    release.wait(30)
    turn.release()


def _hold_and_die(lock_path: str, held: Any) -> None:
    turn = WriterTurn(lock_path)
    turn.acquire()
    held.set()
    time.sleep(60)  # killed before this ends


def test_the_turn_is_reentrant_and_shared_by_threads(tmp_path: Path) -> None:
    turn = WriterTurn(str(tmp_path / "db.writer"))
    order: list[str] = []
    turn.acquire()
    turn.acquire()  # a unit of work inside another keeps the turn

    def other() -> None:
        turn.acquire()
        order.append("other")
        turn.release()

    thread = threading.Thread(target=other)
    thread.start()
    time.sleep(0.1)
    order.append("first, still holding")
    turn.release()
    time.sleep(0.1)
    assert order == ["first, still holding"]  # still held once
    turn.release()
    thread.join(5)
    assert order == ["first, still holding", "other"]
    turn.close()


def test_another_process_waits_for_the_turn_and_gets_it_when_released(tmp_path: Path) -> None:
    lock_path = str(tmp_path / "db.writer")
    context = mp.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(lock_path, held, release))
    holder.start()
    assert held.wait(30)
    turn = WriterTurn(lock_path)
    got, done = threading.Event(), threading.Event()

    def take() -> None:
        turn.acquire()
        got.set()
        done.wait(10)
        turn.release()

    taker = threading.Thread(target=take, daemon=True)
    taker.start()
    assert not got.wait(0.5)  # the other process has it
    released_at = time.monotonic()
    release.set()
    assert got.wait(10)
    assert time.monotonic() - released_at < 1.0  # woken, not polling in growing sleeps
    done.set()
    taker.join(10)
    holder.join(10)
    turn.close()


def test_a_process_killed_holding_the_turn_gives_it_up(tmp_path: Path) -> None:
    lock_path = str(tmp_path / "db.writer")
    context = mp.get_context("spawn")
    held = context.Event()
    holder = context.Process(target=_hold_and_die, args=(lock_path, held))
    holder.start()
    assert held.wait(30)
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    turn = WriterTurn(lock_path)
    turn.acquire()  # would block for ever if the dead process still held it
    turn.release()
    turn.close()


def test_a_sqlite_application_takes_its_turn_on_a_file_beside_the_database(
    tmp_path: Path,
) -> None:
    database = tmp_path / "engagebill.db"
    app = build(Settings(database_url=f"sqlite:///{database}"))
    try:
        assert Path(lock_path_for(str(database))).exists()
        with app.ctx.uow() as uow:
            uow.conn.execute(text("CREATE TABLE t (n INTEGER)"))
            uow.commit()
    finally:
        app.dispose()
