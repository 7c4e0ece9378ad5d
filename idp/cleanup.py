"""``idp cleanup`` (issue 12 §7): delete the rows nobody needs any more, from cron on any node.

A row goes ``CLEANUP_GRACE`` seconds (a day) after it stopped mattering - expired, used,
ended, delivered - so a late replay is still recognised and an operator can still look at
what just happened. What is kept on purpose:

- a refresh token's row while any token of its *family* can still be refreshed: presenting
  a rotated one again must still revoke the family (RFC 9700 §4.14.2), and an authorization
  code's row while tokens descended from it exist (a replayed code revokes them, and on
  SQLite a deleted row's id could come back and join an old family);
- tokens and codes of a login session that is still alive: its logout tells their clients
  (back-channel logout looks them up);
- audit events, consents, clients and principals: they are records, not leftovers.

Rows go in batches of ``CLEANUP_BATCH_SIZE``: one ``DELETE … WHERE id IN (SELECT id … LIMIT n
FOR UPDATE SKIP LOCKED)`` a batch, committed at once, so no run holds many locks or a long
transaction. Several nodes may run it at the same time: on PostgreSQL each batch takes rows
no other run has locked, and a row is deleted once - the counts of all runs add up to the
rows deleted (SQLite has one writer at a time anyway).
"""

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import cast
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import aliased

from idp.extensions import db
from idp.models.account import AccountOfferSnooze
from idp.models.flow import FlowState
from idp.models.otp import OtpChallenge
from idp.models.outbox import OutboxMessage
from idp.models.registration import LogoutNotification
from idp.models.registration import RegistrationToken
from idp.models.session import Interaction
from idp.models.session import LoginSession
from idp.models.token import AuthorizationCode
from idp.models.token import Token
from idp.models.token import UsedAssertion
from idp.services import get_services


@dataclass(frozen=True)
class Cutoff:
    """``now``, and the moment before which a row that stopped mattering may go (``before``,
    also as the integer timestamps the token rows keep)."""

    now: datetime
    before: datetime

    @property
    def before_ts(self):
        return int(self.before.timestamp())


def session_alive(sid, cutoff):
    """The login session ``sid`` names has neither ended nor expired."""
    return exists().where(LoginSession.id == sid, LoginSession.ended_at.is_(None),
                          LoginSession.expires_at > cutoff.now)


def authorization_codes(cutoff):
    family = literal("code-") + cast(AuthorizationCode.id, String)
    return and_(AuthorizationCode.expires_at < cutoff.before,
                ~exists().where(Token.family == family),
                ~session_alive(AuthorizationCode.sid, cutoff))


def tokens(cutoff):
    member = aliased(Token)
    refreshable_member = exists().where(
        member.family == Token.family, member.refresh_token_hash.isnot(None), member.refresh_revoked_at.is_(None),
        or_(member.refresh_expires_at.is_(None), member.refresh_expires_at >= cutoff.before_ts))
    refresh_dead = or_(Token.refresh_token_hash.is_(None), Token.refresh_revoked_at < cutoff.before,
                       Token.refresh_expires_at < cutoff.before_ts)
    return and_(Token.issued_at < cutoff.before_ts,  # lets an index narrow the next line's sum
                Token.issued_at + Token.expires_in < cutoff.before_ts,
                refresh_dead, ~refreshable_member, ~session_alive(Token.sid, cutoff))


#: What ``idp cleanup`` deletes, in this order (a code waits for its tokens, so the tokens go
#: first): the name it reports, the model, when a row is spent.
KINDS = [
    ("tokens", Token, tokens),
    ("authorization_codes", AuthorizationCode, authorization_codes),
    ("used_client_assertions", UsedAssertion, lambda c: UsedAssertion.expires_at < c.before),
    ("interactions", Interaction, lambda c: Interaction.expires_at < c.before),
    ("flow_states", FlowState, lambda c: FlowState.expires_at < c.before),
    ("otp_challenges", OtpChallenge, lambda c: OtpChallenge.expires_at < c.before),
    ("login_sessions", LoginSession, lambda c: or_(LoginSession.ended_at < c.before,
                                                   LoginSession.expires_at < c.before)),
    ("logout_notifications", LogoutNotification, lambda c: or_(LogoutNotification.delivered_at < c.before,
                                                               LogoutNotification.given_up_at < c.before)),
    ("registration_tokens", RegistrationToken, lambda c: or_(
        RegistrationToken.expires_at < c.before,
        and_(RegistrationToken.uses_left <= 0, RegistrationToken.created_at < c.before))),
    ("account_offer_snoozes", AccountOfferSnooze, lambda c: AccountOfferSnooze.until < c.before),
    ("outbox_messages", OutboxMessage, lambda c: OutboxMessage.created_at < c.before),
]


def delete_spent_rows(batch_size=None, grace=None):
    """Delete every kind's spent rows; returns ``{kind: rows this run deleted}``."""
    config = current_app.config
    batch_size = int(batch_size or config["CLEANUP_BATCH_SIZE"])
    now = get_services().clock.now()
    grace = int(config["CLEANUP_GRACE"] if grace is None else grace)
    cutoff = Cutoff(now=now, before=now - timedelta(seconds=grace))
    return {name: delete_in_batches(model, spent(cutoff), batch_size) for name, model, spent in KINDS}


def delete_in_batches(model, condition, batch_size):
    """Delete ``model``'s rows that meet ``condition``, ``batch_size`` at a time, each batch
    its own transaction; returns how many this call deleted. Stops when a batch finds
    nothing it can take (what another run has locked is that run's to delete)."""
    key = model.__mapper__.primary_key[0]
    deleted = 0
    while True:
        batch = (select(key).where(condition).limit(batch_size)
                 .with_for_update(skip_locked=True, of=model))
        result = db.session.execute(delete(model).where(key.in_(batch)),
                                    execution_options={"synchronize_session": False})
        db.session.commit()
        if not result.rowcount:
            return deleted
        deleted += result.rowcount
