"""Logging in to a Telekom account with Facebook (MISSION.md 9).

The journey's id is the ``state`` of Facebook's OAuth dialog, so the
callback can only continue the journey this browser started (a wrong or
replayed ``state`` finds nothing). The connector (``services.facebook``, on
Authlib's client) exchanges the code and reads ``/me``; the journey then:

- logs in the account that holds this Facebook identity (``amr`` ``fed``);
- or, when linking from a logged-in account, adds the identity to it - a
  Facebook identity belongs to one account only;
- or, for an identity no account holds, stops at ``NEW``: the person chooses
  to create an account from it (its email is *not* taken as verified, and is
  kept only when no other account has it) or to log in to an existing account
  to link it. Nothing is created on any error.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from idp.errors import IdpError
from idp.extensions import db
from idp.flows.base import Flow
from idp.flows.base import FlowError
from idp.flows.linking import FacebookLinkedElsewhereError
from idp.flows.linking import link_facebook
from idp.flows.result import ACR_ONE_FACTOR
from idp.flows.result import LoginResult
from idp.models.account import TelekomAccount
from idp.models.principal import find_principal
from idp.services.facebook import FacebookError

START, NEW, DONE = "start", "new", "done"


class FacebookCancelledError(IdpError):
    message = _l("A Facebook-belépést megszakította. Választhat más belépési módot.")


class FacebookUnavailableError(IdpError):
    message = _l("A Facebook-belépés most nem sikerült. Kérjük, próbálja újra később, vagy válasszon más "
                 "belépési módot.")


class FacebookLogin(Flow):
    KIND = "facebook"
    TRANSITIONS = {START: {NEW, DONE}, NEW: {DONE}}

    @classmethod
    def start(cls, ctx, *, link_to=None, return_to=None):
        """``link_to``: the logged-in account that adds Facebook (else a login)."""
        flow = cls.create(ctx, first_step=START, return_to=return_to)
        flow.state.data = {"link_to": link_to}
        db.session.commit()
        return flow

    @property
    def identity(self):
        return self.state.data.get("identity") or {}

    def cancelled(self):
        """The person said no in Facebook's dialog."""
        self.expect(START)
        self.finish()
        db.session.commit()
        raise FacebookCancelledError()

    def complete(self, code, redirect_uri, proofs=()):
        """The dialog came back with ``code``: read the identity and go on."""
        self.expect(START)
        try:
            identity = self.ctx.services.facebook.fetch_identity(code, redirect_uri)
        except FacebookError:
            self.finish()
            db.session.commit()
            raise FacebookUnavailableError() from None
        self.state.data = {**self.state.data, "identity": {"id": identity.id, "name": identity.name,
                                                           "email": identity.email}}
        holder = TelekomAccount.query.filter_by(facebook_id=identity.id, deleted_at=None).one_or_none()
        link_to = self.state.data.get("link_to")
        if link_to:
            account = find_principal("account", link_to)
            if account is None:
                raise FlowError()
            try:
                link_facebook(self.ctx, account, identity.id, proofs)
            except FacebookLinkedElsewhereError:
                self.finish()
                db.session.commit()
                raise
            self._done(account, linked=True)
        elif holder is not None:
            self._done(holder)
        else:
            self.goto(NEW)
            db.session.commit()

    def create_account(self):
        """ "Fiók létrehozása Facebookkal": a new account that logs in with this identity."""
        self.expect(NEW)
        identity = self.identity
        email = (identity.get("email") or "").casefold() or None
        if email and TelekomAccount.query.filter_by(email_address=email).first() is not None:
            email = None  # never matched to another account, never taken as verified
        account = TelekomAccount(facebook_id=identity["id"], display_name=(identity.get("name") or None),
                                 email_address=email, email_confirmed=False, created_at=self.ctx.clock.now())
        db.session.add(account)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise FacebookLinkedElsewhereError() from None
        self.ctx.services.audit.record("account.created", actor=account.sub, subject=account.sub, ip=self.ctx.ip,
                                       username_kind="facebook")
        self._done(account)

    def _done(self, account, linked=False):
        self.state.principal_kind, self.state.subject = account.kind, account.sub
        self.state.amr = ["fed"]
        self.state.data = {**self.state.data, "linked": linked}
        self.goto(DONE)
        db.session.commit()

    @property
    def linked(self):
        return bool(self.state.data.get("linked"))

    def result(self) -> LoginResult:
        self.expect(DONE)
        account = find_principal(self.state.principal_kind, self.state.subject)
        if account is None:
            raise FlowError()
        self.consume()
        return LoginResult(principal=account, amr=("fed",), acr=ACR_ONE_FACTOR, auth_time=self.ctx.clock.timestamp())
