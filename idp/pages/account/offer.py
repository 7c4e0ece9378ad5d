"""The offer after a business or phone login (issue 10.2): create a Telekom
account (prefilled with the identity's email or phone), log in to an existing
one to link it, or "Később" (not asked again for ``ACCOUNT_OFFER_SNOOZE_DAYS``);
a linked account that lacks data is asked to be completed. Whatever the
choice, the browser then goes on where it was going (``next``: the paused
authorization request, or the end of the login)."""

from flask import redirect
from flask import request
from flask import url_for
from flask_babel import gettext

from idp.extensions import db
from idp.flows import linking
from idp.flows.account import ContactTakenError
from idp.flows.account import ContactVerification
from idp.flows.account import UsernameFormatError
from idp.flows.account import parse_username
from idp.flows.base import FlowError
from idp.models.principal import KIND_ACCOUNT
from idp.models.principal import find_principal
from idp.oidc.interactions import current_login
from idp.oidc.interactions import login_proofs
from idp.pages.account import bp
from idp.pages.account.forms import ButtonForm
from idp.pages.account.forms import CodeForm
from idp.pages.account.forms import ContactForm
from idp.pages.account.forms import NameForm
from idp.pages.common import code_error
from idp.pages.common import context
from idp.pages.common import page
from idp.pages.common import safe_next
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError
from idp.services.throttles import ThrottledError


def next_url():
    return safe_next(request.args.get("next")) or url_for("login.done")


def identity():
    """The business user or phone line logged in on this browser (whom the offer is for)."""
    _, principal = current_login()
    return principal if principal is not None and principal.kind in linking.LINKABLE else None


def latest_account_proof():
    """The Telekom account this browser proved last (for linking), if recent enough."""
    ctx = context()
    for proof in reversed(login_proofs()):
        if proof.get("kind") == KIND_ACCOUNT:
            account = find_principal(KIND_ACCOUNT, proof.get("sub"))
            if account is not None and linking.proven(ctx, login_proofs(), account):
                return account
    return None


@bp.route("/offer", methods=["GET", "POST"])
def offer():
    principal = identity()
    if principal is None:
        return redirect(next_url())
    kind, account = linking.offer_for(context(), principal)
    later = ButtonForm(prefix="later")
    if later.validate_on_submit():
        linking.snooze_offer(context(), principal)
        return redirect(next_url())
    if kind is None:
        return redirect(next_url())
    here = url_for(".offer_link", next=next_url())
    prefill = principal.email if getattr(principal, "email", None) else principal.phone_number
    return page("account/offer.html", kind=kind, account=account, principal=principal, later=later,
                create_url=url_for(".new", link=here, prefill=prefill), login_url=url_for(".login", link=here),
                missing=linking.missing_data(account) if account else [], name_form=NameForm(prefix="name"),
                contact_form=ContactForm(prefix="contact"), next=next_url())


@bp.route("/offer/link", methods=["GET", "POST"])
def offer_link():
    """After the account was created or logged in to (as a proof): link it to
    the business user or phone line logged in on this browser."""
    principal, account = identity(), latest_account_proof()
    if principal is None or account is None:
        return redirect(next_url())
    form = ButtonForm()
    error = None
    if form.validate_on_submit():
        try:
            linking.link(context(), account, principal, login_proofs())
        except linking.LinkError as problem:
            error = problem.message
        else:
            return redirect(next_url())
    return page("account/link_confirm.html", form=form, account=account, principal=principal, error=error,
                status=400 if error else 200, cancel_url=next_url())


@bp.route("/offer/complete", methods=["POST"])
def offer_complete():
    """Complete the linked account's missing data: a name, or verify its email or phone."""
    principal = identity()
    account = linking.account_of(principal) if principal is not None else None
    if account is None:
        return redirect(next_url())
    name_form, contact_form = NameForm(prefix="name"), ContactForm(prefix="contact")
    if name_form.submit.data and name_form.validate_on_submit():
        account.display_name = name_form.name.data.strip()
        db.session.commit()
        return redirect(url_for(".offer", next=next_url()))
    if contact_form.submit.data and contact_form.validate_on_submit():
        try:
            kind, _ = parse_username(contact_form.value.data)
            if account.email_confirmed if kind == "email" else account.phone_confirmed:
                # A linked identity may complete the account, never change what it proved.
                contact_form.value.errors.append(gettext("Ezt csak a Telekom fiókjába belépve módosíthatja."))
            else:
                flow = ContactVerification.start(context(), account, contact_form.value.data,
                                                 return_to="next:" + url_for(".offer", next=next_url()))
                return redirect(url_for(".contact_verify", flow=flow.id))
        except (UsernameFormatError, ThrottledError) as error:
            contact_form.value.errors.append(error.message)
    kind, _ = linking.offer_for(context(), principal)
    return page("account/offer.html", 400, kind=kind or linking.COMPLETE, account=account, principal=principal,
                later=ButtonForm(prefix="later"), missing=linking.missing_data(account), name_form=name_form,
                contact_form=contact_form, next=next_url(), create_url=None, login_url=None)


@bp.route("/contact/verify", methods=["GET", "POST"])
def contact_verify():
    """The code sent to a new or unverified email address or phone number."""
    try:
        flow = ContactVerification.load(context(), request.args.get("flow"))
        flow.expect("verify")
    except FlowError:
        return redirect(url_for(".index"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        try:
            flow.submit_code(form.code.data)
        except CodeInvalidError as problem:
            form.code.errors.append(code_error(problem))
        except (CodeExpiredError, FlowError, ContactTakenError) as problem:
            error = getattr(problem, "message", None) or FlowError.message
            db.session.rollback()
        else:
            return redirect(safe_next((flow.return_to or "")[len("next:"):]) or url_for(".index"))
    return page("account/code.html", 400 if error else 200, form=form, flow=flow, hint=flow.destination_hint,
                channel="sms" if flow.contact_kind == "phone" else "email", resend=None, resend_url=None,
                error=error)
