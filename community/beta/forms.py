"""Beta forms; the services re-check every rule, these give early, field-level messages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    MultipleFileField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from community.beta.services import (
    MAX_COMMENT,
    MAX_NAME,
    MAX_SHORT,
    MAX_TEXT,
    MAX_TITLE,
    MAX_URL,
    MAX_VERSION,
)

TOO_LONG = _l("At most %(max)d characters.")


class ProgramForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=MAX_NAME, message=TOO_LONG)])
    description = TextAreaField(_l("Description (Markdown)"), validators=[Optional(), Length(max=MAX_TEXT)],
                                render_kw={"rows": 6})
    enrollment = SelectField(_l("Who can join"), choices=[SelectChoice("open", _l("Anyone can apply")),
                                                         SelectChoice("invite_only", _l("By invitation only"))])
    status = SelectField(_l("Status"), choices=[SelectChoice("draft", _l("Draft (staff only)")),
                                                SelectChoice("recruiting", _l("Recruiting")),
                                                SelectChoice("running", _l("Running")), SelectChoice("closed", _l("Closed"))],
                         default="recruiting")
    capacity = IntegerField(_l("Capacity (empty for no limit)"), validators=[Optional(), NumberRange(1, 100_000)])
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    terms = TextAreaField(_l("Terms testers accept (optional, Markdown)"), validators=[Optional(), Length(max=MAX_TEXT)],
                          render_kw={"rows": 4})
    ideas = SelectMultipleField(_l("Ideas this program delivers"), coerce=int, choices=[], validate_choice=True)


class ApplyForm(FlaskForm):
    motivation = TextAreaField(_l("Why do you want to join? (optional)"), validators=[Optional(), Length(max=2000)],
                               render_kw={"rows": 3})
    accept_terms = BooleanField(_l("I accept the program's terms"))


class InviteForm(FlaskForm):
    email = EmailField(_l("Invite by e-mail"), validators=[DataRequired(), Length(max=254)])


class BuildForm(FlaskForm):
    version = StringField(_l("Version"), validators=[DataRequired(), Length(max=MAX_VERSION, message=TOO_LONG)])
    notes = TextAreaField(_l("Release notes (Markdown)"), validators=[Optional(), Length(max=MAX_TEXT)],
                          render_kw={"rows": 6})
    download_url = URLField(_l("Download or access link"), validators=[Optional(), Length(max=MAX_URL)])


class ReportForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[SelectChoice("bug", _l("Bug")), SelectChoice("usability", _l("Usability")),
                                            SelectChoice("suggestion", _l("Suggestion")), SelectChoice("praise", _l("Praise"))])
    severity = SelectField(_l("Severity (bugs)"), choices=[SelectChoice("", _l("—")),
                                                           SelectChoice("critical", _l("Critical: I can't use it")),
                                                           SelectChoice("major", _l("Major: a feature is broken")),
                                                           SelectChoice("minor", _l("Minor: it works, but wrongly")),
                                                           SelectChoice("trivial", _l("Trivial: cosmetic"))],
                           validate_choice=False)  # the service says which kinds need one
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE, message=TOO_LONG)])
    steps = TextAreaField(_l("Steps to reproduce"), validators=[Optional(), Length(max=MAX_TEXT)], render_kw={"rows": 4})
    expected = TextAreaField(_l("What you expected"), validators=[Optional(), Length(max=MAX_TEXT)], render_kw={"rows": 2})
    actual = TextAreaField(_l("What happened"), validators=[Optional(), Length(max=MAX_TEXT)], render_kw={"rows": 3})
    os = StringField(_l("Operating system"), validators=[Optional(), Length(max=MAX_SHORT)])
    device = StringField(_l("Device"), validators=[Optional(), Length(max=MAX_SHORT)])
    app_version = StringField(_l("App version"), validators=[Optional(), Length(max=40)])
    attachments = MultipleFileField(_l("Screenshots and logs (PNG, JPEG, GIF, WebP, .txt, .log)"),
                                    render_kw={"accept": "image/png,image/jpeg,image/gif,image/webp,.txt,.log"})


class StateForm(FlaskForm):
    state = SelectField(_l("Move to"), choices=[])
    fixed_in_build_id = SelectField(_l("Fixed in build"), choices=[], validate_choice=False)
    note = StringField(_l("Note to the reporters (optional)"), validators=[Optional(), Length(max=2000)])


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=MAX_COMMENT, message=TOO_LONG)],
                         render_kw={"rows": 3})


class MergeForm(FlaskForm):
    target_id = IntegerField(_l("Merge into report number"), validators=[DataRequired()])


class KnownIssueForm(FlaskForm):
    title = StringField(_l("Public title"), validators=[DataRequired(), Length(max=MAX_TITLE, message=TOO_LONG)])
    body = TextAreaField(_l("What testers see"), validators=[DataRequired(), Length(max=MAX_TEXT)], render_kw={"rows": 3})
    workaround = TextAreaField(_l("Workaround"), validators=[Optional(), Length(max=MAX_TEXT)], render_kw={"rows": 2})
    public = BooleanField(_l("Public: everyone can read it, not only this program's testers"))
    builds = SelectMultipleField(_l("Affected builds"), coerce=int, choices=[], validate_choice=True)


class LinkIdeaForm(FlaskForm):
    idea_id = IntegerField(_l("Idea number"), validators=[Optional()])


class SurveyForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    questions = TextAreaField(
        _l("Questions, one a line"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 6},
        description=_l("Start each line with its kind: “rating: How stable is it?”, “single: Which do you use? | "
                       "Tasks | Page”, “multiple: Where? | Phone | Tablet”, “text: Anything else?”."),
    )
