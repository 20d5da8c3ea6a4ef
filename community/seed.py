"""Demo data for a fictional product company, Tidepool Labs (idempotent)."""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from community.extensions import db
from community.models import Role, User

SEED_DIR = Path(__file__).resolve().parent / "seed_data"


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        self.created[kind] = self.created.get(kind, 0) + n

    def summary(self) -> str:
        if not any(self.created.values()):
            return "Demo data already up to date; nothing created."
        return "Created " + ", ".join(f"{n} {kind}" for kind, n in self.created.items() if n) + "."


def _load_json(name: str):
    return json.loads((SEED_DIR / name).read_text(encoding="utf-8"))


def has_demo_data() -> bool:
    """True when the demo staff account exists (the seed's first step)."""
    people = _load_json("people.json")
    email = people["staff"][0]["email"]
    return db.session.scalar(db.select(User.id).where(User.email == email)) is not None


def demo_embeddings_path() -> Path:
    """Where the demo content's embeddings are kept between runs: COKNOW_DEMO_EMBEDDINGS_DIR, else inside
    the Python environment (like the ONNX export); named by the seed data and the embedding model."""
    from knowledge_index.embedder import MODEL_NAME

    digest = hashlib.sha256(MODEL_NAME.encode())
    for path in sorted(SEED_DIR.rglob("*")):
        if path.is_file():
            digest.update(f"|{path.relative_to(SEED_DIR)}|".encode())
            digest.update(path.read_bytes())
    env = os.environ.get("COKNOW_DEMO_EMBEDDINGS_DIR")
    base = Path(env) if env else Path(sys.prefix) / "share" / "coknow" / "demo-embeddings"
    return base / f"demo-{digest.hexdigest()[:16]}.npz"


def seed_demo(progress: Callable[[str], None] = lambda _m: None) -> SeedReport:
    """Create whatever of the demo data is missing; existing rows are left as they are."""
    from community.search import embedding_file

    # Embedding the demo's ~3,500 passages is most of seeding (about 30 s): the first seed encodes them
    # and keeps them, every later seed (a test, a fresh install, `make screenshots`) reads them.
    with embedding_file(demo_embeddings_path()):
        return _seed_demo(progress)


def _seed_demo(progress: Callable[[str], None]) -> SeedReport:
    from community.auth.services import ensure_user

    report = SeedReport()
    people = _load_json("people.json")
    for person in people["staff"]:
        _, created = ensure_user(person["email"], person["display_name"], person["password"], Role.staff)
        report.add("staff", int(created))
    for person in people["customers"]:
        _, created = ensure_user(person["email"], person["display_name"], person["password"], Role.customer)
        report.add("customers", int(created))
    from community.customers.seed import seed_profiles, seed_segments

    seed_profiles(people, report)
    progress("Accounts ready.")
    _seed_help_center(report, progress)
    from community.ideas.seed import seed_ideas

    seed_ideas(SEED_DIR, report, progress)
    from community.forum.seed import seed_forum

    seed_forum(SEED_DIR, report, progress)
    seed_segments(progress)
    from community.beta.seed import seed_beta

    seed_beta(SEED_DIR, report, progress)
    return report


def _seed_help_center(report: SeedReport, progress: Callable[[str], None]) -> None:
    from community.kb.importing import import_records
    from community.kb.services import ensure_category
    from knowledge_index.importers import read_jsonl

    for cat in _load_json("categories.json"):
        ensure_category(cat["slug"], cat["name"], cat.get("description", ""), cat.get("position", 0))
    # The article ids double as slugs: the seed articles link to each other by them.
    imported = import_records(read_jsonl(SEED_DIR / "articles.jsonl"), prefix="seed", id_as_slug=True)
    report.add("help-center articles", imported.created)
    progress(f"Help center: {imported.summary()}.")
