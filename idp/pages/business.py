"""The business login pages (MISSION.md 1-8, DESIGN.md §3 ``/login``):
identifier → "Tovább" → password → "Tovább" → SMS code → (new password).
Each page loads its journey (bound to this browser), runs one step and
redirects to the page of the next step; form errors re-render the page."""

from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for

from idp.extensions import db
from idp.flows import business
from idp.flows.base import FlowError
from idp.flows.first_login import PasswordPolicyError
from idp.flows.result import ACR_TWO_FACTORS
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import end_login
from idp.oidc.interactions import load_interaction
from idp.pages import bp
from idp.pages.common import code_dead_message
from idp.pages.common import code_error
from idp.pages.common import context
from idp.pages.common import finish
from idp.pages.common import interaction_of
from idp.pages.common import interaction_param
from idp.pages.common import page
from idp.pages.common import resend_refused
from idp.pages.common import resent_message
from idp.pages.common import restart_page
from idp.pages.common import carried_args
from idp.pages.common import chooser_for_logged_in_account
from idp.pages.common import journey_return_to
from idp.pages.forms import CodeForm
from idp.pages.forms import IdentifierForm
from idp.pages.forms import LogoutForm
from idp.pages.forms import NewPasswordForm
from idp.pages.forms import PasswordForm
from idp.pages.forms import ResendForm
from idp.pages.home import signed_in
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError
from idp.services.throttles import ThrottledError

STEP_ENDPOINTS = {business.PASSWORD: ".password", business.SMS: ".sms", business.NEW_PASSWORD: ".new_password"}


def wants_two_factors(interaction_id):
    if not interaction_id:
        return False
    params = load_interaction(interaction_id).params
    return ACR_TWO_FACTORS in (params.get("acr_values") or "").split()


def load_business_flow():
    return business.BusinessLogin.load(context(), request.args.get("flow"))


def next_page(flow):
    if flow.step == business.DONE:
        return finish(flow)
    return redirect(url_for(STEP_ENDPOINTS[flow.step], flow=flow.id))


# --- identifier ---------------------------------------------------------------
@bp.route("", methods=["GET", "POST"])
def identifier():
    try:
        interaction_id = interaction_param()
    except InteractionError as error:
        return restart_page(message=error.message)
    form = IdentifierForm()
    chooser = chooser_for_logged_in_account(interaction_id) if request.method == "GET" else None
    if chooser is not None:
        return chooser
    if request.method == "GET" and interaction_id:
        hint = load_interaction(interaction_id).login_hint or ""
        if "@" in hint:
            form.identifier.data = hint
    if form.validate_on_submit():
        try:
            flow = business.BusinessLogin.start(context(), form.identifier.data,
                                                two_factors=wants_two_factors(interaction_id),
                                                return_to=journey_return_to(interaction_id))
        except business.IdentifierFormatError as error:
            form.identifier.errors.append(error.message)
        else:
            return redirect(url_for(".password", flow=flow.id))
    return page("login/identifier.html", form=form, interaction_id=interaction_id, carry=carried_args())


# --- password -----------------------------------------------------------------
@bp.route("/password", methods=["GET", "POST"])
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
            if flow.step == business.SMS:
                flow.send_code(resend=False)
        except ThrottledError as error:
            form.password.errors.append(error.message)
            status, retry_after = 429, error.retry_after
        except (business.InvalidCredentialsError, business.TemporaryPasswordExpiredError,
                business.AccountDisabledError) as error:
            form.password.errors.append(error.message)
        else:
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
            return restart_page(interaction_of(flow), code_dead_message())
        else:
            return next_page(flow)
    return page("login/sms.html", form=form, resend=ResendForm(), flow=flow)


@bp.route("/sms/resend", methods=["POST"])
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
            return restart_page(interaction_of(flow), code_dead_message())
        flash(resent_message(), "notice")
    return redirect(url_for(".sms", flow=flow.id))


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
        except PasswordPolicyError as error:
            form.password.errors.extend(str(e) for e in error.errors)
        else:
            return next_page(flow)
    return page("login/new_password.html", form=form, flow=flow)


# --- the end of a login without an application, and logging out ---------------
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
