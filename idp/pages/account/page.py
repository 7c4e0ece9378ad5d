"""The account page ``/account`` (issue 10.7): profile (name, verified email
and phone, changed with a code), password, linked identities (link another,
unlink), subscriptions, the applications granted access (revoking one revokes
its tokens) and the active sessions with "sign out everywhere"."""

from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext
from sqlalchemy import func

from idp.extensions import db
from idp.flows import linking
from idp.flows.account import ContactVerification
from idp.flows.account import UsernameFormatError
from idp.flows.account import WrongCurrentPasswordError
from idp.flows.account import change_account_password
from idp.flows.first_login import PasswordPolicyError
from idp.models.client import OAuthClient
from idp.models.principal import find_principal
from idp.models.session import Consent
from idp.models.token import Token
from idp.oidc.interactions import end_login
from idp.oidc.interactions import login_proofs
from idp.pages.account import account_required
from idp.pages.account import bp
from idp.pages.account.forms import ButtonForm
from idp.pages.account.forms import ContactForm
from idp.pages.account.forms import NameForm
from idp.pages.account.forms import PasswordChangeForm
from idp.pages.common import context
from idp.pages.common import page
from idp.services import get_services
from idp.services.throttles import ThrottledError


def applications(account):
    """The clients that hold a grant of the account: a remembered consent or a live token."""
    now = get_services().clock.timestamp()
    consented = {c.client_id for c in Consent.query.filter_by(principal_kind=account.kind, subject=account.sub)}
    holding = {row[0] for row in db.session.query(Token.client_id).filter(
        Token.subject == account.sub, Token.refresh_revoked_at.is_(None),
        func.coalesce(Token.refresh_expires_at, Token.issued_at + Token.expires_in) > now)}
    ids = consented | holding
    return OAuthClient.query.filter(OAuthClient.client_id.in_(ids)).order_by(OAuthClient.client_name).all() if ids else []


def render(account, status=200, **forms):
    values = {"name_form": NameForm(prefix="name", formdata=None, name=account.display_name or ""),
              "contact_form": ContactForm(prefix="contact", formdata=None),
              "password_form": PasswordChangeForm(prefix="password", formdata=None), "button": ButtonForm()}
    values.update(forms)
    return page("account/index.html", status, account=account, links=linking.linked_identities(account),
                subscriptions=account.visible_subscriptions(), applications=applications(account),
                sessions=get_services().sessions.active(account), facebook=get_services().facebook.configured,
                **values)


@bp.route("")
@account_required
def index(login, account):
    return render(account)


@bp.route("/name", methods=["POST"])
@account_required
def name(login, account):
    form = NameForm(prefix="name")
    if not form.validate_on_submit():
        return render(account, 400, name_form=form)
    account.display_name = form.name.data.strip()
    db.session.commit()
    flash(gettext("A nevét elmentettük."), "notice")
    return redirect(url_for(".index"))


@bp.route("/contact", methods=["POST"])
@account_required
def contact(login, account):
    """A new email address or phone number: a code goes there; the right code stores it."""
    form = ContactForm(prefix="contact")
    if form.validate_on_submit():
        try:
            flow = ContactVerification.start(context(), account, form.value.data, return_to="next:/account")
        except (UsernameFormatError, ThrottledError) as error:
            form.value.errors.append(error.message)
        else:
            return redirect(url_for(".contact_verify", flow=flow.id))
    return render(account, 400, contact_form=form)


@bp.route("/password", methods=["POST"])
@account_required
def password(login, account):
    form = PasswordChangeForm(prefix="password")
    if form.validate_on_submit():
        try:
            change_account_password(context(), account, form.current.data, form.password.data, form.repeat.data)
        except WrongCurrentPasswordError as error:
            form.current.errors.append(error.message)
        except ThrottledError as error:
            form.current.errors.append(error.message)
        except PasswordPolicyError as error:
            form.password.errors.extend(str(e) for e in error.errors)
        else:
            flash(gettext("Az új jelszavát elmentettük."), "notice")
            return redirect(url_for(".index"))
    return render(account, 400, password_form=form)


@bp.route("/link")
@account_required
def link(login, account):
    """Link another identity: log in with it here (it only proves it), then confirm."""
    target = url_for(".link_confirm")
    if request.args.get("kind") == "phone":
        return redirect(url_for("login.phone_number", link=target))
    return redirect(url_for("login.identifier", link=target))


@bp.route("/link/confirm", methods=["GET", "POST"])
@account_required
def link_confirm(login, account):
    """The identity proven last in this browser joins the account (both proven just now)."""
    identity = last_proven_identity()
    if identity is None:
        return redirect(url_for(".index"))
    form, error = ButtonForm(), None
    if form.validate_on_submit():
        try:
            linking.link(context(), account, identity, login_proofs())
        except linking.LinkError as problem:
            error = problem.message
        else:
            flash(gettext("Csatoltuk: %(who)s.", who=identity.identifier), "notice")
            return redirect(url_for(".index"))
    return page("account/link_confirm.html", 400 if error else 200, form=form, account=account, principal=identity,
                error=error, cancel_url=url_for(".index"))


def last_proven_identity():
    for proof in reversed(login_proofs()):
        if proof.get("kind") in linking.LINKABLE:
            return find_principal(proof["kind"], proof.get("sub"))
    return None


@bp.route("/links/<int:link_id>/unlink", methods=["POST"])
@account_required
def unlink(login, account, link_id):
    if not ButtonForm().validate_on_submit():
        return render(account, 400)
    try:
        linking.unlink(context(), account, link_id, login_proofs())
    except linking.ProofMissingError as error:
        flash(error.message, "error")
        return redirect(url_for(".login", next=url_for(".index")))
    except linking.LinkError:
        return render(account, 404)
    flash(gettext("Az azonosítót leválasztottuk."), "notice")
    return redirect(url_for(".index"))


@bp.route("/facebook/unlink", methods=["POST"])
@account_required
def facebook_unlink(login, account):
    if not ButtonForm().validate_on_submit():
        return render(account, 400)
    try:
        linking.unlink_facebook(context(), account, login_proofs())
    except linking.ProofMissingError as error:
        flash(error.message, "error")
        return redirect(url_for(".login", next=url_for(".index")))
    except linking.LinkError as error:
        flash(error.message, "error")
    return redirect(url_for(".index"))


@bp.route("/applications/<client_id>/revoke", methods=["POST"])
@account_required
def revoke_application(login, account, client_id):
    if not ButtonForm().validate_on_submit():
        return render(account, 400)
    if client_id not in {c.client_id for c in applications(account)}:
        return render(account, 404)
    get_services().sessions.revoke_application(account, client_id)
    get_services().audit.record("oauth.grant_revoked", actor=account.sub, subject=account.sub,
                                ip=request.remote_addr, client_id=client_id)
    db.session.commit()
    flash(gettext("Az alkalmazás hozzáférését visszavontuk."), "notice")
    return redirect(url_for(".index"))


@bp.route("/sessions/end", methods=["POST"])
@account_required
def end_sessions(login, account):
    """ "Kijelentkezés mindenhol": every session and token of the account ends."""
    if not ButtonForm().validate_on_submit():
        return render(account, 400)
    get_services().sessions.end_all(account)
    end_login()
    get_services().audit.record("account.signed_out_everywhere", actor=account.sub, subject=account.sub,
                                ip=request.remote_addr)
    db.session.commit()
    return redirect(url_for("home.index"), 303)
