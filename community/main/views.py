"""The home page and the visitor's language switcher."""
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, render_template, request, url_for

from community.main import bp
from community.pagecache import anonymous_page

LANGUAGE_COOKIE = "coknow_lang"


@bp.get("/")
@anonymous_page
def home():
    return render_template("main/home.html")


@bp.get("/language/<code>")
def set_language(code: str):
    # A GET that only sets the visitor's own display cookie: nothing stored server-side, so a
    # forged link can at worst show someone the other language (no CSRF token needed).
    if code not in current_app.config["COKNOW_LOCALES"]:
        abort(404)
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if not (target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme):
        target = url_for("main.home")
    response = redirect(target)
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    return response
