"""Scaling (issue 17): two web processes behind nginx versus one, the same load, in one run.

Builds a fresh PostgreSQL schema seeded with the demo data (`flask db upgrade heads`, `flask coknow seed`),
starts two production web processes (gunicorn, deploy/gunicorn.conf.py) on it with Redis as their message
queue, and two real nginx running deploy/nginx.conf (tests/production/stack.py renders it): one in front of
process A alone, one in front of A and B. Then --clients visitors load the page mix (home, forum list, a
thread, ideas board, help center, health) against

    (a) process A directly, (b) A behind nginx, (c) A and B behind nginx,

in --rounds interleaved rounds (each setup gets a slice of every round, so a change in what else runs hits
them alike), and prints requests/s, p50 / p95 per setup, the ratios (c)/(a) and (c)/(b), how (c)'s requests
were split over the two processes (nginx's log), and where the machine's CPU went in each setup: the load
generator, the web processes, nginx, and idle.

Every visitor is one keep-alive connection from its own loopback address 127.0.n.1: nginx's ip_hash keys
IPv4 clients by their first three octets, so visitors from 127.0.0.x would all land on one process. The
load generator is --generators processes of plain sockets (no HTTP library), so that it is not one
GIL-bound Python process; it still runs on the same 2 cores, and its CPU share is printed.
Rate limits are off on the servers (COKNOW_RATE_LIMITS=0): every visitor asks far above a person's rate.

    PYTHONPATH=. .venv/bin/python bench/load/scaling.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --clients 20 --seconds 30 --rounds 3
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "load"))
from pages import discover  # noqa: E402

from tests.production.stack import REDIS_URL, Nginx, Process, client_address  # noqa: E402

MIX = ("home", "forum list", "thread", "ideas board", "help center")
TICKS = os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---- the load generator: one keep-alive connection per visitor, plain sockets ----

def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, bool]:
    """Read one HTTP/1.1 response off sock (leftover bytes stay in buffer): its status and whether the server
    closes the connection after it."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the headers")
        buffer += chunk
    end = buffer.index(b"\r\n\r\n")
    head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    del buffer[:end + 4]
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _sep, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    close = headers.get("connection") == "close"
    if "content-length" in headers:
        length = int(headers["content-length"])
        while len(buffer) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside the body")
            buffer += chunk
        del buffer[:length]
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            while b"\r\n" not in buffer:
                buffer += sock.recv(65536)
            line_end = buffer.index(b"\r\n")
            size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
            while len(buffer) < line_end + 2 + size + 2:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed inside a chunk")
                buffer += chunk
            del buffer[:line_end + 2 + size + 2]
            if size == 0:
                break
    return status, close


def _visitor(host: str, port: int, address: str, paths: list[str], offset: int, stop: float, out: dict) -> None:
    requests = [f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/html\r\n\r\n".encode() for path in paths]
    sock: socket.socket | None = None
    buffer = bytearray()
    n = offset
    while time.monotonic() < stop:
        if sock is None:
            sock = socket.create_connection((host, port), timeout=30, source_address=(address, 0))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buffer.clear()
        started = time.perf_counter()
        try:
            sock.sendall(requests[n % len(requests)])
            status, close = _read_response(sock, buffer)
        except OSError as exc:
            out["errors"].append(f"{type(exc).__name__}: {exc}")
            sock.close()
            sock = None
            time.sleep(0.05)
            continue
        out["latencies"].append(time.perf_counter() - started)
        out["statuses"][status] = out["statuses"].get(status, 0) + 1
        n += 1
        if close:
            sock.close()
            sock = None
    if sock is not None:
        sock.close()


def _generator(base: str, visitors: list[int], paths: list[str], start: float, seconds: float, queue) -> None:
    """One generator process: a thread per visitor from start to start + seconds; puts its results on queue."""
    import threading

    host, port = base.removeprefix("http://").split(":")
    out: dict = {"latencies": [], "statuses": {}, "errors": []}
    while time.monotonic() < start:
        time.sleep(0.001)
    cpu = os.times()
    threads = [threading.Thread(target=_visitor, args=(host, int(port), client_address(v), paths, v, start + seconds, out))
               for v in visitors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = os.times()
    out["cpu"] = (after.user - cpu.user) + (after.system - cpu.system)
    queue.put(out)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu: Counter = field(default_factory=Counter)  # CPU-seconds by who spent them
    split: Counter = field(default_factory=Counter)  # requests by the web process that answered (behind nginx)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _cpu_seconds(pid: int) -> float:
    """CPU-seconds spent so far by a process and its children that are still running (gunicorn's worker, nginx's)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    total = (int(fields[11]) + int(fields[12])) / TICKS
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        total += _cpu_seconds(int(child))
    return total


def _idle_seconds() -> float:
    """Idle CPU-seconds of the whole machine so far, all cores together."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return (int(fields[4]) + int(fields[5])) / TICKS


def measure(base: str, clients: int, generators: int, paths: list[str], seconds: float,
            watched: dict[str, list[int]]) -> Result:
    """clients visitors in generators processes load base with paths for seconds."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start = time.monotonic() + 0.3
    # Consecutive visitors per generator process: ip_hash puts 127.0.n.1 on alternate processes (n odd, n even),
    # so a stride would give each generator process the visitors of one web process only.
    size = -(-clients // generators)
    groups = [list(range(1 + g * size, min(clients, (g + 1) * size) + 1)) for g in range(generators)]
    procs = [context.Process(target=_generator, args=(base, group, paths, start, seconds, queue))
             for group in groups if group]
    for p in procs:
        p.start()
    while time.monotonic() < start:
        time.sleep(0.001)
    before = {who: sum(_cpu_seconds(pid) for pid in pids) for who, pids in watched.items()}
    idle_before = _idle_seconds()
    outs = [queue.get() for _ in procs]
    # The machine's side is read from start until the last result came in, a little longer than the load:
    # scaled to the load's seconds, so that CPU-seconds / seconds reads as cores busy during the load.
    scale = seconds / (time.monotonic() - start)
    result = Result(seconds=seconds)
    result.cpu["idle"] = (_idle_seconds() - idle_before) * scale
    for who, pids in watched.items():
        result.cpu[who] = (sum(_cpu_seconds(pid) for pid in pids) - before[who]) * scale
    for p in procs:
        p.join()
    for out in outs:
        result.latencies += out["latencies"]
        result.statuses.update(out["statuses"])
        result.errors += out["errors"]
        result.cpu["generator"] += out["cpu"]
    return result


def fresh_database(postgres: str) -> tuple[str, str]:
    schema = f"scaling_{secrets.token_hex(4)}"
    with create_engine(postgres).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="per setup, in all")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds the seconds are split into")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load per setup before measuring")
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, nginx configs)")
    args = parser.parse_args()
    if not 1 <= args.clients <= 255:
        parser.error("--clients: 1 to 255 (one loopback address 127.0.n.1 each)")

    folder = Path(tempfile.mkdtemp(prefix="coknow-scaling-"))
    database, schema = fresh_database(args.postgres)
    env = {"DATABASE_URL": database, "COKNOW_INSTANCE_DIR": str(folder), "COKNOW_JOBS_URL": "immediate", "SOCKETIO_MESSAGE_QUEUE": REDIS_URL, "COKNOW_JOB_WORKERS": "0",
           "COKNOW_RATE_LIMITS": "0", "SECRET_KEY": f"scaling-{secrets.token_hex(8)}", "COKNOW_LOG_LEVEL": "warning",
           "FLASK_APP": "wsgi:app", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    flask = [sys.executable, "-m", "flask"]
    for command in (["db", "upgrade", "heads"], ["coknow", "seed"]):
        subprocess.run([*flask, *command], cwd=ROOT, env={**os.environ, **env, "COKNOW_INDEX_DIR": str(folder / "index")},  # noqa: S603
                       check=True, capture_output=True)
    a, b = Process("a", database, folder, env), Process("b", database, folder, env)
    started: list = [a, b]
    try:
        a.wait_ready()
        b.wait_ready()
        one, two = Nginx(folder / "nginx-a", [a.port]), Nginx(folder / "nginx-ab", [a.port, b.port])
        started += [one, two]
        one.wait_ready()
        two.wait_ready()
        pages = discover(a.base, 30)
        paths = [pages[name] for name in MIX] + ["/api/v1/health"]
        web_a, web_ab = [a.proc.pid], [a.proc.pid, b.proc.pid]
        setups = {
            "(a) one process": (a.base, {"web": web_a}),
            "(b) one behind nginx": (one.base, {"web": web_a, "nginx": [one.proc.pid]}),
            "(c) two behind nginx": (two.base, {"web": web_ab, "nginx": [two.proc.pid]}),
        }
        print(f"{args.clients} visitors (127.0.1.1-127.0.{args.clients}.1), {args.generators} generator processes, "
              f"{os.cpu_count()} cores, PostgreSQL schema {schema}, Redis {REDIS_URL}; load average {load_average()}")
        print("page mix: " + ", ".join(f"{name} {pages[name]}" for name in MIX) + ", health /api/v1/health")
        for base, _watched in setups.values():
            measure(base, args.clients, args.generators, paths, args.warmup, {})
        upstream_rows = len(two.access_log())
        totals = {name: Result() for name in setups}
        for _ in range(args.rounds):
            for name, (base, watched) in setups.items():
                part = measure(base, args.clients, args.generators, paths, args.seconds / args.rounds, watched)
                total = totals[name]
                total.latencies += part.latencies
                total.statuses.update(part.statuses)
                total.errors += part.errors
                total.seconds += part.seconds
                total.cpu.update(part.cpu)
        for row in two.access_log()[upstream_rows:]:
            totals["(c) two behind nginx"].split["A" if row[1].endswith(f":{a.port}") else "B"] += 1

        print(f"{'setup':22s} {'req/s':>8s} {'p50 ms':>7s} {'p95 ms':>7s}  {'CPU cores: generator / web / nginx / rest / idle':49s} statuses")
        failed = 0
        for name, r in totals.items():
            failed += sum(v for k, v in r.statuses.items() if k >= 500) + len(r.errors)
            # rest: whatever else ran (PostgreSQL, Redis, the kernel's share, other people's work on the machine).
            r.cpu["rest"] = (os.cpu_count() or 1) * r.seconds - sum(r.cpu.values())
            cores = " / ".join(f"{r.cpu[who] / r.seconds:.2f}" for who in ("generator", "web", "nginx", "rest", "idle"))
            split = f"  split A {r.split['A']} / B {r.split['B']}" if r.split else ""
            print(f"{name:22s} {r.rate:8.1f} {r.pct(0.5) * 1000:7.1f} {r.pct(0.95) * 1000:7.1f}  {cores:49s} "
                  f"{dict(sorted(r.statuses.items()))}{f'  errors {len(r.errors)}' if r.errors else ''}{split}")
        rates = [r.rate for r in totals.values()]
        print(f"ratio (c)/(a) {rates[2] / rates[0]:.2f}, (c)/(b) {rates[2] / rates[1]:.2f}, (b)/(a) {rates[1] / rates[0]:.2f}; "
              f"after: load average {load_average()}")
        for line in sorted({e for r in totals.values() for e in r.errors})[:10]:
            print("  ", line)
        return 1 if failed else 0
    finally:
        for thing in reversed(started):
            thing.stop()
        engine = create_engine(args.postgres)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
        if args.keep:
            print(f"logs and configs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
