"""Split Markdown, HTML or plain text into passages that fit the model window, keyed stably."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

HEADING_SEP = " › "
DEFAULT_MAX_TOKENS = 256
# Room for [CLS]/[SEP] and tokenizer disagreement at the join points.
_MARGIN = 4

TokenCounter = Callable[[str], int]

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_EST_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]", re.UNICODE)


def estimate_tokens(text: str) -> int:
    """Conservative WordPiece token count: CJK chars and punctuation 1 each, long words several."""
    n = 2
    for m in _EST_RE.finditer(text):
        tok = m.group()
        # WordPiece splits rare long words into pieces of ~3-4 chars; over-count to stay safe.
        n += 1 if len(tok) <= 4 else 1 + (len(tok) - 1) // 3
    return n


@dataclass(frozen=True)
class Passage:
    """One embeddable unit of a document."""

    chunk_key: str
    text: str
    heading_path: tuple[str, ...] = ()
    # "title", "body", "question", "sentence" (one sentence of a body passage) or "heading" (a section's
    # heading path, for choosing which section of a document to quote)
    kind: str = "body"

    @property
    def heading(self) -> str:
        """Heading path joined for display, e.g. "Billing › Refunds"."""
        return HEADING_SEP.join(self.heading_path)


def context_line(title: str, heading_path: Sequence[str]) -> str:
    """The title and heading path prefixed to a passage so it embeds with its context."""
    parts = [title.strip()] if title and title.strip() else []
    for h in heading_path:
        if not parts or h.strip().casefold() != parts[-1].casefold():
            parts.append(h.strip())
    return HEADING_SEP.join(parts)


def embed_input(title: str, passage: Passage) -> str:
    """Text given to the model (and BM25) for a passage: context line, then the text."""
    if passage.kind in ("title", "question", "sentence", "heading"):
        return passage.text
    ctx = context_line(title, passage.heading_path)
    return f"{ctx}\n{passage.text}" if ctx else passage.text


def content_hash(text: str) -> str:
    """Hash of exactly what gets embedded; equal hash means the stored vector can be reused."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# ---------------------------------------------------------------- block parsing
# A block is (heading_level or 0, text): level>0 is a heading, 0 a paragraph.
Block = tuple[int, str]

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPH = re.compile(r"(\*\*|__|\*|`)(?=\S)(.+?)(?<=\S)\1")


def _inline(text: str) -> str:
    """Drop Markdown link targets and emphasis markers, keep the words."""
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    return _EMPH.sub(r"\2", text).strip()


def markdown_blocks(text: str) -> list[Block]:
    """Headings and paragraphs of a Markdown document (fenced code stays one paragraph)."""
    text = _FRONT_MATTER.sub("", text.replace("\r\n", "\n").replace("\r", "\n"), count=1)
    blocks: list[Block] = []
    para: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if para:
            joined = "\n".join(para).strip()
            if joined:
                blocks.append((0, joined if fence_seen[0] else _inline(joined)))
            para.clear()
        fence_seen[0] = False

    fence_seen = [False]
    for line in text.split("\n"):
        if fence is not None:
            para.append(line)
            if line.strip().startswith(fence):
                fence = None
                flush()
            continue
        m = _FENCE.match(line)
        if m:
            flush()
            fence = m.group(1)
            fence_seen[0] = True
            para.append(line)
            continue
        m = _ATX.match(line)
        if m:
            flush()
            blocks.append((len(m.group(1)), _inline(m.group(2) or "")))
            continue
        if para and len(para) == 1 and _SETEXT.match(line) and not fence_seen[0]:
            level = 1 if line.strip().startswith("=") else 2
            heading = para.pop()
            blocks.append((level, _inline(heading)))
            continue
        if not line.strip():
            flush()
            continue
        para.append(line.rstrip())
    flush()
    return [(lvl, t) for lvl, t in blocks if lvl or t]


_BLOCK_TAGS = {
    "p", "div", "li", "ul", "ol", "pre", "blockquote", "td", "th", "tr", "table", "section",
    "article", "dd", "dt", "dl", "br", "hr", "figure", "figcaption", "header", "footer", "main",
}
_SKIP_TAGS = {"script", "style", "head", "nav", "template", "noscript", "svg", "iframe"}


class _HTMLBlocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.title = ""
        self._buf: list[str] = []
        self._heading = 0
        self._skip = 0
        self._in_title = False
        self._pre = 0

    def _flush(self) -> None:
        raw = "".join(self._buf)
        text = raw.strip() if self._pre else re.sub(r"\s+", " ", raw).strip()
        self._buf.clear()
        if text:
            self.blocks.append((self._heading, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _SKIP_TAGS:
            self._skip += 1
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag == "pre":
                self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = 0
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_blocks(html: str) -> tuple[list[Block], str]:
    """Headings and paragraphs of an HTML page, plus its <title> text."""
    parser = _HTMLBlocks()
    parser.feed(html)
    parser.close()
    return parser.blocks, re.sub(r"\s+", " ", parser.title).strip()


def text_blocks(text: str) -> list[Block]:
    """Paragraphs of plain text, split on blank lines."""
    paras = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    return [(0, p.strip()) for p in paras if p.strip()]


def blocks_for(body: str, fmt: str) -> list[Block]:
    """Blocks of body in format "markdown", "html" or "text"."""
    if fmt == "markdown":
        return markdown_blocks(body)
    if fmt == "html":
        return html_blocks(body)[0]
    if fmt == "text":
        return text_blocks(body)
    raise ValueError(f"unknown format {fmt!r}; expected markdown, html or text")


# ---------------------------------------------------------------- splitting
_SENT_RE = re.compile(r"[^.!?。！？;；\n]+(?:[.!?。！？;；]+|\n|$)", re.S)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of text, whitespace trimmed."""
    spans = []
    for m in _SENT_RE.finditer(text):
        s, e = m.span()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def _split_long(unit: str, budget: int, count: TokenCounter) -> list[str]:
    """Split a unit that is over budget: by sentences, then by words (or characters for CJK)."""
    if count(unit) <= budget:
        return [unit]
    sentences = [unit[s:e] for s, e in sentence_spans(unit)]
    if len(sentences) > 1:
        return _pack(sentences, budget, count, " ")
    words = unit.split() if " " in unit.strip() else list(unit)
    sep = " " if " " in unit.strip() else ""
    out: list[str] = []
    cur: list[str] = []
    for w in words:
        if cur and count(sep.join([*cur, w])) > budget:
            out.append(sep.join(cur))
            cur = []
        cur.append(w)
    if cur:
        out.append(sep.join(cur))
    return out


def _pack(units: Iterable[str], budget: int, count: TokenCounter, sep: str) -> list[str]:
    """Greedily join units into pieces of at most budget tokens."""
    pieces: list[str] = []
    cur: list[str] = []
    cur_n = 0
    for unit in units:
        for part in _split_long(unit, budget, count):
            n = count(part) - 2  # count() includes [CLS]/[SEP]
            if cur and cur_n + n > budget - 2:
                pieces.append(sep.join(cur))
                cur, cur_n = [], 0
            cur.append(part)
            cur_n += n
    if cur:
        pieces.append(sep.join(cur))
    return pieces


def _slug(text: str) -> str:
    norm = unicodedata.normalize("NFKC", text).casefold()
    slug = re.sub(r"[^\w]+", "-", norm).strip("-")
    return slug[:40] or "_"


def _section_key(path: tuple[str, ...], seen: Counter[str]) -> str:
    base = "/".join(_slug(h) for h in path)
    if len(base) > 120:
        # Keep keys short for the unique index but still derived from the path.
        base = base[:80] + "~" + hashlib.sha1(base.encode(), usedforsecurity=False).hexdigest()[:10]
    seen[base] += 1
    # A repeated heading path (two "Example" sections) gets an occurrence suffix.
    return base if seen[base] == 1 else f"{base}~{seen[base]}"


def _truncate(text: str, budget: int, count: TokenCounter) -> str:
    """text cut at a word (or CJK character) so it counts at most budget tokens, marked with "…"."""
    if count(text) <= budget:
        return text
    spaced = " " in text.strip()
    units = text.split() if spaced else list(text)
    sep = " " if spaced else ""
    lo, hi = 0, len(units)
    while lo < hi:  # the longest prefix that fits
        mid = (lo + hi + 1) // 2
        if count(sep.join(units[:mid]) + "…") <= budget:
            lo = mid
        else:
            hi = mid - 1
    return sep.join(units[:lo]) + "…"


def chunk_document(
    body: str,
    fmt: str = "markdown",
    *,
    title: str = "",
    max_tokens: int = DEFAULT_MAX_TOKENS,
    count_tokens: TokenCounter | None = None,
    lead_paragraph: bool = False,
) -> list[Passage]:
    """Split body into passages by heading and paragraph, each fitting max_tokens with its context.

    With lead_paragraph, the body's opening paragraph (before any heading) is the question the rest
    answers, as in a promoted community answer: it starts every passage (shortened to at most a third
    of the window when long), so no part of the answer is ever retrieved without its question. Question
    and answer stay one passage whenever they fit together.
    """
    count = count_tokens or estimate_tokens
    blocks = blocks_for(body, fmt)
    lead = ""
    if lead_paragraph and blocks and blocks[0][0] == 0:
        lead = _truncate(blocks[0][1], max_tokens // 3, count)
        blocks = blocks[1:]
    lead_n = count(lead) if lead else 0  # counted with its [CLS]/[SEP]: room for the joining blank line
    stack: list[tuple[int, str]] = []
    sections: list[tuple[tuple[str, ...], list[str]]] = [((), [])]
    for level, text in blocks:
        if level:
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
            sections.append((tuple(h for _, h in stack), []))
        else:
            sections[-1][1].append(text)

    passages: list[Passage] = []
    seen: Counter[str] = Counter()
    for path, paras in sections:
        key = _section_key(path, seen)
        if not paras:
            continue
        ctx = context_line(title, path)
        ctx_n = count(ctx) - 2 if ctx else 0
        # Very deep or long heading paths must not starve the text of room.
        budget = max(max_tokens - _MARGIN - min(ctx_n, max_tokens // 3) - lead_n, 32)
        for i, piece in enumerate(_pack(paras, budget, count, "\n\n")):
            passages.append(Passage(f"{key}#{i}", f"{lead}\n\n{piece}" if lead else piece, path, "body"))
    if lead and not passages:  # a question nobody has answered in the body yet still is a passage
        passages.append(Passage("#0", lead, (), "body"))
    return passages


# A sentence ends at ., ! or ? before white space, or at a line break (list items, steps).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")
MIN_SENTENCE_WORDS = 2


def sentences(text: str) -> list[str]:
    """The sentences of a plain-text passage (list items count as sentences); very short ones dropped."""
    return [s for s in (p.strip(" -*\t") for p in _SENTENCE_END.split(text))
            if len(s.split()) >= MIN_SENTENCE_WORDS]


def sentence_passages(body_passages: Sequence[Passage]) -> list[Passage]:
    """Each sentence of a multi-sentence body passage as a passage of its own.

    A question matches the one sentence that says the same thing far better than a paragraph in
    which that sentence is diluted: on title+body help centers (no alternative questions) the bot's
    accuracy@1 rises from 0.709 to 0.8 on HWU64 (bench/RESULTS.md, "Session 3: trust").
    """
    out: list[Passage] = []
    for p in body_passages:
        if p.kind != "body":
            continue
        # Code is never cut into sentences: its paragraphs are left out.
        parts = [s for para in p.text.split("\n\n") if not para.lstrip().startswith(("```", "~~~"))
                 for s in sentences(para)]
        if len(parts) < 2:
            continue
        out.extend(Passage(f"{p.chunk_key}.s{j}", s, p.heading_path, "sentence") for j, s in enumerate(parts))
    return out


def is_part_passage(chunk_key: str) -> bool:
    """Whether a passage is a sentence or heading of a body passage (their keys alone hold a ".")."""
    return "." in chunk_key


def heading_passages(body_passages: Sequence[Passage]) -> list[Passage]:
    """One passage per section heading path ("Billing › Refunds"), keyed "<section key>.h".

    What a section is about is said best by its heading: a question picks the section to quote by it as
    much as by the section's text (which repeats the article's vocabulary in every section).
    """
    out: list[Passage] = []
    seen: set[str] = set()
    for p in body_passages:
        section = p.chunk_key.rpartition("#")[0]
        if p.kind == "body" and p.heading_path and section not in seen:
            seen.add(section)
            out.append(Passage(f"{section}.h", p.heading, p.heading_path, "heading"))
    return out


def question_key(question: str) -> str:
    """Stable key of an alternative question: its normalized text, hashed."""
    norm = " ".join(unicodedata.normalize("NFKC", question).casefold().split())
    return "q:" + hashlib.sha1(norm.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def article_passages(
    title: str,
    body: str = "",
    fmt: str = "markdown",
    questions: Sequence[str] = (),
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    count_tokens: TokenCounter | None = None,
    include_title: bool = True,
    lead_paragraph: bool = False,
    with_sentences: bool = False,
) -> list[Passage]:
    """All passages of a help article: its title, body chunks and alternative questions
    (lead_paragraph: see chunk_document; with_sentences: also each body sentence and section heading, see
    sentence_passages and heading_passages)."""
    out: list[Passage] = []
    if include_title and title.strip():
        out.append(Passage("title", title.strip(), (), "title"))
    body_passages = chunk_document(body, fmt, title=title, max_tokens=max_tokens, count_tokens=count_tokens,
                                   lead_paragraph=lead_paragraph)
    out.extend(body_passages)
    if with_sentences:
        out.extend(sentence_passages(body_passages))
        out.extend(heading_passages(body_passages))
    seen: set[str] = set()
    for q in questions:
        q = q.strip()
        key = question_key(q)
        if q and key not in seen:
            seen.add(key)
            out.append(Passage(key, q, (), "question"))
    return out
