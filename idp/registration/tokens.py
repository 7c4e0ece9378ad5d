"""The two credentials of dynamic registration, both 256-bit random strings shown once
and stored as SHA-256 hashes (``idp.models.client.hash_secret``):

- an *initial access token* (RFC 7591 §3) that ``idp client registration-token`` issues:
  good for ``uses_left`` registrations until ``expires_at``. A use is taken with one
  conditional ``UPDATE``, so of two registrations racing for the last use exactly one gets
  it; a registration refused afterwards gives it back (its transaction rolls back);
- a *registration access token* (RFC 7592 §3): a registered client's credential for its
  own record at ``/oauth/register/<client_id>``, kept on the client row.
"""

import secrets
from datetime import timedelta

from idp.extensions import db
from idp.models.client import OAuthClient
from idp.models.client import hash_secret
from idp.models.registration import RegistrationToken
from idp.services import get_services

#: Longer than any token this server issues (43 characters); anything longer is not one.
MAX_TOKEN_LENGTH = 256


def new_token():
    return secrets.token_urlsafe(32)


def _plausible(value, limit=MAX_TOKEN_LENGTH):
    return isinstance(value, str) and 0 < len(value) <= limit


# --- initial access tokens -------------------------------------------------------------------
def issue_initial_access_token(*, expires_in, uses, label=None, actor=None):
    """A new initial access token: ``(row, token)``; the token is shown only now."""
    services = get_services()
    now = services.clock.now()
    token = new_token()
    row = RegistrationToken(token_hash=hash_secret(token), label=label or None, uses_left=uses,
                            created_at=now, expires_at=now + timedelta(seconds=expires_in))
    db.session.add(row)
    db.session.flush()
    services.audit.record("registration_token.issued", actor=actor, token_id=row.id, label=row.label,
                          uses_left=uses, expires_at=iso(row.expires_at))
    db.session.commit()
    return row, token


def take_initial_access_token_use(token):
    """The row of ``token`` with one of its uses taken (in the caller's transaction), or
    None when it is unknown, expired or used up. The one statement that decides is the
    conditional ``UPDATE``: concurrent callers cannot both take the last use."""
    if not _plausible(token):
        return None
    digest = hash_secret(token)
    taken = (RegistrationToken.query
             .filter(RegistrationToken.token_hash == digest, RegistrationToken.uses_left > 0,
                     RegistrationToken.expires_at > get_services().clock.now())
             .update({RegistrationToken.uses_left: RegistrationToken.uses_left - 1}, synchronize_session=False))
    if not taken:
        return None
    return RegistrationToken.query.filter_by(token_hash=digest).one()


def initial_access_tokens():
    return RegistrationToken.query.order_by(RegistrationToken.created_at, RegistrationToken.id).all()


def revoke_initial_access_token(row, *, actor=None):
    """Forget the token: it registers nothing more (clients it registered stay)."""
    get_services().audit.record("registration_token.revoked", actor=actor, token_id=row.id, label=row.label,
                                uses_left=row.uses_left)
    db.session.delete(row)
    db.session.commit()


def is_usable(row):
    return row.uses_left > 0 and row.expires_at > get_services().clock.now()


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


# --- registration access tokens --------------------------------------------------------------
def client_for_registration_access_token(client_id, token):
    """The client at ``/oauth/register/<client_id>`` if ``token`` is its registration access
    token; None for a wrong token, another client's token, or a client that does not exist -
    one answer, so the endpoint never tells which."""
    if not (_plausible(client_id, 64) and _plausible(token)):
        return None
    return OAuthClient.query.filter_by(client_id=client_id,
                                       registration_access_token_hash=hash_secret(token)).one_or_none()
