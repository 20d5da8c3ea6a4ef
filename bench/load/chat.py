"""Chat under load (issue 21): real Socket.IO clients against one CoKnow server process.

Starts one server process (`flask coknow serve`, the embedded threaded server, or `--server gunicorn`,
the production worker: threaded, or gevent with `--env COKNOW_WORKER=gevent`) on a fresh database (SQLite file, or a fresh schema of --postgres) seeded with the
demo help center, opens --sessions python-socketio clients on /chat (WebSocket; asyncio clients in one
event loop, so the generator itself is one thread, not thousands), then offers questions at
each rate of --rates for --step seconds (open loop: a question is sent at its time whether or not earlier
ones were answered). For each step it prints questions/s offered and answered, acknowledgement p50 / p95
of answered questions, refusals ("busy": their p95, the slowest, how many took over 100 ms), errors, timeouts, sessions still connected, server memory and
threads. --overload R offers R questions/s for --overload-seconds, then --rates[0] again, and reports the
time until the p95 of a one-second window is back under 100 ms.

The load generator runs on the same machine: the figures include its cost. The machine may be shared:
the load average is printed with the figures.

    PYTHONPATH=. .venv/bin/python bench/load/chat.py --sessions 300 --rates 25,50,100,150,200,300 --step 10
    PYTHONPATH=. .venv/bin/python bench/load/chat.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test ...
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import socketio
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "community" / "seed_data" / "articles.jsonl"


def questions() -> list[str]:
    """Real customer-style questions from the demo help center's articles, plus some it cannot answer."""
    found: list[str] = []
    for line in SEED.read_text(encoding="utf-8").splitlines():
        if line.strip():
            found.extend(json.loads(line).get("questions", []))
    return found + ["what is the weather in Paris tomorrow", "who won the football game last night"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_stats(pid: int) -> tuple[float, int]:
    """Resident memory (MB) and thread count of a process and its children (gunicorn's worker)."""
    rss, threads = 0.0, 0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        child_rss, child_threads = proc_stats(int(child))
        rss, threads = rss + child_rss, threads + child_threads
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss += int(line.split()[1]) / 1024
        elif line.startswith("Threads:"):
            threads += int(line.split()[1])
    return rss, threads


def proc_cpu(pid: int) -> float:
    """CPU seconds used by a process and its children (gunicorn's worker)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        total += proc_cpu(int(child))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return total + (int(fields[11]) + int(fields[12])) / ticks


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Server:
    """One CoKnow process on a fresh, seeded database."""

    def __init__(self, kind: str, postgres: str | None, extra_env: dict[str, str]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="coknow-chat-load-"))
        self.schema = None
        self.postgres = postgres
        if postgres:
            self.schema = f"chat_load_{secrets.token_hex(4)}"
            with create_engine(postgres).begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            url = make_url(postgres).update_query_dict({"options": f"-csearch_path={self.schema}"})
            database = url.render_as_string(hide_password=False)
        else:
            database = f"sqlite:///{self.dir / 'coknow.db'}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ, "DATABASE_URL": database, "COKNOW_INSTANCE_DIR": str(self.dir),
            "COKNOW_INDEX_DIR": str(self.dir / "index"), "COKNOW_JOBS_URL": "immediate",
            "SECRET_KEY": "chat-load-benchmark-secret", "FLASK_APP": "wsgi:app", "PORT": str(self.port),
            # The benchmark is one address asking for many visitors: the abuse limits would refuse it.
            "COKNOW_RATE_LIMITS": "0", "COKNOW_CHAT_RATE_PER_MINUTE": "10000", "COKNOW_CHAT_RATE_PER_ADDRESS": "100000",
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT),
            **extra_env,
        }
        flask = [sys.executable, "-m", "flask"]
        subprocess.run([*flask, "db", "upgrade", "heads"], cwd=ROOT, env=self.env, check=True, capture_output=True)  # noqa: S603  (our own commands)
        subprocess.run([*flask, "coknow", "seed"], cwd=ROOT, env=self.env, check=True, capture_output=True)  # noqa: S603
        if kind == "gunicorn":
            command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"]
            self.env["COKNOW_LOG_LEVEL"] = "warning"
            self.env["COKNOW_JOB_WORKERS"] = "0"
        else:
            command = [*flask, "coknow", "serve", "--port", str(self.port)]
        self.log = (self.dir / "server.log").open("w")
        self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited; see {self.log.name}")
            try:
                if requests.get(self.base + "/api/v1/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            raise TimeoutError(f"server did not start; see {self.log.name}")
        self.settle()

    def settle(self, idle_share: float = 0.15, limit: float = 180) -> None:
        """Wait until the server's start-up work (the index, the encoder, the bot's background model fit)
        is done: its CPU use over a second falls under idle_share of one core. Else the first step measures it."""
        deadline = time.monotonic() + limit
        before = proc_cpu(self.proc.pid)
        while time.monotonic() < deadline:
            time.sleep(1)
            now = proc_cpu(self.proc.pid)
            if now - before < idle_share:
                return
            before = now

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        if self.postgres and self.schema:
            engine = create_engine(self.postgres)
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            engine.dispose()

    def log_count(self, needle: str) -> int:
        return (self.dir / "server.log").read_text(errors="replace").count(needle)


@dataclass
class Outcome:
    sent: float
    latency: float
    result: str  # ok, busy, error, timeout


@dataclass
class Step:
    name: str
    rate: float
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)


async def connect_sessions(base: str, count: int) -> list[socketio.AsyncClient]:
    """Open count sessions, at most 16 handshakes at a time (as many as the threaded generator had)."""
    gate = asyncio.Semaphore(16)

    async def one() -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        async with gate:
            await client.connect(base, namespaces=["/chat"], transports=["websocket"], wait_timeout=30)
        return client

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def ask(client: socketio.AsyncClient, text_: str, timeout: float) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        # With a client_id, as the web client sends (it makes a re-sent message idempotent).
        ack = await client.call("message", {"text": text_, "client_id": secrets.token_hex(8)}, namespace="/chat",
                                timeout=timeout)
    except socketio.exceptions.TimeoutError:
        return time.perf_counter() - started, "timeout"
    except Exception:
        return time.perf_counter() - started, "error"
    elapsed = time.perf_counter() - started
    if isinstance(ack, dict) and ack.get("ok"):
        return elapsed, "ok"
    code = ((ack or {}).get("error") or {}).get("code") if isinstance(ack, dict) else None
    return elapsed, "busy" if code == "busy" else "error"


async def _run(client: socketio.AsyncClient, question: str, sent: float, step: Step, timeout: float) -> None:
    latency, result = await ask(client, question, timeout)
    step.outcomes.append(Outcome(sent, latency, result))


async def offer(clients: list[socketio.AsyncClient], step: Step, texts: list[str], timeout: float) -> None:
    """Send step.rate questions a second for step.seconds, each from a random session (open loop)."""
    total = int(step.rate * step.seconds)
    start = time.perf_counter()
    pending = []
    for n in range(total):
        delay = start + n / step.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(
            _run(random.choice(clients), random.choice(texts), time.perf_counter() - start, step, timeout)))
    await asyncio.gather(*pending)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def summarize(step: Step, clients: list[socketio.AsyncClient], pid: int, cpu_seconds: float,
              generator_seconds: float, wall_seconds: float) -> dict:
    """cpu_seconds: the server's CPU during the step (its main thread and the encoder's pool together);
    generator_seconds: this process's (the clients') CPU during the step, on the same cores."""
    ok = [o.latency * 1000 for o in step.outcomes if o.result == "ok"]
    busy = [o.latency * 1000 for o in step.outcomes if o.result == "busy"]
    rss, threads = proc_stats(pid)
    return {
        "step": step.name, "offered_qps": step.rate, "answered_qps": round(len(ok) / step.seconds, 1),
        "asked": len(step.outcomes), "answered": len(ok), "p50_ms": round(pct(ok, 0.5), 1),
        "p95_ms": round(pct(ok, 0.95), 1), "refused": len(busy), "refusal_p95_ms": round(pct(busy, 0.95), 1),
        "refusal_max_ms": round(max(busy), 1) if busy else float("nan"),
        "refusals_over_100ms": sum(latency > 100 for latency in busy),
        "errors": sum(o.result == "error" for o in step.outcomes),
        "timeouts": sum(o.result == "timeout" for o in step.outcomes),
        "connected": sum(c.connected for c in clients), "server_mb": round(rss), "server_threads": threads,
        "server_cpu_ms_per_answer": round(cpu_seconds * 1000 / len(ok), 1) if ok else None,
        "server_cores": round(cpu_seconds / wall_seconds, 2), "generator_cores": round(generator_seconds / wall_seconds, 2),
        "load": load_average(),
    }


def own_cpu() -> float:
    used = os.times()
    return used.user + used.system


def recovery_seconds(step: Step, target_ms: float = 100) -> float | None:
    """Seconds from the start of the step until a one-second window's p95 of answered questions is under target."""
    windows: dict[int, list[float]] = {}
    for o in step.outcomes:
        if o.result == "ok":
            windows.setdefault(int(o.sent), []).append(o.latency * 1000)
    for second in sorted(windows):
        if pct(windows[second], 0.95) <= target_ms and all(
                pct(windows[s], 0.95) <= target_ms for s in windows if s >= second):
            return float(second)
    return None


async def sweep(server: Server, args: argparse.Namespace, rates: list[float], extra: dict[str, str],
                texts: list[str]) -> list[dict]:
    """Connect the sessions, run every step, and close the sessions; one summary per step."""
    results = []
    t0 = time.perf_counter()
    clients = await connect_sessions(server.base, args.sessions)
    connect_s = time.perf_counter() - t0
    print(f"# {len(clients)} sessions connected in {connect_s:.1f} s; server {args.server} on "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}; env {extra}; load average {load_average()}",
          flush=True)
    try:
        await offer(clients, Step("warm-up", 5, 2), texts, args.timeout)
        steps = [Step(f"{r:g}/s", r, args.step) for r in rates]
        if args.overload:
            steps += [Step("overload", args.overload, args.overload_seconds), Step("after", rates[0], args.step)]
        for step in steps:
            cpu_before, own_before, began = proc_cpu(server.proc.pid), own_cpu(), time.perf_counter()
            await offer(clients, step, texts, args.timeout)
            summary = summarize(step, clients, server.proc.pid, proc_cpu(server.proc.pid) - cpu_before,
                                own_cpu() - own_before, time.perf_counter() - began)
            if step.name == "after":
                summary["recovered_after_s"] = recovery_seconds(step)
            results.append(summary)
            print(json.dumps(summary), flush=True)
        print(f"# server log: {server.log_count('QueuePool limit')} pool timeouts, "
              f"{server.log_count('database is locked')} 'database is locked'", flush=True)
        used = os.times()
        print(f"# generator: {threading.active_count()} threads, {used.user + used.system:.1f} s CPU", flush=True)
    finally:
        await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--rates", default="25,50,100,150,200,300")
    parser.add_argument("--step", type=float, default=10, help="seconds per rate")
    parser.add_argument("--overload", type=float, default=0, help="questions/s of the overload step (0: none)")
    parser.add_argument("--overload-seconds", type=float, default=20)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--postgres", help="a PostgreSQL URL: run on a fresh schema there instead of SQLite")
    parser.add_argument("--server", choices=("serve", "gunicorn"), default="serve")
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the server (repeatable)")
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    rates = [float(r) for r in args.rates.split(",") if r]
    texts = questions()

    server = Server(args.server, args.postgres, extra)
    try:
        results = asyncio.run(sweep(server, args, rates, extra, texts))
    finally:
        server.stop()
    header = ("step", "offered_qps", "answered_qps", "p50_ms", "p95_ms", "refused", "refusal_p95_ms", "refusal_max_ms",
              "refusals_over_100ms", "errors",
              "timeouts", "connected", "server_mb", "server_threads", "server_cpu_ms_per_answer", "server_cores",
              "generator_cores", "load")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in results:
        print("| " + " | ".join(str(row.get(h)) for h in header) + " |")
        if "recovered_after_s" in row:
            print(f"# p95 back under 100 ms {row['recovered_after_s']} s after the overload ended")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
