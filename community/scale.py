"""A large synthetic community for benchmarks: `flask coknow seed --scale N` (issue 17).

N posts (a quarter threads, the rest replies) by N/10 members, written in bulk with SQLAlchemy Core in
batches, on top of whatever is there (run it after the demo seed so the pages have categories and a help
center). Titles and bodies are recombined from the demo's own questions and sentences, so searches, themes
and the bot meet text that reads like the product's. Embeddings go into the index table in bulk without
running the model per post: the demo's ~1,500 distinct titles and sentences are encoded once, and each
post's vector is the normalised mix of its parts' vectors plus a little noise (as bench/bot_bench.py does),
so a million posts cost the model seconds, not hours. Rendered HTML is made once per distinct body.
"""
from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from werkzeug.security import generate_password_hash

from community.extensions import db
from community.models import ForumCategory, Reply, Role, Thread, User, index_entries, utcnow
from community.models.user import scrypt_method
from community.rendered import RENDERER_VERSION, RENDERERS

SEED_DIR = Path(__file__).resolve().parent / "seed_data"
# Every synthetic member signs in with this password (benchmarks of signed-in pages); demo data only.
SCALE_PASSWORD = "scale-password-1"  # noqa: S105 -- a documented benchmark account password
EMAIL = "scale{n}@example.com"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass
class ScaleReport:
    users: int = 0
    threads: int = 0
    replies: int = 0
    passages: int = 0

    def summary(self) -> str:
        return (f"Created {self.users:,} members, {self.threads:,} threads, {self.replies:,} replies and "
                f"{self.passages:,} index passages.")


def _pool() -> tuple[list[str], list[str]]:
    """Question-like titles and body sentences from the demo's help center and forum."""
    titles: list[str] = []
    sentences: list[str] = []
    for name in ("articles.jsonl", "threads.jsonl"):
        for line in (SEED_DIR / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            titles.append(record["title"])
            titles.extend(record.get("questions", []))
            body = re.sub(r"[#*`>\[\]()_|-]+", " ", record.get("body", ""))
            sentences.extend(s.strip() for s in _SENTENCE.split(" ".join(body.split()))
                             if 30 <= len(s.strip()) <= 240 and "@" not in s)
    return sorted(set(titles)), sorted(set(sentences))


def _mix(rng: np.random.Generator, parts: np.ndarray) -> np.ndarray:
    vec = parts.mean(axis=0) + rng.normal(0, 0.02, parts.shape[1])
    return (vec / np.linalg.norm(vec)).astype("<f4")


def seed_scale(posts: int, *, members: int | None = None, batch: int = 5000, seed: int = 17,
               progress: Callable[[str], None] = lambda _m: None) -> ScaleReport:
    """Add `posts` forum posts by `members` new members (default posts // 10) and index the threads.

    Flushes in batches and never commits: the channel (the CLI) commits once at the end, so a failed run
    leaves nothing behind.
    """
    from community.search import embedding_file, encode_texts, get_embedder
    from community.seed import demo_embeddings_path

    if posts < 4:
        raise ValueError("--scale needs at least 4 posts")
    members = members or max(posts // 10, 10)
    rng = random.Random(seed)  # noqa: S311 -- synthetic benchmark data, not secrets
    nrng = np.random.default_rng(seed)
    report = ScaleReport()
    categories: list[int] = list(db.session.scalars(
        sa.select(ForumCategory.id).where(ForumCategory.staff_only.is_(False))).all())
    slugs: dict[int, str] = {row.id: row.slug for row in db.session.execute(sa.select(ForumCategory.id, ForumCategory.slug))}
    if not categories:
        general = ForumCategory(slug="general", name="General", description="Everything else.")
        db.session.add(general)
        db.session.flush()
        categories, slugs = [general.id], {general.id: general.slug}

    titles, sentences = _pool()
    embedder = get_embedder()
    progress(f"Encoding {len(titles) + len(sentences):,} distinct titles and sentences once…")
    # The pool comes from the demo's seed data: its vectors are kept with the demo's own (seed.py), so only
    # the first run on an environment encodes them (about 15 s) and every later one reads them.
    with embedding_file(demo_embeddings_path()):
        title_vecs = encode_texts(titles)
        sentence_vecs = encode_texts(sentences)

    first_user = (db.session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1
    password = generate_password_hash(SCALE_PASSWORD, method=scrypt_method(current_app.config["COKNOW_PASSWORD_COST"]))
    start = utcnow() - timedelta(days=365)
    for lo in range(0, members, batch):
        people = [{"email": EMAIL.format(n=first_user + n), "display_name": f"Member {first_user + n}",
                 "password_hash": password, "role": Role.customer, "active": True,
                 "created_at": start + timedelta(minutes=n)} for n in range(lo, min(members, lo + batch))]
        db.session.execute(sa.insert(User), people)
        report.users += len(people)
    user_ids = list(range(first_user, first_user + members))
    progress(f"{report.users:,} members")

    rendered: dict[str, str] = {}

    def html(body: str) -> str:
        if body not in rendered:
            rendered[body] = str(RENDERERS[Thread](body))
        return rendered[body]

    # A fixed set of distinct bodies (each 2-3 sentences) reused across posts: the rendering and the text
    # vary, the cost stays bounded.
    bodies: list[tuple[str, list[int]]] = []
    for _ in range(min(5000, posts)):
        picks = rng.sample(range(len(sentences)), rng.choice((2, 3)))
        bodies.append((" ".join(sentences[i] for i in picks), picks))

    threads = max(posts // 4, 1)
    replies = posts - threads
    first_thread = (db.session.scalar(sa.select(sa.func.max(Thread.id))) or 0) + 1
    table = index_entries
    seq = (db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0))) or 0)
    model, dim = embedder.model_name, embedder.dim
    span = timedelta(days=365).total_seconds()
    for lo in range(0, threads, batch):
        rows: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        for n in range(lo, min(threads, lo + batch)):
            t = rng.randrange(len(titles))
            body, picks = bodies[rng.randrange(len(bodies))]
            created = start + timedelta(seconds=span * n / threads)
            category = rng.choice(categories)
            thread_id = first_thread + n
            title = f"{titles[t][:180]} (#{thread_id})"
            rows.append({"id": thread_id, "category_id": category, "author_id": rng.choice(user_ids),
                         "title": title, "body": body, "body_html": html(body),
                         "body_html_version": RENDERER_VERSION, "created_at": created,
                         "last_activity_at": created, "updated_at": created, "views": rng.randrange(500)})
            meta = {"visibility": "public", "category": slugs[category], "thread_id": thread_id}
            title_vec = _mix(nrng, title_vecs[[t]])
            body_vec = _mix(nrng, np.vstack([title_vecs[[t]], sentence_vecs[picks]]))
            for key, kind, text, vec in (("title", "title", title, title_vec), ("#0", "body", body, body_vec)):
                seq += 1
                entries.append({"source_type": "thread", "source_id": str(thread_id), "chunk_key": key,
                                "chunk_no": len(entries) % 2, "kind": kind, "title": title, "heading_path": "",
                                "text": text, "meta": meta, "vector": vec.tobytes(), "model": model, "dim": dim,
                                "content_hash": "", "seq": seq, "updated_at": created, "deleted": False})
        db.session.execute(sa.insert(Thread), rows)
        db.session.execute(sa.insert(table), entries)
        report.threads += len(rows)
        report.passages += len(entries)
        progress(f"{report.threads:,} threads")

    counts = [0] * threads
    for lo in range(0, replies, batch):
        rows = []
        for _n in range(lo, min(replies, lo + batch)):
            # Some threads draw many replies; the tail wraps around (clipping it piled 5 % of all replies,
            # 75,000 at 2M posts, onto the last thread).
            k = int(rng.expovariate(1 / (threads / 3))) % threads
            counts[k] += 1
            body, _picks = bodies[rng.randrange(len(bodies))]
            rows.append({"thread_id": first_thread + k, "author_id": rng.choice(user_ids), "body": body,
                         "body_html": html(body), "body_html_version": RENDERER_VERSION,
                         "created_at": start + timedelta(seconds=span * (k + 0.5) / threads)})
        db.session.execute(sa.insert(Reply), rows)
        report.replies += len(rows)
        progress(f"{report.replies:,} replies")
    for lo in range(0, threads, batch):
        changed = [{"tid": first_thread + k, "n": counts[k]} for k in range(lo, min(threads, lo + batch)) if counts[k]]
        if changed:
            threads_table: sa.Table = Thread.__table__  # type: ignore[assignment]
            db.session.execute(sa.update(threads_table).where(threads_table.c.id == sa.bindparam("tid"))
                               .values(reply_count=sa.bindparam("n")), changed)
    _after_bulk_ids(table)
    db.session.flush()
    return report


def _after_bulk_ids(table: sa.Table) -> None:
    """PostgreSQL: move the sequences past the ids and change numbers written explicitly above."""
    if db.engine.dialect.name != "postgresql":
        return
    for name, column in (("forum_threads", "id"), ("users", "id"), ("forum_replies", "id")):
        db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "  # noqa: S608
                                   f"(SELECT coalesce(max({column}), 1) FROM {name}))"))
    db.session.execute(sa.text(f"SELECT setval('{table.info['seq'].name}', "  # noqa: S608
                               f"(SELECT coalesce(max(seq), 1) FROM {table.name}))"))
