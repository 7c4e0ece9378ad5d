"""The "Nem tudom a jelszavam" pages (MISSION.md 6), on the ``login``
blueprint: identifier → channel → code → new password (twice)."""

from flask import redirect
from flask import request
from flask import url_for
from wtforms.fields.choices import SelectChoice

from idp.extensions import db
from idp.flows import business
from idp.flows import password_reset as reset
from idp.flows.base import FlowError
from idp.flows.first_login import PasswordPolicyError
from idp.pages import bp
from idp.pages.business import load_business_flow
from idp.pages.common import code_dead_message
from idp.pages.common import code_error
from idp.pages.common import context
from idp.pages.common import interaction_of
from idp.pages.common import page
from idp.pages.common import restart_page
from idp.pages.common import return_to
from idp.pages.forms import IdentifierForm
from idp.pages.forms import NewPasswordForm
from idp.pages.forms import ResetChannelForm
from idp.pages.forms import code_form
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError
from idp.services.throttles import ThrottledError


@bp.route("/password-reset", methods=["GET", "POST"])
def reset_start():
    form = IdentifierForm()
    interaction_id = None
    try:
        origin = load_business_flow() if request.args.get("flow") else None
    except FlowError:
        origin = None
    if origin is not None:
        interaction_id = interaction_of(origin)
        if request.method == "GET":
            form.identifier.data = origin.state.identifier
    if form.validate_on_submit():
        try:
            flow = reset.PasswordReset.start(context(), form.identifier.data,
                                             return_to=return_to(interaction_id))
        except business.IdentifierFormatError as error:
            form.identifier.errors.append(error.message)
        else:
            return redirect(url_for(".reset_choose", flow=flow.id))
    return page("login/reset_start.html", form=form)


def load_reset_flow(step):
    flow = reset.PasswordReset.load(context(), request.args.get("flow"))
    flow.expect(step)
    return flow


@bp.route("/password-reset/choose", methods=["GET", "POST"])
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
        return redirect(url_for(".reset_code", flow=flow.id))
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
            return restart_page(interaction_of(flow), code_dead_message())
        except FlowError:  # the right code of an unknown identifier's (unsent) challenge
            db.session.rollback()
            return restart_page(interaction_of(flow))
        else:
            return redirect(url_for(".reset_new_password", flow=flow.id))
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
        except PasswordPolicyError as error:
            form.password.errors.extend(str(e) for e in error.errors)
        except FlowError:  # a parallel post of the same form set the password
            db.session.rollback()
            return restart_page(interaction_of(flow))
        else:
            return page("login/reset_done.html", interaction_id=interaction_of(flow))
    return page("login/new_password.html", form=form, flow=flow, reset=True)
