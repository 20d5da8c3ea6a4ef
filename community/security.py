"""Site-wide protections: Socket.IO origins, proof of intent on API writes, security headers, body size."""
from __future__ import annotations

from typing import Any, Callable, Iterable

from flask import Flask, abort, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler

API_PREFIX = "/api/"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")

# No inline script anywhere: every script is a file under /static. Inline style attributes stay allowed
# (avatar colours); they cannot run code. Images may come from https (help-center articles link them).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: https:",
    "connect-src 'self' ws: wss:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def request_origin(environ: dict[str, Any]) -> str:
    """The site's own origin as this request reached it (the proxy's scheme when it says so)."""
    scheme = (environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme", "http")).split(",")[0].strip()
    host = (environ.get("HTTP_X_FORWARDED_HOST") or environ.get("HTTP_HOST", "")).split(",")[0].strip()
    return f"{scheme}://{host}"


def origin_check(allowed: Iterable[str]) -> Callable[[str | None, dict[str, Any]], bool]:
    """Socket.IO's origin test: the site's own origin and the configured ones, nothing else.

    A browser always sends Origin when it opens a socket from a page; another site (or another port of
    this host, which is same-site and so gets the Lax session cookie) must not open one as our visitor.
    """
    extra = frozenset(allowed)

    def check(origin: str | None, environ: dict[str, Any]) -> bool:
        if not origin:
            return True  # not a browser page (curl, a server): it has no visitor's cookie to abuse
        return origin in extra or origin == request_origin(environ)

    return check


def _bearer_authenticated() -> bool:
    # API tokens (when they exist) prove intent themselves: a page cannot attach them without a CORS
    # preflight, which this site never grants.
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


def check_api_intent() -> None:
    """Refuse cookie-authenticated API writes that lack the page's CSRF token, and non-JSON bodies.

    A same-site page can post an empty text/plain form with the visitor's cookies; only our own scripts
    can read the token from the page and send it in a header.
    """
    if not request.path.startswith(API_PREFIX) or request.method not in STATE_CHANGING:
        return
    if not _bearer_authenticated():
        token = next((request.headers[h] for h in CSRF_HEADERS if request.headers.get(h)), None)
        try:
            validate_csrf(token)
        except Exception as error:  # flask-wtf raises ValidationError for missing, expired or forged tokens
            raise CSRFError(_("Send the page's CSRF token in the X-CSRFToken header.")) from error
    if request.content_length and not request.is_json:
        abort(415, description=_("Send the request body as application/json."))


def refuse_oversized_body(app: Flask) -> Callable[[], None]:
    """413 for any body over the limit, also on routes that never read one (they used to answer 200)."""

    def check() -> None:
        # The request's own limit: MAX_CONTENT_LENGTH, or a larger one a route set first (the CRM upload).
        limit = request.max_content_length
        if limit and request.content_length and request.content_length > limit:
            abort(413)

    return check


class SecurityHeaders:
    """WSGI middleware: security headers on every response, Socket.IO's and static files' included."""

    def __init__(self, wsgi_app: Callable, force_https: bool) -> None:
        self.wsgi_app = wsgi_app
        self.force_https = force_https

    def __call__(self, environ: dict[str, Any], start_response: Callable):
        secure = self.force_https or request_origin(environ).startswith("https://")

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            present = {name.lower() for name, _value in headers}
            wanted = [
                ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
                ("X-Content-Type-Options", "nosniff"),
                ("X-Frame-Options", "DENY"),
                ("Referrer-Policy", "strict-origin-when-cross-origin"),
                ("Cross-Origin-Opener-Policy", "same-origin"),
                ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
            ]
            if secure:
                wanted.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
            headers = list(headers) + [(n, v) for n, v in wanted if n.lower() not in present]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


class QuietRequestHandler(WSGIRequestHandler):
    """The embedded server's request handler, without Werkzeug's and Python's versions in `Server`."""

    def version_string(self) -> str:
        return "CoKnow"


def allow_header(error: HTTPException) -> str | None:
    """The Allow header a 405 must carry (the JSON and HTML error pages replace werkzeug's response)."""
    for name, value in error.get_headers():
        if name.lower() == "allow":
            return value
    return None


def _nul_field(value: Any, name: str) -> str | None:
    """The name of the first field whose text holds a NUL character, if any."""
    if isinstance(value, str):
        return name if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_field(item, str(key)) or (str(key) if "\x00" in str(key) else None)
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            found = _nul_field(item, name)
            if found:
                return found
    return None


def refuse_nul_characters() -> None:
    """422 naming the field for text with a NUL character: PostgreSQL cannot store one, and no person types it."""
    from community.errors import ValidationFailed

    field = (_nul_field(request.args.to_dict(flat=False), "query") or _nul_field(request.form.to_dict(flat=False), "form")
             or (_nul_field(request.get_json(silent=True), "body") if request.is_json else None))
    if field:
        message = _("Text cannot contain NUL characters.")
        raise ValidationFailed(message, {field: [message]})


def install(app: Flask) -> None:
    """Wire the request checks and the header middleware into app."""
    app.before_request(refuse_oversized_body(app))
    app.before_request(check_api_intent)
    app.before_request(refuse_nul_characters)
    # The documented way to wrap a Flask app in WSGI middleware.
    app.wsgi_app = SecurityHeaders(app.wsgi_app, force_https=app.config.get("COKNOW_SECURE_COOKIES", False))  # type: ignore[method-assign]
    proxies = app.config.get("COKNOW_PROXIES", 0)
    if proxies:
        # Outermost, so that pages, Socket.IO and the limits all see the visitor's address and scheme.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
