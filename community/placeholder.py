"""An honest "coming soon" page for sections a later release fills."""
from flask import render_template


def coming_soon(title: str, summary: str):
    """Render the placeholder page for a section that is not built yet."""
    return render_template("coming_soon.html", title=title, summary=summary)
