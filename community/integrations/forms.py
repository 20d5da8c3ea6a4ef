"""Forms for API tokens and webhook endpoints."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from community.api.tokens import EXPIRY_DAYS, MAX_NAME


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), description=_l("What will use it, e.g. “Jira sync”."),
                       validators=[DataRequired(), Length(max=MAX_NAME)])
    scopes = CheckboxesField(_l("Scopes"), choices=[], validate_choice=False)
    expires = SelectField(_l("Expires"), default="90",
                          choices=[SelectChoice(str(d), _l("In %(n)d days", n=d)) for d in EXPIRY_DAYS]
                          + [SelectChoice("never", _l("Never"))])


class WebhookForm(FlaskForm):
    url = StringField(_l("Receiver URL"), validators=[DataRequired(), Length(max=500)],
                      description=_l("We POST signed JSON here."))
    description = StringField(_l("Description"), validators=[Length(max=200)])
    events = CheckboxesField(_l("Events"), choices=[], validate_choice=False)


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
