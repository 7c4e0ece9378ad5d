"""Linking business users and phone lines to a Telekom account (MISSION.md 9).

The rules, all here:
- a link is made only when the person has just proven control of both sides
  in the same browser session: a login of the account and a login of the
  identity, each at most ``ACCOUNT_LINK_PROOF_TTL`` seconds ago (``proofs``,
  which the channel keeps); never because two email addresses match - the
  auto-linking to an unverified email that Keycloak had to fix;
- an identity belongs to one account only; so does a Facebook identity;
- unlinking needs a recent login of the account;
- every link and unlink is audited and emailed to the account's verified address.

After a business or phone login the channel asks :func:`offer_for`: offer
to create or link an account, to complete one that lacks data, or nothing
(already linked and complete, or snoozed with "Később").
"""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from idp.errors import IdpError
from idp.extensions import db
from idp.flows.messages import link_changed_email
from idp.models.account import AccountLink
from idp.models.account import AccountOfferSnooze
from idp.models.account import TelekomAccount
from idp.models.principal import KIND_ACCOUNT
from idp.models.principal import KIND_BUSINESS
from idp.models.principal import KIND_PHONE
from idp.models.principal import find_principal

LINKABLE = (KIND_BUSINESS, KIND_PHONE)
CREATE, COMPLETE = "create", "complete"


class LinkError(IdpError):
    message = _l("A csatolás nem sikerült.")

    def __init__(self, message=None):
        super().__init__(str(message or self.message))
        if message is not None:
            self.message = message


class ProofMissingError(LinkError):
    message = _l("A csatoláshoz mindkét azonosítóval újra be kell lépnie ebben a böngészőben.")


class IdentityLinkedElsewhereError(LinkError):
    message = _l("Ez az azonosító már egy másik Telekom fiókhoz tartozik. Előbb ott válassza le.")


class FacebookLinkedElsewhereError(LinkError):
    message = _l("Ez a Facebook-fiók már egy másik Telekom fiókhoz tartozik.")


def proven(ctx, proofs, principal):
    """``principal`` logged in within the proof lifetime, per ``proofs``
    (``[{"kind", "sub", "at"}]``, newest last)."""
    ttl = int(ctx.config["ACCOUNT_LINK_PROOF_TTL"])
    now = ctx.clock.timestamp()
    return any(p.get("kind") == principal.kind and p.get("sub") == principal.sub and now - int(p.get("at", 0)) <= ttl
               for p in proofs or [])


def account_of(principal):
    """The Telekom account ``principal`` (a business user or phone line) is linked to, or None."""
    link = AccountLink.query.filter_by(principal_kind=principal.kind, subject=principal.sub).one_or_none()
    return db.session.get(TelekomAccount, link.account_id) if link is not None else None


def linked_identities(account, kinds=LINKABLE):
    """The active business users and phone lines linked to ``account``, with their links."""
    links = AccountLink.query.filter_by(account_id=account.id).order_by(AccountLink.id).all()
    found = [(link, find_principal(link.principal_kind, link.subject)) for link in links
             if link.principal_kind in kinds]
    return [(link, principal) for link, principal in found if principal is not None]


def link(ctx, account, identity, proofs):
    """Link ``identity`` to ``account``: both proven in this session."""
    if identity.kind not in LINKABLE or account.kind != KIND_ACCOUNT:
        raise LinkError()
    if not (proven(ctx, proofs, account) and proven(ctx, proofs, identity)):
        raise ProofMissingError()
    existing = AccountLink.query.filter_by(principal_kind=identity.kind, subject=identity.sub).one_or_none()
    if existing is not None:
        if existing.account_id == account.id:
            return existing
        raise IdentityLinkedElsewhereError()
    row = AccountLink(account_id=account.id, principal_kind=identity.kind, subject=identity.sub,
                      created_at=ctx.clock.now())
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # linked elsewhere at this very moment
        db.session.rollback()
        raise IdentityLinkedElsewhereError() from None
    _changed(ctx, account, identity.identifier, linked=True, kind=identity.kind)
    db.session.commit()
    return row


def unlink(ctx, account, link_id, proofs):
    """Unlink one of ``account``'s identities; needs a recent login of the account."""
    if not proven(ctx, proofs, account):
        raise ProofMissingError()
    row = AccountLink.query.filter_by(id=link_id, account_id=account.id).one_or_none()
    if row is None:
        raise LinkError()
    identity = find_principal(row.principal_kind, row.subject)
    db.session.delete(row)
    _changed(ctx, account, identity.identifier if identity else row.subject, linked=False, kind=row.principal_kind)
    db.session.commit()


def link_facebook(ctx, account, facebook_id, proofs):
    """The Facebook identity just proven (``facebook_id``) joins ``account``."""
    if not proven(ctx, proofs, account):
        raise ProofMissingError()
    owner = TelekomAccount.query.filter_by(facebook_id=facebook_id).one_or_none()
    if owner is not None and owner.id != account.id:
        raise FacebookLinkedElsewhereError()
    account.facebook_id = facebook_id
    _changed(ctx, account, "Facebook", linked=True, kind="facebook")
    db.session.commit()


def unlink_facebook(ctx, account, proofs):
    if not proven(ctx, proofs, account):
        raise ProofMissingError()
    if account.facebook_id and not account.password_hash:
        raise LinkError(_l("Jelszó nélkül a Facebook-fiók az egyetlen belépési módja: előbb adjon meg jelszót."))
    account.facebook_id = None
    _changed(ctx, account, "Facebook", linked=False, kind="facebook")
    db.session.commit()


def _changed(ctx, account, identity, *, linked, kind):
    services = ctx.services
    services.audit.record("account.linked" if linked else "account.unlinked", actor=account.sub,
                          subject=account.sub, ip=ctx.ip, identity=identity, kind=kind)
    if account.email_address and account.email_confirmed:
        services.mailer.send(account.email_address, *link_changed_email(linked, identity, ctx.config["ISSUER"]))


# --- the offer after a business or phone login ------------------------------------------------------
def missing_data(account):
    """What the account lacks: ``name``; ``email``/``phone`` given but not yet
    verified; ``email`` when it has no verified way to be reached at all (a
    Facebook-only account)."""
    missing = [] if account.display_name else ["name"]
    if account.email_address and not account.email_confirmed:
        missing.append("email")
    if account.phone and not account.phone_confirmed:
        missing.append("phone")
    if not (account.email_confirmed or account.phone_confirmed or account.email_address or account.phone):
        missing.append("email")
    return missing


def offer_for(ctx, principal):
    """After a business or phone login: ``(CREATE, None)`` when no account is
    linked, ``(COMPLETE, account)`` when the linked one lacks data, else
    ``(None, account or None)``; nothing while "Később" holds."""
    if principal.kind not in LINKABLE:
        return None, None
    account = account_of(principal)
    snooze = AccountOfferSnooze.query.filter_by(principal_kind=principal.kind, subject=principal.sub).one_or_none()
    if snooze is not None and snooze.until > ctx.clock.now():
        return None, account
    if account is None:
        return CREATE, None
    return (COMPLETE, account) if missing_data(account) else (None, account)


def snooze_offer(ctx, principal):
    """"Később": not asked again for ``ACCOUNT_OFFER_SNOOZE_DAYS``."""
    until = ctx.clock.now() + timedelta(days=int(ctx.config["ACCOUNT_OFFER_SNOOZE_DAYS"]))
    row = AccountOfferSnooze.query.filter_by(principal_kind=principal.kind, subject=principal.sub).one_or_none()
    if row is None:
        db.session.add(AccountOfferSnooze(principal_kind=principal.kind, subject=principal.sub, until=until))
    else:
        row.until = until
    db.session.commit()
