"""Forum forms; CSRF comes with FlaskForm."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from community.forum.services import MAX_BODY, MAX_REASON, MAX_TITLE


class ThreadForm(FlaskForm):
    category = SelectField(_l("Category"), validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE)])
    body = TextAreaField(_l("Your question or topic (Markdown)"), validators=[DataRequired(), Length(max=MAX_BODY)])
    tags = StringField(_l("Tags (comma separated, optional)"), validators=[Optional(), Length(max=200)])
    # The chat message this thread was asked from ("Ask the community"); checked against the poster's chat.
    from_message = HiddenField(validators=[Optional(), Length(max=20)])


class EditThreadForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE)])
    body = TextAreaField(_l("Text (Markdown)"), validators=[DataRequired(), Length(max=MAX_BODY)])
    tags = StringField(_l("Tags (comma separated, optional)"), validators=[Optional(), Length(max=200)])


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply (Markdown)"), validators=[DataRequired(), Length(max=MAX_BODY)])


class FlagForm(FlaskForm):
    reason = StringField(_l("What is wrong with this post?"), validators=[DataRequired(), Length(max=MAX_REASON)])


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description (Markdown)"), validators=[Optional(), Length(max=2000)])
    staff_only = BooleanField(_l("Staff only (invisible to customers)"))
    position = IntegerField(_l("Position"), default=0, validators=[Optional(), NumberRange(min=0, max=1000)])
