"""The login pages (DESIGN.md §3 ``/login``): HTTP glue around the flow
classes. Each page loads its flow (bound to this browser), runs one step and
redirects to the page of the next step; form errors re-render the page."""

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_babel import ngettext

from idp.extensions import db
from idp.extensions import limiter
from idp.flows import business
from idp.flows.base import FlowContext
from idp.flows.base import FlowError
from idp.flows.forms import CodeForm
from idp.flows.forms import IdentifierForm
from idp.flows.forms import LogoutForm
from idp.flows.forms import NewPasswordForm
from idp.flows.forms import PasswordForm
from idp.flows.forms import ResendForm
from idp.flows.throttles import ThrottledError
from idp.home import signed_in
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import complete_login
from idp.oidc.interactions import load_interaction
from idp.oidc.sessions import browser_id
from idp.oidc.sessions import end_login
from idp.oidc.sessions import start_login
from idp.services import get_services
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError

bp = Blueprint("login", __name__, url_prefix="/login")


# Per-client-IP limits (DESIGN.md §4a) with Flask-Limiter: only requests that
# failed a password or sent an SMS count (``deduct_when``); over the limit the
# request is refused with 429 and Retry-After before any work is done.
def _password_failures_per_ip():
    return f"{current_app.config['IP_PASSWORD_FAILURES_PER_HOUR']} per hour"


def _sms_per_ip():
    return f"{current_app.config['SMS_PER_IP_PER_HOUR']} per hour"


limit_password_failures = limiter.shared_limit(
    _password_failures_per_ip, scope="password-failures-ip", methods=["POST"],
    deduct_when=lambda response: g.get("password_failed", False))
limit_sms = limiter.shared_limit(_sms_per_ip, scope="sms-ip", methods=["POST"],
                                 deduct_when=lambda response: g.get("sms_sent", False))

STEP_ENDPOINTS = {business.PASSWORD: ".password", business.SMS: ".sms", business.NEW_PASSWORD: ".new_password"}


def context():
    return FlowContext(get_services(), current_app.config, request.remote_addr or "unknown")


def page(template, status=200, retry_after=None, **values):
    response = current_app.make_response((render_template(template, **values), status))
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def restart_page(interaction_id=None, message=None, endpoint=".identifier"):
    return page("login/restart.html", status=400, message=message or FlowError.message,
                restart_url=url_for(endpoint, interaction=interaction_id) if interaction_id
                else url_for(endpoint))


def interaction_param():
    """The paused authorization request this login serves, if any (validated)."""
    interaction_id = request.args.get("interaction")
    if not interaction_id:
        return None
    load_interaction(interaction_id)
    return interaction_id


def wants_two_factors(interaction_id):
    if not interaction_id:
        return False
    params = load_interaction(interaction_id).params
    return business.ACR_TWO_FACTORS in (params.get("acr_values") or "").split()


def load_business_flow():
    return business.BusinessLogin.load(context(), request.args.get("flow"), browser_id())


def next_page(flow):
    if flow.step == business.DONE:
        return finish(flow)
    return redirect(url_for(STEP_ENDPOINTS[flow.step], flow=flow.state.id))


def safe_next(value):
    """A local path to return to after a login without an authorization request
    (``/login?next=/admin``); anything that could leave the site is dropped."""
    if (not value or len(value) > 512 or not value.startswith("/") or value.startswith(("//", "/\\"))
            or any(c in value for c in "\r\n\\")):
        return None
    return value


def finish(flow):
    """Hand the login result to the authorization endpoint (or, without a
    paused request, start the session and go where ``next`` said)."""
    result = flow.result()
    if flow.state.interaction_id:
        try:
            return redirect(complete_login(flow.state.interaction_id, result))
        except InteractionError as error:
            db.session.rollback()
            return restart_page(message=error.message)
    start_login(result)
    # complete_login audits the logins that resume an authorization request; this one does not.
    get_services().audit.record("login.succeeded", actor=result.principal.sub, subject=result.principal.sub,
                                company_id=getattr(result.principal, "company_id", None),
                                amr=list(result.amr), ip=request.remote_addr)
    db.session.commit()
    return redirect(safe_next(flow.state.data.get("next")) or url_for(".done"))


# --- identifier ---------------------------------------------------------------
@bp.route("", methods=["GET", "POST"])
def identifier():
    try:
        interaction_id = interaction_param()
    except InteractionError as error:
        return restart_page(message=error.message)
    form = IdentifierForm()
    if request.method == "GET" and interaction_id:
        hint = load_interaction(interaction_id).login_hint or ""
        if "@" in hint:
            form.identifier.data = hint
    if form.validate_on_submit():
        try:
            flow = business.BusinessLogin.start(context(), form.identifier.data, browser_id=browser_id(),
                                                interaction_id=interaction_id,
                                                two_factors=wants_two_factors(interaction_id),
                                                next_url=safe_next(request.args.get("next")))
        except business.IdentifierFormatError as error:
            form.identifier.errors.append(error.message)
        else:
            return redirect(url_for(".password", flow=flow.state.id))
    return page("login/identifier.html", form=form, interaction_id=interaction_id)


# --- password -----------------------------------------------------------------
@bp.route("/password", methods=["GET", "POST"])
@limit_password_failures
@limit_sms
def password():
    try:
        flow = load_business_flow()
    except FlowError:
        return restart_page()
    if flow.step != business.PASSWORD:
        return next_page(flow)
    form = PasswordForm()
    status, retry_after = 200, None
    if form.validate_on_submit():
        try:
            flow.submit_password(form.password.data)
        except ThrottledError as error:
            form.password.errors.append(error.message)
            status, retry_after = 429, error.retry_after
        except (business.InvalidCredentialsError, business.TemporaryPasswordExpiredError) as error:
            g.password_failed = True
            form.password.errors.append(error.message)
        except business.AccountDisabledError as error:
            form.password.errors.append(error.message)
        else:
            g.sms_sent = flow.step == business.SMS
            return next_page(flow)
    return page("login/password.html", status, retry_after, form=form, flow=flow)


# --- SMS code -----------------------------------------------------------------
@bp.route("/sms", methods=["GET", "POST"])
def sms():
    try:
        flow = load_business_flow()
    except FlowError:
        return restart_page()
    if flow.step != business.SMS:
        return next_page(flow)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            flow.submit_code(form.code.data)
        except CodeInvalidError as error:
            form.code.errors.append(code_error(error))
        except CodeExpiredError:
            return restart_page(flow.state.interaction_id, code_dead_message())
        else:
            return next_page(flow)
    return page("login/sms.html", form=form, resend=ResendForm(), flow=flow)


@bp.route("/sms/resend", methods=["POST"])
@limit_sms
def sms_resend():
    try:
        flow = load_business_flow()
        flow.expect(business.SMS)
    except FlowError:
        return restart_page()
    form = ResendForm()
    if form.validate_on_submit():
        try:
            flow.send_code()
        except ThrottledError as error:
            return resend_refused(error, ".sms", flow, "login/sms.html", form=CodeForm(formdata=None), resend=form)
        except CodeExpiredError:
            return restart_page(flow.state.interaction_id, code_dead_message())
        g.sms_sent = True
        flash(resent_message(), "notice")
    return redirect(url_for(".sms", flow=flow.state.id))


def resend_refused(error, code_endpoint, flow, template, **values):
    """ "Nem kaptam meg az SMS-t" refused (too soon, too many SMS). A browser goes
    back to the code page (303, Post/Redirect/Get) with the message, so a reload
    re-posts nothing - it could send an SMS once the wait is over. A program
    posting directly (no HTML in Accept) keeps the 429 with Retry-After."""
    if request.accept_mimetypes.accept_html:
        flash(str(error.message), "error")
        return redirect(url_for(code_endpoint, flow=flow.state.id), 303)
    return page(template, 429, error.retry_after, flow=flow, resend_error=error.message, **values)


def resent_message():
    return gettext("Új kódot küldtünk. A korábbi kód már nem érvényes.")


def code_error(error):
    return ngettext("Hibás kód. Még %(num)s próbálkozása maradt.",
                    "Hibás kód. Még %(num)s próbálkozása maradt.", error.attempts_left)


def code_dead_message():
    return gettext("A kód lejárt, vagy túl sokszor adott meg hibás kódot. Kérjük, kezdje újra a belépést.")


# --- new password (first login) ------------------------------------------------
@bp.route("/new-password", methods=["GET", "POST"])
def new_password():
    try:
        flow = load_business_flow()
    except FlowError:
        return restart_page()
    if flow.step != business.NEW_PASSWORD:
        return next_page(flow)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            flow.submit_new_password(form.password.data, form.repeat.data)
        except business.PasswordPolicyError as error:
            form.password.errors.extend(str(e) for e in error.errors)
        else:
            return next_page(flow)
    return page("login/new_password.html", form=form, flow=flow)


@bp.route("/done")
def done():
    """Where a login without an application ends: who is logged in, the admin
    area when the principal may use it, and logging out."""
    return page("login/done.html", **signed_in())


@bp.route("/logout", methods=["POST"])
def logout():
    """Ends this browser's login session (CSRF-protected, POST only). Relying
    parties' own sessions are theirs to end: that is RP-initiated logout."""
    if not LogoutForm().validate_on_submit():
        abort(400)
    end_login()
    db.session.commit()
    return redirect(url_for("home.index"), 303)


# The "Nem tudom a jelszavam" and phone-login pages live in their own modules,
# on this blueprint.
from idp.flows import phone_pages  # noqa: E402,F401
from idp.flows import reset_pages  # noqa: E402,F401
