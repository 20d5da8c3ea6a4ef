"""How well a tester's chat message finds the known issue it is about, by the threshold the bot uses.

The demo programs' six known issues (community/seed_data/beta.json) are indexed through the app's own
services into a throw-away SQLite database; each is asked about in two hand-written tester phrasings
(positives), and ten product questions that no known issue covers are asked too (negatives). Prints, by
threshold, how many positives find their own issue first and how many negatives match anything —
community.beta.services.known_issues.MATCH_THRESHOLD is chosen from this table.

    .venv/bin/python bench/beta_known_issue_match.py
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

POSITIVES = {
    "seed:ai-summaries:0": ["the summary of my page with a big table is missing numbers", "summaries leave out rows of long tables"],
    "seed:ai-summaries:1": ["action items on the web get the wrong due date, a day late", "due dates are off by one day in the browser"],
    "seed:ai-summaries:2": ["ask this notebook doesn't know about the page I just edited", "answers ignore my newest notes"],
    "seed:android-widgets:0": ["my tasks widget on samsung keeps showing yesterday's tasks", "widget not refreshing on galaxy phone"],
    "seed:android-widgets:1": ["after updating the beta the widget is just a grey box", "widget blank gray rectangle since the update"],
    "seed:android-widgets:2": ["tasks I tick off in the widget come back for a moment", "checked tasks reappear briefly when offline"],
}
NEGATIVES = [
    "how do I export a notebook to PDF", "can I share a page with someone outside my team",
    "how do I change my password", "where do I find my invoices", "how do I add a tag to a page",
    "is there a dark mode", "how many devices can I use with one account", "how do I restore a deleted page",
    "can I import notes from Evernote", "how do I cancel my subscription",
]
THRESHOLDS = (0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.72)


def main() -> None:
    from flask_migrate import upgrade

    from community import create_app, search
    from community.auth.services import ensure_user
    from community.beta.seed import seed_beta
    from community.extensions import db
    from community.models import KnownIssue, Role
    from community.seed import SEED_DIR, SeedReport

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "COKNOW_INSTANCE_DIR": tmp,
                          "COKNOW_INDEX_DIR": f"{tmp}/index", "TESTING": True})
        with app.app_context():
            upgrade(revision="heads")
            ensure_user("bench-staff@example.com", "Bench", "bench-password-1", Role.staff)
            seed_beta(SEED_DIR, SeedReport())
            db.session.commit()
            ids = {i.seed_key: i.id for i in db.session.scalars(db.select(KnownIssue))}
            best: list[tuple[float, bool]] = []  # (top score, top is the right issue) per positive
            for key, questions in POSITIVES.items():
                want = ids[key]
                for q in questions:
                    hits = search.similar(q, source_types=["beta_issue"], k=1)
                    best.append((hits[0].score if hits else 0.0, bool(hits) and int(hits[0].source_id) == want))
                    if os.environ.get("SHOW_MISSES") and not best[-1][1]:
                        print("miss:", q, "->", hits[0].title if hits else None, f"{best[-1][0]:.2f}")
            negative = [max([h.score for h in search.similar(q, source_types=["beta_issue"], k=1)] or [0.0])
                        for q in NEGATIVES]
            print(f"{len(best)} positives (tester phrasings), {len(negative)} negatives (unrelated questions)")
            print("threshold  right issue found  negatives matched")
            for t in THRESHOLDS:
                found = sum(1 for score, right in best if right and score >= t)
                wrong = sum(1 for score in negative if score >= t)
                print(f"  {t:.2f}        {found:2d}/{len(best)}             {wrong:2d}/{len(negative)}")
            print("positive scores:", " ".join(f"{s:.2f}" for s, _ in sorted(best)))
            print("negative scores:", " ".join(f"{s:.2f}" for s in sorted(negative)))


if __name__ == "__main__":
    main()
