"""Cursor pagination for incremental sync: rows in (updated time, id) order, resumed after the last one seen.

A client asks for `updated_since=<time>` once, then follows `next_cursor` until it is null; the
largest `updated_at` it saw is its next `updated_since`. Keyset paging (not offsets) means rows
changed while the client pages are neither skipped nor doubled: a changed row moves to the end.
"""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, UTC
from typing import Any

from flask_babel import gettext as _
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from community.errors import NotFound
from community.extensions import db
from community.models.base import as_utc

MAX_LIMIT = 500


class CursorQuerySchema(Schema):
    updated_since = fields.AwareDateTime(load_default=None, default_timezone=UTC, metadata={
        "description": "only items changed at or after this time (ISO 8601; UTC when no offset is given)"})
    cursor = fields.String(load_default=None, metadata={"description": "next_cursor from the previous page"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, MAX_LIMIT))


def page_schema(item: type[Schema] | Schema, name: str) -> type[Schema]:
    """A page envelope schema: items, and the cursor of the next page (null on the last page)."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "next_cursor": fields.String(required=True, allow_none=True,
                                     metadata={"description": "pass as cursor for the next page; null at the end"}),
    }, name=name)


def encode_cursor(moment: datetime, row_id: int) -> str:
    """An opaque cursor pointing just after (moment, row_id)."""
    raw = json.dumps([as_utc(moment).astimezone(UTC).isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position a cursor names; a 422 naming the cursor field when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, row_id = json.loads(raw)
        when = datetime.fromisoformat(moment)
        if when.tzinfo is None or not isinstance(row_id, int):
            raise ValueError(cursor)
        return when.astimezone(UTC), row_id
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        message = _("This cursor is not valid: pass next_cursor exactly as a previous page returned it.")
        # 404: a cursor names a page; one this API never made names no page (the request itself is well formed).
        raise NotFound(message, {"cursor": [message]}) from None


def keyset_page(stmt: Select, time_col: InstrumentedAttribute, id_col: InstrumentedAttribute,
                args: dict[str, Any]) -> dict[str, Any]:
    """One page of stmt's rows in (time_col, id_col) order, after args' cursor and since args' updated_since."""
    since = args.get("updated_since")
    if since is not None:
        stmt = stmt.where(time_col >= since.astimezone(UTC))
    if args.get("cursor"):
        moment, row_id = decode_cursor(args["cursor"])
        stmt = stmt.where(or_(time_col > moment, and_(time_col == moment, id_col > row_id)))
    limit = args.get("limit") or 100
    rows = list(db.session.scalars(stmt.order_by(time_col, id_col).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows and more else None
    return {"items": rows,
            "next_cursor": encode_cursor(getattr(last, time_col.key), getattr(last, id_col.key)) if last else None}
