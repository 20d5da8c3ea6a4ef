"""How long SQLite's WAL checkpoint holds the connection that runs it (issue 21).

With the default wal_autocheckpoint (1,000 pages), the commit that crosses it copies the WAL into the database
and fsyncs it, on the committing connection: in the gevent worker, the event loop. Writes --commits single-row
transactions of --row-bytes with the server's pragmas (WAL, synchronous=NORMAL), then times a PASSIVE
checkpoint; --rounds times.

    .venv/bin/python bench/sqlite_checkpoint.py
"""
from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--row-bytes", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        connection = sqlite3.connect(Path(folder) / "checkpoint.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=0"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        times = []
        for _ in range(args.rounds):
            for _ in range(args.commits):
                connection.execute("BEGIN")
                connection.execute("INSERT INTO t (body) VALUES (?)", ("x" * args.row_bytes,))
                connection.execute("COMMIT")
            started = time.perf_counter()
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            times.append(round((time.perf_counter() - started) * 1000, 1))
        connection.close()
    print({"commits_per_checkpoint": args.commits, "row_bytes": args.row_bytes, "checkpoint_ms": times})


if __name__ == "__main__":
    main()
