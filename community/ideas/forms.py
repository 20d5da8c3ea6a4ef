"""Idea forms; the services re-check every rule, these give early, field-level messages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from community.ideas.services import (
    MAX_BODY, MAX_CATEGORY, MAX_CHANGELOG_TITLE, MAX_COMMENT, MAX_NOTE, MAX_REASON, MAX_TITLE, STATUS_ORDER,
    status_label,
)

TOO_LONG = _l("At most %(max)d characters.")


class IdeaForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE, message=TOO_LONG)],
                        render_kw={"autocomplete": "off", "maxlength": MAX_TITLE})
    body = TextAreaField(_l("Description"), validators=[Optional(), Length(max=MAX_BODY, message=TOO_LONG)],
                         description=_l("Markdown works. Say what you are trying to do and why it matters to you."),
                         render_kw={"rows": 8})
    category = StringField(_l("Category (optional)"), validators=[Optional(), Length(max=MAX_CATEGORY)],
                           render_kw={"list": "idea-categories"})
    tags = StringField(_l("Tags (optional, comma-separated)"), validators=[Optional(), Length(max=300)])


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=MAX_COMMENT, message=TOO_LONG)],
                         description=_l("Markdown works; mention someone with @TheirName."),
                         render_kw={"rows": 4})


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=[])
    reason = TextAreaField(_l("Reason or update (required when declining)"),
                           validators=[Optional(), Length(max=MAX_REASON, message=TOO_LONG)], render_kw={"rows": 2})

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = [(s.value, status_label(s)) for s in STATUS_ORDER]


class VoteForForm(FlaskForm):
    email = EmailField(_l("Customer's e-mail"), validators=[DataRequired(), Length(max=254)])
    note = StringField(_l("Note (where did they ask?)"), validators=[Optional(), Length(max=MAX_NOTE)])


class MergeForm(FlaskForm):
    target_id = StringField(_l("Merge into idea number"), validators=[DataRequired()])


class ChangelogForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_CHANGELOG_TITLE)])
    body = TextAreaField(_l("What changed"), validators=[Optional(), Length(max=MAX_BODY, message=TOO_LONG)],
                         render_kw={"rows": 6})
    ideas = SelectMultipleField(_l("Ideas this delivers"), coerce=int, choices=[], validate_choice=True)
