"""The phone-login pages (MISSION.md 10-14, DESIGN.md §3 ``/login/phone``):
number → check ("Kérem az SMS-t") → code ("Belépek")."""

from flask import flash
from flask import redirect
from flask import request
from flask import url_for

from idp.flows import phone
from idp.flows.base import FlowError
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import load_interaction
from idp.pages import bp
from idp.pages.common import code_dead_message
from idp.pages.common import code_error
from idp.pages.common import context
from idp.pages.common import finish
from idp.pages.common import form_error_status
from idp.pages.common import interaction_of
from idp.pages.common import interaction_param
from idp.pages.common import page
from idp.pages.common import resend_refused
from idp.pages.common import resent_message
from idp.pages.common import restart_page
from idp.pages.common import carried_args
from idp.pages.common import journey_return_to
from idp.pages.forms import PhoneCodeForm
from idp.pages.forms import PhoneNumberForm
from idp.pages.forms import RequestSmsForm
from idp.pages.forms import ResendForm
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError
from idp.services.throttles import ThrottledError


def load_phone_flow(*steps):
    flow = phone.PhoneLogin.load(context(), request.args.get("flow"))
    flow.expect(*steps)
    return flow


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
            flow = phone.PhoneLogin.start(context(), form.number.data, return_to=journey_return_to(interaction_id))
        except phone.PhoneNumberFormatError as error:
            form.number.errors.append(error.message)
        else:
            return redirect(url_for(".phone_check", flow=flow.id))
    if form.errors:
        status = form_error_status()
    return page("login/phone_number.html", status, form=form, interaction_id=interaction_id, carry=carried_args())


@bp.route("/phone/check", methods=["GET", "POST"])
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
        return redirect(url_for(".phone_code", flow=flow.id))
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
            return restart_page(interaction_of(flow), code_dead_message(), endpoint=".phone_number")
        else:
            return finish(flow)
    return page("login/phone_code.html", form=form, resend=ResendForm(), flow=flow)


@bp.route("/phone/code/resend", methods=["POST"])
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
            return restart_page(interaction_of(flow), code_dead_message(), endpoint=".phone_number")
        flash(resent_message(), "notice")
    return redirect(url_for(".phone_code", flow=flow.id))
