"""The login journeys as plain classes, without any HTTP request: a context
(services, settings, client IP, binding), steps that move the state on or
raise domain errors, and a ``LoginResult`` at the end."""

import pytest
from flask import current_app
from flask import has_request_context

from idp.flows.base import FlowContext
from idp.flows.base import FlowError
from idp.flows.base import browser_binding
from idp.flows.base import client_binding
from idp.flows.base import load_journey
from idp.flows.business import DONE
from idp.flows.business import NEW_PASSWORD
from idp.flows.business import PASSWORD
from idp.flows.business import SMS
from idp.flows.business import BusinessLogin
from idp.flows.business import InvalidCredentialsError
from idp.flows.phone import PhoneLogin
from idp.flows.result import ACR_ONE_FACTOR
from idp.flows.result import ACR_TWO_FACTORS
from idp.models.session import LoginSession
from idp.services import get_services
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError
from idp.services.throttles import ThrottledError
from tests.factories import make_company
from tests.factories import make_login_user
from tests.factories import make_phone_line
from tests.login_helpers import last_code
from tests.login_helpers import outbox

RIGHT = "Helyes-jelszo-2024!"
PHONE = "+36301234567"


@pytest.fixture
def ctx(app):
    assert not has_request_context()
    return context(client_binding("app-1"))


def context(binding, ip="192.0.2.10"):
    return FlowContext(get_services(), current_app.config, ip, binding)


@pytest.fixture
def acme(app):
    return make_company(slug="acme")


@pytest.fixture
def anna(acme):
    return make_login_user(company=acme, username="anna", phone=PHONE)


def at_sms_step(ctx):
    flow = BusinessLogin.start(ctx, "Anna@ACME ")
    flow.submit_password(RIGHT)
    return flow


def test_the_password_step_decides_and_the_channel_sends(ctx, anna):
    flow = at_sms_step(ctx)
    assert (flow.step, flow.state.identifier, flow.password_change_required) == (SMS, "anna@acme", False)
    assert outbox("sms") == []  # nothing is sent by the password step itself
    flow.send_code(resend=False)
    assert [m.to for m in outbox("sms")] == [PHONE]
    flow.submit_code(last_code(PHONE))
    result = flow.result()
    assert (result.principal.sub, result.amr, result.acr, result.sid) == (anna.sub, ("pwd", "sms", "mfa"),
                                                                          ACR_TWO_FACTORS, None)


def test_a_temporary_password_is_known_before_any_sms(ctx, acme):
    make_login_user(company=acme, username="bela", phone="+36301112233", password_temporary=True)
    flow = BusinessLogin.start(ctx, "bela@acme")
    flow.submit_password(RIGHT)
    assert flow.step == SMS and flow.password_change_required
    assert outbox("sms") == []


def test_without_the_sms_step_the_result_is_one_factor(ctx, acme, anna):
    acme.sms_login_required = False
    flow = BusinessLogin.start(ctx, "anna@acme")
    flow.submit_password(RIGHT)
    assert flow.step == DONE
    assert flow.result().acr == ACR_ONE_FACTOR
    flow = BusinessLogin.start(ctx, "anna@acme", two_factors=True)
    flow.submit_password(RIGHT)
    assert flow.step == SMS


def test_a_journey_continues_only_on_its_binding(ctx, anna):
    flow = at_sms_step(ctx)
    assert BusinessLogin.load(ctx, flow.id).step == SMS
    for other in (client_binding("app-2"), browser_binding("app-1"), ""):
        with pytest.raises(FlowError):
            BusinessLogin.load(context(other), flow.id)
    with pytest.raises(FlowError):
        PhoneLogin.load(ctx, flow.id)  # another kind of journey
    assert load_journey(ctx, flow.id, (PhoneLogin, BusinessLogin)).step == SMS


def test_steps_out_of_order_are_refused(ctx, anna):
    flow = BusinessLogin.start(ctx, "anna@acme")
    with pytest.raises(FlowError):
        flow.submit_code("123456")
    with pytest.raises(FlowError):
        flow.result()
    assert flow.step == PASSWORD


def test_the_code_step_try_limit_and_resend(ctx, anna, clock):
    flow = at_sms_step(ctx)
    flow.send_code(resend=False)
    first = last_code(PHONE)
    with pytest.raises(ThrottledError):
        flow.resend_code()  # the 30 s cooldown
    clock.advance(30)
    flow.resend_code()
    second = last_code(PHONE)
    with pytest.raises(CodeInvalidError):
        flow.submit_code(first if first != second else "000000")  # the old code died
    for left in (3, 2, 1):
        with pytest.raises(CodeInvalidError) as error:
            flow.submit_code("999999" if second != "999999" else "888888")
        assert error.value.attempts_left == left
    with pytest.raises(CodeExpiredError):
        flow.submit_code("999999" if second != "999999" else "888888")
    with pytest.raises(FlowError):
        BusinessLogin.load(ctx, flow.id)  # dead


def test_a_wrong_password_is_counted_per_identifier_and_per_ip(ctx, anna):
    counters = get_services().counters
    for identifier in ("anna@acme", "nobody@acme"):
        with pytest.raises(InvalidCredentialsError):
            BusinessLogin.start(ctx, identifier).submit_password("wrong")
    assert counters.get("password-failures-ip:192.0.2.10")[0] == 2
    assert counters.get("pw:id:nobody@acme")[0] == 1
    BusinessLogin.start(ctx, "anna@acme").submit_password(RIGHT)
    assert counters.get("password-failures-ip:192.0.2.10")[0] == 2  # a success gives its own back
    assert counters.get("pw:id:anna@acme")[0] == 0


def test_an_unregistered_number_gets_no_sms_and_never_logs_in(ctx, acme):
    make_phone_line(company=acme, number="+36201234567")
    flow = PhoneLogin.start(ctx, "301234599")
    flow.request_code()
    assert outbox("sms") == []
    with pytest.raises(CodeInvalidError):
        flow.submit_code("123456")
    line_flow = PhoneLogin.start(ctx, "20 123 4567")
    line_flow.request_code()
    line_flow.submit_code(last_code("+36201234567"))
    assert line_flow.result().amr == ("sms",)


def test_the_session_service_starts_ends_and_signs_out_everywhere(ctx, anna):
    flow = at_sms_step(ctx)
    flow.send_code(resend=False)
    flow.submit_code(last_code(PHONE))
    sessions = get_services().sessions
    login, result = sessions.start(flow.result(), ctx.binding)
    assert result.sid == login.id
    assert sessions.find(login.id, ctx.binding)[1].sub == anna.sub
    assert sessions.find(login.id, client_binding("app-2")) == (None, None)
    sessions.end_all(anna)
    assert sessions.find(login.id, ctx.binding) == (None, None)
    assert LoginSession.query.filter_by(subject=anna.sub, ended_at=None).count() == 0


def test_the_first_login_step_needs_a_new_password(ctx, acme):
    make_login_user(company=acme, username="bela", phone="+36301112233", password_temporary=True)
    flow = BusinessLogin.start(ctx, "bela@acme")
    flow.submit_password(RIGHT)
    flow.send_code(resend=False)
    flow.submit_code(last_code("+36301112233"))
    assert flow.step == NEW_PASSWORD
    flow.submit_new_password("Uj-jelszo-nagyon-eros-77", "Uj-jelszo-nagyon-eros-77")
    assert flow.step == DONE
