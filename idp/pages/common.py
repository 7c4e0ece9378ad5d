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
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import browser_binding
from idp.oidc.interactions import complete_login
from idp.oidc.interactions import load_interaction
from idp.oidc.interactions import start_login
from idp.services import get_services

INTERACTION, NEXT = "interaction:", "next:"


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


def return_to(interaction_id=None, next_path=None):
    """The journey's ``return_to``: the paused request, or a local page."""
    if interaction_id:
        return INTERACTION + interaction_id
    next_path = safe_next(next_path)
    return NEXT + next_path if next_path else None


def interaction_of(flow):
    value = (flow.return_to or "") if flow is not None else ""
    return value[len(INTERACTION):] if value.startswith(INTERACTION) else None


def next_path_of(flow):
    value = flow.return_to or ""
    return safe_next(value[len(NEXT):]) if value.startswith(NEXT) else None


def finish(flow):
    """Hand the login result to the authorization endpoint (or, without a
    paused request, start the session and go where ``next`` said)."""
    result = flow.result()
    interaction_id = interaction_of(flow)
    if interaction_id:
        try:
            return redirect(complete_login(interaction_id, result))
        except InteractionError as error:
            db.session.rollback()
            return restart_page(message=error.message)
    _, result = start_login(result)
    # complete_login audits the logins that resume an authorization request; this one does not.
    get_services().audit.record("login.succeeded", actor=result.principal.sub, subject=result.principal.sub,
                                company_id=getattr(result.principal, "company_id", None),
                                amr=list(result.amr), ip=request.remote_addr)
    db.session.commit()
    return redirect(next_path_of(flow) or url_for("login.done"))


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
