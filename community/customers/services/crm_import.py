"""CRM import: customer attributes from a CRM's CSV export, matched to accounts by e-mail.

Columns: email (required), name, company, plan, annual_value, signup_date; any other column is kept
as an attribute. A bad row is reported with its line number and reason and the rest are imported.
Rows go in batches of bulk statements (one lookup, one insert of invited accounts, one upsert of
profiles per batch), and a profile is only rewritten when the row's content hash changed, so running
the same file twice changes nothing. The caller (CLI or job) commits after each batch.
"""
from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

from flask_babel import gettext as _
from sqlalchemy import func, select

from community.customers.services.bulk import insert_ignore, pairs, upsert_changed
from community.errors import ValidationFailed
from community.extensions import db
from community.models import CustomerProfile, Role, Segment, User, utcnow

BATCH_ROWS = 2000
MAX_ERRORS_KEPT = 1000  # a report names at most this many bad rows (and counts them all)
KNOWN = ("email", "name", "company", "plan", "annual_value", "signup_date")
ALIASES = {"e-mail": "email", "e_mail": "email", "mail": "email", "full_name": "name", "display_name": "name",
           "organisation": "company", "organization": "company", "account": "company", "tier": "plan",
           "arr": "annual_value", "annual_revenue": "annual_value", "value": "annual_value",
           "signed_up": "signup_date", "signup": "signup_date", "created": "signup_date"}
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_MONEY = re.compile(r"[\s$€£¥,_]")
MAX_NAME = 80
MAX_COMPANY = 200
MAX_PLAN = 80
MAX_ATTRIBUTE = 500
CRM_COLUMNS = ("company", "plan", "annual_value", "signup_date", "attributes", "crm_hash", "crm_imported_at")
NEW_PROFILE = {"segment": Segment.ordinary.value, "value_score": 0.0, "engagement": 0, "support_load": 0,
               "interests": []}


@dataclass
class CrmRow:
    line: int
    email: str
    name: str | None
    company: str | None
    plan: str | None
    annual_value: float | None
    signup_date: date | None
    attributes: dict[str, str]

    def content_hash(self) -> str:
        # Unit and record separators cannot occur in CSV cells we keep, so the joined text is unambiguous.
        parts = [self.company or "", self.plan or "", repr(self.annual_value), str(self.signup_date or ""),
                 self.name or "", *(f"{k}\x1f{v}" for k, v in sorted(self.attributes.items()))]
        return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()


@dataclass
class RowError:
    line: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0  # invited accounts made for unknown e-mails
    updated: int = 0  # profiles written (new or changed)
    unchanged: int = 0
    not_found: int = 0  # unknown e-mails reported instead of created
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)

    def add_error(self, line: int, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(RowError(line, reason))

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "not_found": self.not_found, "error_count": self.error_count,
                "errors": [{"line": e.line, "reason": e.reason} for e in self.errors]}

    def summary(self) -> str:
        text: str = _("%(rows)d rows: %(updated)d profiles written, %(unchanged)d unchanged, %(created)d invited accounts "
                 "created, %(missing)d unknown e-mails, %(errors)d bad rows.", rows=self.rows, updated=self.updated,
                 unchanged=self.unchanged, created=self.created, missing=self.not_found, errors=self.error_count)
        return text


def _column(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower().lstrip("\ufeff"))
    return ALIASES.get(key, key)


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)  # the usual form, and much faster than strptime
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def parse_row(line: int, raw: dict[str, str], columns: dict[str, str], seen: dict[str, int]) -> CrmRow | RowError:
    """Validate one CSV row; the error names the field."""
    values = {columns[k]: (v or "").strip() for k, v in raw.items() if k is not None and k in columns}
    if None in raw:
        return RowError(line, _("more values than columns"))
    email = values.get("email", "").lower()
    if not email:
        return RowError(line, _("the e-mail is missing"))
    if len(email) > 254 or not _EMAIL.match(email):
        return RowError(line, _("“%(email)s” is not an e-mail address", email=email[:80]))
    if email in seen:
        return RowError(line, _("%(email)s is repeated (first on line %(n)d)", email=email, n=seen[email]))
    annual_value = None
    if values.get("annual_value"):
        try:
            annual_value = float(_MONEY.sub("", values["annual_value"]))
            if annual_value < 0 or annual_value != annual_value or annual_value > 1e12:
                raise ValueError
        except ValueError:
            return RowError(line, _("annual_value “%(v)s” is not an amount", v=values["annual_value"][:40]))
    signup = None
    if values.get("signup_date"):
        try:
            signup = _parse_date(values["signup_date"])
        except ValueError:
            return RowError(line, _("signup_date “%(v)s” is not a date (YYYY-MM-DD)", v=values["signup_date"][:40]))
    for name, limit in (("name", MAX_NAME), ("company", MAX_COMPANY), ("plan", MAX_PLAN)):
        if len(values.get(name, "")) > limit:
            return RowError(line, _("%(field)s is longer than %(n)d characters", field=name, n=limit))
    attributes = {k: v[:MAX_ATTRIBUTE] for k, v in values.items() if k not in KNOWN and v}
    seen[email] = line
    return CrmRow(line, email, values.get("name") or None, values.get("company") or None, values.get("plan") or None,
                  annual_value, signup, attributes)


def count_rows(path: Path) -> int:
    """Data lines in the file (for the progress bar's total)."""
    with path.open("rb") as handle:
        return max(0, sum(1 for line in handle if line.strip()) - 1)


def read_rows(path: Path) -> Iterator[CrmRow | RowError]:
    """Parsed rows of a CRM CSV file; ValidationFailed when the file itself cannot be read."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ValidationFailed(_("The file cannot be read: %(e)s", e=exc.strerror), {"file": [str(exc)]}) from None
    with handle:
        try:
            sample = handle.read(4096)
        except UnicodeDecodeError:
            message = _("The file is not UTF-8 text. Export the CSV as UTF-8.")
            raise ValidationFailed(message, {"file": [message]}) from None
        handle.seek(0)
        dialect: type[csv.Dialect] = csv.excel
        if sample:
            try:
                dialect = csv.Sniffer().sniff(sample.splitlines()[0] if sample else "", delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
        reader = csv.DictReader(handle, dialect=dialect)
        header = reader.fieldnames or []
        columns = {name: _column(name) for name in header if name and name.strip()}
        if "email" not in columns.values():
            message = _("Line 1: the header has no “email” column (found: %(cols)s).",
                        cols=", ".join(header) or _("nothing"))
            raise ValidationFailed(message, {"file": [message]})
        seen: dict[str, int] = {}
        try:
            for raw in reader:
                if not any((v or "").strip() for k, v in raw.items() if k is not None):
                    continue
                yield parse_row(reader.line_num, raw, columns, seen)
        except UnicodeDecodeError:
            message = _("Line %(n)d: the file is not UTF-8 text.", n=reader.line_num + 1)
            raise ValidationFailed(message, {"file": [message]}) from None
        except csv.Error as exc:
            message = _("Line %(n)d: %(e)s", n=reader.line_num, e=str(exc))
            raise ValidationFailed(message, {"file": [message]}) from None


def batches(path: Path, size: int = BATCH_ROWS) -> Iterator[list[CrmRow | RowError]]:
    """The file's rows in batches of size."""
    batch: list[CrmRow | RowError] = []
    for row in read_rows(path):
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _display_name(row: CrmRow) -> str:
    name = " ".join((row.name or row.email.split("@")[0].replace(".", " ").title()).split())
    return name[:MAX_NAME] or row.email[:MAX_NAME]


def import_batch(batch: list[CrmRow | RowError], create_missing: bool, report: ImportReport) -> None:
    """Import one batch of parsed rows with bulk statements; flushes (the caller commits)."""
    rows: list[CrmRow] = []
    for item in batch:
        report.rows += 1
        if isinstance(item, RowError):
            report.add_error(item.line, item.reason)
        else:
            rows.append(item)
    if not rows:
        return
    emails = [r.email for r in rows]
    found = {email: (uid, role) for uid, email, role in db.session.execute(
        select(User.id, func.lower(User.email), User.role).where(func.lower(User.email).in_(emails)))}
    missing = [r for r in rows if r.email not in found]
    if missing and create_missing:
        now = utcnow()
        # Invited accounts: no password until the person sets one; they sign in once invited.
        insert_ignore(User, ["email"], [
            {"email": r.email, "display_name": _display_name(r), "password_hash": None, "role": Role.customer.value,
             "active": True, "created_at": now, "updated_at": now} for r in missing])
        created = {email: (uid, role) for uid, email, role in db.session.execute(
            select(User.id, func.lower(User.email), User.role).where(func.lower(User.email).in_([r.email for r in missing])))}
        report.created += len(created)
        found.update(created)
    matched: list[tuple[int, CrmRow]] = []
    for row in rows:
        if row.email not in found:
            report.not_found += 1
            report.add_error(row.line, _("no account has the e-mail %(email)s (not created)", email=row.email))
            continue
        uid, role = found[row.email]
        if Role(role) is not Role.customer:
            report.add_error(row.line, _("%(email)s is a staff account", email=row.email))
            continue
        matched.append((uid, row))
    if not matched:
        return
    ids = [uid for uid, _row in matched]
    hashes = pairs(select(CustomerProfile.user_id, CustomerProfile.crm_hash).where(CustomerProfile.user_id.in_(ids)))
    now = utcnow()
    changed = []
    for uid, row in matched:
        digest = row.content_hash()
        if hashes.get(uid) == digest:
            report.unchanged += 1
            continue
        report.user_ids.append(uid)
        changed.append({"user_id": uid, "company": row.company, "plan": row.plan, "annual_value": row.annual_value,
                        "signup_date": row.signup_date,
                        "attributes": {**row.attributes, **({"name": row.name} if row.name else {})},
                        "crm_hash": digest, "crm_imported_at": now, **NEW_PROFILE})
    if changed:
        # New profiles start ordinary until the segment job (started after the import) sorts them;
        # existing ones keep their computed columns and only take the CRM's.
        upsert_changed(CustomerProfile, ["user_id"], changed, compare="crm_hash", update=CRM_COLUMNS)
        report.updated += len(changed)
    db.session.flush()


def import_text(text: str, create_missing: bool = False) -> ImportReport:
    """Import CSV given as text (tests, small API uploads); flushes."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="utf-8", delete=False) as tmp:
        tmp.write(text)
    path = Path(tmp.name)
    try:
        report = ImportReport()
        for batch in batches(path):
            import_batch(batch, create_missing, report)
        return report
    finally:
        path.unlink(missing_ok=True)

