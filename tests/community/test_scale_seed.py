"""`flask coknow seed --scale N`: a large synthetic community in bulk, indexed without running the model per
post, whose pages, search and sign-in work like the demo's (issue 17). Small N here; the benchmark uses 1M."""
from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from community import search
from community.extensions import db
from community.models import Reply, Thread, User, index_entries
from community.scale import EMAIL, SCALE_PASSWORD


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_scale_seed_writes_posts_members_and_their_index_in_bulk(app, runner, client, auth):
    result = runner.invoke(args=["coknow", "seed", "--scale", "400", "--members", "30"])
    assert result.exit_code == 0, result.output
    assert "30 members, 100 threads, 300 replies and 200 index passages" in result.output
    # The demo's help center, its Chinese section included, carries the multilingual vectors; forum threads do not.
    t = index_entries.c
    live = t.deleted.is_(False)
    assert count(index_entries, live, t.source_type == "article", t.vector2.is_(None)) == 0
    assert count(index_entries, live, t.source_type == "article", t.title == "重置忘记的密码", t.vector2.is_not(None)) > 0
    assert count(index_entries, live, t.source_type == "thread", t.vector2.is_not(None)) == 0
    scaled = select(Thread.id).where(Thread.title.like("% (#%)"))
    assert count(Thread, Thread.id.in_(scaled)) == 100
    assert count(Reply, Reply.thread_id.in_(scaled)) == 300
    # reply counts agree with the replies, bodies are stored rendered
    for thread in db.session.scalars(select(Thread).where(Thread.id.in_(scaled)).limit(20)):
        assert thread.reply_count == count(Reply, Reply.thread_id == thread.id)
        assert thread.body_html.startswith("<p>") and thread.body_html_version is not None
    # Every synthetic thread has its title and body passage, unit vectors from the model's space.
    rows = db.session.execute(select(index_entries.c.vector).where(
        index_entries.c.source_type == "thread", index_entries.c.source_id.in_(
            select(func.cast(Thread.id, index_entries.c.source_id.type)).where(Thread.id.in_(scaled))))).all()
    assert len(rows) == 200
    norms = [np.linalg.norm(np.frombuffer(r.vector, "<f4")) for r in rows]
    assert min(norms) > 0.999 and max(norms) < 1.001
    # Search finds a synthetic thread by the meaning of its title, through the real index.
    thread = db.session.scalar(select(Thread).where(Thread.id.in_(scaled)).order_by(Thread.id).limit(1))
    search.rebuild(app)
    question = thread.title.rsplit(" (#", 1)[0]
    hits = search.similar(question, source_types=["thread"], k=50)
    assert any(db.session.get(Thread, int(h.source_id)).title.startswith(question) for h in hits)
    # Pages show them, and a synthetic member can sign in.
    assert client.get(f"/forum/t/{thread.id}").status_code == 200
    member = db.session.scalar(select(User).where(User.email == EMAIL.format(n=thread.author_id)))
    assert member is not None
    assert auth.login(member.email, SCALE_PASSWORD).status_code == 302
    # A second run adds another community beside the first (ids continue).
    again = runner.invoke(args=["coknow", "seed", "--scale", "8", "--members", "10"])
    assert again.exit_code == 0, again.output
    assert count(Thread, Thread.title.like("% (#%)")) == 102


def test_scale_seed_refuses_a_bad_size_and_writes_nothing(app, runner):
    result = runner.invoke(args=["coknow", "seed", "--scale", "2"])
    assert result.exit_code != 0 and "--scale" in result.output
    assert count(Thread) == 0 and count(User) == 0
