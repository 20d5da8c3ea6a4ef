"""Customer-side forms; the services re-check every rule, these give early, field-level messages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DecimalField, IntegerField, PasswordField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional


class CrmImportForm(FlaskForm):
    file = FileField(_l("CRM export (CSV)"), validators=[FileRequired(_l("Choose a CSV file."))],
                     description=_l("Columns: email (required), name, company, plan, annual_value, signup_date "
                                    "(YYYY-MM-DD); any other column is kept as an attribute."),
                     render_kw={"accept": ".csv,text/csv"})
    create_missing = BooleanField(_l("Create invited accounts for unknown e-mails (else they are reported)"))


class SegmentRulesForm(FlaskForm):
    high_value = DecimalField(_l("High value (yearly)"), places=0,
                              validators=[InputRequired(), NumberRange(min=0)])
    engaged_activity = IntegerField(_l("Engaged: activities in 90 days, at least"),
                                    validators=[InputRequired(), NumberRange(min=0)])
    quiet_activity = IntegerField(_l("Quiet: activities in 90 days, at most"),
                                  validators=[InputRequired(), NumberRange(min=0)])
    high_support_load = IntegerField(_l("High support load: handoffs and thumbs-down in 90 days, at least"),
                                     validators=[InputRequired(), NumberRange(min=0)])
    weight_most_valuable = DecimalField(_l("Vote weight: most valuable"), places=1,
                                        validators=[InputRequired(), NumberRange(min=0, max=100)])
    weight_growth_potential = DecimalField(_l("Vote weight: growth potential"), places=1,
                                           validators=[InputRequired(), NumberRange(min=0, max=100)])
    weight_at_risk = DecimalField(_l("Vote weight: at risk"), places=1,
                                  validators=[InputRequired(), NumberRange(min=0, max=100)])
    weight_ordinary = DecimalField(_l("Vote weight: ordinary"), places=1,
                                   validators=[InputRequired(), NumberRange(min=0, max=100)])
    plan_values = TextAreaField(_l("Yearly value of each plan (when the CRM gives no annual value)"),
                                validators=[Optional()], description=_l("One per line: plan = value"),
                                render_kw={"rows": 5})


class RecomputeForm(FlaskForm):
    """Just the CSRF token: start a recomputation now."""


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[Optional()])
    confirm = BooleanField(_l("I understand that my account and private data are erased for good"),
                           validators=[InputRequired(_l("Tick the box to confirm."))])
