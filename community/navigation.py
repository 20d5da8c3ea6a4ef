"""The page shell's navigation and the login loader."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request
from flask_babel import get_locale, lazy_gettext as _l
from flask_login import current_user

from community.extensions import login_manager


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy string, translated when rendered
    staff_only: bool = False


# Only sections that are built are in the navigation (every section is built now).
# but join the navigation when they are real.
NAVIGATION = (
    NavItem("ideas.index", _l("Ideas")),
    NavItem("beta.index", _l("Beta")),
    NavItem("forum.index", _l("Forum")),
    NavItem("kb.index", _l("Help center")),
    NavItem("chat.page", _l("Chat")),
    NavItem("insights.index", _l("Insights"), staff_only=True),
    NavItem("customers.index", _l("Customers"), staff_only=True),
    NavItem("capture.gaps", _l("Knowledge gaps"), staff_only=True),
    NavItem("support.console", _l("Support console"), staff_only=True),
    NavItem("integrations.index", _l("Integrations"), staff_only=True),
)


@login_manager.user_loader
def _load_user(cookie_id: str):
    from community.auth.sessions import load_user

    return load_user(cookie_id)


def register(app: Flask) -> None:
    """Expose the navigation to every template."""
    login_manager.login_message = _l("Please log in to see this page.")

    @app.context_processor
    def _nav():
        is_staff = current_user.is_authenticated and current_user.is_staff
        items = [item for item in NAVIGATION if is_staff or not item.staff_only]
        current = request.endpoint or ""
        unread = 0
        if current_user.is_authenticated:
            from community.notifications.services import unread_count

            unread = unread_count(current_user.id)
        return {
            "unread_notifications": unread,
            "get_locale": get_locale,
            "nav_items": items,
            "nav_current": current.split(".")[0],
            "nav_endpoint": current,
            "nav_staff_current": any(item.staff_only and item.endpoint == current for item in items),
            "site_name": app.config["COKNOW_SITE_NAME"],
        }
