"""``/account/new``: create a Telekom account - standalone, or from the offer
after a business or phone login (then the form is prefilled with that
identity's email or phone, and the new account is linked once it exists)."""

from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext

from idp.flows import account as journeys
from idp.flows.base import FlowError
from idp.flows.first_login import PasswordPolicyError
from idp.oidc.interactions import InteractionError
from idp.pages.account import bp
from idp.pages.account.forms import CodeForm
from idp.pages.account.forms import ResendForm
from idp.pages.account.forms import SignupForm
from idp.pages.common import carried_args
from idp.pages.common import code_dead_message
from idp.pages.common import code_error
from idp.pages.common import context
from idp.pages.common import finish
from idp.pages.common import interaction_param
from idp.pages.common import journey_return_to
from idp.pages.common import return_to
from idp.pages.common import page
from idp.pages.common import resend_refused
from idp.pages.common import resent_message
from idp.pages.common import restart_page
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError
from idp.services.throttles import ThrottledError


def load_signup():
    flow = journeys.AccountSignup.load(context(), request.args.get("flow"))
    flow.expect(journeys.VERIFY)
    return flow


@bp.route("/new", methods=["GET", "POST"])
def new():
    try:
        interaction_id = interaction_param()
    except InteractionError as error:
        return restart_page(message=error.message)
    form = SignupForm()
    status, retry_after = 200, None
    if request.method == "GET" and request.args.get("prefill"):
        form.username.data = request.args["prefill"][:320]
    if form.validate_on_submit():
        try:
            flow = journeys.AccountSignup.start(context(), form.username.data, form.password.data, form.repeat.data,
                                                name=form.name.data,
                                                return_to=journey_return_to(interaction_id)
                                                or return_to(next_path="/account"))
        except journeys.UsernameFormatError as error:
            form.username.errors.append(error.message)
        except PasswordPolicyError as error:
            form.password.errors.extend(str(e) for e in error.errors)
        except ThrottledError as error:
            form.username.errors.append(error.message)
            status, retry_after = 429, error.retry_after
        else:
            return redirect(url_for(".verify", flow=flow.id))
    return page("account/new.html", status, retry_after, form=form, carry=carried_args())


def code_page(flow, form, resend, **values):
    return page("account/code.html", form=form, resend=resend, flow=flow, hint=flow.destination_hint,
                channel="sms" if flow.username_kind == "phone" else "email",
                resend_url=url_for(".verify_resend", flow=flow.id), **values)


@bp.route("/new/verify", methods=["GET", "POST"])
def verify():
    try:
        flow = load_signup()
    except FlowError:
        return restart_page(endpoint="account.new")
    form = CodeForm()
    if form.validate_on_submit():
        try:
            flow.submit_code(form.code.data)
        except CodeInvalidError as error:
            form.code.errors.append(code_error(error))
        except (CodeExpiredError, FlowError):
            return restart_page(message=code_dead_message(), endpoint="account.new")
        else:
            flash(account_created_message(), "notice")
            return finish(flow)
    return code_page(flow, form, ResendForm(), created=True)


def account_created_message():
    return gettext("Elkészült a Telekom fiókja.")


@bp.route("/new/verify/resend", methods=["POST"])
def verify_resend():
    try:
        flow = load_signup()
    except FlowError:
        return restart_page(endpoint="account.new")
    form = ResendForm()
    if form.validate_on_submit():
        try:
            flow.resend_code()
        except ThrottledError as error:
            return resend_refused(error, ".verify", flow, "account/code.html", form=CodeForm(formdata=None),
                                  resend=form, hint=flow.destination_hint,
                                  channel="sms" if flow.username_kind == "phone" else "email",
                                  resend_url=url_for(".verify_resend", flow=flow.id))
        except CodeExpiredError:
            return restart_page(message=code_dead_message(), endpoint="account.new")
        flash(resent_message(), "notice")
    return redirect(url_for(".verify", flow=flow.id))
