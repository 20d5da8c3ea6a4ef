"""Community answers become help articles; threads asked from the chat join their knowledge gaps."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from bot import capture, chat, promotion
from bot.views import message_payload
from community.errors import Conflict, Forbidden
from community.extensions import db
from community.forum import services
from community.models import (
    Article,
    ArticleSource,
    ArticleStatus,
    ChatMessage,
    GapSource,
    GapStatus,
    KnowledgeGap,
    Notification,
    Thread,
    index_entries,
)
from tests.bot.chat_fixtures import UNRELATED
from tests.conftest import csrf_token

QUESTION_BODY = ("I have a Kobo Clara e-reader and would like to read my Tidepool notebooks on it while I commute. "
                 "Is there any way to get them onto the device?")
ANSWER_BODY = ("Yes. Export the notebook as an EPUB file, connect the Kobo with its USB cable and copy the file into "
               "the Kobo's main folder. After you eject the e-reader the notebook shows up under My Books.")


def notes(user, kind: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query))


@pytest.fixture
def answered_thread(app, category, create_user, relaxed_limits):
    """Factory: a thread by asker whose reply by answerer is accepted."""

    def make(asker, answerer, title="Can I read my notebooks on a Kobo e-reader?", body=QUESTION_BODY,
             reply=ANSWER_BODY) -> Thread:
        thread = services.create_thread(asker, category, title, body)
        answer_reply = services.post_reply(answerer, thread, reply)
        services.accept_answer(asker, thread, answer_reply)
        db.session.commit()
        return thread

    return make


def rendered(app, message: ChatMessage) -> str:
    """The chat's HTML for a message, as the web chat receives it (its own app context: the
    test's clients share the fixture's, and a request here would leave an anonymous user in its g)."""
    with app.app_context(), app.test_request_context():
        return message_payload(message)["html"]


def post_thread(client, category, title: str, body: str, from_message: object = "") -> Thread:
    token = csrf_token(client, "/forum/new")
    response = client.post("/forum/new", data={"csrf_token": token, "category": category.slug, "title": title,
                                               "body": body, "from_message": str(from_message)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.get(Thread, int(response.headers["Location"].rsplit("/", 1)[1]))


# ------------------------------------------------------------------ ask the community from the chat

def test_abstain_reply_opens_a_prefilled_thread_linked_to_its_gap(app, client, auth, help_center, category,
                                                                  create_user, relaxed_limits):
    customer = create_user(email="ana@example.com")
    create_user(email="staff@example.com", role="staff")
    reply = chat.send_message(customer, None, UNRELATED).reply
    db.session.commit()
    gap = db.session.scalar(select(KnowledgeGap))
    url = chat.message_dict(reply)["ask_community_url"]
    assert url.endswith(f"&from_message={reply.id}")

    auth.login("ana@example.com")
    form = client.get(url).get_data(as_text=True)
    assert f'value="{UNRELATED}"' in form and f"\n{UNRELATED}</textarea>" in form
    assert f'id="from_message" name="from_message" type="hidden" value="{reply.id}"' in form
    # The customer edits the text before posting; the link still holds.
    thread = post_thread(client, category, "Weather in Paris for my trip?", "Any idea where to look this up?",
                         reply.id)
    db.session.refresh(gap)
    assert gap.thread_id == thread.id and thread.body == "Any idea where to look this up?"
    assert "Asked from the support chat" not in client.get(f"/forum/t/{thread.id}").get_data(as_text=True)

    auth.logout()
    auth.login("staff@example.com")
    assert f'href="/forum/t/{thread.id}"' in client.get("/insights/gaps").get_data(as_text=True)
    page = client.get(f"/forum/t/{thread.id}").get_data(as_text=True)
    assert "Asked from the support chat" in page and f"#gap-{gap.id}" in page


def test_someone_elses_message_prefills_nothing_and_links_nothing(app, client, auth, help_center, category,
                                                                  create_user, relaxed_limits):
    owner = create_user()
    create_user(email="eve@example.com")
    reply = chat.send_message(owner, None, UNRELATED).reply
    db.session.commit()
    auth.login("eve@example.com")
    form = client.get(f"/forum/new?from_message={reply.id}").get_data(as_text=True)
    assert UNRELATED not in form and f'value="{reply.id}"' not in form
    for forged in (reply.id, "not-a-number", 10**9):
        thread = post_thread(client, category, "Weather in Paris tomorrow?", "Anyone?", forged)
        assert thread is not None
    assert db.session.scalar(select(KnowledgeGap.thread_id)) is None


def test_a_visitor_signs_in_and_comes_back_to_the_prefilled_form(app, client, help_center, category, create_user,
                                                                 relaxed_limits):
    create_user(email="new@example.com")
    token = csrf_token(client, "/chat/")
    assert client.post("/chat/", data={"csrf_token": token, "text": UNRELATED}).status_code == 302
    reply = db.session.scalar(select(ChatMessage).where(ChatMessage.role == "bot"))
    url = f"/forum/new?title={quote(UNRELATED)}&from_message={reply.id}"
    to_login = client.get(url)
    assert to_login.status_code == 302 and "/login?next=" in to_login.headers["Location"]
    login_url = to_login.headers["Location"]
    token = csrf_token(client, login_url)
    back = client.post(login_url, data={"csrf_token": token, "email": "new@example.com",
                                        "password": "correct horse battery"})
    assert back.status_code == 302 and back.headers["Location"] == url
    assert f"\n{UNRELATED}</textarea>" in client.get(url).get_data(as_text=True)
    thread = post_thread(client, category, UNRELATED, UNRELATED, reply.id)
    assert db.session.scalar(select(KnowledgeGap.thread_id)) == thread.id


def test_thumbs_down_offers_the_community_with_the_bots_answer_quoted(app, client, auth, help_center, category,
                                                                      create_user, relaxed_limits):
    customer = create_user(email="ana@example.com")
    reply = chat.send_message(customer, None, "how do I reset my password").reply
    db.session.commit()
    assert reply.reply_kind == "answer" and "ask_community_url" not in chat.message_dict(reply)
    assert 'class="chat-ask-community" hidden' in rendered(app, reply)
    chat.record_feedback(customer, None, reply.id, False, "incorrect")
    db.session.commit()
    url = chat.message_dict(reply)["ask_community_url"]
    assert url.endswith(f"from_message={reply.id}")
    assert 'class="chat-ask-community" hidden' not in rendered(app, reply)

    auth.login("ana@example.com")
    form = client.get(url).get_data(as_text=True)
    passage_line = reply.payload["passage"].splitlines()[0]
    assert "](/help/articles/reset-password)" in form and f"&gt; {escape(passage_line)}" in form
    prefill = promotion.ask_community_prefill(customer, None, reply.id)
    assert prefill.title == "how do I reset my password"
    thread = post_thread(client, category, prefill.title, prefill.body, reply.id)
    gap = db.session.scalar(select(KnowledgeGap))
    assert gap.thread_id == thread.id and gap.variants[0].source is GapSource.thumbs_down
    assert "> " + passage_line in thread.body


# ------------------------------------------------------------------ propose for the help center

def test_staff_propose_a_draft_crediting_the_answerer_once(app, client, auth, create_user, answered_thread):
    create_user(email="staff@example.com", role="staff", display_name="Sam Staff")
    asker, answerer = create_user(), create_user(display_name="Rosa Díaz")
    thread = answered_thread(asker, answerer)
    gap = capture.record_gap("is there a way to put tidepool notes on my kobo", GapSource.abstain, user=asker)
    gap.thread_id = thread.id
    db.session.commit()
    page = client.get(f"/forum/t/{thread.id}").get_data(as_text=True)
    assert "Propose for the help center" not in page  # visitors do not see it

    auth.login("staff@example.com")
    assert "Propose for the help center" in client.get(f"/forum/t/{thread.id}").get_data(as_text=True)
    token = csrf_token(client, f"/forum/t/{thread.id}")
    response = client.post(f"/forum/t/{thread.id}/propose", data={"csrf_token": token})
    article = db.session.scalar(select(Article))
    assert response.status_code == 303 and response.headers["Location"] == f"/help/manage/{article.id}/edit"
    assert article.status is ArticleStatus.draft and article.source is ArticleSource.community
    assert article.title == thread.title and article.origin_thread_id == thread.id
    assert article.credited_user_id == answerer.id
    assert article.questions == [thread.title, "is there a way to put tidepool notes on my kobo"]
    assert QUESTION_BODY in article.body and ANSWER_BODY in article.body
    assert "Answered by Rosa Díaz in the community" in article.body and f"(/forum/t/{thread.id})" in article.body
    editor = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Proposed from the community thread" in editor and "credited to Rosa Díaz" in editor
    # Twice: the same draft, not a second one.
    again = client.post(f"/forum/t/{thread.id}/propose", data={"csrf_token": token})
    assert again.headers["Location"] == f"/help/manage/{article.id}/edit"
    assert db.session.scalar(select(func.count()).select_from(Article)) == 1
    # A draft is not in the index.
    assert db.session.scalar(select(func.count()).select_from(index_entries).where(
        index_entries.c.source_type == "article")) == 0


def test_the_author_proposes_for_staff_and_others_may_not(app, client, auth, create_user, answered_thread):
    staff = create_user(role="staff")
    asker = create_user(email="asker@example.com")
    create_user(email="other@example.com")
    thread = answered_thread(asker, create_user())
    auth.login("other@example.com")
    token = csrf_token(client, f"/forum/t/{thread.id}")
    assert "Propose for the help center" not in client.get(f"/forum/t/{thread.id}").get_data(as_text=True)
    assert client.post(f"/forum/t/{thread.id}/propose", data={"csrf_token": token}).status_code == 403
    assert db.session.scalar(select(Article)) is None
    auth.logout()

    auth.login("asker@example.com")
    token = csrf_token(client, f"/forum/t/{thread.id}")
    response = client.post(f"/forum/t/{thread.id}/propose", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == f"/forum/t/{thread.id}"
    article = db.session.scalar(select(Article))
    assert article.status is ArticleStatus.draft and article.author_id == asker.id
    [note] = notes(staff, "article.proposed")
    assert note.link == f"/help/manage/{article.id}/edit"
    page = client.get(f"/forum/t/{thread.id}").get_data(as_text=True)
    assert "staff are reviewing the draft" in page and "Propose for the help center" not in page


def test_a_thread_without_an_accepted_answer_cannot_be_proposed(app, client, auth, create_user, category,
                                                                relaxed_limits):
    staff = create_user(email="staff@example.com", role="staff")
    thread = services.create_thread(create_user(), category, "Can I read my notebooks on a Kobo?", QUESTION_BODY)
    services.post_reply(create_user(), thread, "Maybe?")
    db.session.commit()
    with pytest.raises(Conflict, match="no accepted answer"):
        promotion.propose_article(staff, thread)
    with pytest.raises(Forbidden):
        promotion.propose_article(create_user(), thread)
    db.session.rollback()
    auth.login("staff@example.com")
    token = csrf_token(client, f"/forum/t/{thread.id}")
    response = client.post(f"/forum/t/{thread.id}/propose", data={"csrf_token": token}, follow_redirects=True)
    assert "no accepted answer yet" in response.get_data(as_text=True)
    assert db.session.scalar(select(Article)) is None


# ------------------------------------------------------------------ the index and publishing

def test_every_passage_of_a_promoted_article_carries_the_question(app, create_user, answered_thread):
    staff = create_user(role="staff")
    steps = "\n\n".join(f"Step {i}: open Settings › Export, pick EPUB and copy the file to the Kobo." for i in range(40))
    thread = answered_thread(create_user(), create_user(), reply=f"{ANSWER_BODY}\n\n## Step by step\n\n{steps}")
    article = promotion.propose_article(staff, thread)
    promotion.publish_article(article, staff)
    db.session.commit()
    t = index_entries.c
    body = db.session.execute(select(t.text).where(
        t.source_type == "article", t.source_id == str(article.id), t.kind == "body", t.deleted.is_(False))).scalars().all()
    assert len(body) > 2
    opening = QUESTION_BODY[:60]
    assert all(text.startswith("Question: " + opening) for text in body)
    assert sum(text.count("Step ") for text in body) == 40


def test_publishing_closes_gaps_tells_everyone_and_the_bot_credits_the_answerer(
        app, client, auth, help_center, create_user, answered_thread):
    create_user(email="staff@example.com", role="staff")
    asker, answerer = create_user(), create_user(display_name="Rosa Díaz")
    chat_asker = create_user()
    thread = answered_thread(asker, answerer)
    # Two customers asked the bot; one of them asked the community (the gap is linked to the thread).
    gap = capture.record_gap("how can I read tidepool notebooks on my kobo clara", GapSource.abstain, user=chat_asker)
    gap.thread_id = thread.id
    other = capture.record_gap("Does Tidepool sync with a Kobo e-reader?", GapSource.abstain, user=asker)
    db.session.commit()
    t = index_entries.c
    assert db.session.scalar(select(func.count()).select_from(index_entries).where(
        t.source_type == "answer", t.source_id == str(thread.id), t.deleted.is_(False))) > 0

    auth.login("staff@example.com")
    token = csrf_token(client, f"/forum/t/{thread.id}")
    client.post(f"/forum/t/{thread.id}/propose", data={"csrf_token": token})
    article = db.session.scalar(select(Article).where(Article.origin_thread_id == thread.id))
    capture.link_gap_to_article(db.session.get(KnowledgeGap, other.id), article)  # a draft: stays open
    db.session.commit()
    assert other.status is GapStatus.open
    response = client.post(f"/help/manage/{article.id}/edit", data={
        "csrf_token": token, "title": article.title, "body": article.body, "category": "",
        "questions": "\n".join(article.questions), "status": "published"})
    assert response.status_code == 302
    db.session.expire_all()
    assert article.status is ArticleStatus.published
    assert gap.status is GapStatus.answered and gap.article_id == article.id
    assert other.status is GapStatus.answered
    assert [n.link for n in notes(chat_asker, "gap.answered")] == [f"/help/articles/{article.slug}"]
    assert len(notes(asker, "gap.answered")) == 1 and len(notes(asker, "article.promoted")) == 1
    [credit] = notes(answerer, "article.credited")
    assert credit.title == f"Your answer is now a help article: {article.title}"
    # The thread's own answer document is withdrawn; the question stays searchable as a thread.
    assert db.session.scalar(select(func.count()).select_from(index_entries).where(
        t.source_type == "answer", t.source_id == str(thread.id), t.deleted.is_(False))) == 0
    services.edit_reply(answerer, thread.accepted_reply, ANSWER_BODY + " It also works with PDF.")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(index_entries).where(
        t.source_type == "answer", t.source_id == str(thread.id), t.deleted.is_(False))) == 0
    assert "now a help article" in client.get(f"/forum/t/{thread.id}").get_data(as_text=True)

    # The bot answers a paraphrase from the new article and credits the community member.
    reply = chat.send_message(create_user(), None, "how do I put my notes on a kobo ereader").reply
    db.session.commit()
    assert reply.reply_kind == "answer", reply.payload
    assert reply.payload["source"]["source_type"] == "article"
    assert reply.payload["source"]["source_id"] == str(article.id)
    assert reply.payload["source"]["credited_user_id"] == answerer.id
    assert reply.payload["passage"].startswith("Question: ")
    assert "Answer from Rosa Díaz, community member" in rendered(app, reply)


def test_archiving_the_article_gives_the_thread_its_answer_back(app, create_user, answered_thread):
    staff = create_user(role="staff")
    thread = answered_thread(create_user(), create_user())
    article = promotion.propose_article(staff, thread)
    promotion.publish_article(article, staff)
    db.session.commit()
    assert [d[0] for d in services.index_documents(thread)] == ["thread"]
    from community.kb import services as kb
    kb.update_article(article, status=ArticleStatus.archived)
    promotion.sync_origin_thread(article)
    db.session.commit()
    assert [d[0] for d in services.index_documents(thread)] == ["thread", "answer"]


def test_a_failed_publish_keeps_the_draft_and_the_gap(app, client, auth, create_user, answered_thread, monkeypatch):
    create_user(email="staff@example.com", role="staff")
    asker, answerer = create_user(), create_user()
    thread = answered_thread(asker, answerer)
    gap = capture.record_gap("kobo e-reader notebooks", GapSource.abstain, user=asker)
    gap.thread_id = thread.id
    db.session.commit()
    auth.login("staff@example.com")
    token = csrf_token(client, f"/forum/t/{thread.id}")
    client.post(f"/forum/t/{thread.id}/propose", data={"csrf_token": token})
    article = db.session.scalar(select(Article))
    original = article.body
    notes_before = db.session.scalar(select(func.count()).select_from(Notification))

    def broken(*args, **kwargs):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr("community.search.index_document", broken)
    response = client.post(f"/help/manage/{article.id}/edit", data={
        "csrf_token": token, "title": "Read notebooks on a Kobo", "body": original + "\n\nEdited by staff.",
        "category": "", "questions": "\n".join(article.questions), "status": "published"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "could not be published, so nothing was changed" in page and "Edited by staff." in page
    db.session.expire_all()
    article = db.session.get(Article, article.id)
    assert article.status is ArticleStatus.draft and article.body == original and article.title == thread.title
    assert db.session.get(KnowledgeGap, gap.id).status is GapStatus.open
    assert db.session.scalar(select(func.count()).select_from(Notification)) == notes_before
    assert db.session.scalar(select(func.count()).select_from(index_entries).where(
        index_entries.c.source_type == "article")) == 0

    monkeypatch.undo()  # the index is back: the same publish now goes through
    client.post(f"/help/manage/{article.id}/edit", data={
        "csrf_token": token, "title": article.title, "body": original, "category": "",
        "questions": "\n".join(article.questions), "status": "published"})
    db.session.expire_all()
    assert db.session.get(KnowledgeGap, gap.id).status is GapStatus.answered


def test_a_promoted_answer_keeps_code_and_paragraphs_and_drops_mentions_and_chatter():
    answer = ("Hi @AnaLima!\n\n@AnaLima, export the notebook first:\n\n```\ntidepool export --format epub\n```\n\n"
              "Then copy the file.\nIt shows up under My Books; ask @BenOde if it does not.\n\n"
              "Hope this helps!\n\nCheers")
    body = promotion.article_markdown(answer)
    assert body == ("Export the notebook first:\n\n```\ntidepool export --format epub\n```\n\n"
                    "Then copy the file.\nIt shows up under My Books; ask BenOde if it does not.")
    # A mention inside a code block is code, not chatter.
    assert promotion.article_markdown("Run:\n\n```\nnpm i @scope/pkg\n```") == "Run:\n\n```\nnpm i @scope/pkg\n```"


def test_a_promoted_answer_lands_in_the_help_center_category_of_its_nearest_articles(
        app, create_user, answered_thread, help_center):
    from community.kb import services as kb

    devices = kb.ensure_category("devices", "Devices and apps")
    billing = kb.ensure_category("billing", "Plans and billing")
    for slug in ("install-android", "install-ios"):
        kb.update_article(help_center[slug], category=devices)
    kb.update_article(help_center["refund-policy"], category=billing)
    db.session.commit()
    staff = create_user(role="staff")
    thread = answered_thread(create_user(), create_user(),
                             title="Tidepool app will not install on my Android tablet",
                             body="The Play Store says my Android tablet is not compatible. Which versions work?",
                             reply="You need Android 9 or newer; older tablets cannot install the app.")
    article = promotion.propose_article(staff, thread)
    assert article.category is not None and article.category.slug == "devices"
