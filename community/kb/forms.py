"""Staff forms for help-center articles."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from community.kb.services import MAX_BODY, MAX_TITLE


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE)])
    category = SelectField(_l("Category"), choices=[], validate_choice=False)
    body = TextAreaField(_l("Body (Markdown)"), validators=[Length(max=MAX_BODY)])
    questions = TextAreaField(
        _l("Other ways customers ask (one per line)"),
        description=_l("The bot matches these too."),
        validators=[Length(max=20_000)],
    )
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("draft", _l("Draft")), SelectChoice("published", _l("Published")),
                 SelectChoice("archived", _l("Archived"))],
        default="draft",
    )


class LinkGapForm(FlaskForm):
    article = SelectField(_l("Article"), choices=[], validate_choice=False)


class DismissGapForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
