"""Per-user notification preferences: the group registry, notify() honouring them, the settings page, unsubscribe."""
from __future__ import annotations

import re

from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from community.extensions import db
from community.models import Notification, NotificationPreference, OutgoingEmail
from community.notifications import preferences
from community.notifications.preferences import group_for, preferences_of, save_preferences, unsubscribe_token
from community.notifications.services import notify
from tests.conftest import csrf_token

ALL_GROUPS = [g.key for g in preferences.GROUPS]


def channels_used(user_id: int) -> tuple[int, int]:
    """(in-app notifications, e-mails) the user has."""
    notes = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == user_id))
    mails = db.session.scalar(select(func.count()).select_from(OutgoingEmail).where(OutgoingEmail.user_id == user_id))
    return notes, mails


def test_kinds_fall_into_groups_by_longest_prefix():
    assert group_for("forum.reply").key == "replies"
    assert group_for("idea.mention").key == "replies"  # beats the broader "idea."
    assert group_for("idea.status").key == "idea_updates"
    assert group_for("idea.comment").key == "idea_comments"
    assert group_for("gap.answered").key == "answers"
    assert group_for("chat.staff_reply").key == "support"
    assert group_for("article.promoted").key == "articles"
    assert group_for("something.new").key == "other"


def test_notify_follows_each_users_preferences(app, create_user):
    default, no_mail, no_app, paused = (create_user() for _ in range(4))
    save_preferences(no_mail.id, in_app=ALL_GROUPS, email=[k for k in ALL_GROUPS if k != "replies"], no_email=False)
    save_preferences(no_app.id, in_app=[k for k in ALL_GROUPS if k != "replies"], email=ALL_GROUPS, no_email=False)
    save_preferences(paused.id, in_app=ALL_GROUPS, email=ALL_GROUPS, no_email=True)
    db.session.commit()
    created = notify([default, no_mail, no_app, paused], "forum.reply", "Ana replied", "/forum/t/1")
    db.session.commit()
    assert sorted(n.user_id for n in created) == sorted([default.id, no_mail.id, paused.id])
    assert channels_used(default.id) == (1, 1)
    assert channels_used(no_mail.id) == (1, 0)
    assert channels_used(no_app.id) == (0, 1)
    assert channels_used(paused.id) == (1, 0)
    # A group whose default is in-app only; and an unknown kind ("other": in-app, no e-mail).
    notify([default], "idea.comment", "New comment", "/ideas/1")
    notify([default], "something.new", "News", "/")
    db.session.commit()
    assert channels_used(default.id) == (3, 1)


def test_settings_page_saves_choices(app, client, auth, create_user):
    bob = create_user(email="bob@example.com")
    auth.login("bob@example.com")
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'name="email:replies" value="1" checked' in page
    assert 'name="email:idea_comments" value="1">' in page  # off by default
    response = client.post("/notifications/settings", data={
        "csrf_token": csrf_token(client), "in_app:replies": "1", "email:answers": "1", "no_email": "1",
    })
    assert response.status_code == 302
    prefs = preferences_of(bob.id)
    assert prefs.no_email is True
    assert prefs.choices["replies"] == preferences.Channels(in_app=True, email=False)
    assert prefs.choices["answers"] == preferences.Channels(in_app=False, email=True)
    assert prefs.choices["idea_updates"] == preferences.Channels(in_app=False, email=False)
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "Your notification settings are saved." in page
    assert 'name="no_email" value="1" checked' in page and 'name="email:replies" value="1">' in page


def test_settings_refuse_bad_input_and_keep_nothing_half_written(app, client, auth, create_user):
    bob = create_user(email="bob@example.com")
    auth.login("bob@example.com")
    response = client.post("/notifications/settings", data={
        "csrf_token": csrf_token(client), "in_app:replies": "1", "email:nonsense": "1",
    })
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "These notification groups do not exist: nonsense." in page
    assert 'name="in_app:replies" value="1" checked' in page and 'name="in_app:answers" value="1">' in page
    db.session.expire_all()
    assert db.session.scalars(select(NotificationPreference)).all() == []
    # Without the form's security token nothing is saved either.
    assert client.post("/notifications/settings", data={"in_app:replies": "1"}).status_code == 400
    assert db.session.scalars(select(NotificationPreference)).all() == []
    assert preferences_of(bob.id).choices["answers"].in_app is True


def test_settings_need_sign_in_and_are_linked(app, client, auth, create_user):
    assert client.get("/notifications/settings").status_code == 302
    create_user(email="bob@example.com")
    auth.login("bob@example.com")
    assert 'href="/notifications/settings"' in client.get("/notifications/").get_data(as_text=True)
    assert 'href="/notifications/settings"' in client.get("/profile").get_data(as_text=True)


def test_unsubscribe_link_from_the_email_asks_then_turns_that_group_off(app, client, create_user):
    bob = create_user()
    notify([bob], "gap.answered", "Your question has an answer", "/help/x")
    db.session.commit()
    email = db.session.scalar(select(OutgoingEmail))
    path = re.search(r"/notifications/unsubscribe/\S+", email.body_text).group(0)
    page = client.get(path)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "Answers to your questions" in page.get_data(as_text=True)
    assert preferences_of(bob.id).choices["answers"].email is True
    # The mail client's one-click POST (RFC 8058) has no form token: the signed link is enough.
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "gets no more e-mails" in done.get_data(as_text=True)
    db.session.expire_all()
    prefs = preferences_of(bob.id)
    assert prefs.choices["answers"] == preferences.Channels(in_app=True, email=False)
    assert prefs.choices["replies"].email is True  # other groups untouched
    notify([bob], "gap.answered", "Another answer", "/help/y")
    db.session.commit()
    assert channels_used(bob.id) == (2, 1)


def test_tampered_or_foreign_unsubscribe_tokens_are_refused(app, client, create_user):
    bob = create_user()
    token = unsubscribe_token(bob.id, "forum.reply")
    payload, _, signature = token.rpartition(".")
    foreign = URLSafeSerializer("x" * 40, salt="coknow.unsubscribe").dumps({"u": bob.id, "g": "replies"})
    for bad in (f"{payload}.{signature[:-2]}xx", foreign, "not-a-token"):
        assert client.get(f"/notifications/unsubscribe/{bad}").status_code == 422
        response = client.post(f"/notifications/unsubscribe/{bad}")
        assert response.status_code == 422
        assert "This unsubscribe link is not valid." in response.get_data(as_text=True)
    assert db.session.scalars(select(NotificationPreference)).all() == []
    gone = unsubscribe_token(bob.id + 1000, "forum.reply")
    assert client.post(f"/notifications/unsubscribe/{gone}").status_code == 404
