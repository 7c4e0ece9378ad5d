"""The "Nem tudom a jelszavam" pages (MISSION.md 6), on the ``login``
blueprint: identifier → channel → code → new password (twice)."""

from flask import g
from flask import redirect
from flask import request
from flask import url_for
from wtforms.fields.choices import SelectChoice

from idp.extensions import db
from idp.flows import business
from idp.flows import password_reset as reset
from idp.flows.base import FlowError
from idp.flows.forms import code_form
from idp.flows.forms import IdentifierForm
from idp.flows.forms import NewPasswordForm
from idp.flows.forms import ResetChannelForm
from idp.flows.pages import bp
from idp.flows.pages import code_dead_message
from idp.flows.pages import code_error
from idp.flows.pages import context
from idp.flows.pages import limit_sms
from idp.flows.pages import load_business_flow
from idp.flows.pages import page
from idp.flows.pages import restart_page
from idp.flows.throttles import ThrottledError
from idp.oidc.sessions import browser_id
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError

@bp.route("/password-reset", methods=["GET", "POST"])
def reset_start():
    form = IdentifierForm()
    interaction_id = None
    try:
        origin = load_business_flow() if request.args.get("flow") else None
    except FlowError:
        origin = None
    if origin is not None:
        interaction_id = origin.state.interaction_id
        if request.method == "GET":
            form.identifier.data = origin.state.identifier
    if form.validate_on_submit():
        try:
            flow = reset.PasswordReset.start(context(), form.identifier.data, browser_id=browser_id(),
                                             interaction_id=interaction_id)
        except business.IdentifierFormatError as error:
            form.identifier.errors.append(error.message)
        else:
            return redirect(url_for(".reset_choose", flow=flow.state.id))
    return page("login/reset_start.html", form=form)


def load_reset_flow(step):
    flow = reset.PasswordReset.load(context(), request.args.get("flow"), browser_id())
    flow.expect(step)
    return flow


@bp.route("/password-reset/choose", methods=["GET", "POST"])
@limit_sms
def reset_choose():
    try:
        flow = load_reset_flow(reset.CHOOSE)
    except FlowError:
        return restart_page()
    form = ResetChannelForm()
    options = flow.options()
    form.channel.choices = [SelectChoice("email", options["email"]), SelectChoice("sms", options["sms"])]
    if form.validate_on_submit():
        try:
            flow.choose(form.channel.data)
        except ThrottledError as error:
            return page("login/reset_choose.html", 429, error.retry_after, form=form, flow=flow,
                        error=error.message)
        g.sms_sent = form.channel.data == "sms"
        return redirect(url_for(".reset_code", flow=flow.state.id))
    return page("login/reset_choose.html", form=form, flow=flow)


@bp.route("/password-reset/code", methods=["GET", "POST"])
def reset_code():
    try:
        flow = load_reset_flow(reset.CODE)
    except FlowError:
        return restart_page()
    form = code_form(flow.channel)
    if form.validate_on_submit():
        try:
            flow.submit_code(form.code.data)
        except CodeInvalidError as error:
            form.code.errors.append(code_error(error))
        except CodeExpiredError:
            return restart_page(flow.state.interaction_id, code_dead_message())
        except FlowError:  # the right code of an unknown identifier's (unsent) challenge
            db.session.rollback()
            return restart_page(flow.state.interaction_id)
        else:
            return redirect(url_for(".reset_new_password", flow=flow.state.id))
    return page("login/reset_code.html", form=form, flow=flow)


@bp.route("/password-reset/new", methods=["GET", "POST"])
def reset_new_password():
    try:
        flow = load_reset_flow(reset.NEW_PASSWORD)
    except FlowError:
        return restart_page()
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            flow.submit_new_password(form.password.data, form.repeat.data)
        except business.PasswordPolicyError as error:
            form.password.errors.extend(str(e) for e in error.errors)
        else:
            return page("login/reset_done.html", interaction_id=flow.state.interaction_id)
    return page("login/new_password.html", form=form, flow=flow, reset=True)
