"""The one way user and staff text becomes HTML: Markdown, then an allow-list sanitizer."""
from __future__ import annotations

import html
import re

import nh3
from flask import Flask
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in Markdown is allowed through the parser (imported articles carry
# some) because nh3 removes anything outside the allow-list afterwards.
_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable("table").enable(
    "strikethrough"
)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre", "s", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(html: str) -> Markup:
    """Strip everything outside the allow-list; links get rel=nofollow noopener."""
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer ugc",
        strip_comments=True,
    )
    return Markup(clean)  # noqa: S704 (nh3 has just sanitized it with our allow-list)


def render_markdown(text: str) -> Markup:
    """Render Markdown to safe HTML."""
    return sanitize_html(_md.render(text or ""))


def plain_text(text: str) -> str:
    """Markdown to plain text (search snippets, notifications, e-mail)."""
    stripped = nh3.clean(_md.render(text or ""), tags=set())
    return re.sub(r"\s+", " ", html.unescape(stripped)).strip()


def shorten(text: str, limit: int, end: str = "…") -> str:
    """text cut to at most limit characters (end included), at a space when one is near the cut.

    Chinese and Japanese have no spaces between words: cutting back to the last space there could drop
    nearly everything, so the cut only moves back to a space within the last fifth of the text kept.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(end), 0)]
    space = cut.rfind(" ")
    if space >= len(cut) * 4 // 5:
        cut = cut[:space]
    return cut.rstrip() + end


_WORD = re.compile(r"\w{2,}", re.UNICODE)


def highlight(text: str, query: str, limit: int = 260) -> Markup:
    """Escaped text with the query's words marked, cut to about limit characters around the first match."""
    words = sorted({w.lower() for w in _WORD.findall(query or "")}, key=len, reverse=True)
    text = " ".join((text or "").split())
    if words:
        pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
        first = pattern.search(text)
        start = max(0, first.start() - limit // 3) if first and first.start() > limit // 2 else 0
    else:
        pattern, start = None, 0
    cut = text[start:start + limit]
    prefix = "… " if start else ""
    suffix = " …" if start + limit < len(text) else ""
    if pattern is None:
        return Markup(html.escape(prefix + cut + suffix))  # noqa: S704 (escaped on this line)
    out, pos = [], 0
    for match in pattern.finditer(cut):
        out.append(html.escape(cut[pos:match.start()]))
        out.append(f"<mark>{html.escape(match.group(0))}</mark>")
        pos = match.end()
    out.append(html.escape(cut[pos:]))
    # Every piece of text was escaped above; only our own <mark> tags are markup.
    return Markup(html.escape(prefix) + "".join(out) + html.escape(suffix))  # noqa: S704


def register(app: Flask) -> None:
    """Template filters for text: highlight(query)."""
    app.add_template_filter(highlight, "highlight")
