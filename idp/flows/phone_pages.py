"""The phone-login pages (DESIGN.md §3 ``/login/phone``), on the ``login``
blueprint: number → check ("Kérem az SMS-t") → code ("Belépek")."""

from flask import flash
from flask import g
from flask import redirect
from flask import request
from flask import url_for

from idp.flows import phone
from idp.flows.base import FlowError
from idp.flows.forms import PhoneCodeForm
from idp.flows.forms import PhoneNumberForm
from idp.flows.forms import RequestSmsForm
from idp.flows.forms import ResendForm
from idp.flows.pages import bp
from idp.flows.pages import code_dead_message
from idp.flows.pages import code_error
from idp.flows.pages import context
from idp.flows.pages import finish
from idp.flows.pages import interaction_param
from idp.flows.pages import limit_sms
from idp.flows.pages import page
from idp.flows.pages import resend_refused
from idp.flows.pages import resent_message
from idp.flows.pages import restart_page
from idp.flows.throttles import ThrottledError
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import load_interaction
from idp.oidc.sessions import browser_id
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError


def load_phone_flow(*steps):
    flow = phone.PhoneLogin.load(context(), request.args.get("flow"), browser_id())
    flow.expect(*steps)
    return flow


def form_error_status():
    """Browsers get the form again (200); programs posting directly get 400."""
    return 200 if request.accept_mimetypes.accept_html else 400


@bp.route("/phone", methods=["GET", "POST"])
def phone_number():
    try:
        interaction_id = interaction_param()
    except InteractionError as error:
        return restart_page(message=error.message)
    form = PhoneNumberForm()
    status = 200
    if request.method == "GET" and interaction_id:
        hint = load_interaction(interaction_id).login_hint or ""
        if "@" not in hint:
            form.number.data = hint
    if form.validate_on_submit():
        try:
            flow = phone.PhoneLogin.start(context(), form.number.data, browser_id=browser_id(),
                                          interaction_id=interaction_id)
        except phone.PhoneNumberFormatError as error:
            form.number.errors.append(error.message)
        else:
            return redirect(url_for(".phone_check", flow=flow.state.id))
    if form.errors:
        status = form_error_status()
    return page("login/phone_number.html", status, form=form, interaction_id=interaction_id)


@bp.route("/phone/check", methods=["GET", "POST"])
@limit_sms
def phone_check():
    try:
        flow = load_phone_flow(phone.CHECK)
    except FlowError:
        return restart_page(endpoint=".phone_number")
    form = RequestSmsForm()
    if form.validate_on_submit():
        try:
            flow.request_code()
        except ThrottledError as error:
            return page("login/phone_check.html", 429, error.retry_after, form=form, flow=flow,
                        error=error.message)
        g.sms_sent = True  # counted for unregistered numbers too: they must look the same
        return redirect(url_for(".phone_code", flow=flow.state.id))
    return page("login/phone_check.html", form=form, flow=flow)


@bp.route("/phone/code", methods=["GET", "POST"])
def phone_code():
    try:
        flow = load_phone_flow(phone.CODE, phone.DONE)
    except FlowError:
        return restart_page(endpoint=".phone_number")
    if flow.step == phone.DONE:
        return finish(flow)
    form = PhoneCodeForm()
    if form.validate_on_submit():
        try:
            flow.submit_code(form.code.data)
        except CodeInvalidError as error:
            form.code.errors.append(code_error(error))
        except (CodeExpiredError, FlowError):
            return restart_page(flow.state.interaction_id, code_dead_message(), endpoint=".phone_number")
        else:
            return finish(flow)
    return page("login/phone_code.html", form=form, resend=ResendForm(), flow=flow)


@bp.route("/phone/code/resend", methods=["POST"])
@limit_sms
def phone_resend():
    try:
        flow = load_phone_flow(phone.CODE)
    except FlowError:
        return restart_page(endpoint=".phone_number")
    form = ResendForm()
    if form.validate_on_submit():
        try:
            flow.resend_code()
        except ThrottledError as error:
            return resend_refused(error, ".phone_code", flow, "login/phone_code.html",
                                  form=PhoneCodeForm(formdata=None), resend=form)
        except CodeExpiredError:
            return restart_page(flow.state.interaction_id, code_dead_message(), endpoint=".phone_number")
        g.sms_sent = True
        flash(resent_message(), "notice")
    return redirect(url_for(".phone_code", flow=flow.state.id))
