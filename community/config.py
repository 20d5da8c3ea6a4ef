"""Every setting, its default and its check, in one table; read from the environment once at start-up.

`load_config` turns the environment into the Flask config and stops start-up with a ConfigError that
names the variable when a value is malformed. The README's settings table is rendered from SETTINGS
(`python -m community.config` prints it) and a test keeps the two equal.
"""
from __future__ import annotations

import os
from datetime import timedelta
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"
SMTP_SECURITY_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
# Tunable scoring constants of the bot: COKNOW_BOT_<FIELD> for any field of bot.scoring.BotSettings.
BOT_PREFIX = "COKNOW_BOT_"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it and how to fix it."""


Parser = Callable[[str, str], Any]  # (variable name, raw text) -> value, raising ConfigError


def whole(low: int, high: int) -> Parser:
    """A whole number between low and high."""
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value
    return parse


def number(low: float, high: float) -> Parser:
    """A decimal number between low and high."""
    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value
    return parse


def one_of(*choices: str) -> Parser:
    """One of a few words (case-insensitive)."""
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be {', '.join(choices[:-1])} or {choices[-1]}, got {raw!r}")
        return value
    return parse


def flag(name: str, raw: str) -> bool:
    """1 or 0."""
    if raw.strip() not in ("0", "1"):
        raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")
    return raw.strip() == "1"


def text(name: str, raw: str) -> str:
    """Any text, surrounding spaces dropped."""
    return raw.strip()


def raw_text(name: str, raw: str) -> str:
    """Any text, kept exactly (passwords)."""
    return raw


def origins(name: str, raw: str) -> list[str] | str:
    """Comma-separated http(s) origins, or * for any."""
    if raw.strip() == "*":
        return "*"
    found = [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]
    for origin in found:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ConfigError(f"{name} must list origins like https://community.example.com, got {origin!r}")
    return found


def redis_url(name: str, raw: str) -> str:
    """A redis:// (or rediss://, unix://) URL."""
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{name} must be a redis:// URL, got {raw!r}")
    return raw


def limit_storage(name: str, raw: str) -> str:
    """memory:// or a Redis URL for the rate-limit counters."""
    url = raw.strip()
    if not url.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        raise ConfigError(f"{name} must be memory:// or a redis:// URL, got {url!r}")
    return url


def pool_options(database_uri: str, concurrency: int) -> dict[str, Any]:
    """Connection pool sized to the requests and socket events one process serves at once.

    Every request and socket event holds at most one connection (after-commit work waits until it is
    returned), so the pool never needs more connections than the server runs requests at once.
    """
    if ":memory:" in database_uri or database_uri in ("sqlite://", "sqlite:///"):
        return {}  # an in-memory SQLite database lives in a single connection
    kept = min(concurrency, 10)
    options: dict[str, Any] = {"pool_size": kept, "max_overflow": concurrency - kept, "pool_timeout": 30}
    if not database_uri.startswith("sqlite"):
        # A server's connection can drop (a restart, an idle timeout): test it before use. A SQLite
        # file's cannot, and the test was a statement more in every request and chat answer.
        options["pool_pre_ping"] = True
    return options


def base_url(name: str, raw: str) -> str:
    """The site's public address, without a trailing slash."""
    raw = raw.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be the site's address like https://community.example.com, got {raw!r}")
    return raw.rstrip("/")


def mail_sender(name: str, raw: str) -> str:
    """An e-mail address, with or without a display name."""
    sender = raw.strip()
    if "@" not in parseaddr(sender)[1] or any(c in sender for c in "\r\n"):
        raise ConfigError(f"{name} must be an e-mail address like 'CoKnow <help@example.com>', got {sender!r}")
    return sender


def database_url(name: str, raw: str) -> str:
    """A SQLite or PostgreSQL SQLAlchemy URL; plain postgresql:// gets the psycopg 3 driver we ship."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            f"{name} is not a database URL: {raw!r} (expected e.g. postgresql+psycopg://user@host/db or sqlite:///path.db)"
        ) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"{name} must point to SQLite or PostgreSQL, got {url.get_backend_name()!r}")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def jobs_url(name: str, raw: str) -> str:
    """Where the job queue keeps its jobs: redis://, sqlite:///path, or immediate (run inline)."""
    raw = raw.strip()
    if raw != "immediate" and not raw.startswith(("redis://", "rediss://", "unix://", "sqlite:///")):
        raise ConfigError(f"{name} must be a redis:// or sqlite:/// URL (or 'immediate'), got {raw!r}")
    return raw


def secret_key(name: str, raw: str) -> str:
    """At least 16 characters."""
    if len(raw) < 16:
        raise ConfigError(f"{name} must be at least 16 characters long")
    return raw


@dataclass(frozen=True)
class Setting:
    """One environment variable: where it lands in the Flask config, its default and its check."""

    env: str
    default: Any  # used when the variable is unset or empty; None means "none" (or computed, see shown)
    parse: Parser
    meaning: str
    shown: str | None = None  # the default as the README states it, when str(default) would not say it
    key: str | None = None  # the Flask config key, when it is not the variable's name
    in_config: bool = True  # False: read by knowledge_index itself from the environment; only checked here

    @property
    def config_key(self) -> str:
        return self.key or self.env

    def shown_default(self) -> str:
        if self.shown is not None:
            return self.shown
        if self.default is None or self.default == "" or self.default == []:
            return "none"
        if isinstance(self.default, bool):
            return f"`{int(self.default)}`"
        return f"`{self.default}`"


# Settings whose default depends on another one (the instance folder, the site name, the SMTP security)
# say so in `shown` and are completed in load_config.
SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None, database_url,
            "SQLite (embedded) or PostgreSQL (`postgresql+psycopg://user:pass@host/db`)",
            shown="`sqlite:///instance/coknow.db`", key="SQLALCHEMY_DATABASE_URI"),
    Setting("SECRET_KEY", None, secret_key, "signs sessions and CSRF tokens (at least 16 characters)",
            shown="generated once into `instance/secret_key`"),
    Setting("SOCKETIO_MESSAGE_QUEUE", None, redis_url,
            "`redis://127.0.0.1:6379/0` when several worker processes serve Socket.IO"),
    Setting("SOCKETIO_CORS_ORIGINS", [], origins,
            "other origins allowed to open Socket.IO connections (comma-separated, or `*`); none: same origin only"),
    Setting("COKNOW_INSTANCE_DIR", None, text, "local state: SQLite file, secret key, index cache", shown="`instance/`"),
    Setting("COKNOW_INDEX_DIR", None, text,
            "where each process caches its FAISS index (the database stays the source of truth)",
            shown="`instance/index`"),
    # Off by default: a process then merges recent writes into its own graph; mapped, the graph is the
    # snapshot's until the next one (bench/RESULTS.md, issue 17: memory per process against side-index growth).
    Setting("COKNOW_INDEX_MAP_SNAPSHOT", False, flag,
            "`1`: map the snapshot's main vector index read-only instead of copying it into each process, so the "
            "processes of a machine share one copy; later changes stay in a small private index until the next "
            "snapshot (`flask coknow index-snapshot`)"),
    Setting("COKNOW_SITE_NAME", "CoKnow", text, "the site's name in pages and e-mail"),
    Setting("COKNOW_SECURE_COOKIES", False, flag, "`1` behind HTTPS", key="SESSION_COOKIE_SECURE"),
    # Behind nginx every request comes from nginx's address: per-address limits (sign-ins, registrations, chat)
    # would count all visitors together. Trusting more hops than there are proxies lets a client pick its address.
    Setting("COKNOW_PROXIES", 0, whole(0, 5),
            "proxies in front of each web process whose `X-Forwarded-For` / `-Proto` are believed "
            "(`1` behind deploy/nginx.conf, as `make serve` sets): limits then count the visitor's address, not the proxy's"),
    Setting("COKNOW_REMEMBER_DAYS", 30, whole(1, 365), "days a \"remember me\" sign-in lasts"),
    Setting("COKNOW_PASSWORD_COST", 15, whole(10, 20),
            "scrypt work factor of new password hashes, as log2 N (15 is Werkzeug's default, ~70 ms; each step doubles it)"),
    # The pool follows it: every request and socket event holds at most one connection.
    Setting("COKNOW_CONCURRENCY", 32, whole(1, 10_000),
            "requests and socket events one process serves at once "
            "(sizes the database pool; gunicorn connections = this + COKNOW_SOCKETS)"),
    # Each open WebSocket holds one of the production worker's connections (a thread in the gthread worker):
    # with only COKNOW_CONCURRENCY of them, the 33rd browser could not connect (bench/load/chat.py, issue 21).
    Setting("COKNOW_SOCKETS", 1000, whole(0, 100_000),
            "WebSocket sessions one production process holds open (gunicorn connections = this + COKNOW_CONCURRENCY)"),
    # Read by deploy/gunicorn.conf.py in gunicorn's master, before any app code; checked here too.
    Setting("COKNOW_WORKER", "gevent", one_of("gthread", "gevent"),
            "the production worker (`deploy/gunicorn.conf.py`): `gevent` (greenlets) or `gthread` (a thread per connection)",
            in_config=False),
    Setting("COKNOW_RATE_LIMITS", True, flag, "`0` switches the request rate limits off (tests, benchmarks)",
            key="RATELIMIT_ENABLED"),
    Setting("COKNOW_RATELIMIT_STORAGE_URL", "memory://", limit_storage,
            "where rate-limit counters live: `memory://` (one process) or `redis://…` (shared by all processes)",
            key="RATELIMIT_STORAGE_URI"),
    Setting("COKNOW_RATELIMIT_KEY_PREFIX", "LIMITS", raw_text,
            "prefix of the rate-limit counters in Redis (sites or test runs sharing one Redis use their own)"),
    Setting("COKNOW_RATELIMIT_API", "300 per minute", raw_text, "API calls per account (or address when signed out)",
            key="RATELIMIT_API"),
    Setting("COKNOW_RATELIMIT_REGISTER", "10 per hour", raw_text, "account registrations per address",
            key="RATELIMIT_REGISTER"),
    Setting("COKNOW_MAX_UPLOAD_BYTES", 2 * 1024 * 1024, whole(1024, 512 * 1024 * 1024), "largest accepted request body",
            shown="2 MiB", key="MAX_CONTENT_LENGTH"),
    # CRM exports are big (100,000 customers is about 11 MB): only the import page accepts this much.
    Setting("COKNOW_MAX_CRM_UPLOAD_BYTES", 64 * 1024 * 1024, whole(1024, 1024 * 1024 * 1024),
            "largest CRM file the import page accepts (100,000 customers is about 11 MB)", shown="64 MiB"),
    # Under COKNOW_MAX_UPLOAD_BYTES, so an oversize attachment is a message on the form, not a 413.
    Setting("COKNOW_BETA_MAX_ATTACHMENT_BYTES", 1024 * 1024, whole(1024, 512 * 1024 * 1024),
            "largest beta report attachment (stored under `instance/uploads/beta/`, served only as a download)",
            shown="1 MiB"),
    Setting("COKNOW_DEFAULT_LOCALE", "en", one_of("en", "zh"),
            "interface language when the browser asks for none we have", key="BABEL_DEFAULT_LOCALE"),
    Setting("COKNOW_INDEX_SYNC_SECONDS", 2, whole(0, 3600),
            "how often a process looks for index changes made by other processes"),
    Setting("COKNOW_PAGE_CACHE_SECONDS", 5, whole(0, 3600),
            "how long a page kept for signed-out visitors may show another process's writes (`0`: no page cache)"),
    Setting("COKNOW_JOBS_URL", "", jobs_url,
            "the job queue's storage: a SQLite file (embedded) or `redis://…` (several processes or machines)",
            shown="`sqlite:///instance/jobs.db`"),
    Setting("COKNOW_JOB_WORKERS", 1, whole(0, 64),
            "job worker threads inside `flask coknow serve`; `0` when separate `flask coknow jobs worker` processes run them"),
    # A running job beats every 20 s (community.jobs.HEARTBEAT_SECONDS): silent this long means its worker died.
    Setting("COKNOW_JOB_STALE_SECONDS", 120, whole(2, 86_400),
            "a running job beats every 20 s; silent this long, its worker is taken as dead and the job is run again"),
    Setting("COKNOW_WEBHOOK_TIMEOUT", 10, whole(1, 60), "seconds to wait for a webhook receiver"),
    Setting("COKNOW_WEBHOOK_MAX_ATTEMPTS", 8, whole(1, 20), "tries per webhook delivery, in all"),
    Setting("COKNOW_WEBHOOK_RETRY_SECONDS", 60, whole(1, 86_400),
            "wait before a failed webhook delivery's first retry; doubled for each next one"),
    Setting("COKNOW_WEBHOOK_DISABLE_AFTER", 5, whole(1, 1000),
            "failed webhook deliveries in a row before the endpoint is disabled and staff are told"),
    Setting("COKNOW_CHAT_RATE_PER_MINUTE", 12, whole(1, 10_000), "chat messages per conversation per minute"),
    # Backpressure (bot/admission.py): a bounded line in front of the engine; see bench/RESULTS.md, issue 21.
    Setting("COKNOW_CHAT_ACTIVE", 4, whole(0, 1000),
            "chat questions one process answers at once (`0`: no limit); more wait in line"),
    Setting("COKNOW_CHAT_WAITING", 32, whole(0, 100_000),
            "chat questions waiting for a turn; beyond this they are refused at once: \"busy, try again in a moment\" (503)"),
    # Short: a question refused after waiting should still hear "busy" within 100 ms (issue 21's target);
    # 500 ms left refusals at p95 570 ms, 50 ms at 70-115 ms (bench/RESULTS.md, session 7).
    Setting("COKNOW_CHAT_WAIT_MS", 50, whole(0, 60_000),
            "longest a chat question waits in line before it is refused as busy"),
    Setting("COKNOW_CHAT_MAX_CHARS", 1000, whole(10, 100_000), "longest chat message"),
    Setting("COKNOW_CHAT_RATE_PER_ADDRESS", 30, whole(1, 100_000),
            "chat messages per minute from one address (a cookie-less client gets a new conversation each time)"),
    Setting("COKNOW_STAFF_REPLY_MAX_CHARS", 10_000, whole(10, 100_000), "longest reply from the support console"),
    # Longer than the console's 30-second heartbeat, so one late beat does not count as gone.
    Setting("COKNOW_STAFF_PRESENCE_TIMEOUT", 90, whole(35, 86_400),
            "seconds after a staff console's last heartbeat (sent every 30 s) that it stops counting as online"),
    Setting("COKNOW_GAP_MERGE_THRESHOLD", 0.72, number(0.0, 1.0),
            "cosine at which an unanswered question joins an existing knowledge gap (see `bench/gap_threshold.py`)"),
    Setting("COKNOW_BASE_URL", "", base_url,
            "the site's public address, for links in e-mail (needed for e-mail sent outside a request)",
            shown="the request's host"),
    Setting("COKNOW_MAIL_FROM", None, mail_sender, "sender of notification e-mail",
            shown="`CoKnow <no-reply@localhost>` (with the site name)"),
    Setting("COKNOW_SMTP_HOST", "", text,
            "SMTP server; without it e-mail is written to the `coknow.mail` log and marked *logged*"),
    Setting("COKNOW_SMTP_SECURITY", "starttls", one_of("starttls", "ssl", "none"), "`starttls`, `ssl` or `none`"),
    Setting("COKNOW_SMTP_PORT", None, whole(1, 65535), "SMTP port", shown="587 (465 with `ssl`, 25 with `none`)"),
    Setting("COKNOW_SMTP_USERNAME", "", raw_text, "SMTP login when the server wants one"),
    Setting("COKNOW_SMTP_PASSWORD", "", raw_text, "SMTP password"),
    Setting("COKNOW_SMTP_TIMEOUT", 10, whole(1, 300), "seconds to wait for the SMTP server"),
    Setting("FORUM_NEW_ACCOUNT_HOURS", 24, whole(0, 24 * 365), "a forum member counts as new for this many hours..."),
    Setting("FORUM_NEW_ACCOUNT_POSTS", 3, whole(0, 10_000), "...and until they have written this many posts"),
    Setting("FORUM_NEW_MAX_LINKS", 2, whole(0, 1000), "links a new member may put in one post"),
    Setting("FORUM_NEW_MAX_MENTIONS", 2, whole(0, 1000), "@mentions a new member may put in one post"),
    Setting("FORUM_NEW_POSTS_PER_HOUR", 3, whole(1, 10_000), "posts per hour for a new member"),
    Setting("FORUM_POSTS_PER_HOUR", 30, whole(1, 100_000), "posts per hour for everyone else"),
    Setting("FORUM_FLAGS_TO_HIDE", 3, whole(1, 1000), "open flags on a post that hide it until staff look"),
    Setting("FORUM_REPLIES_PER_PAGE", 50, whole(5, 1000), "replies on one page of a thread"),
    Setting("COKNOW_EMBEDDER", "auto", one_of("auto", "onnx", "torch"),
            "`onnx`, `torch`, or `auto`: the ONNX export when it is built (`make install` builds it), else PyTorch; same vectors",
            in_config=False),
    Setting("COKNOW_EMBED_THREADS", 1, whole(1, 256),
            "threads per model forward pass (one per worker process avoids oversubscribing the cores)", in_config=False),
    Setting("COKNOW_ONNX_DIR", None, text, "where `python -m knowledge_index.onnx_model build` puts the ONNX export",
            shown="inside `.venv`", in_config=False),
)
BY_NAME = {s.env: s for s in SETTINGS}


def default(name: str) -> Any:
    """A setting's default (for code that needs it outside a request, such as benchmarks)."""
    return BY_NAME[name].default


def _read(env: Mapping[str, str], setting: Setting) -> Any:
    raw = env.get(setting.env)
    if raw is None or raw == "":
        return setting.default
    return setting.parse(setting.env, raw)


def _secret_from_instance(instance_dir: Path) -> str:
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


def bot_overrides(env: Mapping[str, str]) -> dict[str, str]:
    """The COKNOW_BOT_* variables, passed on as config keys; bot.scoring checks them when the app is wired."""
    return {k: v for k, v in env.items() if k.startswith(BOT_PREFIX) and v != ""}


def load_config(env: Mapping[str, str] | None = None, instance_dir: Path | None = None) -> dict[str, Any]:
    """Build the Flask config from environment variables, raising ConfigError on bad values."""
    env = os.environ if env is None else env
    values = {s.env: _read(env, s) for s in SETTINGS}

    instance = Path(values["COKNOW_INSTANCE_DIR"] or instance_dir or DEFAULT_INSTANCE)
    instance.mkdir(parents=True, exist_ok=True)
    values["COKNOW_INSTANCE_DIR"] = str(instance)
    values["COKNOW_INDEX_DIR"] = str(values["COKNOW_INDEX_DIR"] or instance / "index")
    if values["DATABASE_URL"] is None:
        values["DATABASE_URL"] = database_url("DATABASE_URL", f"sqlite:///{instance / 'coknow.db'}")
    values["SECRET_KEY"] = values["SECRET_KEY"] or _secret_from_instance(instance)
    if values["COKNOW_MAIL_FROM"] is None:
        values["COKNOW_MAIL_FROM"] = mail_sender("COKNOW_SITE_NAME", f"{values['COKNOW_SITE_NAME']} <no-reply@localhost>")
    if values["COKNOW_SMTP_PORT"] is None:
        values["COKNOW_SMTP_PORT"] = SMTP_SECURITY_PORTS[values["COKNOW_SMTP_SECURITY"]]

    config = {s.config_key: values[s.env] for s in SETTINGS if s.in_config}
    config.update(bot_overrides(env))
    config.update({
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        # The remember cookie signs a visitor in like the session cookie does: the same protections.
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": values["COKNOW_SECURE_COOKIES"],
        "REMEMBER_COOKIE_DURATION": timedelta(days=values["COKNOW_REMEMBER_DAYS"]),
        "COKNOW_SECURE_COOKIES": values["COKNOW_SECURE_COOKIES"],
        # Origins that may open a socket as a visitor besides the site's own: the configured ones and the
        # public address's.
        "COKNOW_ALLOWED_ORIGINS": _allowed_origins(values["SOCKETIO_CORS_ORIGINS"], values["COKNOW_BASE_URL"]),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis storage only: the in-memory storage takes no options.
        "RATELIMIT_STORAGE_OPTIONS": ({"key_prefix": values["COKNOW_RATELIMIT_KEY_PREFIX"]}
                                      if values["COKNOW_RATELIMIT_STORAGE_URL"].startswith(("redis", "rediss"))
                                      else {}),
        "COKNOW_LOCALES": ["en", "zh"],
        "API_TITLE": "CoKnow API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    })
    return config


def _allowed_origins(configured: list[str] | str, site: str) -> list[str] | str:
    if configured == "*":
        return "*"
    found = set(configured)
    if site:
        parts = urlsplit(site)
        found.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(found)


def settings_table() -> str:
    """The README's settings table, rendered from SETTINGS."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.env}` | {s.shown_default()} | {s.meaning} |" for s in SETTINGS]
    rows.append(f"| `{BOT_PREFIX}*` | see `bot/scoring.py` | any `BotSettings` field, e.g. `COKNOW_BOT_ANSWER_THRESHOLD`; "
                "checked at start-up |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.stdout.write(settings_table() + "\n")
