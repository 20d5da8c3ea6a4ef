"""Idea pages end to end: submit, vote, follow, comment, status, and bad input that writes nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from community.extensions import db
from community.ideas import services
from community.models import Idea, IdeaComment, IdeaStatus, IdeaStatusChange, Notification, Vote
from tests.conftest import csrf_token


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_board_is_public_and_lists_ideas(client, create_idea):
    create_idea("Calendar sync with Outlook")
    page = client.get("/ideas/")
    assert page.status_code == 200
    assert "Calendar sync with Outlook" in page.get_data(as_text=True)
    assert client.get("/ideas/?sort=sideways").status_code == 302


def test_submit_vote_follow_comment_through_pages(client, auth, create_user):
    create_user(email="ana@example.com", display_name="Ana")
    auth.login("ana@example.com")
    token = csrf_token(client, "/ideas/new")
    response = client.post("/ideas/new", data={"title": "Export boards as CSV", "body": "<script>x</script>\n\n**Please**",
                                               "category": "Export", "tags": "csv, reports", "csrf_token": token})
    assert response.status_code == 302
    idea = db.session.scalar(select(Idea))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<strong>Please</strong>" in page and "<script>" not in page
    assert client.post(f"/ideas/{idea.id}/vote", data={"csrf_token": token}).status_code == 302
    json_vote = client.post(f"/ideas/{idea.id}/vote", headers={"Accept": "application/json", "X-CSRFToken": token})
    assert json_vote.get_json()["votes"] == 1 and json_vote.get_json()["voted"] is True
    client.post(f"/ideas/{idea.id}/comments", data={"body": "More detail here", "csrf_token": token})
    db.session.expire_all()
    assert idea.vote_count == 1 and idea.comment_count == 1 and idea.follower_count == 1
    assert "More detail here" in client.get(f"/ideas/{idea.id}").get_data(as_text=True)


def test_bad_submissions_get_clear_errors_and_write_nothing(client, auth, create_user):
    create_user(email="ana@example.com")
    auth.login("ana@example.com")
    token = csrf_token(client, "/ideas/new")
    empty = client.post("/ideas/new", data={"title": "  ", "body": "x", "csrf_token": token})
    assert empty.status_code == 422 and "This field is required" in empty.get_data(as_text=True)
    long_body = client.post("/ideas/new", data={"title": "Valid title", "body": "x" * 20_001, "csrf_token": token})
    assert long_body.status_code == 422 and "At most 20000 characters" in long_body.get_data(as_text=True)
    huge = client.post("/ideas/new", data={"title": "Valid title", "body": "x" * (10 * 1024 * 1024),
                                           "csrf_token": token})
    assert huge.status_code == 413 and "too large" in huge.get_data(as_text=True)
    assert _count(Idea) == 0


def test_vote_on_missing_idea_is_404(client, auth, create_user):
    create_user(email="ana@example.com")
    auth.login("ana@example.com")
    token = csrf_token(client, "/ideas/")
    assert client.post("/ideas/4242/vote", data={"csrf_token": token}).status_code == 404
    json_response = client.post("/ideas/4242/vote", headers={"Accept": "application/json", "X-CSRFToken": token})
    assert json_response.status_code == 404 and json_response.get_json()["error"]["code"] == "not_found"
    assert _count(Vote) == 0


def test_customer_cannot_change_status_staff_can(client, auth, create_user, create_idea, staff):
    idea = create_idea()
    create_user(email="cust@example.com")
    auth.login("cust@example.com")
    token = csrf_token(client, f"/ideas/{idea.id}")
    assert client.post(f"/ideas/{idea.id}/status", data={"status": "planned", "csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert idea.status is IdeaStatus.open and _count(IdeaStatusChange) == 1
    auth.logout()
    auth.login("staff@example.com")
    token = csrf_token(client, f"/ideas/{idea.id}")
    declined = client.post(f"/ideas/{idea.id}/status", data={"status": "declined", "csrf_token": token},
                           follow_redirects=True)
    assert "Say why the idea is declined" in declined.get_data(as_text=True)
    client.post(f"/ideas/{idea.id}/status", data={"status": "planned", "reason": "Next quarter", "csrf_token": token})
    db.session.expire_all()
    assert idea.status is IdeaStatus.planned
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "Next quarter" in page and 'data-demand="chat_requests"' in page


def test_comment_edit_history_and_permissions(client, auth, create_user, create_idea):
    idea = create_idea()
    ana = create_user(email="ana@example.com", display_name="Ana")
    create_user(email="bob@example.com")
    comment = services.add_comment(idea, ana, "First version")
    db.session.commit()
    auth.login("bob@example.com")
    assert client.get(f"/ideas/comments/{comment.id}/edit").status_code == 403
    auth.logout()
    auth.login("ana@example.com")
    token = csrf_token(client, f"/ideas/comments/{comment.id}/edit")
    client.post(f"/ideas/comments/{comment.id}/edit", data={"body": "Second version", "csrf_token": token})
    history = client.get(f"/ideas/comments/{comment.id}/history").get_data(as_text=True)
    assert "First version" in history and "Second version" in history
    assert db.session.get(IdeaComment, comment.id).edited_at is not None


def test_merged_idea_redirects(client, create_idea, staff):
    a, b = create_idea("Original"), create_idea("Copy")
    services.merge_ideas(b, a, staff)
    db.session.commit()
    response = client.get(f"/ideas/{b.id}")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/ideas/{a.id}")


def test_staff_pages_are_staff_only(client, auth, create_user):
    create_user(email="cust@example.com")
    auth.login("cust@example.com")
    for path in ("/ideas/duplicates", "/ideas/priorities", "/ideas/reviews", "/ideas/changelog/new"):
        assert client.get(path).status_code == 403, path
    assert client.get("/ideas/roadmap").status_code == 200
    assert client.get("/ideas/changelog").status_code == 200
    assert _count(Notification) == 0


def test_staff_pages_render(client, auth, create_user, create_idea, staff):
    idea = create_idea("Dark mode on Android")
    create_idea("Android app needs a dark theme")
    customer = create_user(email="cust@example.com", display_name="Cora Customer")
    auth.login("staff@example.com")
    token = csrf_token(client, f"/ideas/{idea.id}")
    recorded = client.post(f"/ideas/{idea.id}/vote-for", data={"email": "cust@example.com", "note": "From a call",
                                                              "csrf_token": token}, follow_redirects=True)
    assert "Vote recorded for Cora Customer" in recorded.get_data(as_text=True)
    vote = db.session.scalar(select(Vote))
    assert vote.user_id == customer.id and vote.recorded_by_id == staff.id and vote.note == "From a call"
    duplicates = client.get("/ideas/duplicates").get_data(as_text=True)
    assert "Dark mode on Android" in duplicates and "Android app needs a dark theme" in duplicates
    priorities = client.get("/ideas/priorities").get_data(as_text=True)
    assert "Dark mode on Android" in priorities
    assert client.get("/ideas/reviews").status_code == 200
    assert client.get("/ideas/changelog/new").status_code == 200


def test_merge_finds_by_title_previews_and_needs_a_confirmation(client, auth, create_user, create_idea, staff):
    from community.ideas.services import cast_vote

    keep = create_idea("Dark mode for the Android app")
    dupe = create_idea("Android: please add a dark theme")
    voters = [create_user() for _ in range(3)]
    for user in voters:
        cast_vote(user, dupe)
    cast_vote(voters[0], keep)
    db.session.commit()
    auth.login("staff@example.com")
    found = client.get(f"/ideas/{dupe.id}/merge?q=dark+mode").get_data(as_text=True)
    assert f'href="/ideas/{dupe.id}/merge?target_id={keep.id}"' in found
    nearest = client.get(f"/ideas/{dupe.id}/merge").get_data(as_text=True)  # no query: closest by meaning
    assert f"target_id={keep.id}" in nearest
    preview = client.get(f"/ideas/{dupe.id}/merge?target_id={keep.id}").get_data(as_text=True)
    assert "2 votes move to the target idea" in preview
    assert "1 person voted for both" in preview
    assert "people will be notified" in preview and "Yes, merge" in preview
    token = csrf_token(client, f"/ideas/{dupe.id}/merge?target_id={keep.id}")
    # Posting without the confirmation only shows the preview again.
    unconfirmed = client.post(f"/ideas/{dupe.id}/merge", data={"csrf_token": token, "target_id": str(keep.id)})
    assert unconfirmed.status_code == 422 and db.session.get(Idea, dupe.id).merged_into_id is None
    done = client.post(f"/ideas/{dupe.id}/merge", data={"csrf_token": token, "target_id": str(keep.id),
                                                         "confirm": "1"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Idea, dupe.id).merged_into_id == keep.id
    assert db.session.get(Idea, keep.id).vote_count == 3


def test_changelog_is_previewed_before_it_notifies_and_can_be_corrected(client, auth, create_user, create_idea,
                                                                        staff):
    from community.ideas.services import cast_vote, change_status
    from community.models import ChangelogEntry, IdeaStatus

    idea = create_idea("Offline mode")
    for _ in range(2):
        cast_vote(create_user(), idea)
    change_status(idea, IdeaStatus.planned, staff)
    db.session.commit()
    auth.login("staff@example.com")
    token = csrf_token(client, "/ideas/changelog/new")
    form = {"csrf_token": token, "title": "Version 5", "body": "Offline **everywhere**.", "ideas": [str(idea.id)]}
    preview = client.post("/ideas/changelog/new", data=form)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Preview: nothing is published yet." in page
    assert "1 idea becomes shipped" in page and "people will be notified" in page
    assert _count(ChangelogEntry) == 0 and db.session.get(Idea, idea.id).status is IdeaStatus.planned
    published = client.post("/ideas/changelog/new", data={**form, "confirm": "1"})
    assert published.status_code == 302
    entry = db.session.scalar(select(ChangelogEntry))
    assert db.session.get(Idea, idea.id).status is IdeaStatus.shipped
    sent = _count(Notification)
    corrected = client.post(f"/ideas/changelog/{entry.id}/edit",
                            data={"csrf_token": token, "title": "Version 5.0", "body": "Offline everywhere."})
    assert corrected.status_code == 302
    db.session.expire_all()
    entry = db.session.get(ChangelogEntry, entry.id)
    assert entry.title == "Version 5.0" and entry.corrected_at is not None
    assert _count(Notification) == sent  # a correction tells nobody again
    assert "corrected" in client.get("/ideas/changelog").get_data(as_text=True)


def test_a_mention_in_an_idea_tells_the_person_once(client, create_user, create_idea):
    from community.ideas.services import edit_idea, submit_idea

    author = create_user(display_name="Ana Lima")
    cleo = create_user(display_name="Cleo Park")
    ben = create_user(display_name="Ben Ode")
    idea = submit_idea(author, "Calendar sync", "Like @CleoPark said, sync the calendar both ways.")
    db.session.commit()
    told = lambda user: db.session.scalar(select(func.count()).select_from(Notification).where(  # noqa: E731
        Notification.user_id == user.id, Notification.kind == "idea.mention"))
    assert told(cleo) == 1 and told(ben) == 0
    edit_idea(idea, author, idea.title, idea.body + " @BenOde too.", None, None)
    db.session.commit()
    assert told(cleo) == 1 and told(ben) == 1  # only the newly mentioned person is told on an edit
