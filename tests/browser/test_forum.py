"""Forum in a real browser: writing with Markdown and mentions, live replies, accepting, and inert XSS."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from community.extensions import db
from community.forum import services
from tests.browser.helpers import login

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def warm_model():
    from knowledge_index.embedder import get_embedder

    get_embedder().encode_query("warm up")  # load the model before the first click, not during it


def test_thread_mention_live_reply_accept(live_server, new_page, create_user):
    services.save_category(None, name="Getting started", description="Setup questions")
    db.session.commit()
    create_user(email="ana@example.com", display_name="Ana Lima")
    create_user(email="ben@example.com", display_name="Ben Ode")
    create_user(email="cleo@example.com", display_name="Cleo Park")

    ana = new_page()
    login(ana, live_server, "ana@example.com")
    ana.goto(live_server + "/forum/")
    ana.get_by_role("link", name="Start a thread").click()
    ana.get_by_label("Title").fill("Sync stops after the update")
    ana.get_by_label("Your question or topic (Markdown)").fill(
        "Since **1.4** sync stops.\n\n```\nerror 42\n```\n\n@CleoPark have you seen this?")
    expect(ana.locator(".md-preview strong")).to_have_text("1.4")  # the live preview
    ana.get_by_label("Tags (comma separated, optional)").fill("sync, update")
    ana.get_by_role("button", name="Post thread").click()
    expect(ana.get_by_role("heading", name="Sync stops after the update")).to_be_visible()
    expect(ana.locator(".thread-post .post-body strong")).to_have_text("1.4")
    expect(ana.locator(".thread-post pre code")).to_contain_text("error 42")
    expect(ana.locator(".live-note")).to_be_visible()  # watching the thread's room
    thread_url = ana.url

    ben = new_page()
    login(ben, live_server, "ben@example.com")
    ben.goto(thread_url)
    ben.get_by_label("Your reply (Markdown)").fill("Sign out and in again, then *resync*.")
    ben.get_by_role("button", name="Post reply").click()
    expect(ben.locator(".reply .post-body em")).to_have_text("resync")

    # Ana's page never reloaded: the reply arrived over Socket.IO.
    expect(ana.locator("#replies .reply")).to_have_count(1)
    expect(ana.locator("#replies .reply em")).to_have_text("resync")

    ana.reload()
    ana.get_by_role("button", name="Accept as answer").click()
    expect(ana.locator(".reply.accepted .accepted-label")).to_contain_text("Accepted answer")

    cleo = new_page()
    login(cleo, live_server, "cleo@example.com")
    expect(cleo.locator(".bell-count")).to_have_text("1")
    cleo.goto(live_server + "/notifications/")
    expect(cleo.locator(".notification")).to_contain_text("Ana Lima mentioned you in “Sync stops after the update”")
    cleo.get_by_role("button", name=re.compile("mentioned you")).click()
    expect(cleo).to_have_url(re.compile(r"/forum/t/\d+$"))


def test_a_reply_link_from_before_pages_opens_the_page_holding_the_reply(app, live_server, new_page, create_user):
    """Links stored before threads had pages end in #reply-N alone: the page asks for the page holding it."""
    from datetime import timedelta

    from community.models import Reply, utcnow

    app.config["FORUM_REPLIES_PER_PAGE"] = 10
    category = services.save_category(None, name="Getting started", description="Setup questions")
    ana = create_user(email="ana@example.com", display_name="Ana Lima")
    thread = services.create_thread(ana, category, "Pairing question with many answers", "It blinks red.", "")
    replies = [Reply(thread=thread, author=ana, body=f"Answer number {i}", created_at=utcnow() - timedelta(minutes=60 - i))
               for i in range(25)]
    db.session.add_all(replies)
    db.session.commit()
    wanted = replies[14].id
    reader = new_page()
    reader.goto(f"{live_server}/forum/t/{thread.id}#reply-{wanted}")
    expect(reader).to_have_url(re.compile(rf"/forum/t/{thread.id}\?reply={wanted}#reply-{wanted}$"))
    expect(reader.locator(f"#reply-{wanted}")).to_contain_text("Answer number 14")
    expect(reader.locator("#replies .reply")).to_have_count(10)
    expect(reader.locator(".live-note")).to_have_count(0)  # not the last page: nothing arrives live here
    reader.get_by_role("link", name="Last").first.click()
    expect(reader.locator("#replies .reply").last).to_contain_text("Answer number 24")
    expect(reader.locator(".live-note")).to_be_visible()


XSS = [
    "<script>window.__xss=1;alert(1)</script>",
    "<img src=x onerror=\"window.__xss=1;alert(1)\">",
    "<svg/onload=window.__xss=1>",
    "\"><img src=x onerror=window.__xss=1>",
    "[click](javascript:window.__xss=1)",
    "<a href=\"javascript:window.__xss=1\">link</a>",
    "<iframe src=\"javascript:window.__xss=1\"></iframe>",
    "<details open ontoggle=window.__xss=1>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "![x](x\" onerror=\"window.__xss=1)",
    "<a href=\"&#106;avascript:window.__xss=1\">entity</a>",
    "<form><button formaction=javascript:window.__xss=1>b</button></form>",
]
PAYLOAD = "\n\n".join(XSS)
LINE = " ".join(XSS[:4])


def inert(page, dialogs) -> None:
    assert page.evaluate("typeof window.__xss") == "undefined", page.url
    assert dialogs == [], dialogs


def watch(page) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return dialogs


def test_xss_payloads_render_inert_everywhere(live_server, new_page, create_user):
    create_user(email="staff@example.com", display_name="Sam Staff", role="staff")
    create_user(email="eve@example.com", display_name="<img src=x onerror=window.__xss=1>Eve")
    create_user(email="vic@example.com", display_name="Vic")

    staff = new_page()
    staff_dialogs = watch(staff)
    login(staff, live_server, "staff@example.com")
    staff.goto(live_server + "/forum/categories")
    staff.get_by_label("Name").fill("Cat <script>window.__xss=1</script>")
    staff.get_by_label("Description (Markdown)").fill(PAYLOAD)
    staff.get_by_role("button", name="Save category").click()
    expect(staff.locator(".flash-success")).to_contain_text("The category is saved")

    eve = new_page()
    eve_dialogs = watch(eve)
    login(eve, live_server, "eve@example.com")
    inert(eve, eve_dialogs)  # the display name in the page header
    eve.goto(live_server + "/forum/new")
    title = "Title " + LINE
    eve.get_by_label("Title").fill(title[:200])
    eve.get_by_label("Your question or topic (Markdown)").fill(PAYLOAD + "\n\n@Vic")
    expect(eve.locator(".md-preview")).to_be_visible()  # the preview endpoint rendered the payloads
    eve.wait_for_timeout(300)
    inert(eve, eve_dialogs)
    eve.get_by_label("Tags (comma separated, optional)").fill("<script>x</script>, \"><img src=x>")
    eve.get_by_role("button", name="Post thread").click()
    expect(eve.locator("h1.thread-heading")).to_contain_text("<script>window.__xss=1;alert(1)</script>")
    thread_url = eve.url
    inert(eve, eve_dialogs)
    eve.get_by_label("Your reply (Markdown)").fill(PAYLOAD)
    eve.wait_for_timeout(400)
    eve.get_by_role("button", name="Post reply").click()
    expect(eve.locator("#replies .reply")).to_have_count(1)
    inert(eve, eve_dialogs)

    vic = new_page()
    vic_dialogs = watch(vic)
    login(vic, live_server, "vic@example.com")
    vic.goto(live_server + "/notifications/")
    expect(vic.locator(".notification")).to_contain_text("Eve mentioned you")
    inert(vic, vic_dialogs)
    vic.goto(thread_url)
    vic.get_by_role("link", name="Flag").first.click()
    vic.get_by_label("What is wrong with this post?").fill(LINE)
    vic.get_by_role("button", name="Send to moderators").click()
    expect(vic.locator(".flash-success")).to_contain_text("The moderators will look at this post")
    inert(vic, vic_dialogs)

    for path in ["/forum/", "/forum/?sort=new", thread_url, "/forum/flags", "/forum/categories",
                 f"/forum/search?q={'script'}", thread_url.replace("/t/", "/t/") + "/history"]:
        staff.goto(live_server + path if path.startswith("/") else path)
        staff.wait_for_timeout(100)
        inert(staff, staff_dialogs)
    staff.goto(live_server + "/forum/")
    staff.locator(".categories a").first.click()  # the category page with its Markdown description
    expect(staff.locator(".category-description")).to_be_visible()
    inert(staff, staff_dialogs)
    staff.get_by_role("link", name=re.compile("Title")).first.click()
    # Clicking the rendered links must not run script either.
    for link in staff.locator(".post-body a").all():
        href = link.get_attribute("href") or ""
        assert not href.lower().startswith("javascript"), href
    inert(staff, staff_dialogs)
