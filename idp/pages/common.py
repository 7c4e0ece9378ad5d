"""What the login pages share: the journey context of this browser, where a
journey returns to, rendering, and the messages of the code steps.

The pages are thin: parse the form, call the journey, render or redirect.
Every rule (throttles, lockout, the SMS step) lives in the journeys; the
paused authorization request is reached only through the interaction seam.
"""

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_babel import ngettext

from idp.extensions import db
from idp.flows.base import FlowContext
from idp.flows.base import FlowError
from idp.flows.choose import IdentityChoice
from idp.flows.choose import NoBusinessIdentityError
from idp.flows.linking import offer_for
from idp.flows.result import ACR_TWO_FACTORS
from idp.flows.result import LoginResult
from idp.models.principal import KIND_ACCOUNT
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import browser_binding
from idp.oidc.interactions import complete_login
from idp.oidc.interactions import current_login
from idp.oidc.interactions import load_interaction
from idp.oidc.interactions import remember_proof
from idp.oidc.interactions import start_login
from idp.services import get_services

INTERACTION, NEXT, PROOF = "interaction:", "next:", "proof:"


def context():
    return FlowContext(get_services(), current_app.config, request.remote_addr or "unknown", browser_binding())


# --- where a journey returns to ------------------------------------------------------
def interaction_param():
    """The paused authorization request this login serves, if any (validated)."""
    interaction_id = request.args.get("interaction")
    if not interaction_id:
        return None
    load_interaction(interaction_id)
    return interaction_id


def safe_next(value):
    """A local path to return to after a login without an authorization request
    (``/login?next=/admin``); anything that could leave the site is dropped."""
    if (not value or len(value) > 512 or not value.startswith("/") or value.startswith(("//", "/\\"))
            or any(c in value for c in "\r\n\\")):
        return None
    return value


def return_to(interaction_id=None, next_path=None, proof_for=None):
    """The journey's ``return_to``: the paused request, a local page, or (``proof_for``)
    a login that only proves the identity and then goes to that local page."""
    if proof_for:
        return PROOF + (safe_next(proof_for) or "/account")
    if interaction_id:
        return INTERACTION + interaction_id
    next_path = safe_next(next_path)
    return NEXT + next_path if next_path else None


def journey_return_to(interaction_id):
    """Where a journey started on this page returns: from the query (``interaction``,
    ``next``, or ``link`` - a login that only proves the identity for linking)."""
    return return_to(interaction_id, request.args.get("next"), proof_for=request.args.get("link"))


def carried_args():
    """The query arguments a login page hands on to the other login pages."""
    return {k: v for k in ("interaction", "next", "link") if (v := request.args.get(k))}


def interaction_of(flow):
    value = (flow.return_to or "") if flow is not None else ""
    return value[len(INTERACTION):] if value.startswith(INTERACTION) else None


def next_path_of(flow):
    value = flow.return_to or ""
    return safe_next(value[len(NEXT):]) if value.startswith(NEXT) else None


def finish(flow):
    """Where a finished journey goes.

    - ``proof:`` mode (linking): the login only proves the identity to this
      browser; the browser's login stays whose it was.
    - A Telekom account logged in for a relying party that needs a business
      identity (the ``company`` scope): the account chooser.
    - Otherwise the login is recorded (resuming the paused authorization
      request, if any) - and a business user or phone line not yet linked to a
      complete Telekom account is first offered one (``/account/offer``).
    """
    try:
        result = flow.result()
    except FlowError:
        # A parallel request finished this journey first (one login per journey).
        db.session.rollback()
        return restart_page()
    target = flow.return_to or ""
    if target.startswith(PROOF):
        remember_proof(result)
        audit_login(result, purpose="link")
        db.session.commit()
        return redirect(safe_next(target[len(PROOF):]) or url_for("account.index"))
    interaction_id = interaction_of(flow)
    if result.principal.kind == KIND_ACCOUNT and needs_business_identity(interaction_id):
        return choose_business_identity(result, flow.return_to)
    if interaction_id:
        try:
            next_url = complete_login(interaction_id, result)
        except InteractionError as error:
            db.session.rollback()
            return restart_page(message=error.message)
    else:
        _, result = start_login(result)
        # complete_login audits the logins that resume an authorization request; this one does not.
        audit_login(result)
        db.session.commit()
        next_url = next_path_of(flow) or url_for("login.done")
    return redirect(with_offer(result.principal, next_url))


def audit_login(result, **details):
    get_services().audit.record("login.succeeded", actor=result.principal.sub, subject=result.principal.sub,
                                company_id=getattr(result.principal, "company_id", None),
                                amr=list(result.amr), ip=request.remote_addr, **details)


def needs_business_identity(interaction_id):
    """The relying party asked for company claims: only a business user has them."""
    if not interaction_id:
        return False
    return "company" in (load_interaction(interaction_id).params.get("scope") or "").split()


def choose_business_identity(result, target):
    """The account chooser: one of the business users linked to the account
    (``target``: the journey's ``return_to``, the paused request)."""
    interaction_id = target[len(INTERACTION):]
    params = load_interaction(interaction_id).params
    try:
        choice = IdentityChoice.start(context(), result, return_to=target,
                                      two_factors=ACR_TWO_FACTORS in (params.get("acr_values") or "").split())
    except NoBusinessIdentityError as error:
        return restart_page(interaction_id, error.message)
    return redirect(url_for("account.choose", flow=choice.id))


def chooser_for_logged_in_account(interaction_id):
    """The browser already holds a Telekom-account login and the paused request
    needs a business identity: straight to the chooser (None otherwise)."""
    if not interaction_id or not needs_business_identity(interaction_id):
        return None
    session, principal = current_login()
    if principal is None or principal.kind != KIND_ACCOUNT:
        return None
    result = LoginResult(principal=principal, amr=tuple(session.amr or ()), acr=session.acr,
                         auth_time=session.auth_time)
    return choose_business_identity(result, INTERACTION + interaction_id)


def with_offer(principal, next_url):
    """``next_url``, or the offer to create, link or complete a Telekom account first."""
    offer, _ = offer_for(context(), principal)
    return url_for("account.offer", next=next_url) if offer else next_url


# --- rendering -----------------------------------------------------------------------
def page(template, status=200, retry_after=None, **values):
    if "flow" in values:
        values.setdefault("interaction_id", interaction_of(values["flow"]))
    response = current_app.make_response((render_template(template, **values), status))
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def restart_page(interaction_id=None, message=None, endpoint="login.identifier"):
    return page("login/restart.html", status=400, message=message or FlowError.message,
                restart_url=url_for(endpoint, interaction=interaction_id) if interaction_id
                else url_for(endpoint))


def form_error_status():
    """Browsers get the form again (200); programs posting directly get 400."""
    return 200 if request.accept_mimetypes.accept_html else 400


def resend_refused(error, code_endpoint, flow, template, **values):
    """ "Nem kaptam meg az SMS-t" refused (too soon, too many SMS). A browser goes
    back to the code page (303, Post/Redirect/Get) with the message, so a reload
    re-posts nothing - it could send an SMS once the wait is over. A program
    posting directly (no HTML in Accept) keeps the 429 with Retry-After."""
    if request.accept_mimetypes.accept_html:
        flash(str(error.message), "error")
        return redirect(url_for(code_endpoint, flow=flow.id), 303)
    return page(template, 429, error.retry_after, flow=flow, resend_error=error.message, **values)


# --- the code steps' messages ----------------------------------------------------------
def resent_message():
    return gettext("Új kódot küldtünk. A korábbi kód már nem érvényes.")


def code_error(error):
    return ngettext("Hibás kód. Még %(num)s próbálkozása maradt.",
                    "Hibás kód. Még %(num)s próbálkozása maradt.", error.attempts_left)


def code_dead_message():
    return gettext("A kód lejárt, vagy túl sokszor adott meg hibás kódot. Kérjük, kezdje újra a belépést.")
