"""The login pages' forms (Flask-WTF: CSRF on every one)."""

from flask_babel import lazy_gettext as _l
from idp.forms import Form
from wtforms import PasswordField
from wtforms import RadioField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length

NEXT = _l("Tovább")


class IdentifierForm(Form):
    identifier = StringField(_l("Azonosító"), validators=[
        InputRequired(_l("Adja meg az azonosítóját.")),
        Length(max=130, message=_l("Az azonosító túl hosszú."))],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false",
                   "placeholder": "admin@ceg"})
    submit = SubmitField(NEXT)


class PasswordForm(Form):
    password = PasswordField(_l("Jelszó"), validators=[
        InputRequired(_l("Adja meg a jelszavát.")),
        Length(max=1024, message=_l("A jelszó túl hosszú."))],
        render_kw={"autocomplete": "current-password"})
    submit = SubmitField(NEXT)


class CodeForm(Form):
    code = StringField(_l("SMS-ben kapott kód"), validators=[
        InputRequired(_l("Adja meg a kapott kódot.")),
        Length(max=32, message=_l("A kód 6 számjegyből áll."))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*",
                   "maxlength": "8"})
    submit = SubmitField(NEXT)


def code_form(channel="sms"):
    """The code field says where the code came from: "Nem tudom a jelszavam" can send it by email."""
    form = CodeForm()
    if channel == "email":
        form.code.label.text = _l("E-mailben kapott kód")
    return form


class ResendForm(Form):
    resend = SubmitField(_l("Nem kaptam meg az SMS-t"))


class LogoutForm(Form):
    """Only the CSRF token: logging out is a POST no other site can make the browser send."""


class NewPasswordForm(Form):
    password = PasswordField(_l("Új jelszó"), validators=[InputRequired(_l("Adja meg az új jelszót."))],
                             render_kw={"autocomplete": "new-password", "minlength": "12",
                                        "maxlength": "128"})
    repeat = PasswordField(_l("Új jelszó még egyszer"),
                           validators=[InputRequired(_l("Írja be az új jelszót még egyszer."))],
                           render_kw={"autocomplete": "new-password", "maxlength": "128"})
    submit = SubmitField(_l("Jelszó mentése"))


class ResetChannelForm(Form):
    channel = RadioField(_l("Hová küldjük a kódot?"), choices=[SelectChoice("email"), SelectChoice("sms")],
                         validators=[InputRequired(_l("Válassza ki, hová küldjük a kódot."))])
    submit = SubmitField(_l("Kód küldése"))


class PhoneNumberForm(Form):
    number = StringField(_l("Mobiltelefonszám"), validators=[
        InputRequired(_l("Adja meg a mobiltelefonszámát.")),
        Length(max=64, message=_l("A telefonszám túl hosszú."))],
        render_kw={"autocomplete": "tel-national", "inputmode": "tel", "placeholder": "301234567"})
    submit = SubmitField(NEXT)


class RequestSmsForm(Form):
    submit = SubmitField(_l("Kérem az SMS-t"))


class PhoneCodeForm(CodeForm):
    submit = SubmitField(_l("Belépek"))
