"""The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2): validate,
decide whether the user must log in or consent, pause or issue the code.

Errors before the client and its redirect URI are proven are shown as a page
and never redirected (RFC 6749 §4.1.2.1); later ones go back to the client with
``state`` and ``iss`` (RFC 9207).
"""

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import current_app
from flask import redirect
from flask import render_template

from idp.oidc.server import authorization
from idp.extensions import db
from idp.models.principal import KIND_ACCOUNT
from idp.models.session import Consent
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import create_interaction
from idp.oidc.interactions import finish_interaction
from idp.oidc.interactions import login_page_url
from idp.oidc.sessions import current_login
from idp.oidc.sessions import remember_locale
from idp.services import get_services

SUPPORTED_PROMPTS = {"none", "login", "consent", "select_account"}
ACR_TWO_FACTORS = "urn:telekom:acr:2fa"


class AuthorizeError(OAuth2Error):
    """An error to send back to the client's (already validated) redirect URI."""

    def __init__(self, error, description, redirect_uri):
        super().__init__(description=description, redirect_uri=redirect_uri)
        self.error = error


def error_page(message, status=400):
    return render_template("authorize_error.html", message=message), status


def redirect_error(error: OAuth2Error, state):
    params = [("error", error.error)]
    if error.description:
        params.append(("error_description", error.description))
    if state:
        params.append(("state", state))
    params.append(("iss", current_app.config["ISSUER"]))
    return redirect(add_params_to_uri(error.redirect_uri, params), 302)


def process_authorization(oauth_request, interaction=None):
    data = oauth_request.payload.data
    state = data.get("state")
    try:
        grant = authorization.get_authorization_grant(oauth_request)
        grant.validate_no_multiple_request_parameter(oauth_request)
        redirect_uri = grant.validate_authorization_request()
    except OAuth2Error as error:
        db.session.rollback()
        if error.redirect_uri:
            return redirect_error(error, state)
        current_app.logger.info("authorization request refused: %s", error.description)
        return error_page(None)
    if "openid" in (scope_to_list(oauth_request.scope) or []) and not data.get("redirect_uri"):
        return error_page(None)
    remember_locale(data.get("ui_locales"))
    try:
        check_oidc_parameters(data, redirect_uri)
        return decide(grant, oauth_request, redirect_uri, interaction)
    except OAuth2Error as error:
        db.session.rollback()
        return redirect_error(error, state)


def check_oidc_parameters(data, redirect_uri):
    if data.get("request"):
        raise AuthorizeError("request_not_supported", "Request objects are not supported", redirect_uri)
    if data.get("request_uri"):
        raise AuthorizeError("request_uri_not_supported", "request_uri is not supported", redirect_uri)
    if data.get("response_mode") not in (None, "", "query"):
        raise AuthorizeError("invalid_request", "Only response_mode=query is supported", redirect_uri)
    prompts = set((data.get("prompt") or "").split())
    if not prompts <= SUPPORTED_PROMPTS or ("none" in prompts and len(prompts) > 1):
        raise AuthorizeError("invalid_request", "Invalid prompt value", redirect_uri)
    max_age = data.get("max_age")
    if max_age is not None and (not max_age.isdigit() or len(max_age) > 10):
        raise AuthorizeError("invalid_request", "max_age must be a non-negative integer", redirect_uri)


def decide(grant, oauth_request, redirect_uri, interaction):
    data = oauth_request.payload.data
    client = oauth_request.client
    prompts = set((data.get("prompt") or "").split())
    login, principal = current_login()
    fresh = interaction is not None and login is not None and interaction.login_session_id == login.id

    if principal is None or (not fresh and login_required_again(login, data, prompts)):
        if "none" in prompts:
            raise AuthorizeError("login_required", "The user must log in", redirect_uri)
        return pause(oauth_request, client, "login", interaction, login_page_url)
    if principal.kind == KIND_ACCOUNT and "company" in (scope_to_list(oauth_request.scope) or []):
        # Company claims belong to a business user: a Telekom account chooses one of
        # its linked business identities first (the login page sends it to the chooser).
        if "none" in prompts:
            raise AuthorizeError("account_selection_required", "A business identity must be chosen",
                                 redirect_uri)
        return pause(oauth_request, client, "login", interaction, login_page_url)

    if needs_consent(client, principal, oauth_request.scope, prompts, interaction):
        if "none" in prompts:
            raise AuthorizeError("consent_required", "The user must consent", redirect_uri)
        return pause(oauth_request, client, "consent", interaction,
                     lambda i: f"/oauth/consent/{i.id}")

    oauth_request.login_session = login
    if interaction is not None and not finish_interaction(interaction):
        return error_page(InteractionError.message)  # a parallel resume took it
    response = authorization.create_authorization_response(
        request=oauth_request, grant_user=principal, grant=grant)
    db.session.commit()
    return response


def login_required_again(login, data, prompts):
    if "login" in prompts or "select_account" in prompts:
        return True
    max_age = data.get("max_age")
    now = get_services().clock.timestamp()
    # OIDC Core §3.1.2.1: max_age=0 is equivalent to prompt=login.
    if max_age is not None and (int(max_age) == 0 or now - login.auth_time > int(max_age)):
        return True
    wanted = (data.get("acr_values") or "").split()
    return ACR_TWO_FACTORS in wanted and login.acr != ACR_TWO_FACTORS


def needs_consent(client, principal, scope, prompts, interaction):
    if interaction is not None and interaction.consent_granted_at is not None:
        return False
    if "consent" in prompts:
        return True
    if client.first_party:
        return False
    consent = Consent.query.filter_by(client_id=client.client_id, principal_kind=principal.kind,
                                      subject=principal.sub).one_or_none()
    granted = set(scope_to_list(consent.scope) if consent else [])
    return not set(scope_to_list(scope) or []) <= granted


def pause(oauth_request, client, prompt, interaction, next_url):
    if interaction is None:
        params = {k: oauth_request.payload.data.get(k) for k in oauth_request.payload.data}
        interaction = create_interaction(client.client_id, params, prompt)
    else:
        interaction.prompt = prompt
        interaction.login_session_id = None if prompt == "login" else interaction.login_session_id
    db.session.commit()
    return redirect(next_url(interaction), 302)

