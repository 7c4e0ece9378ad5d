"""The one place that decides which scope a grant gets (RFC 6749 §3.3).

Every grant — the authorization endpoint, the code exchange, refresh,
client_credentials and the first-party grants — asks :func:`granted_scope`,
so a client can never get a scope it was not registered for:

- an unknown scope is ``invalid_scope`` (DESIGN.md §2: never silently dropped);
- a known scope the client is not registered for is ``invalid_scope`` too, with
  a sentence naming it (as node-oidc-provider does), so a developer sees the
  mistake instead of a token without the claims they expected;
- an empty ``scope`` gives the client's registered default, which never
  contains ``offline_access`` (OIDC Core §11 wants it asked for explicitly);
- a refresh may narrow the original grant but never widen it (RFC 6749 §6),
  and loses whatever the client's registration no longer allows;
- ``offline_access`` (OIDC Core §11) is granted only with the code flow (and the
  first-party grants) to a client allowed the ``refresh_token`` grant; otherwise
  it is left out of the granted scope, which the token response then shows.
"""

from authlib.oauth2.rfc6749 import InvalidScopeError
from authlib.oauth2.rfc6749.util import list_to_scope
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import current_app

from idp.errors import safe_description
from idp.grants import FIRST_PARTY_GRANTS

OFFLINE_ACCESS = "offline_access"
#: Grants with an end-user whose tokens may outlive the login.
OFFLINE_GRANTS = {"authorization_code", "refresh_token", *FIRST_PARTY_GRANTS}


def _names(scopes):
    return safe_description(", ".join(scopes), limit=120)


def granted_scope(client, requested, grant_type, original=None) -> str:
    """The scope ``client`` gets for ``requested`` on ``grant_type``.

    ``original`` is the scope of the grant being refreshed, if any. Raises
    ``InvalidScopeError`` with a plain sentence when the request asks for more
    than it may have.
    """
    registered = scope_to_list(client.scope) or []
    wanted = list(dict.fromkeys(scope_to_list(requested) or []))
    if not wanted:
        base = scope_to_list(original) if original is not None else [
            s for s in registered if s != OFFLINE_ACCESS]
        return list_to_scope([s for s in base if s in registered]) or ""
    supported = set(current_app.config["SCOPES"])
    unknown = [s for s in wanted if s not in supported]
    if unknown:
        raise InvalidScopeError(f"Unknown scope: {_names(unknown)}")
    not_registered = [s for s in wanted if s not in registered]
    if not_registered:
        raise InvalidScopeError(f"The client is not registered for the scope {_names(not_registered)}")
    if original is not None:
        beyond = [s for s in wanted if s not in (scope_to_list(original) or [])]
        if beyond:
            raise InvalidScopeError(f"The scope {_names(beyond)} was not granted originally")
    if OFFLINE_ACCESS in wanted and not offline_access_possible(client, grant_type):
        wanted.remove(OFFLINE_ACCESS)
    return list_to_scope(wanted) or ""


def offline_access_possible(client, grant_type):
    return grant_type in OFFLINE_GRANTS and client.check_grant_type("refresh_token")


def has_offline_access(scope) -> bool:
    return OFFLINE_ACCESS in (scope_to_list(scope) or [])


class ScopePolicy:
    """Grant mixin: Authlib's ``validate_requested_scope`` hook, answered by
    :func:`granted_scope`; the result is ``request.scope``."""

    def validate_requested_scope(self):
        request = self.request
        request.scope = granted_scope(request.client, request.payload.scope, self.GRANT_TYPE)
        return request.scope
