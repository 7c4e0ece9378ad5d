"""The Telekom account pages' forms (Flask-WTF: CSRF on every one)."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms import RadioField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import InputRequired
from wtforms.validators import Length

from idp.forms import Form
from idp.pages.forms import NEXT

USERNAME_HINT = _l("E-mail-cím vagy mobilszám")


class AccountLoginForm(Form):
    username = StringField(_l("E-mail-cím vagy mobilszám"), validators=[
        InputRequired(_l("Adja meg az e-mail-címét vagy a mobilszámát.")),
        Length(max=320, message=_l("Túl hosszú."))],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false",
                   "placeholder": "nev@pelda.hu"})
    password = PasswordField(_l("Jelszó"), validators=[
        InputRequired(_l("Adja meg a jelszavát.")), Length(max=1024, message=_l("A jelszó túl hosszú."))],
        render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Belépés"))


class SignupForm(Form):
    username = StringField(_l("E-mail-cím vagy mobilszám"), validators=[
        InputRequired(_l("Adja meg az e-mail-címét vagy a mobilszámát.")),
        Length(max=320, message=_l("Túl hosszú."))],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"})
    name = StringField(_l("Név"), validators=[Length(max=200, message=_l("Túl hosszú."))],
                       render_kw={"autocomplete": "name"})
    password = PasswordField(_l("Jelszó"), validators=[InputRequired(_l("Adja meg a jelszót."))],
                             render_kw={"autocomplete": "new-password", "minlength": "12", "maxlength": "128"})
    repeat = PasswordField(_l("Jelszó még egyszer"), validators=[InputRequired(_l("Írja be a jelszót még egyszer."))],
                           render_kw={"autocomplete": "new-password", "maxlength": "128"})
    submit = SubmitField(_l("Fiók létrehozása"))


class CodeForm(Form):
    code = StringField(_l("Kapott kód"), validators=[
        InputRequired(_l("Adja meg a kapott kódot.")), Length(max=32, message=_l("A kód 6 számjegyből áll."))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "maxlength": "8"})
    submit = SubmitField(NEXT)


class ResendForm(Form):
    resend = SubmitField(_l("Nem kaptam meg a kódot"))


class ButtonForm(Form):
    """A POST with only its CSRF token (link, unlink, revoke, sign out everywhere, later)."""

    submit = SubmitField(NEXT)


class ChooseForm(Form):
    identity = RadioField(_l("Melyik azonosítójával lép be?"),
                          validators=[InputRequired(_l("Válasszon azonosítót."))])
    submit = SubmitField(NEXT)


class NameForm(Form):
    name = StringField(_l("Név"), validators=[InputRequired(_l("Adja meg a nevét.")),
                                              Length(max=200, message=_l("Túl hosszú."))],
                       render_kw={"autocomplete": "name"})
    submit = SubmitField(_l("Mentés"))


class ContactForm(Form):
    value = StringField(_l("Új e-mail-cím vagy mobilszám"), validators=[
        InputRequired(_l("Adja meg az e-mail-címet vagy a mobilszámot.")),
        Length(max=320, message=_l("Túl hosszú."))],
        render_kw={"autocapitalize": "none", "spellcheck": "false"})
    submit = SubmitField(_l("Kód küldése"))


class PasswordChangeForm(Form):
    current = PasswordField(_l("Jelenlegi jelszó"), render_kw={"autocomplete": "current-password"})
    password = PasswordField(_l("Új jelszó"), validators=[InputRequired(_l("Adja meg az új jelszót."))],
                             render_kw={"autocomplete": "new-password", "minlength": "12", "maxlength": "128"})
    repeat = PasswordField(_l("Új jelszó még egyszer"),
                           validators=[InputRequired(_l("Írja be az új jelszót még egyszer."))],
                           render_kw={"autocomplete": "new-password", "maxlength": "128"})
    submit = SubmitField(_l("Jelszó mentése"))
