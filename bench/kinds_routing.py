"""How routing by message kind changes the chat's replies to the demo help center's own questions.

    .venv/bin/python bench/kinds_routing.py

Every alternative question of the demo articles (community/seed_data/articles.jsonl) is a how-to question
the engine should answer with its article: it is answered by `answer()`, its kind recognised, and routed as
the chat routes it (`meet_ideas`, `bugs.acknowledge`). Prints the kinds recognised, how many engine answers
citing the expected article the routing turned into something else (ideas flow), and those messages.
"""
from __future__ import annotations

import collections
import json
import tempfile

from bot_bench import ROOT


def main() -> None:
    from flask_migrate import upgrade

    from community import create_app
    from community.extensions import db

    seed = [json.loads(line) for line in (ROOT / "community" / "seed_data" / "articles.jsonl").read_text().splitlines()
            if line.strip()]
    with tempfile.TemporaryDirectory(prefix="coknow-bench-") as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "COKNOW_INSTANCE_DIR": tmp,
                          "COKNOW_INDEX_DIR": f"{tmp}/index"})
        with app.app_context(), app.test_request_context("/chat/"):
            upgrade(revision="heads")
            from bot import bugs, kinds
            from bot.engine import answer
            from bot.idea_requests import meet_ideas
            from community.seed import seed_demo

            seed_demo()
            db.session.commit()
            recognised = collections.Counter()
            answered = lost = 0
            changed = []
            for article in seed:
                for q in article["questions"]:
                    reply = answer(q)
                    kind = kinds.classify(q, reply.query_vector)
                    recognised[kind] += 1
                    routed = bugs.acknowledge(meet_ideas(reply, kind), kind, None, q)
                    if reply.kind == "answer" and reply.source and reply.source.url.endswith(article["id"]):
                        answered += 1
                        if routed.kind != "answer":
                            lost += 1
                            changed.append((q, kind, routed.kind, getattr(routed, "idea", None) and routed.idea["title"]))
            print(f"questions: {sum(recognised.values())}; recognised: {dict(recognised)}")
            print(f"engine answers citing the expected article: {answered}; routed away from the answer: {lost}")
            for row in changed:
                print("  ", row)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
