from community.extensions import db
from community.notifications.services import notify, unread_count
from tests.conftest import csrf_token


def test_notify_skips_actor_and_duplicates(app, create_user):
    a, b = create_user(), create_user()
    notes = notify([a, b, b.id], "idea.status", "Idea planned", "/ideas/1", actor=a)
    db.session.commit()
    assert [n.user_id for n in notes] == [b.id]
    assert unread_count(b.id) == 1 and unread_count(a.id) == 0


def test_notification_centre_and_live_count(app, client, auth, create_user, open_socket):
    bob = create_user(email="bob@example.com")
    auth.login("bob@example.com")
    live = open_socket("/live", page=None)
    assert live.is_connected("/live")
    notify([bob], "forum.mention", "Ana mentioned you", "/forum/t/1")
    db.session.commit()
    pushed = [m for m in live.get_received("/live") if m["name"] == "notification"]
    assert pushed and pushed[-1]["args"][0]["unread"] == 1
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Ana mentioned you" in page
    assert 'class="bell-count" data-unread="1"' in page
    note_id = bob.id  # only one notification exists; read it by opening it
    from community.models import Notification
    note = db.session.scalar(db.select(Notification))
    response = client.post(f"/notifications/{note.id}/open", data={"csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/forum/t/1"
    assert unread_count(note_id) == 0
    live.disconnect(namespace="/live")


def test_cannot_open_someone_elses_notification(app, client, auth, create_user):
    a = create_user(email="a@example.com")
    create_user(email="b@example.com")
    notify([a], "x", "for a")
    db.session.commit()
    auth.login("b@example.com")
    from community.models import Notification
    note = db.session.scalar(db.select(Notification))
    assert client.post(f"/notifications/{note.id}/open", data={"csrf_token": csrf_token(client)}).status_code == 404
