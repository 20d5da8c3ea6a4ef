"""A visitor switches the site to Chinese, asks the bot in Chinese, signs up, posts a Chinese idea and finds it
by search, and sees no English on any page on the way."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from community.extensions import db
from community.kb.services import create_article
from community.models import ArticleStatus

pytestmark = pytest.mark.browser

# Names that read the same in both languages, the switcher's way back to English, and formats the idea names.
SAME_IN_BOTH = {"CoKnow", "API", "Webhook", "Markdown", "English", "Word", "PDF"}


def _english_left(page) -> list[str]:
    """Latin words the reader sees (text and labels), apart from names and what people wrote."""
    text = page.evaluate("""() => {
        const seen = [];
        const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
            const el = n.parentElement;
            if (!el || el.closest('script, style, code, pre, [hidden], .prose, .chat-customer, .chat-passage')) continue;
            if (el.getClientRects().length === 0) continue;
            seen.push(n.textContent);
        }
        for (const el of document.querySelectorAll('[placeholder], [aria-label], [title]')) {
            for (const a of ['placeholder', 'aria-label', 'title']) if (el.getAttribute(a)) seen.push(el.getAttribute(a));
        }
        return seen.join('\\n');
    }""")
    return sorted({w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in SAME_IN_BOTH})


def test_chinese_visitor_asks_the_bot_posts_an_idea_and_finds_it(app, live_server, page):
    create_article("重置密码", "忘记密码时，在登录页点击“忘记密码”，输入注册邮箱，然后按邮件里的链接设置新密码。",
                   questions=["忘记密码怎么办？"], status=ArticleStatus.published, slug="reset-password-zh")
    create_article("导出笔记", "在“设置 → 导出”中选择 Markdown 或 PDF，即可把全部笔记导出到电脑。",
                   status=ArticleStatus.published, slug="export-notes-zh")
    create_article("Refunds", "Ask for a refund within 14 days of purchase from the billing page.",
                   status=ArticleStatus.published, slug="refunds")
    db.session.commit()
    from bot.engine import answer

    answer("忘记密码怎么办")  # build the lexical index and load the classifier before the browser asks

    # An English browser; the switcher in the page shell turns the site to Chinese.
    page.goto(live_server + "/")
    page.locator("a.language-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("link", name="帮助中心").first).to_be_visible()
    assert _english_left(page) == []

    # A Chinese question gets a cited Chinese answer.
    page.goto(live_server + "/chat/")
    assert _english_left(page) == []
    box = page.locator(".chat-page [data-chat]")
    box.locator("textarea[name=text]").fill("如何重置密码？")
    box.locator("textarea[name=text]").press("Enter")
    answer = box.locator(".chat-kind-answer").last
    expect(answer).to_contain_text("这是我在“重置密码”中找到的内容。", timeout=30_000)  # a loaded CI box is slow
    expect(answer.locator("a.chat-source-link")).to_have_attribute("href", "/help/articles/reset-password-zh")
    expect(answer).to_contain_text(re.compile(r"置信度 \d+%"))
    assert _english_left(page) == []
    # Only the English article answers this one: the reply cites it and says it is in English (the page is checked
    # for English above, before an English title may appear in it).
    box.locator("textarea[name=text]").fill("怎么申请退款？")
    box.locator("textarea[name=text]").press("Enter")
    across = box.locator(".chat-kind-answer").nth(1)
    expect(across).to_contain_text("此回答来自一篇英文文章。", timeout=30_000)
    expect(across.locator("a.chat-source-link")).to_have_attribute("href", "/help/articles/refunds")

    # Sign up in Chinese and post a Chinese idea.
    page.goto(live_server + "/register")
    assert _english_left(page) == []
    page.get_by_label("显示名称").fill("王小明")
    page.get_by_label("电子邮箱").fill("wang@example.com")
    page.get_by_label("密码", exact=True).fill("correct horse battery")
    page.get_by_label("再次输入密码").fill("correct horse battery")
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()

    page.goto(live_server + "/ideas/new")
    assert _english_left(page) == []
    page.get_by_label("标题").fill("支持把笔记导出为 Word 文档")
    page.get_by_label("描述").fill("希望导出时除了 Markdown 和 PDF，还能选择 Word 格式，方便发给同事。")
    page.get_by_role("button", name="发布想法").click()
    expect(page.get_by_role("heading", name="支持把笔记导出为 Word 文档")).to_be_visible()
    idea_url = page.url
    assert _english_left(page) == []

    # Found by a Chinese search worded differently.
    page.goto(live_server + "/forum/search?type=idea&q=" + "导出 Word 格式")
    result = page.locator(f"a[href='{idea_url.removeprefix(live_server)}']").first
    expect(result).to_be_visible(timeout=15_000)
    assert _english_left(page) == []
