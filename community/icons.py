"""Inline SVG icons served with the app: they render without any emoji font installed."""
from __future__ import annotations

from flask import Flask
from markupsafe import Markup, escape

# 24x24 outlines drawn with the text colour; written for CoKnow.
_PATHS = {
    "chat": '<path d="M4 5h16v11H10l-6 4z"/>',
    "thumbs-up": '<path d="M7 10v10H4V10z"/><path d="M7 10l4-7c1.6 0 2.6 1.1 2.3 2.7L12.7 9H19a2 2 0 0 1 2 2.3'
                 'l-1.3 7A2 2 0 0 1 17.7 20H7"/>',
    "thumbs-down": '<g transform="rotate(180 12 12)"><path d="M7 10v10H4V10z"/><path d="M7 10l4-7c1.6 0 2.6 1.1'
                   ' 2.3 2.7L12.7 9H19a2 2 0 0 1 2 2.3l-1.3 7A2 2 0 0 1 17.7 20H7"/></g>',
    "bell": '<path d="M6 16v-5a6 6 0 0 1 12 0v5l2 2H4z"/><path d="M10 20a2 2 0 0 0 4 0"/>',
    "check": '<path d="M5 12l5 5L20 7"/>',
    "close": '<path d="M6 6l12 12M18 6L6 18"/>',
    "search": '<circle cx="11" cy="11" r="7"/><path d="M20 20l-4-4"/>',
}


def icon(name: str, label: str | None = None, size: int = 18) -> Markup:
    """An icon as inline SVG; with a label it is announced, without it is decoration."""
    paths = _PATHS[name]
    a11y = f'role="img" aria-label="{escape(label)}"' if label else 'aria-hidden="true" focusable="false"'
    # The paths are our own constants and the label is escaped.
    return Markup(  # noqa: S704
        f'<svg class="icon icon-{name}" width="{size}" height="{size}" viewBox="0 0 24 24" fill="none" '
        f'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" {a11y}>'
        f"{paths}</svg>"
    )


def register(app: Flask) -> None:
    """Make icon() available to every template."""
    app.jinja_env.globals["icon"] = icon
