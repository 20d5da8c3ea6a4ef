"""Forum rules, tested through the services on both databases."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from community.extensions import db
from community.forum import services
from community.models import Notification, PostKind, Reply, Thread, index_entries, utcnow


def indexed(source_type: str, source_id: int) -> bool:
    t = index_entries.c
    return bool(db.session.scalar(select(func.count()).select_from(index_entries).where(
        t.source_type == source_type, t.source_id == str(source_id), t.deleted.is_(False))))


def notes(user, kind):
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)))


def test_thread_with_mention_notifies_and_is_indexed(app, create_user, make_thread):
    ana = create_user(display_name="Ana Lima")
    rosa = create_user(display_name="Rosa Díaz")
    thread = make_thread(ana, body="Hi @RosaDíaz, did `@AnaLima` see this?\n\n```\n@AnaLima in code\n```")
    assert indexed("thread", thread.id)
    [note] = notes(rosa, "forum.mention")
    assert note.link == f"/forum/t/{thread.id}" and "Ana Lima" in note.title
    assert notes(ana, "forum.mention") == []  # code spans are not mentions, nor is oneself


def test_mention_handles_ignore_emails_and_trailing_punctuation():
    from community.mentions import mention_handles

    assert mention_handles("mail a@b.com or @Rosa. and @rosa, @Bob-") == ["rosa", "bob"]


def test_reply_notifies_author_and_counts(app, create_user, make_thread):
    ana, ben = create_user(), create_user()
    thread = make_thread(ana)
    reply = services.post_reply(ben, thread, "Hold the button for 5 seconds.")
    db.session.commit()
    assert thread.reply_count == 1 and thread.last_activity_at >= thread.created_at
    [note] = notes(ana, "forum.reply")
    assert note.link == f"/forum/t/{thread.id}?reply={reply.id}#reply-{reply.id}"


def test_accept_rules(app, create_user, make_thread):
    ana, ben, cat, staff = create_user(), create_user(), create_user(), create_user(role="staff")
    thread = make_thread(ana)
    first = services.post_reply(ben, thread, "Try turning it off and on.")
    second = services.post_reply(cat, thread, "Update the firmware first.")
    db.session.commit()

    with pytest.raises(Forbidden):
        services.accept_answer(ben, thread, first)  # not the asker
    services.accept_answer(ana, thread, first)
    db.session.commit()
    assert thread.accepted_reply_id == first.id and indexed("answer", thread.id)
    assert notes(ben, "forum.accepted")

    services.accept_answer(staff, thread, second)  # staff may, and accepting another moves the mark
    db.session.commit()
    assert thread.accepted_reply_id == second.id
    entry = db.session.execute(select(index_entries.c.meta).where(
        index_entries.c.source_type == "answer", index_entries.c.source_id == str(thread.id),
        index_entries.c.deleted.is_(False))).first()
    assert entry.meta["reply_id"] == second.id

    other = make_thread(cat, title="Another question here")
    foreign = services.post_reply(ana, other, "Not in the first thread.")
    db.session.commit()
    with pytest.raises(NotFound):
        services.accept_answer(ana, thread, foreign)

    services.unaccept_answer(ana, thread)
    db.session.commit()
    assert thread.accepted_reply_id is None and not indexed("answer", thread.id)


def test_soft_delete_keeps_rows_and_leaves_the_index(app, create_user, make_thread):
    ana, ben, staff = create_user(), create_user(), create_user(role="staff")
    thread = make_thread(ana)
    reply = services.post_reply(ben, thread, "The answer.")
    services.accept_answer(ana, thread, reply)
    db.session.commit()
    with pytest.raises(Forbidden):
        services.delete_reply(ana, reply)  # only its author or staff
    services.delete_reply(ben, reply)
    db.session.commit()
    assert db.session.get(Reply, reply.id).deleted_at is not None
    assert thread.accepted_reply_id is None and thread.reply_count == 0 and not indexed("answer", thread.id)

    services.delete_thread(ana, thread)
    db.session.commit()
    assert db.session.get(Thread, thread.id) is not None and not indexed("thread", thread.id)
    with pytest.raises(NotFound):
        services.get_thread_or_404(thread.id, ana)
    assert services.get_thread_or_404(thread.id, staff).is_deleted  # staff still see the record


def test_edit_keeps_history_and_notifies_new_mentions_only(app, create_user, make_thread):
    ana, bo, cy = create_user(display_name="Ana"), create_user(display_name="Bo"), create_user(display_name="Cy")
    thread = make_thread(ana, body="Ping @Bo")
    services.edit_thread(ana, thread, "How do I pair the new sensor?", "Ping @Bo and @Cy", "pairing, Sensors")
    db.session.commit()
    [rev] = services.revisions(PostKind.thread, thread.id)
    assert rev.old_body == "Ping @Bo" and rev.old_title == "How do I pair the sensor?"
    assert thread.edited_at is not None and [t.name for t in thread.tags] == ["pairing", "sensors"]
    assert len(notes(bo, "forum.mention")) == 1 and len(notes(cy, "forum.mention")) == 1
    with pytest.raises(Forbidden):
        services.edit_thread(bo, thread, "Hijacked title here", "x")

    reply = services.post_reply(bo, thread, "first")
    services.edit_reply(bo, reply, "second")
    services.edit_reply(bo, reply, "third")
    db.session.commit()
    assert [r.old_body for r in services.revisions(PostKind.reply, reply.id)] == ["second", "first"]


def test_new_members_are_limited_with_clear_messages(app, create_user, make_thread, veteran):
    new = create_user()
    with pytest.raises(ValidationFailed, match="at most 2 links"):
        make_thread(new, body="http://a.example http://b.example https://c.example")
    with pytest.raises(ValidationFailed, match="mention at most 2"):
        make_thread(new, body="@a @b @c")
    db.session.rollback()
    for n in range(3):
        make_thread(new, title=f"Question number {n}")
    with pytest.raises(RateLimited, match=r"New members can post 3 times an hour\. Please try again in \d+ minutes"):
        make_thread(new, title="One question too many")
    db.session.rollback()
    old = veteran()
    make_thread(old, body="http://a.example http://b.example https://c.example @a @b @c")


def test_everyone_has_an_hourly_limit_but_staff(app, create_user, make_thread, veteran):
    app.config["FORUM_POSTS_PER_HOUR"] = 2
    old, staff = veteran(), create_user(role="staff")
    make_thread(old, title="First of the hour")
    make_thread(old, title="Second of the hour")
    with pytest.raises(RateLimited, match="You can post 2 times an hour"):
        make_thread(old, title="Third of the hour")
    db.session.rollback()
    for n in range(4):
        make_thread(staff, title=f"Staff announcement {n}")


def test_staff_only_category_is_invisible_to_customers(app, create_user, staff_category, make_thread):
    customer, staff = create_user(), create_user(role="staff")
    thread = make_thread(staff, cat=staff_category, title="Internal: outage runbook")
    with pytest.raises(NotFound):
        services.get_thread_or_404(thread.id, customer)
    with pytest.raises(NotFound):
        services.get_category_or_404(staff_category.slug, customer)
    with pytest.raises(NotFound):
        services.create_thread(customer, staff_category, "Can I post here?", "no")
    assert staff_category not in services.visible_categories(customer)
    assert services.list_threads(customer).total == 0 and services.list_threads(staff).total == 1
    meta = db.session.scalar(select(index_entries.c.meta).where(index_entries.c.source_id == str(thread.id)))
    assert meta["visibility"] == "staff"


def test_lock_prevents_replies_except_staff(app, create_user, make_thread):
    ana, ben, staff = create_user(), create_user(), create_user(role="staff")
    thread = make_thread(ana)
    with pytest.raises(Forbidden):
        services.moderate_thread(ana, thread, "lock")
    services.moderate_thread(staff, thread, "lock")
    db.session.commit()
    with pytest.raises(Forbidden, match="locked"):
        services.post_reply(ben, thread, "Late answer")
    services.post_reply(staff, thread, "Closing note from staff.")


def test_pagination_sorting_and_unread(app, create_user, make_thread, relaxed_limits):
    ana, ben = create_user(), create_user()
    threads = [make_thread(ana, title=f"Thread number {n:02d}") for n in range(25)]
    for n, thread in enumerate(threads):
        thread.created_at = thread.last_activity_at = utcnow() - timedelta(hours=100 - n)
    db.session.commit()
    busy = threads[3]
    for n in range(3):
        services.post_reply(ben, busy, f"reply {n}")
    threads[10].views = 50
    services.moderate_thread(create_user(role="staff"), threads[0], "pin")
    db.session.commit()

    latest = services.list_threads(ben, sort="latest", per_page=10)
    assert latest.total == 25 and latest.pages == 3
    assert [t.id for t in latest.items[:2]] == [threads[0].id, busy.id]  # pinned first, then activity
    second = services.list_threads(ben, sort="latest", per_page=10, page=3)
    assert len(second.items) == 5 and second.has_prev and not second.has_next
    new = services.list_threads(ben, sort="new", per_page=10)
    assert new.items[0].id == threads[24].id
    top = services.list_threads(ben, sort="top", per_page=10)
    assert [t.id for t in top.items[:2]] == [busy.id, threads[10].id]
    with pytest.raises(ValidationFailed):
        services.list_threads(ben, sort="random")

    assert latest.unread == {t.id for t in latest.items} - {busy.id}  # ben opened none, but wrote in busy
    assert busy.id in services.list_threads(ana, sort="latest", per_page=10).unread  # ben replied since
    services.mark_read(ana, busy)
    db.session.commit()
    page = services.list_threads(ana, sort="latest", per_page=10)
    assert busy.id not in page.unread  # read after the last reply
    services.post_reply(ben, busy, "one more")
    db.session.commit()
    assert busy.id in services.list_threads(ana, sort="latest", per_page=10).unread
    assert services.list_threads(ana, tag=None, per_page=100).total == 25


def test_likes_are_unique_and_counted(app, create_user, make_thread):
    ana, ben, cy = create_user(), create_user(), create_user()
    thread = make_thread(ana)
    reply = services.post_reply(ben, thread, "answer")
    db.session.commit()
    assert services.toggle_like(ana, reply) is True
    assert services.toggle_like(cy, reply) is True
    db.session.commit()
    assert reply.like_count == 2
    assert services.toggle_like(ana, reply) is False
    db.session.commit()
    assert reply.like_count == 1
    with pytest.raises(Forbidden):
        services.toggle_like(ben, reply)


def test_flags_queue_hide_and_dismiss(app, create_user, make_thread):
    ana, staff = create_user(), create_user(role="staff")
    reporters = [create_user() for _ in range(3)]
    thread = make_thread(ana)
    reply = services.post_reply(reporters[0], thread, "buy cheap pills")
    db.session.commit()
    with pytest.raises(ValidationFailed):
        services.flag_post(ana, PostKind.reply, reply.id, "   ")
    with pytest.raises(Conflict):
        services.flag_post(reporters[0], PostKind.reply, reply.id, "my own")
    flag = services.flag_post(ana, PostKind.reply, reply.id, "spam")
    db.session.commit()
    assert [f.id for f, _ in services.open_flags()] == [flag.id]
    services.resolve_flag(staff, flag, "hide")
    db.session.commit()
    assert reply.hidden and thread.reply_count == 0 and services.open_flags() == []

    # Three distinct reports hide a thread until staff look; dismissing shows it again.
    for user in reporters:
        services.flag_post(user, PostKind.thread, thread.id, "off topic")
    db.session.commit()
    assert thread.hidden and not indexed("thread", thread.id)
    services.resolve_flag(staff, services.open_flags()[0][0], "dismiss")
    db.session.commit()
    assert not thread.hidden and indexed("thread", thread.id)


def test_validation_writes_nothing(app, create_user, category):
    ana = create_user()
    for title, body, tags in [("short", "body", ""), ("A long enough title", "  ", ""),
                              ("A long enough title", "b", "a,b,c,d,e,f"), ("A long enough title", "b", "x" * 31)]:
        with pytest.raises(ValidationFailed):
            services.create_thread(ana, category, title, body, tags)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 0
