"""What one chat answer costs the server's CPU, in process (issue 21): no network, no load generator.

Makes a fresh SQLite instance with the demo seed, opens --clients Socket.IO test clients on /chat, asks
--warm questions (the model, the index, jieba and the bot's fit get ready), then --messages questions from
the seed's articles (with client_ids, as the web client sends them), round-robin over the clients. Prints,
per message: the thread's CPU (best of --repeats runs; the event handler runs in this thread, the
encoder's forward pass too), the part of it spent in the encoder's forward passes, and the number of Python
function calls (cProfile; unlike times, a count that the machine's load does not change); then the thread's CPU
per question refused "busy" (every turn of the admission line held, as by questions being answered).

    PYTHONPATH=. .venv/bin/python bench/load/chat_cpu.py
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def prepare() -> None:
    """A fresh instance (SQLite file, index) with the demo seed; sets the environment the app reads."""
    instance = Path(tempfile.mkdtemp(prefix="coknow-chat-cpu-"))
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{instance / 'coknow.db'}", "COKNOW_INSTANCE_DIR": str(instance),
        "COKNOW_INDEX_DIR": str(instance / "index"), "COKNOW_JOBS_URL": "immediate",
        "SECRET_KEY": "chat-cpu-benchmark-secret", "FLASK_APP": "wsgi:app", "COKNOW_RATE_LIMITS": "0",
        "COKNOW_CHAT_RATE_PER_MINUTE": "10000", "COKNOW_CHAT_RATE_PER_ADDRESS": "100000",
        "COKNOW_BACKGROUND_FITS": "0", "HF_HUB_OFFLINE": "1",
        # One question at a time is answered here, so nobody waits in line; a full line refuses at once.
        "COKNOW_CHAT_WAITING": "0",
    })
    flask = [sys.executable, "-m", "flask"]
    for command in (["db", "upgrade", "heads"], ["coknow", "seed"]):
        done = subprocess.run([*flask, *command], cwd=ROOT, capture_output=True, text=True)  # noqa: S603  (our own commands)
        if done.returncode:
            raise SystemExit(f"flask {' '.join(command)} failed:\n{done.stderr[-2000:]}")


def questions() -> list[str]:
    found: list[str] = []
    for line in (ROOT / "community" / "seed_data" / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            found.extend(json.loads(line).get("questions", []))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--warm", type=int, default=60)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--refusals", type=int, default=2000, help="questions refused (the line held full) per run")
    parser.add_argument("--profile", help="also write the cProfile statistics of the counted run to this file")
    args = parser.parse_args()
    prepare()

    from knowledge_index.lexical import tokenize
    from knowledge_index.onnx_model import OnnxEncoder
    from wsgi import app

    from bot.admission import for_app
    from community.extensions import socketio

    encoder_seconds = [0.0]
    encode = OnnxEncoder.encode_batch

    def timed_encode(self: OnnxEncoder, texts: list[str]):  # type: ignore[no-untyped-def]
        started = time.thread_time()
        try:
            return encode(self, texts)
        finally:
            encoder_seconds[0] += time.thread_time() - started

    OnnxEncoder.encode_batch = timed_encode  # type: ignore[method-assign]
    texts = questions()
    rng = random.Random(0)
    clients = [socketio.test_client(app, namespace="/chat") for _ in range(args.clients)]

    def ask(n: int) -> None:
        ack = clients[n % len(clients)].emit("message", {"text": rng.choice(texts), "client_id": secrets.token_hex(8)},
                                             namespace="/chat", callback=True)
        assert ack["ok"], ack

    for n in range(args.warm):
        ask(n)
    tokenize("重置密码")  # jieba's dictionary, as the server's start-up loads it
    runs = []
    for _ in range(args.repeats):
        encoder_seconds[0] = 0.0
        started = time.thread_time()
        for n in range(args.messages):
            ask(n)
        runs.append(((time.thread_time() - started) * 1000 / args.messages, encoder_seconds[0] * 1000 / args.messages))
    profile = cProfile.Profile()
    profile.enable()
    for n in range(args.messages):
        ask(n)
    profile.disable()
    if args.profile:
        profile.dump_stats(args.profile)
    calls = pstats.Stats(profile).total_calls / args.messages  # type: ignore[attr-defined]
    cpu, encoder = min(runs)
    refusal_runs = []
    with app.app_context(), ExitStack() as held:
        line = for_app(app)
        for _ in range(line.active):  # every turn taken, as by questions being answered
            held.enter_context(line.admit())
        for _ in range(args.repeats):
            started = time.thread_time()
            for n in range(args.refusals):
                ack = clients[n % len(clients)].emit("message", {"text": rng.choice(texts)}, namespace="/chat",
                                                     callback=True)
                assert ack["error"]["code"] == "busy", ack
            refusal_runs.append((time.thread_time() - started) * 1000 / args.refusals)
    print(json.dumps({"messages": args.messages, "thread_cpu_ms_per_message": round(cpu, 2),
                      "of_which_encoder_ms": round(encoder, 2), "python_calls_per_message": round(calls),
                      "thread_cpu_ms_per_refusal": round(min(refusal_runs), 3),
                      "runs_cpu_ms": [round(r[0], 2) for r in runs], "load": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
