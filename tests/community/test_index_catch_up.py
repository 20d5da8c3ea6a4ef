"""Requests that find the index behind catch up one at a time, and wait for their turn before taking a second
database connection: with the wait inside the sync, twenty thread views on a large index held every pooled
connection and the site stopped (a 2M-post community, bench/RESULTS.md)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, text

from community import search
from community.extensions import db

REQUESTS = 12


@pytest.mark.app_config(COKNOW_INDEX_SYNC_SECONDS=0)
def test_concurrent_catch_ups_take_one_extra_connection_at_most(app, help_center, monkeypatch):
    state = search._state(app)
    cache = search.get_cache()
    real_sync = cache.sync

    def slow_sync(conn):  # the real sync, made as slow as on a large index so that requests overlap
        time.sleep(0.2)
        return real_sync(conn)

    monkeypatch.setattr(cache, "sync", slow_sync)
    out = {"now": 0, "most": 0}
    lock = threading.Lock()

    def checkout(*_args):
        with lock:
            out["now"] += 1
            out["most"] = max(out["most"], out["now"])

    def checkin(*_args):
        with lock:
            out["now"] -= 1

    event.listen(db.engine, "checkout", checkout)
    event.listen(db.engine, "checkin", checkin)
    start = threading.Barrier(REQUESTS)
    errors: list[BaseException] = []

    def view() -> None:
        try:
            with app.app_context():
                db.session.execute(text("select 1"))  # the request's own connection, held to the end
                start.wait()
                search.get_cache()
                db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        state.dirty = False
        threads = [threading.Thread(target=view) for _ in range(REQUESTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        event.remove(db.engine, "checkout", checkout)
        event.remove(db.engine, "checkin", checkin)
    assert errors == []
    assert out["most"] <= REQUESTS + 1, out
    # After a write of this process, the writer waits for its turn and then sees its write.
    state.dirty = True
    started = time.monotonic()
    search.get_cache()
    assert time.monotonic() - started >= 0.2 and state.dirty is False
