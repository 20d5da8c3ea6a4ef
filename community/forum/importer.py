"""Import Stack Exchange-style threads from JSONL: one thread per line with its replies.

Line format: {"id", "category" or null, "title", "tags", "created", "author" or null, "body",
"replies": [{"id", "author", "created", "body", "accepted", "score"}]}. Each record gets the
external id "<source>:<id>", so importing a file again adds only what is new.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import func, select

from community.extensions import db
from community.forum import services
from community.tags import MAX_TAG, MAX_TAGS, tag_name
from community.models import ForumCategory, Reply, Role, Thread, User
from community.models.base import as_utc
from community.models.index import MULTILINGUAL_SOURCES

BATCH = 50
IMPORTED_DOMAIN = "imported.invalid"
DEFAULT_CATEGORY = "General"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class BadRecord(ValueError):
    """A line that cannot be imported; the message says why."""


@dataclass
class ImportReport:
    threads: int = 0
    replies: int = 0
    accepted: int = 0
    users: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.threads} threads, {self.replies} replies, {self.accepted} accepted answers and "
                f"{self.users} accounts created; {self.unchanged} threads already imported; "
                f"{len(self.rejected)} lines rejected")


@dataclass
class ParsedReply:
    id: str
    author: str | None
    created: datetime
    body: str
    accepted: bool
    score: int


@dataclass
class ParsedThread:
    line: int
    id: str
    category: str | None
    title: str
    tags: list[str]
    created: datetime
    author: str | None
    body: str
    replies: list[ParsedReply]


def _required_text(obj: dict[str, Any], key: str) -> str:
    text = _text(obj, key)
    if text is None:  # _text raises for a missing required key; this only tells the type checker
        raise BadRecord(f"'{key}' must be a non-empty string")
    return text


def _text(obj: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise BadRecord(f"'{key}' must be a non-empty string")
    return str(value).strip()


def _time(obj: dict[str, Any], key: str) -> datetime:
    raw = obj.get(key)
    if not isinstance(raw, str):
        raise BadRecord(f"'{key}' must be an ISO 8601 date")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRecord(f"'{key}' is not an ISO 8601 date: {raw[:40]!r}") from None
    return as_utc(moment)


def _tag_names(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise BadRecord("'tags' must be a list of strings")
    names: list[str] = []
    for tag in raw:
        # Lenient where the site is strict: keep the first five usable tags, cut to length.
        name = tag_name(tag)[:MAX_TAG].strip("-")
        if name and name not in names:
            names.append(name)
    return names[:MAX_TAGS]


def parse_line(line: int, text: str) -> ParsedThread:
    """Check one JSONL line and return it typed, or raise BadRecord with the reason."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRecord(f"not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise BadRecord("a line must be a JSON object")
    title = _required_text(obj, "title")
    if len(title) > services.MAX_TITLE:
        title = title[: services.MAX_TITLE - 1].rstrip() + "…"
    body = obj.get("body")
    # A short customer message is all title: an empty body is allowed, a missing or non-string one is not.
    if not isinstance(body, str):
        raise BadRecord("'body' must be a string")
    if len(body) > services.MAX_BODY:
        raise BadRecord(f"'body' is longer than {services.MAX_BODY} characters")
    raw_replies = obj.get("replies", [])
    if not isinstance(raw_replies, list):
        raise BadRecord("'replies' must be a list")
    replies = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_replies, 1):
        if not isinstance(raw, dict):
            raise BadRecord(f"reply {n} must be an object")
        try:
            rid = _required_text(raw, "id")
            rbody = raw.get("body")
            if not isinstance(rbody, str) or not rbody.strip():
                raise BadRecord("'body' must be a non-empty string")
            score = raw.get("score", 0)
            if not isinstance(score, int) or isinstance(score, bool):
                raise BadRecord("'score' must be a whole number")
            reply = ParsedReply(rid, _text(raw, "author", required=False), _time(raw, "created"), rbody.strip(),
                                raw.get("accepted") is True, score)
        except BadRecord as error:
            raise BadRecord(f"reply {n}: {error}") from None
        if reply.id in seen:
            raise BadRecord(f"reply {n}: duplicate id {reply.id!r}")
        seen.add(reply.id)
        replies.append(reply)
    if sum(r.accepted for r in replies) > 1:
        raise BadRecord("more than one reply is marked accepted")
    category = obj.get("category")
    if category is not None and (not isinstance(category, str) or not category.strip()):
        raise BadRecord("'category' must be a string or null")
    return ParsedThread(line, _required_text(obj, "id"), category.strip() if category else None, title,
                        _tag_names(obj.get("tags")), _time(obj, "created"), _text(obj, "author", required=False),
                        body.strip(), replies)


def read_lines(lines: Iterable[str]) -> Iterator[tuple[int, ParsedThread | BadRecord]]:
    """Parse numbered lines; blank lines are skipped, bad ones come back as BadRecord."""
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            yield number, parse_line(number, text)
        except BadRecord as error:
            yield number, error


class _Accounts:
    """Imported authors: an existing account by e-mail, else a placeholder that cannot log in."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.cache: dict[str, User] = {}

    def get(self, author: str | None) -> User | None:
        if author is None:
            return None
        if author in self.cache:
            return self.cache[author]
        if EMAIL_RE.match(author):
            email, name = author.lower(), author.split("@", 1)[0].replace(".", " ").title()
        else:
            # An e-mail local part: ASCII only ("王小明" becomes "member", kept apart by the digest).
            slug = services.SLUG_RE.sub("-", author.lower()).strip("-")[:40].strip("-") or "member"
            # Different names can share a slug ("José", "Jose"): the digest keeps them apart.
            digest = hashlib.sha1(author.encode("utf-8"), usedforsecurity=False).hexdigest()[:6]
            email, name = f"{slug}-{digest}@{IMPORTED_DOMAIN}", author[:80]
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None:
            # No password: the account exists so posts keep their author, but nobody can sign in as it.
            user = User(email=email, display_name=name, role=Role.customer, password_hash=None)
            db.session.add(user)
            self.report.users += 1
        self.cache[author] = user
        return user


class ForumImporter:
    """Import threads in batches; the caller commits after each batch."""

    def __init__(self, source: str, default_category: str = DEFAULT_CATEGORY) -> None:
        self.source = source
        self.default_category = default_category
        self.report = ImportReport()
        self.accounts = _Accounts(self.report)
        self.categories: dict[str, ForumCategory] = {}

    def external_id(self, record_id: str) -> str:
        return f"{self.source}:{record_id}"

    def _category(self, name: str | None) -> ForumCategory:
        name = name or self.default_category
        if name not in self.categories:
            self.categories[name] = services.ensure_category(name)
        return self.categories[name]

    def import_batch(self, records: list[ParsedThread]) -> None:
        """Write a batch of threads and replies, then index the changed ones with one model call."""
        from community import search

        ids = [self.external_id(r.id) for r in records]
        existing = {t.external_id: t for t in db.session.scalars(select(Thread).where(Thread.external_id.in_(ids)))}
        reply_ids = [self.external_id(x.id) for r in records for x in r.replies]
        known_replies = {
            r.external_id: r for r in db.session.scalars(select(Reply).where(Reply.external_id.in_(reply_ids)))
        } if reply_ids else {}
        changed: list[Thread] = []
        for record in records:
            thread = existing.get(self.external_id(record.id))
            if thread is None and self.external_id(record.id) in {t.external_id for t in changed}:
                self.report.rejected.append((record.line, f"duplicate thread id {record.id!r} in this file"))
                continue
            owner = self.external_id(record.id)
            clash = next((x.id for x in record.replies
                          if (r := known_replies.get(self.external_id(x.id))) is not None
                          and r.thread.external_id != owner), None)
            if clash is not None:
                self.report.rejected.append((record.line, f"reply id {clash!r} already belongs to another thread"))
                continue
            created = thread is None
            if thread is None:
                thread = Thread(
                    category=self._category(record.category), author=self.accounts.get(record.author),
                    title=record.title, body=record.body, created_at=record.created, last_activity_at=record.created,
                    external_id=self.external_id(record.id),
                    tags=services.tag_rows(record.tags),
                )
                db.session.add(thread)
                self.report.threads += 1
            touched = created
            accepted: Reply | None = None
            for parsed in record.replies:
                reply = known_replies.get(self.external_id(parsed.id))
                if reply is None:
                    reply = Reply(thread=thread, author=self.accounts.get(parsed.author), body=parsed.body,
                                  created_at=parsed.created, score=parsed.score,
                                  external_id=self.external_id(parsed.id))
                    db.session.add(reply)
                    known_replies[reply.external_id] = reply
                    self.report.replies += 1
                    touched = True
                    if as_utc(parsed.created) > as_utc(thread.last_activity_at):
                        thread.last_activity_at = parsed.created
                if parsed.accepted:
                    accepted = reply
            if accepted is not None and thread.accepted_reply_id is None and thread.accepted_reply is None:
                thread.accepted_reply = accepted
                self.report.accepted += 1
                touched = True
            if touched:
                changed.append(thread)
            else:
                self.report.unchanged += 1
        db.session.flush()
        for thread in changed:
            services.recount_replies(thread)
        docs = [(kind, (title, body, "markdown", ())) for t in changed
                for kind, title, body, _m in services.index_documents(t)]
        # Accepted answers also carry the multilingual model's vectors: batch those too, or index_document
        # encodes them one answer at a time.
        search.batch_embedding([doc for kind, doc in docs if kind not in MULTILINGUAL_SOURCES])
        if answers := [doc for kind, doc in docs if kind in MULTILINGUAL_SOURCES]:
            search.batch_embedding(answers, second=True)
        for thread in changed:
            services.sync_index(thread)


def import_lines(lines: Iterable[str], source: str, *, default_category: str = DEFAULT_CATEGORY,
                 commit_batch: Callable[[], None] | None = None, batch_size: int = BATCH,
                 on_batch: Callable[[int], None] | None = None) -> ImportReport:
    """Import JSONL lines; bad lines are reported with their numbers and skipped, the rest imported.
    Flushes only; the channel that runs it (the CLI) passes commit_batch to commit batch by batch."""
    importer = ForumImporter(source, default_category)
    batch: list[ParsedThread] = []

    def flush() -> None:
        if batch:
            importer.import_batch(batch)
            if commit_batch is not None:
                commit_batch()
            if on_batch:
                on_batch(batch[-1].line)
            batch.clear()

    for number, item in read_lines(lines):
        if isinstance(item, BadRecord):
            importer.report.rejected.append((number, str(item)))
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    flush()
    return importer.report
