"""The consent page (``/oauth/consent/<interaction>``): a third-party client
asks to see what its scopes reveal. The page shows the client (name, logo,
homepage, privacy policy and terms, who registered it) and, per scope, what it
reveals with the values it would share; the answer is remembered per
principal and client (a wider scope set asks again; ``prompt=consent`` always
asks). First-party clients never get here (``idp.oidc.authorize``)."""

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask_babel import lazy_gettext
from wtforms import SubmitField

from idp.extensions import db
from idp.forms import Form
from idp.grants.claims import scope_details
from idp.grants.scopes import granted_scope
from idp.models.principal import find_principal
from idp.models.session import Consent
from idp.oidc.authorize import AuthorizeError
from idp.oidc.authorize import error_page
from idp.oidc.authorize import redirect_error
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import finish_interaction
from idp.oidc.interactions import load_interaction
from idp.oidc.interactions import record_consent
from idp.oidc.interactions import resume_url
from idp.oidc.server import StoredAuthorizationRequest
from idp.oidc.server import authorization
from idp.oidc.sessions import current_login
from idp.services import get_services

bp = Blueprint("consent", __name__)

#: The client's logo may live on its own site (https): the only page that shows outside images.
CONSENT_CSP = ("default-src 'self'; img-src 'self' data: https:; style-src 'self'; frame-ancestors 'none'; "
               "form-action 'self' http: https:")


class ConsentForm(Form):
    allow = SubmitField(lazy_gettext("Engedélyezem"))
    deny = SubmitField(lazy_gettext("Elutasítom"))


def registered_by(client):
    """Who registered the client, in words for the consent page."""
    if client.owner_sub:
        owner = find_principal(client.owner_kind, client.owner_sub)
        if owner is not None:
            return owner.name if owner.name and owner.name != owner.identifier else owner.identifier
    if client.registration_access_token_hash:
        return str(lazy_gettext("a fejlesztő rendszere (dinamikus regisztráció)"))
    return str(lazy_gettext("a Telekom"))


@bp.route("/oauth/consent/<interaction_id>", methods=["GET", "POST"])
def consent(interaction_id):
    try:
        interaction = load_interaction(interaction_id)
    except InteractionError as error:
        return error_page(error.message)
    login, principal = current_login()
    client = authorization.query_client(interaction.client_id)
    if principal is None or client is None or interaction.prompt != "consent":
        return error_page(InteractionError.message)
    scope = granted_scope(client, StoredAuthorizationRequest(interaction.params).payload.scope, "authorization_code")
    form = ConsentForm()
    if form.validate_on_submit():
        if form.deny.data:
            if not finish_interaction(interaction):
                return error_page(InteractionError.message)
            db.session.commit()
            error = AuthorizeError("access_denied", "The user denied the request",
                                   interaction.params.get("redirect_uri") or client.get_default_redirect_uri())
            return redirect_error(error, interaction.params.get("state"))
        if record_consent(interaction):
            remember_consent(client, principal, scope.split())
            db.session.commit()
        return redirect(resume_url(interaction))
    response = render_template("consent.html", form=form, client=client, principal=principal,
                               scopes=scope_details(principal, scope), registered_by=registered_by(client))
    return response, 200, {"Content-Security-Policy": CONSENT_CSP}


def remember_consent(client, principal, scopes):
    clock = get_services().clock
    row = Consent.query.filter_by(client_id=client.client_id, principal_kind=principal.kind,
                                  subject=principal.sub).one_or_none()
    if row is None:
        row = Consent(client_id=client.client_id, principal_kind=principal.kind, subject=principal.sub,
                      scope="", updated_at=clock.now())
        db.session.add(row)
    row.scope = " ".join(sorted(set(row.scope.split()) | set(scopes)))
    row.updated_at = clock.now()
    get_services().audit.record("oauth.consent_granted", actor=principal.sub, subject=principal.sub,
                                client_id=client.client_id, scope=row.scope)
