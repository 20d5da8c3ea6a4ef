"""Knowledge gaps: grouping by meaning, ranking by demand, and closing the loop into the help center."""
import json
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot import capture
from bot.engine import answer
from tests.paths import shared_data
from community.customers.services import privacy
from community.errors import ValidationFailed
from community.extensions import db
from community.kb import services as kb
from community.models import ArticleStatus, GapSource, GapStatus, KnowledgeGap, Notification



def gaps_count() -> int:
    return db.session.scalar(select(func.count()).select_from(KnowledgeGap))


def test_paraphrases_join_one_gap_and_unrelated_questions_do_not(app, create_user):
    ana, bo = create_user(), create_user()
    g1 = capture.record_gap("Can I use Tidepool on a Kindle Scribe?", GapSource.abstain, user=ana)
    g2 = capture.record_gap("does tidepool work with the kindle scribe", GapSource.abstain, user=bo)
    g3 = capture.record_gap("How do I get a refund for last month?", GapSource.thumbs_down, user=bo)
    db.session.commit()
    assert g1.id == g2.id != g3.id
    assert g1.ask_count == 2 and len(g1.variants) == 2
    ranked = capture.ranked_gaps()
    assert ranked[0].gap.id == g1.id and ranked[0].askers == 2


def test_a_repeated_wording_is_kept_but_compared_once(app, create_user):
    """Every ask is a variant (its asker, its time), but the next question is compared with each wording once: a
    popular unanswerable question made each later abstain read every earlier ask's vector (issue 21)."""
    ana, bo, cy = create_user(), create_user(), create_user()
    question = "Can I use Tidepool on a Kindle Scribe?"
    gap = capture.record_gap(question, GapSource.abstain, user=ana)
    for user in (bo, cy, bo):
        assert capture.record_gap(f"  {question} ", GapSource.abstain, user=user).id == gap.id
    assert capture.record_gap("does tidepool work with the kindle scribe", GapSource.abstain, user=cy).id == gap.id
    db.session.commit()
    assert gap.ask_count == 5 and len(gap.variants) == 5
    assert [v.matches for v in gap.variants] == [True, False, False, False, True]
    assert len(db.session.execute(capture._OPEN_GAP_WORDINGS).all()) == 2
    # A repeat still finds its gap; erasing the person whose wording the repeats deferred to keeps the wording
    # comparable through the repeats that remain.
    vector = capture.get_embedder().encode_query(question)
    assert capture.find_gap_for(vector, capture.merge_threshold())[0].id == gap.id
    privacy.delete_account(ana, "correct horse battery")
    db.session.commit()
    db.session.refresh(gap, ["variants"])
    assert len(gap.variants) == 4 and all(v.matches for v in gap.variants)
    found, score = capture.find_gap_for(vector, capture.merge_threshold())
    assert found.id == gap.id and score > capture.REPEAT_SIMILARITY


def test_grouping_follows_the_development_sets_intents(app):
    path = shared_data("clinc150_val", "queries.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    wanted = ["pto_request", "credit_limit", "calories", "travel_alert", "oil_change_how"]
    rows = [r for r in rows if r["expected"] in wanted]
    assert len(rows) > 50
    by_gap: dict[int, Counter] = {}
    for r in rows:
        gap = capture.record_gap(r["query"], GapSource.abstain)
        by_gap.setdefault(gap.id, Counter())[r["expected"]] += 1
    db.session.commit()
    # Purity: a gap holds one need; questions of different intents almost never merge.
    purity = sum(c.most_common(1)[0][1] for c in by_gap.values()) / len(rows)
    assert purity >= 0.95
    # And paraphrases do merge: far fewer gaps than questions.
    assert len(by_gap) <= 0.6 * len(rows)


def test_linking_a_gap_teaches_the_article_its_wordings(app, create_user):
    staff = create_user(role="staff")
    asker = create_user()
    article = kb.create_article(
        "Use Tidepool on e-ink tablets",
        "Tidepool's web app runs in the browser of e-ink tablets such as reMarkable and Kindle Scribe.",
        status=ArticleStatus.published,
    )
    other = kb.create_article("Get a refund", "Refunds are possible within 14 days.", status=ArticleStatus.published)
    db.session.commit()
    question = "can i take notes with tidepool on my scribe from amazon?"
    gap = capture.record_gap(question, GapSource.abstain, user=asker)
    db.session.commit()
    capture.link_gap_to_article(gap, article, staff)
    db.session.commit()
    assert gap.status is GapStatus.answered
    assert question in article.questions
    reply = answer(question)
    assert reply.kind == "answer" and reply.source.source_id == str(article.id)
    assert other.id != article.id
    note = db.session.scalar(select(Notification).where(Notification.user_id == asker.id))
    assert note is not None and note.link == f"/help/articles/{article.slug}"


def test_article_written_from_gap_closes_it_when_published(app, client, auth, create_user):
    create_user(email="staff@example.com", role="staff")
    asker = create_user()
    gap = capture.record_gap("Does the web clipper work in Firefox private windows?", GapSource.abstain, user=asker)
    db.session.commit()
    auth.login("staff@example.com")
    page = client.get(f"/insights/gaps/{gap.id}/write").get_data(as_text=True)
    assert "Firefox private windows" in page
    from tests.conftest import csrf_token
    token = csrf_token(client, f"/insights/gaps/{gap.id}/write")
    response = client.post(f"/insights/gaps/{gap.id}/write", data={
        "csrf_token": token, "title": "Web clipper in private windows",
        "body": "Allow the extension in private windows: about:addons › Tidepool › Run in Private Windows.",
        "questions": "Does the web clipper work in Firefox private windows?", "status": "published", "category": "",
    })
    assert response.status_code == 302
    db.session.refresh(gap)
    assert gap.status is GapStatus.answered and gap.article_id is not None
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == asker.id)) == 1


def test_dismiss_needs_a_reason_and_keeps_the_record(app, create_user):
    staff = create_user(role="staff")
    gap = capture.record_gap("asdf qwerty", GapSource.abstain)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        capture.dismiss_gap(gap, "   ", staff)
    capture.dismiss_gap(gap, "keyboard test", staff)
    db.session.commit()
    assert gap.status is GapStatus.dismissed and gaps_count() == 1
    assert capture.ranked_gaps() == []


def test_gap_pages_are_staff_only(app, client, auth, create_user):
    create_user(email="cu@example.com")
    capture.record_gap("Can I print a notebook?", GapSource.abstain)
    db.session.commit()
    auth.login("cu@example.com")
    assert client.get("/insights/gaps").status_code == 403


def test_chat_abstain_and_thumbs_down_become_gaps(app, help_center, create_user):
    from bot import chat
    from tests.bot.chat_fixtures import UNRELATED

    customer = create_user()
    exchange = chat.send_message(customer, None, UNRELATED)
    db.session.commit()
    assert exchange.reply.reply_kind == "abstain"
    gap = db.session.scalar(select(KnowledgeGap))
    assert gap.title == UNRELATED and gap.variants[0].user_id == customer.id
    answered = chat.send_message(customer, None, "how do I reset my password").reply
    db.session.commit()
    assert answered.reply_kind == "answer"
    for _ in range(2):  # re-voting does not count the same answer twice
        chat.record_feedback(customer, None, answered.id, False, "outdated", "the menu moved")
        db.session.commit()
    variants = db.session.scalars(select(capture.GapVariant).where(capture.GapVariant.source == GapSource.thumbs_down)).all()
    assert len(variants) == 1 and variants[0].message_id == answered.id
    assert gaps_count() == 2


@pytest.fixture
def category(app):
    """A forum category for threads asked from the chat."""
    from community.forum import services as forum

    cat = forum.save_category(None, name="Questions")
    db.session.commit()
    return cat


def test_a_thread_links_to_the_gap_of_the_posters_own_message_only(app, help_center, create_user, category):
    from bot import chat, promotion
    from community.forum import services as forum
    from tests.bot.chat_fixtures import UNRELATED

    owner, stranger = create_user(), create_user()
    message = chat.send_message(owner, None, UNRELATED).reply
    anonymous = chat.send_message(None, "browser-key", "how do I knit a scarf").reply
    db.session.commit()
    gap = db.session.scalar(select(KnowledgeGap).where(KnowledgeGap.title == UNRELATED))
    thread = forum.create_thread(stranger, category, "Weather in Paris tomorrow?", "Anyone?")
    for forged in (message.id, str(message.id), 10**9, None, True, "1; drop table"):
        assert promotion.link_thread_to_message(stranger, None, thread, forged) is None
    assert promotion.ask_community_prefill(stranger, None, message.id) is None
    assert gap.thread_id is None
    # The anonymous chat is the poster's when their browser holds its key (they signed in to post).
    assert promotion.link_thread_to_message(stranger, "another-key", thread, anonymous.id) is None
    assert promotion.link_thread_to_message(stranger, "browser-key", thread, anonymous.id) is not None
    mine = forum.create_thread(owner, category, "Weather in Paris tomorrow?", UNRELATED)
    assert promotion.link_thread_to_message(owner, None, mine, message.id) is gap
    db.session.commit()
    assert gap.thread_id == mine.id
    # A second thread on the same gap does not take it from a live first one.
    later = forum.create_thread(owner, category, "Paris weather again", UNRELATED)
    assert promotion.link_thread_to_message(owner, None, later, message.id) is None
    assert gap.thread_id == mine.id


def test_publishing_a_promoted_article_closes_the_gaps_of_its_thread(app, create_user, category):
    from bot import promotion
    from community.forum import services as forum

    app.config.update(FORUM_NEW_POSTS_PER_HOUR=100, FORUM_NEW_ACCOUNT_POSTS=0, FORUM_NEW_ACCOUNT_HOURS=0)
    staff, asker, answerer = create_user(role="staff"), create_user(), create_user()
    thread = forum.create_thread(asker, category, "Can I print a whole notebook?", "Printing one page works.")
    reply = forum.post_reply(answerer, thread, "Use File › Print notebook; it prints every page in order.")
    forum.accept_answer(asker, thread, reply)
    gap = capture.record_gap("how do I print all pages of a notebook", GapSource.abstain, user=asker)
    unrelated = capture.record_gap("Can I pay by bank transfer?", GapSource.abstain, user=asker)
    gap.thread_id = thread.id
    article = promotion.propose_article(staff, thread)
    assert "how do I print all pages of a notebook" in article.questions
    assert capture.close_gaps_for(article, staff) == 0  # a draft closes nothing
    assert promotion.publish_article(article, staff) == 1
    db.session.commit()
    assert gap.status is GapStatus.answered and gap.article_id == article.id
    assert unrelated.status is GapStatus.open


def test_chatter_ranks_below_real_questions_and_gaps_suggest_the_closest_articles(app, help_center, create_user):
    askers = [create_user() for _ in range(3)]
    for user in askers:
        capture.record_gap("tell me a joke", GapSource.abstain, user=user)
    for user in askers[:2]:
        capture.record_gap("can I get my money back for the yearly subscription I bought", GapSource.abstain, user=user)
    db.session.commit()
    ranked = capture.ranked_gaps()
    assert [r.gap.title for r in ranked] == ["can I get my money back for the yearly subscription I bought",
                                             "tell me a joke"]
    refund, joke = ranked
    assert refund.suggestions[0].article_id == help_center["refund-policy"].id
    assert refund.relevance > joke.relevance


def test_gaps_page_preselects_no_article_speaks_plurals_and_dismisses_a_group(app, client, auth, create_user,
                                                                               help_center):
    from tests.conftest import csrf_token

    staff = create_user(email="sam@example.com", role="staff")
    one = capture.record_gap("tell me a joke", GapSource.abstain, user=staff)
    two = capture.record_gap("what's the weather in Paris", GapSource.abstain)
    keep = capture.record_gap("can I pay by invoice", GapSource.abstain)
    db.session.commit()
    auth.login("sam@example.com")
    page = client.get("/insights/gaps").get_data(as_text=True)
    assert "Asked 1 time · by 1 person" in page and "times by 1 people" not in page
    assert '<option value="" selected>Choose an article…</option>' in page
    token = csrf_token(client, "/insights/gaps")
    nothing = client.post("/insights/gaps/dismiss", data={"csrf_token": token, "reason": "chatter"})
    assert nothing.status_code == 302 and keep.status is GapStatus.open
    client.post("/insights/gaps/dismiss", data={"csrf_token": token, "reason": "off-topic chatter",
                                                 "gap": [str(one.id), str(two.id)]})
    db.session.expire_all()
    assert [db.session.get(KnowledgeGap, g.id).status for g in (one, two, keep)] == [
        GapStatus.dismissed, GapStatus.dismissed, GapStatus.open]
    assert db.session.get(KnowledgeGap, one.id).dismissed_reason == "off-topic chatter"
