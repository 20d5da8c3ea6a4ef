"""Settings read from the environment, validated once at start-up."""
from __future__ import annotations

import os
import secrets
from email.utils import parseaddr
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it and how to fix it."""


def _secret_key(instance_dir: Path) -> str:
    """Read the instance's secret key, generating it once so sessions survive restarts."""
    path = instance_dir / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
    key = secrets.token_hex(32)
    tmp = path.with_suffix(".tmp")
    # Only the owner may read the key: it signs every session cookie.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    os.replace(tmp, path)
    return key


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


SMTP_SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def _base_url(env: Mapping[str, str]) -> str:
    raw = (env.get("COKNOW_BASE_URL") or "").strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"COKNOW_BASE_URL must be the site's address like https://community.example.com, got {raw!r}")
    return raw.rstrip("/")


def _mail_settings(env: Mapping[str, str], site_name: str) -> dict[str, Any]:
    security = (env.get("COKNOW_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in SMTP_SECURITY_PORTS:
        raise ConfigError(f"COKNOW_SMTP_SECURITY must be starttls, ssl or none, got {security!r}")
    sender = (env.get("COKNOW_MAIL_FROM") or f"{site_name} <no-reply@localhost>").strip()
    address = parseaddr(sender)[1]
    if "@" not in address or any(c in sender for c in "\r\n"):
        raise ConfigError(f"COKNOW_MAIL_FROM must be an e-mail address like 'CoKnow <help@example.com>', got {sender!r}")
    return {
        "COKNOW_MAIL_FROM": sender,
        "COKNOW_SMTP_HOST": (env.get("COKNOW_SMTP_HOST") or "").strip(),
        "COKNOW_SMTP_PORT": _int(env, "COKNOW_SMTP_PORT", SMTP_SECURITY_PORTS[security], 1, 65535),
        "COKNOW_SMTP_SECURITY": security,
        "COKNOW_SMTP_USERNAME": env.get("COKNOW_SMTP_USERNAME") or "",
        "COKNOW_SMTP_PASSWORD": env.get("COKNOW_SMTP_PASSWORD") or "",
        "COKNOW_SMTP_TIMEOUT": _int(env, "COKNOW_SMTP_TIMEOUT", 10, 1, 300),
    }


def _origins(env: Mapping[str, str], base_url: str) -> list[str]:
    """The browser origins allowed to open Socket.IO connections besides the site's own address."""
    origins = []
    for raw in (env.get("COKNOW_ALLOWED_ORIGINS") or "").split(","):
        raw = raw.strip()
        if not raw:
            continue
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
            raise ConfigError(f"COKNOW_ALLOWED_ORIGINS must list origins like https://community.example.com, got {raw!r}")
        origins.append(f"{parts.scheme}://{parts.netloc}")
    if base_url:
        parts = urlsplit(base_url)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))


def _limit_storage(env: Mapping[str, str]) -> str:
    url = (env.get("COKNOW_RATELIMIT_STORAGE_URL") or "memory://").strip()
    if not url.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        raise ConfigError(f"COKNOW_RATELIMIT_STORAGE_URL must be memory:// or a redis:// URL, got {url!r}")
    return url


def pool_options(database_uri: str, concurrency: int) -> dict[str, Any]:
    """Connection pool sized to the requests and socket events one process serves at once.

    Every request and socket event holds at most one connection (after-commit work waits until it is
    returned), so the pool never needs more connections than the server runs requests at once.
    """
    if ":memory:" in database_uri or database_uri in ("sqlite://", "sqlite:///"):
        return {}  # an in-memory SQLite database lives in a single connection
    kept = min(concurrency, 10)
    return {"pool_size": kept, "max_overflow": concurrency - kept, "pool_timeout": 30}


def load_config(env: Mapping[str, str] | None = None, instance_dir: Path | None = None) -> dict[str, Any]:
    """Build the Flask config from environment variables, raising ConfigError on bad values."""
    env = os.environ if env is None else env
    instance_dir = Path(env.get("COKNOW_INSTANCE_DIR") or instance_dir or DEFAULT_INSTANCE)
    instance_dir.mkdir(parents=True, exist_ok=True)

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'coknow.db'}"
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError(
            f"DATABASE_URL is not a database URL: {database_url!r} "
            "(expected e.g. postgresql+psycopg://user@host/db or sqlite:///path.db)"
        ) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"DATABASE_URL must point to SQLite or PostgreSQL, got {url.get_backend_name()!r}")
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = url.set(drivername="postgresql+psycopg")

    jobs_url = (env.get("COKNOW_JOBS_URL") or "").strip()
    if jobs_url and jobs_url != "immediate" and not jobs_url.startswith(("redis://", "rediss://", "unix://", "sqlite:///")):
        raise ConfigError(f"COKNOW_JOBS_URL must be a redis:// or sqlite:/// URL (or 'immediate'), got {jobs_url!r}")

    queue = env.get("SOCKETIO_MESSAGE_QUEUE") or None
    if queue is not None and not queue.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"SOCKETIO_MESSAGE_QUEUE must be a redis:// URL, got {queue!r}")

    secret = env.get("SECRET_KEY") or _secret_key(instance_dir)
    if len(secret) < 16:
        raise ConfigError("SECRET_KEY must be at least 16 characters long")

    base_url = _base_url(env)
    concurrency = _int(env, "COKNOW_CONCURRENCY", 32, 1, 10_000)

    index_dir = Path(env.get("COKNOW_INDEX_DIR") or instance_dir / "index")
    site_name = env.get("COKNOW_SITE_NAME", "CoKnow")

    return {
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "COKNOW_CONCURRENCY": concurrency,
        "SOCKETIO_MESSAGE_QUEUE": queue,
        "COKNOW_INDEX_DIR": str(index_dir),
        "COKNOW_INSTANCE_DIR": str(instance_dir),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("COKNOW_SECURE_COOKIES", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        # The remember cookie signs a visitor in like the session cookie does: the same protections.
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": env.get("COKNOW_SECURE_COOKIES", "0") == "1",
        "REMEMBER_COOKIE_DURATION": timedelta(days=_int(env, "COKNOW_REMEMBER_DAYS", 30, 1, 365)),
        "COKNOW_SECURE_COOKIES": env.get("COKNOW_SECURE_COOKIES", "0") == "1",
        "COKNOW_ALLOWED_ORIGINS": _origins(env, base_url),
        "RATELIMIT_ENABLED": env.get("COKNOW_RATE_LIMITS", "1") != "0",
        "RATELIMIT_STORAGE_URI": _limit_storage(env),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_API": env.get("COKNOW_RATELIMIT_API") or "300 per minute",
        "RATELIMIT_REGISTER": env.get("COKNOW_RATELIMIT_REGISTER") or "10 per hour",
        "MAX_CONTENT_LENGTH": _int(env, "COKNOW_MAX_UPLOAD_BYTES", 2 * 1024 * 1024, 1024, 512 * 1024 * 1024),
        "BABEL_DEFAULT_LOCALE": env.get("COKNOW_DEFAULT_LOCALE", "en"),
        "COKNOW_LOCALES": ["en", "zh"],
        "COKNOW_SITE_NAME": site_name,
        "COKNOW_BASE_URL": base_url,
        **_mail_settings(env, site_name),
        "COKNOW_INDEX_SYNC_SECONDS": _int(env, "COKNOW_INDEX_SYNC_SECONDS", 2, 0, 3600),
        "COKNOW_CHAT_RATE_PER_MINUTE": _int(env, "COKNOW_CHAT_RATE_PER_MINUTE", 12, 1, 10_000),
        "COKNOW_CHAT_RATE_PER_ADDRESS": _int(env, "COKNOW_CHAT_RATE_PER_ADDRESS", 30, 1, 100_000),
        "COKNOW_CHAT_MAX_CHARS": _int(env, "COKNOW_CHAT_MAX_CHARS", 1000, 10, 100_000),
        # Longer than the console's 30-second heartbeat, so one late beat does not count as gone.
        "COKNOW_STAFF_PRESENCE_TIMEOUT": _int(env, "COKNOW_STAFF_PRESENCE_TIMEOUT", 90, 35, 86_400),
        "COKNOW_JOBS_URL": jobs_url,
        "COKNOW_JOB_WORKERS": _int(env, "COKNOW_JOB_WORKERS", 1, 0, 64),
        # A running job beats every HEARTBEAT seconds; silent for this long, its worker is taken as dead.
        "COKNOW_JOB_STALE_SECONDS": _int(env, "COKNOW_JOB_STALE_SECONDS", 120, 2, 86_400),
        "API_TITLE": "CoKnow API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
