"""Chinese content in the forum: slugs, search, mentions of Chinese names, and text cut without losing it."""
from __future__ import annotations

from community.extensions import db
from community.forum import services
from community.markup import shorten
from community.mentions import link_mentions, mentioned_users
from community.models import Notification


def test_chinese_categories_get_their_own_slugs_and_pages(app, client):
    tips = services.save_category(None, name="使用技巧", description="分享你的**笔记**方法。")
    qa = services.save_category(None, name="问答", description="")
    db.session.commit()
    assert (tips.slug, qa.slug) == ("使用技巧", "问答")  # not both "category", which refused the second
    page = client.get(f"/forum/c/{tips.slug}")
    assert page.status_code == 200 and "分享你的" in page.get_data(as_text=True)


def test_chinese_thread_is_rendered_and_found_by_chinese_words(app, client, create_user, category, make_thread,
                                                             relaxed_limits):
    ana = create_user(display_name="王小明")
    thread = make_thread(ana, title="如何把笔记导出为 Markdown？",
                         body="我想把所有笔记导出成 Markdown 文件，备份到电脑上。")
    other = make_thread(ana, title="同步很慢怎么办", body="手机和电脑之间同步要等好几分钟。")
    page = client.get(f"/forum/t/{thread.id}").get_data(as_text=True)
    assert "如何把笔记导出为 Markdown？" in page and "备份到电脑上" in page
    found = client.get("/forum/search?q=导出笔记").get_data(as_text=True)
    first = found.index(f'href="/forum/t/{thread.id}"')  # ranked first; the unrelated thread, if listed, after it
    assert f'href="/forum/t/{other.id}"' not in found[:first]


def test_mentions_of_chinese_names_without_a_space(app, create_user, category, make_thread, relaxed_limits):
    wang = create_user(display_name="王小明")
    create_user(display_name="王小")  # a shorter name that is a prefix must not win
    li = create_user(display_name="李雷")
    body = "@王小明你好，能看看这个吗？也请 @李雷 帮忙。"
    assert {u.id for u in mentioned_users(body)} == {wang.id, li.id}
    linked = link_mentions(body)
    assert f"[@王小明](/people/{wang.id})你好" in linked and f"[@李雷](/people/{li.id})" in linked
    thread = make_thread(create_user(), title="导出失败", body=body)
    assert thread.id
    notified = {n.user_id for n in db.session.scalars(db.select(Notification).where(Notification.kind == "forum.mention"))}
    assert {wang.id, li.id} <= notified


def test_shorten_keeps_chinese_text_that_has_an_early_space():
    text = "Markdown 导出" + "这是一个很长的中文句子没有空格" * 20
    short = shorten(text, 60)
    assert len(short) == 60 and short.endswith("…") and short.startswith("Markdown 导出这是")
    assert shorten("Export your notebooks to Markdown files", 30) == "Export your notebooks to…"
    assert shorten("短文本", 60) == "短文本"


def test_a_short_chinese_title_is_a_whole_title(app, create_user, category, relaxed_limits):
    thread = services.create_thread(create_user(), category, "同步很慢怎么办", "手机上同步要等好几分钟。")
    assert thread.title == "同步很慢怎么办"
