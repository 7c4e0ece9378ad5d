"""Forms of the admin area (Flask-WTF: CSRF on every one)."""

from flask_babel import lazy_gettext as _l
from idp.forms import Form
from wtforms import BooleanField
from wtforms import RadioField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        # Unknown codes are the service's to refuse (with a 403: a crafted form).
        pass


class UserDetailsForm(Form):
    display_name = StringField(_l("Név"), validators=[Length(max=200)], render_kw={"autocomplete": "name"})
    email = StringField(_l("E-mail-cím"), validators=[InputRequired(_l("Adja meg az e-mail-címet.")),
                                                       Length(max=320)],
                        render_kw={"autocomplete": "email", "type": "email"})
    phone = StringField(_l("Mobiltelefonszám"), validators=[InputRequired(_l("Adja meg a mobilszámot.")),
                                                            Length(max=64)],
                        render_kw={"autocomplete": "tel-national", "inputmode": "tel",
                                   "placeholder": "301234567"})
    submit = SubmitField(_l("Mentés"))


class NewUserForm(UserDetailsForm):
    username = StringField(_l("Felhasználónév"), validators=[
        InputRequired(_l("Adja meg a felhasználónevet.")), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"})
    permissions = CheckboxesField(_l("Jogosultságok"))
    submit = SubmitField(_l("Felhasználó létrehozása"))


class ActionForm(Form):
    """A button that changes something: CSRF and nothing else."""

    submit = SubmitField()


class SmsSettingForm(Form):
    sms_login = RadioField(_l("SMS-kód belépéskor"), choices=[
        SelectChoice("on", _l("Bekapcsolva (ajánlott): jelszó után SMS-kód is kell")),
        SelectChoice("off", _l("Kikapcsolva: a jelszó után azonnal belép"))],
        validators=[InputRequired()])
    understood = BooleanField(_l("Megértettem: kikapcsolt SMS-kód mellett egy kiszivárgott jelszó "
                                 "önmagában elég a cég fiókjainak átvételéhez."))
    submit = SubmitField(_l("Mentés"))
