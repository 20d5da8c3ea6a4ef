"""CRM import speed: a generated 100,000-row CRM export into a fresh, migrated database.

    .venv/bin/python bench/crm_import_bench.py [--rows 100000] [--existing 20000] [--database URL]

The file has the columns of a real CRM export (email, name, company, plan, annual_value,
signup_date, plus two extra attribute columns), one bad row in a thousand (broken e-mail, amount
or date), and e-mails in mixed case. A share of the e-mails (--existing) already have accounts;
the rest become invited accounts (--create-missing). It runs exactly what the import job runs
(community.customers.services.crm_import batches, one commit per batch), then the same file again (must
change nothing), then the segment recomputation the job starts afterwards. Default database:
a temporary SQLite file; pass a PostgreSQL URL (an empty database or schema) to time that.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PLANS = [("Free", 0.55), ("Plus", 0.25), ("Team", 0.15), ("Enterprise", 0.05)]
REGIONS = ["EMEA", "APAC", "NA", "LATAM"]


def generate(path: Path, rows: int, seed: int = 7) -> int:
    """Write the CSV; returns how many rows are bad on purpose."""
    rng = random.Random(seed)
    bad = 0
    start = date(2019, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Email", "Name", "Company", "Plan", "Annual Value", "Signup Date", "Region", "Account Owner"])
        for i in range(rows):
            plan = rng.choices([p for p, _ in PLANS], [w for _, w in PLANS])[0]
            value = {"Free": "", "Plus": f"{rng.randint(600, 2400)}", "Team": f"{rng.randint(6000, 30000):,}",
                     "Enterprise": f"${rng.randint(30000, 250000):,}"}[plan]
            email = f"Customer.{i}@Example{i % 97}.com" if i % 5 == 0 else f"customer.{i}@example{i % 97}.com"
            signup = (start + timedelta(days=rng.randint(0, 2400))).isoformat()
            if i % 1000 == 999:
                bad += 1
                kind = (i // 1000) % 3
                if kind == 0:
                    email = f"customer.{i}-at-example.com"
                elif kind == 1:
                    value = "twelve thousand"
                else:
                    signup = "31/02/2024"
            out.writerow([email, f"Customer {i}", f"Company {i % 7919}", plan, value, signup,
                          rng.choice(REGIONS), f"owner{i % 40}@tidepool.example"])
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=20_000, help="rows whose e-mail already has an account")
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select

    from community import create_app
    from community.customers.services import crm_import
    from community.customers.services.segments import recompute_segments
    from community.extensions import db
    from community.models import CustomerProfile, User, utcnow

    work = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    url = args.database or f"sqlite:///{work / 'bench.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "COKNOW_INSTANCE_DIR": str(work), "TESTING": True})
    csv_path = work / "crm.csv"
    t0 = time.perf_counter()
    bad = generate(csv_path, args.rows)
    print(f"generated {args.rows:,} rows ({bad} bad on purpose, {csv_path.stat().st_size / 1e6:.1f} MB) "
          f"in {time.perf_counter() - t0:.1f} s")
    with app.app_context():
        upgrade(revision="heads")
        print(f"database: {db.engine.dialect.name}")
        now = utcnow()
        accounts = [{"email": f"customer.{i}@example{i % 97}.com", "display_name": f"Customer {i}",
                     "role": "customer", "active": True, "created_at": now, "updated_at": now}
                    for i in range(0, args.rows, max(1, args.rows // max(1, args.existing)))][:args.existing]
        for start in range(0, len(accounts), 5000):
            db.session.execute(insert(User), accounts[start:start + 5000])
        db.session.commit()
        print(f"existing accounts: {len(accounts):,}")

        def run(label: str) -> crm_import.ImportReport:
            report = crm_import.ImportReport()
            started = time.perf_counter()
            for batch in crm_import.batches(csv_path):
                crm_import.import_batch(batch, True, report)
                db.session.commit()
            took = time.perf_counter() - started
            print(f"{label}: {took:.1f} s ({report.rows / took:,.0f} rows/s) — {report.summary()}")
            return report

        first = run("first import ")
        second = run("second import")
        profiles = db.session.scalar(select(func.count()).select_from(CustomerProfile))
        users = db.session.scalar(select(func.count()).select_from(User))
        print(f"profiles {profiles:,}, accounts {users:,}; bad rows named: {first.error_count} "
              f"(first lines: {[e.line for e in first.errors[:3]]})")
        assert second.updated == 0 and second.created == 0, "a second import must change nothing"
        started = time.perf_counter()
        counts = recompute_segments()
        db.session.commit()
        print(f"segment recomputation for {sum(counts.values()):,} customers: {time.perf_counter() - started:.1f} s "
              f"{counts}")


if __name__ == "__main__":
    main()
