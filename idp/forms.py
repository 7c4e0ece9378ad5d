"""The base of every form: Flask-WTF (CSRF) plus one rule for all fields."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

NUL_MESSAGE = _l("Érvénytelen karaktert tartalmaz.")


class Form(FlaskForm):
    def validate(self, extra_validators=None):
        """A NUL byte is never meant (and PostgreSQL refuses to store or even
        compare it): the field says so, like any other invalid value."""
        valid = super().validate(extra_validators)
        for field in self:
            values = field.data if isinstance(field.data, list) else [field.data]
            if any(isinstance(value, str) and "\x00" in value for value in values):
                field.errors = [*field.errors, NUL_MESSAGE]
                valid = False
        return valid
