"""Facebook (MISSION.md 9): ``/account/facebook`` sends the browser to
Facebook's dialog with the journey's id as ``state``; the callback continues
that journey only in the browser that started it. Shown only when
``IDP_FACEBOOK_*`` is configured (404 otherwise)."""

from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext

from idp.extensions import db
from idp.flows import facebook as journeys
from idp.flows.base import FlowError
from idp.flows.linking import LinkError
from idp.oidc.interactions import InteractionError
from idp.oidc.interactions import login_proofs
from idp.pages.account import bp
from idp.pages.account import current_account
from idp.pages.account.forms import ButtonForm
from idp.pages.common import context
from idp.pages.common import finish
from idp.pages.common import interaction_of
from idp.pages.common import interaction_param
from idp.pages.common import journey_return_to
from idp.pages.common import return_to
from idp.pages.common import page
from idp.pages.common import restart_page
from idp.services import get_services


def facebook():
    connector = get_services().facebook
    if not connector.configured:
        abort(404)
    return connector


def callback_url():
    return url_for("account.facebook_callback", _external=True)


@bp.route("/facebook")
def facebook_start():
    """Log in with Facebook (or, ``?add=1`` from the account page, add it to the account)."""
    connector = facebook()
    try:
        interaction_id = interaction_param()
    except InteractionError as error:
        return restart_page(message=error.message)
    _, account = current_account()
    link_to = account.sub if account is not None and request.args.get("add") else None
    flow = journeys.FacebookLogin.start(context(), link_to=link_to, return_to=journey_return_to(interaction_id)
                                        or return_to(next_path="/account"))
    return redirect(connector.authorization_url(callback_url(), flow.id))


@bp.route("/facebook/callback")
def facebook_callback():
    facebook()
    try:
        flow = journeys.FacebookLogin.load(context(), request.args.get("state"))
    except FlowError:
        return error_page(journeys.FacebookUnavailableError.message)
    try:
        if request.args.get("error") or not request.args.get("code"):
            flow.cancelled()
        flow.complete(request.args["code"], callback_url(), proofs=login_proofs())
    except (journeys.FacebookCancelledError, journeys.FacebookUnavailableError, LinkError) as error:
        return error_page(error.message, interaction_of(flow))
    except FlowError:  # the dialog came back twice, or to a journey already over
        return error_page(journeys.FacebookUnavailableError.message, interaction_of(flow))
    if flow.step == journeys.NEW:
        return redirect(url_for(".facebook_new", flow=flow.id))
    if flow.linked:
        try:
            flow.result()
        except FlowError:  # a parallel callback took the journey's end first
            db.session.rollback()
            return error_page(journeys.FacebookUnavailableError.message, interaction_of(flow))
        db.session.commit()
        flash(gettext("A Facebook-fiókot csatoltuk a Telekom fiókjához."), "notice")
        return redirect(url_for(".index"))
    return finish(flow)


@bp.route("/facebook/new", methods=["GET", "POST"])
def facebook_new():
    """A Facebook identity no account holds: create an account from it, or log
    in to an existing account and add Facebook there."""
    facebook()
    try:
        flow = journeys.FacebookLogin.load(context(), request.args.get("flow"))
        flow.expect(journeys.NEW)
    except FlowError:
        return error_page(journeys.FacebookUnavailableError.message)
    form = ButtonForm()
    if form.validate_on_submit():
        try:
            flow.create_account()
        except LinkError as error:
            return error_page(error.message, interaction_of(flow))
        return finish(flow)
    return page("account/facebook_new.html", form=form, flow=flow, name=flow.identity.get("name"))


def error_page(message, interaction_id=None):
    return page("account/problem.html", 400, message=message,
                back_url=url_for(".login", interaction=interaction_id) if interaction_id else url_for(".login"))
