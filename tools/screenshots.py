"""Screenshots of the whole demo site at desktop and phone width, for a look at every page in a minute.

    make screenshots OUT=shots        # or: .venv/bin/python tools/screenshots.py shots

Builds a throw-away SQLite site with the demo data, serves it on a free loopback port and drives Debian's
chromium with Playwright. Staff pages are taken signed in as the first demo staff member.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-gpu", "--no-first-run", "--disable-sync"]


def _build_site(instance: Path):
    from flask_migrate import upgrade

    from community import create_app, search
    from community.extensions import db
    from community.seed import seed_demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'coknow.db'}",
                      "COKNOW_INSTANCE_DIR": str(instance), "COKNOW_INDEX_DIR": str(instance / "index"),
                      "COKNOW_JOBS_URL": "immediate", "WTF_CSRF_SSL_STRICT": False})
    with app.app_context():
        upgrade(revision="heads")
        seed_demo()
        db.session.commit()
        search.get_cache()
    return app


def _pages(app) -> list[tuple[str, str, bool]]:
    """(name, path, as staff) for every page worth a look."""
    from sqlalchemy import select

    from community.extensions import db
    from community.models import Article, ArticleStatus, CustomerProfile, Idea, Thread

    with app.app_context():
        article = db.session.scalar(select(Article).where(Article.status == ArticleStatus.published)
                                    .order_by(Article.id))
        idea = db.session.scalar(select(Idea).order_by(Idea.id))
        thread = db.session.scalar(select(Thread).order_by(Thread.id))
        pages = [("home", "/", False), ("help-center", "/help/", False), ("help-search", "/help/search?q=export+pdf", False),
                 ("chat", "/chat/", False), ("ideas", "/ideas/", False), ("forum", "/forum/", False),
                 ("gaps", "/insights/gaps", True), ("integrations", "/integrations", True),
                 ("api-tokens", "/account/tokens", True), ("api-docs", "/developers/api", False),
                 ("webhook-docs", "/developers/webhooks", False)]
        if article is not None:
            pages.insert(2, ("article", f"/help/articles/{article.slug}", False))
        if idea is not None:
            pages.append(("idea", f"/ideas/{idea.id}", False))
        if thread is not None:
            pages.append(("thread", f"/forum/t/{thread.id}", False))
        customer = db.session.scalar(select(CustomerProfile.user_id).order_by(CustomerProfile.value_score.desc(),
                                                                              CustomerProfile.user_id))
        pages += [("customers", "/customers/", True), ("customer-segments", "/customers/segments", True),
                  ("customer-import", "/customers/import", True), ("priorities", "/ideas/priorities", True),
                  ("changelog-new", "/ideas/changelog/new", True),
                  ("top-contributors", "/people/top", False)]
        if customer is not None:
            pages += [("customer", f"/customers/{customer}", True), ("profile", f"/people/{customer}", False)]
            pages.append(("support-console", f"/support/console?c={_handed_off_chat(customer)}", True))
        return pages


def _handed_off_chat(user_id: int) -> str:
    """A customer's chat the bot answered, rated down and handed to a person: the console's usual case."""
    from bot import chat
    from community.extensions import db
    from community.models import User

    user = db.session.get(User, user_id)
    reply = chat.send_message(user, None, "how do I get a refund for my last charge?").reply
    if reply.reply_kind == "answer":
        chat.record_feedback(user, None, reply.id, False, "incomplete", "It does not say how long it takes.")
    chat.request_handoff(user, None)
    conversation = reply.conversation
    db.session.commit()
    return conversation.public_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files (created)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium")  # Debian's, on PATH (make system-deps)
    if chromium is None:
        print("Debian's chromium is needed: apt-get install chromium", file=sys.stderr)
        return 2

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        app = _build_site(Path(tmp))
        pages = _pages(app)
        staff = json.loads((ROOT / "community" / "seed_data" / "people.json").read_text())["staff"][0]
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
                for width_name, (width, height) in WIDTHS.items():
                    visitor = browser.new_context(viewport={"width": width, "height": height})
                    member = browser.new_context(viewport={"width": width, "height": height})
                    login = member.new_page()
                    login.goto(base + "/login")
                    login.get_by_label("E-mail").fill(staff["email"])
                    login.get_by_label("Password").fill(staff["password"])
                    login.get_by_role("button", name="Log in").click()
                    login.wait_for_load_state()
                    for name, path, as_staff in pages:
                        page = (member if as_staff else visitor).new_page()
                        page.goto(base + path)
                        page.wait_for_load_state("networkidle")
                        target = args.out / f"{name}-{width_name}.png"
                        page.screenshot(path=str(target), full_page=True)
                        print(target)
                        page.close()
                    visitor.close()
                    member.close()
                browser.close()
        finally:
            server.shutdown()
    print(f"{len(pages) * len(WIDTHS)} screenshots in {args.out} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
