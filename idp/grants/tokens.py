"""Minting and storing tokens: RFC 9068 JWT access tokens, opaque refresh
tokens, and the rows that remember them (by hash only)."""

import json
import secrets

from flask import current_app
from joserfc import jws
from joserfc import jwt

from idp.extensions import db
from idp.grants.claims import access_token_claims
from idp.models.client import hash_secret
from idp.models.token import Token
from idp.services import get_services
from idp.services.signals import token_issued


def issuer():
    return current_app.config["ISSUER"]


def sign_jwt(claims, typ, alg=None):
    """Sign ``claims`` with the active key of ``alg``; the header names the ``kid``."""
    keys = get_services().keys
    key = keys.signing_key(alg or current_app.config["DEFAULT_SIGNING_ALG"])
    header = {"alg": key.alg, "kid": key.kid, "typ": typ}
    return jwt.encode(header, claims, key)


class TokenGenerator:
    """Registered as Authlib's default token generator."""

    def __call__(self, grant_type, client, user=None, scope=None, expires_in=None,
                 include_refresh_token=True):
        config = current_app.config
        now = get_services().clock.timestamp()
        expires_in = expires_in or int(config["ACCESS_TOKEN_TTL"])
        claims = {
            "iss": issuer(),
            "sub": user.get_user_id() if user is not None else client.get_client_id(),
            "aud": client.get_client_id(),
            "exp": now + expires_in,
            "iat": now,
            "jti": secrets.token_urlsafe(16),
            "scope": scope or "",
            "client_id": client.get_client_id(),
        }
        claims.update(access_token_claims(user, scope))
        token = {
            "token_type": "Bearer",
            "access_token": sign_jwt(claims, "at+jwt"),
            "expires_in": expires_in,
            "scope": scope or "",
        }
        if include_refresh_token:
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token


def _login_context(request):
    """Where the authentication facts come from: the code, the refreshed token,
    or a first-party grant's login result."""
    return (getattr(request, "login_context", None) or request.authorization_code
            or request.refresh_token)


def save_token(token, request):
    """Store the issuance (hashes only), as one INSERT: no unit of work on the
    token path (issue 12). Committed by the token view."""
    config = current_app.config
    now = get_services().clock.timestamp()
    payload = json.loads(jws.extract_compact(token["access_token"].encode()).payload)
    context = _login_context(request)
    user = request.user
    row = {
        "client_id": request.client.get_client_id(),
        "principal_kind": getattr(user, "kind", None),
        "subject": user.get_user_id() if user is not None else None,
        "scope": token.get("scope", ""),
        "grant_type": request.payload.grant_type,
        "access_token_hash": hash_secret(token["access_token"]),
        "jti": payload["jti"],
        "issued_at": payload["iat"],
        "expires_in": token["expires_in"],
        "family": None,
    }
    if context is not None:
        row.update(auth_time=context.auth_time, acr=context.acr, amr=list(context.amr or []), sid=context.sid)
    if request.authorization_code is not None:
        row["family"] = f"code-{request.authorization_code.id}"
    elif request.refresh_token is not None:
        row["family"] = request.refresh_token.family
    if "refresh_token" in token:
        row["refresh_token_hash"] = hash_secret(token["refresh_token"])
        row["refresh_expires_at"] = now + int(config["REFRESH_TOKEN_TTL"])
        row["family"] = row["family"] or f"token-{secrets.token_urlsafe(12)}"
    db.session.execute(Token.__table__.insert().values(**row))
    token_issued.send(request.payload.grant_type, client_id=request.client.get_client_id(),
                      subject=request.user.get_user_id() if request.user is not None else None)


def revoke_family(family, clock):
    """Revoke every access and refresh token of ``family`` (code or refresh replay)."""
    if not family:
        return 0
    now = clock.now()
    count = (Token.query.filter(Token.family == family, Token.access_revoked_at.is_(None))
             .update({Token.access_revoked_at: now}, synchronize_session=False))
    (Token.query.filter(Token.family == family, Token.refresh_revoked_at.is_(None))
     .update({Token.refresh_revoked_at: now}, synchronize_session=False))
    return count


def find_token(value, hint=None):
    """The token row whose access or refresh token is ``value`` (any hint order)."""
    digest = hash_secret(value)
    by_access = lambda: Token.query.filter_by(access_token_hash=digest).one_or_none()  # noqa: E731
    by_refresh = lambda: Token.query.filter_by(refresh_token_hash=digest).one_or_none()  # noqa: E731
    lookups = (by_refresh, by_access) if hint == "refresh_token" else (by_access, by_refresh)
    for lookup in lookups:
        row = lookup()
        if row is not None:
            return row, ("access_token" if lookup is by_access else "refresh_token")
    return None, None
