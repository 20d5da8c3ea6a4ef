"""Report attachments: the type is read from the content (never the name or the browser's claim),
the size is limited, names are random and the files live under the instance directory, outside static/.

Files are written only after the report's transaction commits, so a refused or rolled-back upload
leaves nothing on disk; downloads always go out as attachments with nosniff (see views.attachment).
"""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from community.errors import ValidationFailed
from community.extensions import db
from community.models import BetaAttachment, BetaReport, User
from community.realtime import after_commit

DEFAULT_MAX_BYTES = 1024 * 1024
MAX_FILES = 5
MAX_NAME = 120
THUMB_SIZE = (320, 320)
# Pillow format -> (content type, extensions the file may be named with)
IMAGE_TYPES = {
    "PNG": ("image/png", {".png"}),
    "JPEG": ("image/jpeg", {".jpg", ".jpeg"}),
    "GIF": ("image/gif", {".gif"}),
    "WEBP": ("image/webp", {".webp"}),
}
TEXT_EXTENSIONS = {".txt", ".log"}
# Text that a browser could take for markup; logs never start like this.
_MARKUP_STARTS = (b"<!doctype", b"<html", b"<svg", b"<?xml", b"<script", b"<head", b"<body", b"<iframe", b"<!--")


@dataclass(frozen=True)
class Upload:
    """A file as the channel received it: the client's name and the bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    data: bytes
    thumbnail: bytes | None


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, {"attachments": [message]})


def max_bytes() -> int:
    """The largest attachment accepted (COKNOW_BETA_MAX_ATTACHMENT_BYTES, default 1 MiB)."""
    return int(current_app.config.get("COKNOW_BETA_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_BYTES))


def check_name(filename: str) -> str:
    """The client's file name if it is a plain name; a path, a hidden or an empty name is refused."""
    name = (filename or "").strip()
    if not name:
        raise _refuse(_("A file has no name."))
    if ("/" in name or "\\" in name or ".." in name or name.startswith(".") or len(name) > MAX_NAME
            or any(ord(c) < 32 for c in name)):
        raise _refuse(_("“%(name)s” is not a plain file name (no folders, “..” or hidden names).", name=name[:60]))
    return name


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _image(name: str, data: bytes) -> CheckedFile | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    if fmt not in IMAGE_TYPES:
        return None
    content_type, extensions = IMAGE_TYPES[fmt]
    if _extension(name) not in extensions:
        raise _refuse(_("“%(name)s” is a %(type)s image but is not named like one.", name=name, type=fmt))
    # The thumbnail is re-encoded by us: it carries nothing of the original but its pixels.
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail(THUMB_SIZE)
        out = io.BytesIO()
        image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(out, "PNG")
    return CheckedFile(name, content_type, data, out.getvalue())


def _text(name: str, data: bytes) -> CheckedFile | None:
    if _extension(name) not in TEXT_EXTENSIONS or b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if data.lstrip().lower().startswith(_MARKUP_STARTS):
        return None
    return CheckedFile(name, "text/plain", data, None)


def check_file(upload: Upload) -> CheckedFile:
    """What the file really is (a PNG, JPEG, GIF or WebP image, or a UTF-8 text log), or a clear refusal."""
    name = check_name(upload.filename)
    limit = max_bytes()
    if len(upload.data) > limit:
        raise _refuse(_("“%(name)s” is %(size)s; files can be at most %(limit)s.", name=name,
                        size=_human(len(upload.data)), limit=_human(limit)))
    if not upload.data:
        raise _refuse(_("“%(name)s” is empty.", name=name))
    checked = _image(name, upload.data) or _text(name, upload.data)
    if checked is None:
        raise _refuse(_("“%(name)s” is not a screenshot (PNG, JPEG, GIF, WebP) or a text log (.txt, .log): "
                        "its content is something else.", name=name))
    return checked


def check_files(uploads: list[Upload]) -> list[CheckedFile]:
    """Check every file before anything is stored: one bad file refuses them all."""
    uploads = [u for u in uploads if u.filename or u.data]
    if len(uploads) > MAX_FILES:
        raise _refuse(_("Attach at most %(n)d files.", n=MAX_FILES))
    return [check_file(u) for u in uploads]


def _human(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def storage_dir() -> Path:
    """Where attachments live: instance/uploads/beta (never under static/)."""
    return Path(current_app.config["COKNOW_INSTANCE_DIR"]) / "uploads" / "beta"


def store(report: BetaReport, uploader: User, files: list[CheckedFile]) -> list[BetaAttachment]:
    """Add the checked files to the report; they are written to disk after commit."""
    directory = storage_dir()
    rows: list[BetaAttachment] = []
    writes: list[tuple[Path, bytes]] = []
    for f in files:
        stored = secrets.token_hex(16)
        thumb = f"{stored}-thumb" if f.thumbnail is not None else None
        rows.append(BetaAttachment(report_id=report.id, uploader_id=uploader.id, stored_name=stored,
                                   thumb_name=thumb, original_name=f.name, content_type=f.content_type,
                                   size=len(f.data)))
        writes.append((directory / stored, f.data))
        if thumb is not None and f.thumbnail is not None:
            writes.append((directory / thumb, f.thumbnail))
    db.session.add_all(rows)
    db.session.flush()
    if writes:
        after_commit(lambda: _write(directory, writes))
    return rows


def _write(directory: Path, writes: list[tuple[Path, bytes]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for path, data in writes:
        path.write_bytes(data)


def file_path(stored_name: str) -> Path:
    """The file on disk for a stored (random, hex) name."""
    return storage_dir() / stored_name
