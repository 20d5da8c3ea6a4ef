"""The one page type of every list (forum threads, ideas): items, where they sit, and the way on.

Long lists page by a cursor (keyset pagination): a page ends at a row, and the next page is "the rows after
(its sort key, its id)", one indexed range read however deep the visitor goes, where OFFSET reads and throws
away every row before the page. `?page=N` (offset) still answers, for links made before cursors; its Previous
and Next links are cursors too.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Sequence, TypeVar

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from community.database import page_offset
from community.errors import NotFound
from community.extensions import db
from community.models.base import as_utc

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a longer list; page numbers start at 1. total is None when it was not counted (pages that
    move by cursor need no count); next_cursor / prev_cursor lead to the neighbouring pages."""

    items: list[T]
    total: int | None
    page: int
    per_page: int
    next_cursor: str | None = None
    prev_cursor: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-(self.total or 0) // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None or self.page > 1

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None or (self.total is not None and self.page < self.pages)


# One sort key: a column or expression and whether it sorts descending. The last key must be unique (the id).
SortKey = tuple[ColumnElement[Any] | InstrumentedAttribute[Any], bool]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": as_utc(value).isoformat()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "value"):  # an Enum
        return value.value
    return value


def encode_cursor(order: str, values: Sequence[Any]) -> str:
    """An opaque cursor naming the position after (or before) a row with these sort-key values."""
    raw = json.dumps([order, [_plain(v) for v in values]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: str, keys: int, field: str) -> list[Any]:
    """The sort-key values a cursor holds; a 404 naming field when it is not one of ours for this order."""
    try:
        name, values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if name != order or not isinstance(values, list) or len(values) != keys:
            raise ValueError(cursor)
        out = []
        for value in values:
            if isinstance(value, dict):
                moment = datetime.fromisoformat(value["t"])
                if moment.tzinfo is None:
                    raise ValueError(cursor)
                value = moment
            elif not isinstance(value, (int, float, str, bool)) or (isinstance(value, str) and len(value) > 500):
                raise ValueError(cursor)
            out.append(value)
        return out
    except (ValueError, TypeError, KeyError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError):
        message = _("This page link is not valid any more: start again from the first page.")
        raise NotFound(message, {field: [message]}) from None


def _beyond(keys: Sequence[SortKey], values: Sequence[Any], forward: bool) -> ColumnElement[bool]:
    """Rows after values in the keys' order (forward), or before them."""
    # Bound with each key's own type: its conversions apply (UTC times on SQLite), and True/False compare.
    bound = [literal(value, type_=column.type) for (column, _d), value in zip(keys, values, strict=True)]
    if len({descending for _c, descending in keys}) == 1:
        # Every key sorts the same way: one row-value comparison, which PostgreSQL and SQLite both answer
        # as a range of an index on the keys (the OR of prefixes below is read as a filter from the
        # start of the range instead: a thread's last page of replies would scan all the others first).
        columns = tuple_(*[column for column, _d in keys])
        values_row = tuple_(*bound)
        return columns < values_row if keys[0][1] == forward else columns > values_row
    clauses = []
    for i, (column, descending) in enumerate(keys):
        later = column < bound[i] if descending == forward else column > bound[i]
        clauses.append(and_(*[k == v for (k, _d), v in zip(keys[:i], bound[:i], strict=True)], later))
    return or_(*clauses)


def keyset_page(stmt: Select[Any], keys: Sequence[SortKey], order: str, *, per_page: int, page: int = 1,
                after: str | None = None, before: str | None = None, total: int | None = None,
                last: bool = False) -> Page[Any]:
    """One page of stmt's entities in keys' order: after a cursor, before one, the last page (last), or (old
    links) page number page.

    One statement whatever the list's length: per_page + 1 rows tell whether there is a next page."""
    columns = [column for column, _d in keys]
    if last:  # the last page is where it is, whatever cursor came with it
        after = before = None
    forward = before is None and not last
    moved = bool(after or before or last)
    if after or before:
        values = decode_cursor(after or before or "", order, len(keys), "after" if after else "before")
        stmt = stmt.where(_beyond(keys, values, forward))
    ordering = [(c.desc() if d == forward else c.asc()) for c, d in keys]
    stmt = stmt.add_columns(*columns).order_by(*ordering).limit(per_page + 1)
    if page > 1 and not moved:
        stmt = stmt.offset(page_offset(page, per_page))
    rows = list(db.session.execute(stmt).all())
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not forward:
        rows.reverse()
    items = [row[0] for row in rows]
    first, end = (list(rows[0][1:]), list(rows[-1][1:])) if rows else (None, None)
    has_next = more if forward else bool(rows) and not last
    has_prev = (more if not forward else bool(after) or page > 1) and bool(rows)
    return Page(items, total, page if not moved else 0, per_page,
                next_cursor=encode_cursor(order, end) if has_next and end is not None else None,
                prev_cursor=encode_cursor(order, first) if has_prev and first is not None else None)


def page_holding(stmt: Select[Any], keys: Sequence[SortKey], order: str, values: Sequence[Any], *,
                 per_page: int) -> str | None:
    """The after-cursor of the page that holds the row with these sort-key values, pages counted from the
    list's start (the page following Next reaches), or None when it is the first page.

    Two statements: a count of the rows before it (an index range), and the row that ends the page before,
    read backwards from the row itself (fewer than per_page rows however deep it is)."""
    columns = [column for column, _d in keys]
    earlier_rows = stmt.order_by(None).where(_beyond(keys, values, forward=False))
    earlier = db.session.scalar(select(func.count()).select_from(
        earlier_rows.with_only_columns(columns[-1]).subquery())) or 0
    start = earlier - earlier % per_page
    if start == 0:
        return None
    ordering = [(c.asc() if d else c.desc()) for c, d in keys]
    boundary = db.session.execute(earlier_rows.with_only_columns(*columns).order_by(*ordering)
                                  .offset(earlier - start).limit(1)).first()
    return encode_cursor(order, list(boundary)) if boundary is not None else None
