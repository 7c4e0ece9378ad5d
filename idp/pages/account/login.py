"""``/account/login``: username (email or mobile) and password, then the SMS
code when the risk rules ask for it; Facebook when it is configured. A browser
that completed a login of an account is remembered (a signed cookie of keyed
digests, no identifiers) so it is a known device next time."""

import hashlib
import hmac

from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import url_for

from idp.flows import account as journeys
from idp.flows.base import FlowError
from idp.flows.result import ACR_TWO_FACTORS
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import load_interaction
from idp.pages.account import bp
from idp.pages.account.forms import AccountLoginForm
from idp.pages.account.forms import CodeForm
from idp.pages.account.forms import ResendForm
from idp.pages.common import carried_args
from idp.pages.common import code_dead_message
from idp.pages.common import code_error
from idp.pages.common import context
from idp.pages.common import finish
from idp.pages.common import interaction_of
from idp.pages.common import interaction_param
from idp.pages.common import journey_return_to
from idp.pages.common import return_to
from idp.pages.common import page
from idp.pages.common import resend_refused
from idp.pages.common import resent_message
from idp.pages.common import restart_page
from idp.services import get_services
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError
from idp.services.throttles import ThrottledError

KNOWN_COOKIE = "idp_known"
KNOWN_KEPT = 10


def device_mark(sub):
    key = hashlib.sha256(b"idp-known-device:" + str(current_app.secret_key).encode()).digest()
    return hmac.new(key, sub.encode(), hashlib.sha256).hexdigest()[:32]


def known_device(sub=None):
    marks = set((request.cookies.get(KNOWN_COOKIE) or "").split("."))
    return device_mark(sub) in marks if sub else False


def remember_device(response, sub):
    marks = [m for m in (request.cookies.get(KNOWN_COOKIE) or "").split(".") if m and m != device_mark(sub)]
    response.set_cookie(KNOWN_COOKIE, ".".join([*marks, device_mark(sub)][-KNOWN_KEPT:]), max_age=400 * 86400,
                        httponly=True, samesite="Lax", secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def load_login(*steps):
    flow = journeys.AccountLogin.load(context(), request.args.get("flow"))
    flow.expect(*steps)
    return flow


def done(flow):
    sub = flow.state.subject
    return remember_device(finish(flow), sub)


@bp.route("/login", methods=["GET", "POST"])
def login():
    try:
        interaction_id = interaction_param()
    except InteractionError as error:
        return restart_page(message=error.message)
    form = AccountLoginForm()
    status, retry_after = 200, None
    if request.method == "GET" and interaction_id:
        form.username.data = load_interaction(interaction_id).login_hint or None
    if form.validate_on_submit():
        try:
            account = journeys.find_account(*journeys.parse_username(form.username.data), confirmed_only=True)
            flow = journeys.AccountLogin.start(context(), form.username.data, two_factors=wants_two(interaction_id),
                                               known_device=known_device(account.sub if account else None),
                                               return_to=journey_return_to(interaction_id)
                                               or return_to(next_path="/account"))
            flow.submit_password(form.password.data)
            if flow.step == journeys.SMS:
                flow.send_code(resend=False)
                return redirect(url_for(".login_sms", flow=flow.id))
            return done(flow)
        except journeys.UsernameFormatError as error:
            form.username.errors.append(error.message)
        except ThrottledError as error:
            form.password.errors.append(error.message)
            status, retry_after = 429, error.retry_after
        except (journeys.InvalidCredentialsError, journeys.AccountDisabledError) as error:
            form.password.errors.append(error.message)
    return page("account/login.html", status, retry_after, form=form, interaction_id=interaction_id,
                carry=carried_args(), facebook=get_services().facebook.configured)


def wants_two(interaction_id):
    if not interaction_id:
        return False
    return ACR_TWO_FACTORS in (load_interaction(interaction_id).params.get("acr_values") or "").split()


@bp.route("/login/sms", methods=["GET", "POST"])
def login_sms():
    try:
        flow = load_login(journeys.SMS, journeys.DONE)
    except FlowError:
        return restart_page(endpoint="account.login")
    if flow.step == journeys.DONE:
        return done(flow)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            flow.submit_code(form.code.data)
        except CodeInvalidError as error:
            form.code.errors.append(code_error(error))
        except CodeExpiredError:
            return restart_page(interaction_of(flow), code_dead_message(), endpoint="account.login")
        else:
            return done(flow)
    return page("account/code.html", form=form, resend=ResendForm(), flow=flow, hint=flow.phone_hint,
                resend_url=url_for(".login_sms_resend", flow=flow.id), channel="sms")


@bp.route("/login/sms/resend", methods=["POST"])
def login_sms_resend():
    try:
        flow = load_login(journeys.SMS)
    except FlowError:
        return restart_page(endpoint="account.login")
    form = ResendForm()
    if form.validate_on_submit():
        try:
            flow.resend_code()
        except ThrottledError as error:
            return resend_refused(error, ".login_sms", flow, "account/code.html", form=CodeForm(formdata=None),
                                  resend=form, hint=flow.phone_hint, channel="sms",
                                  resend_url=url_for(".login_sms_resend", flow=flow.id))
        except CodeExpiredError:
            return restart_page(interaction_of(flow), code_dead_message(), endpoint="account.login")
        flash(resent_message(), "notice")
    return redirect(url_for(".login_sms", flow=flow.id))
