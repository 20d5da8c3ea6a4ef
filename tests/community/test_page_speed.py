"""Pages at speed: stored content is shown without model work, its HTML is rendered once when written, and
list and detail pages run a fixed number of queries however long they are."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from community.extensions import db
from community.forum import services as forum
from community.ideas.services import add_comment, submit_idea
from community.models import Idea, IdeaComment, Reply, Thread
from community import rendered


@pytest.fixture
def encoder_calls(app, monkeypatch):
    """Counts calls of the real encoder (the model still runs: this wraps it, it does not replace it)."""
    from knowledge_index.embedder import get_embedder

    embedder_type = type(get_embedder())
    calls: list[int] = []

    def counted(real):
        def counting(self, texts, *args, **kwargs):
            calls.append(len(texts) if isinstance(texts, (list, tuple)) else 1)
            return real(self, texts, *args, **kwargs)
        return counting

    # The model runs through encode (documents) and _encode_queries (queries, batched by QueryBatcher).
    for name in ("encode", "_encode_queries"):
        monkeypatch.setattr(embedder_type, name, counted(getattr(embedder_type, name)))
    return calls


@pytest.fixture
def forum_category(app):
    category = forum.save_category(None, name="Getting started", description="Questions about *setup*.")
    db.session.commit()
    return category


def test_viewing_a_thread_an_idea_and_an_article_does_not_run_the_encoder(
        app, client, create_user, forum_category, help_center, encoder_calls, busy):
    ana, ben = create_user(display_name="Ana Lima"), create_user()
    # Fresh words each run: the process remembers encodings of texts it has seen (the other backend's run).
    fresh = uuid.uuid4().hex[:8]
    thread = forum.create_thread(ana, forum_category, "The sensor will not pair with my phone",
                                 f"It blinks red when I try to pair it over Bluetooth ({fresh}).", "")
    forum.create_thread(ben, forum_category, "Pairing fails on Android", "Bluetooth pairing keeps failing.", "")
    forum.post_reply(ben, thread, "Hold the button for ten seconds, @AnaLima.")
    idea = submit_idea(ana, "Pair the sensor over Wi-Fi", "Bluetooth is **unreliable** for me.", None, None)
    add_comment(idea, ben, "Same here, please add it.")
    db.session.commit()
    article = next(iter(help_center.values()))
    assert encoder_calls, "writing content encodes it (sanity check of the counting wrapper)"

    encoder_calls.clear()
    for _ in range(2):  # the first view may fill caches; neither may run the model
        for path in (f"/forum/t/{thread.id}", f"/ideas/{idea.id}", f"/help/articles/{article.slug}"):
            page = client.get(path)
            assert page.status_code == 200, path
    assert encoder_calls == []
    thread_page = client.get(f"/forum/t/{thread.id}").get_data(as_text=True)
    assert "Pairing fails on Android" in thread_page  # related threads come from the stored vectors
    assert client.get(f"/ideas/{idea.id}").get_data(as_text=True).count("<strong>unreliable</strong>") == 1

    # What a person types still goes through the model (the live duplicate check).
    assert client.get(f"/ideas/similar?q=pair over wifi {fresh}").status_code == 200
    assert encoder_calls


def test_bodies_are_rendered_when_written_and_re_rendered_when_the_renderer_changes(
        app, create_user, forum_category, busy):
    ana = create_user(display_name="Ana Lima")
    thread = forum.create_thread(ana, forum_category, "Markdown in a question",
                                 "Some **bold** text <script>alert(1)</script> [x](javascript:alert(1))", "")
    reply = forum.post_reply(ana, thread, "A *reply* with <img src=x onerror=alert(1)>")
    idea = submit_idea(ana, "An idea with Markdown", "A `code` span", None, None)
    comment = add_comment(idea, ana, "A comment with **weight**")
    db.session.commit()

    for obj, expected in ((thread, "<strong>bold</strong>"), (reply, "<em>reply</em>"),
                          (idea, "<code>code</code>"), (comment, "<strong>weight</strong>")):
        assert obj.body_html_version == rendered.RENDERER_VERSION
        assert expected in obj.body_html
        assert obj.body_html == str(rendered.render_body(obj))  # the one sanitizer, community.markup
    assert "<script" not in thread.body_html and "href=\"javascript" not in thread.body_html
    assert "onerror" not in reply.body_html

    forum.edit_reply(ana, reply, "Now **edited**")
    db.session.commit()
    assert "<strong>edited</strong>" in reply.body_html

    # A renderer change (or rows written before this column): stale rows render live, then the job stores them
    # again without touching updated_at (a new rendering is not a change for API clients).
    idea_updated = idea.updated_at
    db.session.execute(Idea.__table__.update().values(body_html="old", body_html_version=0,
                                                      updated_at=Idea.__table__.c.updated_at))
    db.session.execute(Reply.__table__.update().values(body_html=None, body_html_version=None))
    db.session.commit()
    db.session.expire_all()
    assert str(rendered.body_html(db.session.get(Idea, idea.id))) == "<p>A <code>code</code> span</p>\n"
    assert rendered.count_stale() == 2
    assert rendered.rerender_stale(batch=1) == 2
    db.session.commit()
    assert rendered.count_stale() == 0
    db.session.expire_all()
    again = db.session.get(Idea, idea.id)
    assert again.body_html == "<p>A <code>code</code> span</p>\n" and again.updated_at == idea_updated
    assert "<strong>edited</strong>" in db.session.get(Reply, reply.id).body_html


def _queries(client, count_queries, path: str) -> int:
    db.session.expire_all()
    with count_queries() as queries:
        assert client.get(path).status_code == 200, path
    return queries.count


def test_a_thread_with_many_replies_runs_a_fixed_number_of_queries(
        app, client, create_user, forum_category, count_queries, busy):
    users = [create_user() for _ in range(12)]
    thread = forum.create_thread(users[0], forum_category, "A long conversation about pairing", "Where to start?", "")
    db.session.commit()
    path = f"/forum/t/{thread.id}"
    forum.post_reply(users[1], thread, "First answer")
    db.session.commit()
    client.get(path)  # warm the index and the related-threads cache
    few = _queries(client, count_queries, path)
    for n, user in enumerate(users[1:] * 2):
        forum.post_reply(user, thread, f"Answer number {n} from someone else")
    db.session.commit()
    client.get(path)
    many = _queries(client, count_queries, path)
    assert db.session.scalar(select(Thread.reply_count).where(Thread.id == thread.id)) == 23
    assert many == few, (few, many)


def test_an_idea_with_many_comments_runs_a_fixed_number_of_queries(app, client, create_user, count_queries, busy):
    users = [create_user() for _ in range(12)]
    idea = submit_idea(users[0], "Export readings as CSV", "For my doctor.", None, None)
    add_comment(idea, users[1], "Yes please")
    db.session.commit()
    path = f"/ideas/{idea.id}"
    few = _queries(client, count_queries, path)
    for n, user in enumerate(users[1:] * 2):
        add_comment(idea, user, f"Comment number {n}", notify_users=False)
    db.session.commit()
    many = _queries(client, count_queries, path)
    assert db.session.scalar(select(IdeaComment.id).where(IdeaComment.idea_id == idea.id).limit(1)) is not None
    assert many == few, (few, many)


def test_lists_run_a_fixed_number_of_queries_with_many_authors_and_categories(
        app, client, create_user, count_queries, busy):
    """Forum list, ideas board and help center: no query per row, however many authors and categories."""
    from community.kb.services import create_article, ensure_category
    from community.models import ArticleStatus

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            author = create_user()
            category = forum.save_category(None, name=f"Forum category {i}", description="")
            forum.create_thread(author, category, f"Question number {i} about pairing", "Body", f"tag{i}")
            submit_idea(author, f"Idea number {i} about exports", "Body", f"area{i}", [f"tag{i}"])
            kb_category = ensure_category(f"help-category-{i}", f"Help category {i}")
            create_article(f"Article number {i}", "Body text of the article.", category=kb_category,
                           status=ArticleStatus.published)
        db.session.commit()

    paths = ("/forum/", "/ideas/", "/help/")
    add(2, 0)
    few = {path: _queries(client, count_queries, path) for path in paths}
    add(10, 2)
    many = {path: _queries(client, count_queries, path) for path in paths}
    assert many == few, (few, many)


def test_the_rerender_command_stores_stale_bodies_now_or_as_a_job(app, runner, create_user, busy):
    idea = submit_idea(create_user(), "Stale rendering", "Some *Markdown*", None, None)
    db.session.commit()

    def make_stale() -> None:
        db.session.execute(Idea.__table__.update().values(body_html=None, body_html_version=None,
                                                          updated_at=Idea.__table__.c.updated_at))
        db.session.commit()
        assert rendered.count_stale() == 1

    make_stale()
    assert "Re-rendered 1 bodies." in runner.invoke(args=["coknow", "markup", "rerender"]).output
    assert rendered.count_stale() == 0
    assert "current" in runner.invoke(args=["coknow", "markup", "rerender", "--background"]).output
    make_stale()
    assert "queued" in runner.invoke(args=["coknow", "markup", "rerender", "--background"]).output
    assert rendered.count_stale() == 0  # tests run jobs inline, after the commit that queued them
    db.session.expire_all()
    assert "<em>Markdown</em>" in db.session.get(Idea, idea.id).body_html


def test_the_forum_api_serves_the_stored_html(app, client, create_user, forum_category, busy, monkeypatch):
    """The JSON API's `html` is the rendering stored when the post was written, as on the pages: no Markdown work
    per request, and the same @mention links."""
    from community import markup

    ana, ben = create_user(display_name="Ana Lima"), create_user()
    thread = forum.create_thread(ana, forum_category, "Pairing over the API", "Hold it **down**.", "")
    reply = forum.post_reply(ben, thread, "Thanks, @AnaLima, it *works*.")
    db.session.commit()
    stored_thread, stored_reply = thread.body_html, reply.body_html
    assert "<strong>down</strong>" in stored_thread and 'href="' in stored_reply

    def no_rendering(*_args, **_kwargs):
        raise AssertionError("Markdown rendered on a read")

    monkeypatch.setattr(markup, "render_markdown", no_rendering)
    monkeypatch.setattr(rendered, "render_markdown", no_rendering)
    one = client.get(f"/api/v1/forum/threads/{thread.id}").get_json()
    assert one["html"] == stored_thread and one["replies"][0]["html"] == stored_reply
    listed = client.get("/api/v1/forum/threads").get_json()
    assert [t["html"] for t in listed if t["id"] == thread.id] == [stored_thread]
