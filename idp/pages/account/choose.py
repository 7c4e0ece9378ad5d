"""The account chooser (``/account/choose``): a relying party needs a business
identity and the person logged in with a Telekom account - pick one of the
linked business users; that company's SMS rule still holds."""

from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from wtforms.fields.choices import SelectChoice

from idp.flows import choose as journeys
from idp.flows.base import FlowError
from idp.pages.account import bp
from idp.pages.account.forms import ChooseForm
from idp.pages.account.forms import CodeForm
from idp.pages.account.forms import ResendForm
from idp.pages.common import code_dead_message
from idp.pages.common import code_error
from idp.pages.common import context
from idp.pages.common import finish
from idp.pages.common import interaction_of
from idp.pages.common import page
from idp.pages.common import resend_refused
from idp.pages.common import resent_message
from idp.pages.common import restart_page
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError
from idp.services.throttles import ThrottledError


def load_choice(*steps):
    flow = journeys.IdentityChoice.load(context(), request.args.get("flow"))
    flow.expect(*steps)
    return flow


@bp.route("/choose", methods=["GET", "POST"])
def choose():
    try:
        flow = load_choice(journeys.CHOOSE)
    except FlowError:
        return restart_page()
    form = ChooseForm()
    form.identity.choices = [SelectChoice(user.sub, f"{user.identifier} – {user.company.name}")
                             for user in flow.options()]
    status, retry_after = 200, None
    if form.validate_on_submit():
        try:
            flow.choose(form.identity.data)
            if flow.step == journeys.SMS:
                flow.send_code(resend=False)
                return redirect(url_for(".choose_sms", flow=flow.id))
            return finish(flow)
        except ThrottledError as error:
            form.identity.errors.append(error.message)
            status, retry_after = 429, error.retry_after
        except FlowError:
            return restart_page(interaction_of(flow))
    return page("account/choose.html", status, retry_after, form=form, flow=flow, account=flow.account)


@bp.route("/choose/sms", methods=["GET", "POST"])
def choose_sms():
    try:
        flow = load_choice(journeys.SMS, journeys.DONE)
    except FlowError:
        return restart_page()
    if flow.step == journeys.DONE:
        return finish(flow)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            flow.submit_code(form.code.data)
        except CodeInvalidError as error:
            form.code.errors.append(code_error(error))
        except CodeExpiredError:
            return restart_page(interaction_of(flow), code_dead_message())
        else:
            return finish(flow)
    return page("account/code.html", form=form, resend=ResendForm(), flow=flow, hint=flow.phone_hint,
                channel="sms", resend_url=url_for(".choose_sms_resend", flow=flow.id))


@bp.route("/choose/sms/resend", methods=["POST"])
def choose_sms_resend():
    try:
        flow = load_choice(journeys.SMS)
    except FlowError:
        return restart_page()
    form = ResendForm()
    if form.validate_on_submit():
        try:
            flow.resend_code()
        except ThrottledError as error:
            return resend_refused(error, ".choose_sms", flow, "account/code.html", form=CodeForm(formdata=None),
                                  resend=form, hint=flow.phone_hint, channel="sms",
                                  resend_url=url_for(".choose_sms_resend", flow=flow.id))
        except CodeExpiredError:
            return restart_page(interaction_of(flow), code_dead_message())
        flash(resent_message(), "notice")
    return redirect(url_for(".choose_sms", flow=flow.id))
