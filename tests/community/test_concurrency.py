"""Serving with gevent (the production worker, community/concurrency.py): checked in a fresh interpreter that
monkey-patches first, as gunicorn's gevent worker does; the test process itself stays threaded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from community import concurrency
from knowledge_index import native

ROOT = Path(__file__).resolve().parents[2]

GREEN = r"""
from gevent import monkey
monkey.patch_all()

import json, sys, threading, time
import gevent
from sqlalchemy import text
from community import create_app
from community.extensions import db, socketio
from knowledge_index import native

app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1] + "/green.db", "COKNOW_INSTANCE_DIR": sys.argv[1]})
out = {"async_mode": socketio.server.eio.async_mode}

# Native work runs in another OS thread, and the event loop serves other greenlets meanwhile.
os_ident = monkey.get_original("_thread", "get_ident")
ticks = []
ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(10)])
native_thread = native.run(lambda: (time.sleep(0.2), os_ident())[1])
out["native_elsewhere"] = native_thread != os_ident()
out["ticks_meanwhile"] = len(ticks)
ticker.join()

# Two greenlets write to SQLite; the first pauses inside its transaction (as it does while the encoder
# runs in a thread). Without turns, the second's busy wait would stop the process until "database is locked".
with app.app_context():
    engine = db.engine  # greenlets do not share the app context; the engine is what they need
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    done = {}

    def write(n, pause):
        started = time.monotonic()
        try:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                gevent.sleep(pause)
            done[n] = round(time.monotonic() - started, 2)
        except Exception as exc:
            done[n] = repr(exc)

    first = gevent.spawn(write, 1, 0.5)
    gevent.sleep(0.05)
    second = gevent.spawn(write, 2, 0)
    gevent.joinall([first, second], timeout=30)
    out["writes"] = done
    with engine.connect() as conn:
        out["rows"] = conn.execute(text("SELECT count(*) FROM t")).scalar()
print(json.dumps(out))
"""


def test_gevent_process_serves_greenlets_and_takes_turns_writing_sqlite(tmp_path):
    env = {**os.environ, "COKNOW_INSTANCE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", GREEN, str(tmp_path)], cwd=ROOT, env=env,  # noqa: S603  (our own script)
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["async_mode"] == "gevent"
    assert out["native_elsewhere"] is True
    assert out["ticks_meanwhile"] >= 5  # the loop ran while the native call slept in its thread
    writes = out["writes"]
    assert isinstance(writes["1"], float) and isinstance(writes["2"], float), writes
    assert writes["2"] < 3, writes  # waited for the first's turn (~0.45 s), not for SQLite's 10 s busy timeout
    assert out["rows"] == 2


def test_threaded_process_runs_native_work_inline(app):
    """The test process (like `flask coknow serve`) is not patched: threads, and no runner."""
    assert not concurrency.green()
    assert concurrency.async_mode() == "threading"
    assert native.run(lambda: 7) == 7
    assert native._runner is None
