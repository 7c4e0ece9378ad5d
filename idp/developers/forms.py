"""Forms of the developer portal (Flask-WTF: CSRF on every one).

A client's metadata follows the rules of ``idp.clients``: the form only splits
the URI lists into lines, checks each line with the same functions (so every
bad line is named at its field at once), and turns a ``ClientRegistrationError``
into a sentence at the field it names. The portal offers no way to set what
only the operator decides (first-party, resource server, grant types).
"""

import re

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from idp import clients
from idp.forms import Form
from idp.grants.claims import scope_label
from idp.models.client import PUBLIC_AUTH_METHOD
from idp.models.client import SECRET_AUTH_METHODS

WEB, NATIVE = "web", "native"
#: Seconds the old secret keeps working after a rotation, as offered.
GRACE_CHOICES = [SelectChoice("0", _l("Azonnal megszűnik")), SelectChoice("3600", _l("1 óráig")),
                 SelectChoice("86400", _l("24 óráig")), SelectChoice("604800", _l("7 napig"))]
DEFAULT_GRACE = "86400"
TYPE_CHOICES = [SelectChoice(WEB, _l("Webalkalmazás szerveroldali titkos kulccsal")),
                SelectChoice(NATIVE, _l("Egyoldalas (böngészőben futó), mobil- vagy asztali alkalmazás: titkos "
                                        "kulcs nélkül, PKCE-vel"))]
#: How a web app's server sends its secret (RFC 6749 §2.3.1); a PKCE app sends none.
AUTH_CHOICES = [SelectChoice("client_secret_basic", _l("HTTP Basic fejlécben (client_secret_basic, ajánlott)")),
                SelectChoice("client_secret_post", _l("A kérés törzsében (client_secret_post)"))]

CHOOSE = _l("Válasszon a felsoroltak közül.")
REDIRECT_RULE = _l("Átirányítási cím: https:// kezdetű teljes cím (a saját gépen http://localhost vagy "
                   "http://127.0.0.1 is lehet), # utáni rész, * és felhasználónév nélkül, ékezetes betű és "
                   "szóköz nélkül (ezeket százalékos kódolással kell megadni). Natív alkalmazásnál saját séma is lehet, "
                   "például com.example.app:/callback. Erre a belépési szolgáltatásra nem mutathat.")
WEB_RULE = _l("Adjon meg egy https:// kezdetű teljes webcímet (a saját gépen http://localhost is lehet), "
              "legfeljebb 2000 karakterben, ékezetes betű és szóköz nélkül.")
#: ``ClientRegistrationError.field`` → (the form field, the sentence shown there).
MESSAGES = {
    "client_name": ("client_name", _l("Adjon meg egy 1–200 karakteres nevet, sortörés és vezérlőkarakter "
                                      "nélkül.")),
    "client_metadata": ("redirect_uris", _l("Adjon meg legalább egy átirányítási címet.")),
    "redirect_uris": ("redirect_uris", REDIRECT_RULE),
    "post_logout_redirect_uris": ("post_logout_redirect_uris", REDIRECT_RULE),
    "scope": ("scope", _l("Csak a felsorolt hatókörök közül választhat.")),
    "token_endpoint_auth_method": ("token_endpoint_auth_method", CHOOSE),
    "grant_types": ("app_type", CHOOSE),
    **{field: (field, WEB_RULE) for field in ("logo_uri", "client_uri", "policy_uri", "tos_uri",
                                              "backchannel_logout_uri")},
}
NEWLINE = re.compile(r"\r\n|\r|\n")


def lines(text):
    """The non-empty lines of a textarea. Only real line breaks split (not the
    other characters ``str.splitlines`` takes for one, which the rules refuse)."""
    return [line.strip(" \t") for line in NEWLINE.split(text or "") if line.strip(" \t")]


def shown(value, limit=80):
    """A refused value quoted in an error: invisible characters made visible, long ones cut."""
    value = "".join(c if c.isprintable() else "\ufffd" for c in value)
    return value if len(value) <= limit else value[:limit] + "…"


class Choice(RadioField):
    """Radio buttons; a value not offered (a crafted form) is a field error in the page's language."""

    def pre_validate(self, form):
        if not any(self.data == value for value, *_ in self.iter_choices()):
            raise ValidationError(str(CHOOSE))


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        pass  # unknown scopes are idp.clients' to refuse (its error names the field)


class ClientForm(Form):
    client_name = StringField(_l("Az alkalmazás neve"), render_kw={"autocomplete": "off", "maxlength": 200})
    app_type = Choice(_l("Az alkalmazás típusa"), default=WEB, choices=TYPE_CHOICES)
    token_endpoint_auth_method = Choice(_l("A titkos kulcs küldése a token végpontnak"), choices=AUTH_CHOICES,
                                        default="client_secret_basic")
    redirect_uris = TextAreaField(_l("Átirányítási címek (redirect URI)"),
                                  render_kw={"rows": 3, "spellcheck": "false", "autocapitalize": "none"})
    post_logout_redirect_uris = TextAreaField(_l("Kijelentkezés utáni átirányítási címek"),
                                              render_kw={"rows": 2, "spellcheck": "false",
                                                         "autocapitalize": "none"})
    scope = Checkboxes(_l("Kért hatókörök (scope)"), default=["openid"])
    logo_uri = StringField(_l("Logó címe"))
    client_uri = StringField(_l("Honlap"))
    policy_uri = StringField(_l("Adatkezelési tájékoztató"))
    tos_uri = StringField(_l("Felhasználási feltételek"))
    backchannel_logout_uri = StringField(_l("Háttércsatornás kijelentkezési cím (back-channel logout)"))

    URI_FIELDS = ("logo_uri", "client_uri", "policy_uri", "tos_uri", "backchannel_logout_uri")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope.choices = [SelectChoice(s, scope_label(s)) for s in current_app.config["SCOPES"]]
        for name in self.URI_FIELDS:
            self[name].render_kw = {"inputmode": "url", "autocomplete": "off", "spellcheck": "false",
                                    "autocapitalize": "none", "placeholder": "https://"}

    @classmethod
    def of(cls, client):
        """The form filled in with ``client``'s registration (for the GET of its page)."""
        return cls(formdata=None, data={
            "client_name": client.client_name, "app_type": NATIVE if client.is_public else WEB,
            "token_endpoint_auth_method": (client.token_endpoint_auth_method
                                           if client.token_endpoint_auth_method in SECRET_AUTH_METHODS
                                           else "client_secret_basic"),
            "redirect_uris": "\n".join(client.redirect_uris),
            "post_logout_redirect_uris": "\n".join(client.post_logout_redirect_uris or []),
            "scope": client.scope.split(), **{name: getattr(client, name) or "" for name in cls.URI_FIELDS}})

    @property
    def is_public(self):
        return self.app_type.data == NATIVE

    def metadata(self):
        """The form as keyword arguments of ``register_client`` / ``update_client``."""
        auth_method = PUBLIC_AUTH_METHOD if self.is_public else self.token_endpoint_auth_method.data
        return {"name": self.client_name.data or "", "auth_method": auth_method,
                "redirect_uris": lines(self.redirect_uris.data),
                "post_logout_redirect_uris": lines(self.post_logout_redirect_uris.data),
                "scope": " ".join(self.scope.data or []),
                **{name: (self[name].data or "").strip(" \t") for name in self.URI_FIELDS}}

    def refuse(self, error):
        """Show ``idp.clients``' ``ClientRegistrationError`` at the field it names."""
        name, message = MESSAGES.get(error.field, (None, None))
        if name is None:
            self.form_errors.append(gettext("Az adatok nem felelnek meg a szabályoknak."))
        elif str(message) not in self[name].errors:
            self[name].errors.append(str(message))

    # --- each line and each URI under the rules of idp.clients ------------------------------
    def validate_scope(self, field):
        if not field.data:
            raise ValidationError(gettext("Válasszon legalább egy hatókört."))

    def validate_redirect_uris(self, field):
        self._check_lines(field, lambda uri: clients.check_redirect_uri(uri, self.is_public, field.name))

    def validate_post_logout_redirect_uris(self, field):
        self._check_lines(field, lambda uri: clients.check_redirect_uri(uri, self.is_public, field.name))

    def _check_lines(self, field, check):
        refused = []
        for uri in lines(field.data):
            try:
                check(uri)
            except clients.ClientRegistrationError:
                refused.append(gettext("Nem használható: „%(uri)s”", uri=shown(uri)))
        if refused:
            field.errors.extend(refused)
            raise ValidationError(str(REDIRECT_RULE))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for name in self.URI_FIELDS:
            try:
                clients.check_web_uri((self[name].data or "").strip(" \t"), name)
            except clients.ClientRegistrationError:
                self[name].errors = [*self[name].errors, str(WEB_RULE)]
                valid = False
        return valid


class RotateForm(Form):
    grace = Choice(_l("Meddig működjön még a régi titkos kulcs?"), choices=GRACE_CHOICES, default=DEFAULT_GRACE)
    submit = SubmitField(_l("Új titkos kulcs"))


class ActionForm(Form):
    """A button that changes something: CSRF and nothing else."""

    submit = SubmitField()
