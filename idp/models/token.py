"""Authorization codes and issued tokens. Only hashes of the secrets are stored."""

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin
from authlib.oauth2.rfc6749 import TokenMixin

from idp.extensions import db
from idp.models.base import UTCDateTime


class AuthorizationCode(AuthorizationCodeMixin, db.Model):
    """Single-use, short-lived; bound to client, redirect URI, PKCE challenge and login."""

    __tablename__ = "authorization_codes"

    id = db.Column(db.Integer, primary_key=True)
    code_hash = db.Column(db.String(64), nullable=False, unique=True)
    client_id = db.Column(db.String(64), nullable=False, index=True)
    redirect_uri = db.Column(db.String(2048), nullable=True)
    scope = db.Column(db.Text, nullable=False, default="")
    principal_kind = db.Column(db.String(16), nullable=False)
    subject = db.Column(db.String(32), nullable=False)
    nonce = db.Column(db.String(512), nullable=True)
    code_challenge = db.Column(db.String(128), nullable=True)
    code_challenge_method = db.Column(db.String(8), nullable=True)
    auth_time = db.Column(db.Integer, nullable=False)
    acr = db.Column(db.String(64), nullable=True)
    amr = db.Column(db.JSON, nullable=False, default=list)
    sid = db.Column(db.String(64), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)
    used_at = db.Column(UTCDateTime, nullable=True)

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return self.acr

    def get_amr(self):
        return list(self.amr or [])


class Token(TokenMixin, db.Model):
    """One issuance at the token endpoint: an access token and maybe a refresh token.

    ``family`` groups every token descended from one authorization code through
    refresh rotation; replaying a code or a rotated refresh token revokes the
    whole family (RFC 9700 §4.14.2, RFC 6749 §4.1.2).
    """

    __tablename__ = "tokens"

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(64), nullable=False, index=True)
    principal_kind = db.Column(db.String(16), nullable=True)
    subject = db.Column(db.String(32), nullable=True, index=True)
    scope = db.Column(db.Text, nullable=False, default="")
    grant_type = db.Column(db.String(128), nullable=False)
    access_token_hash = db.Column(db.String(64), nullable=False, unique=True)
    jti = db.Column(db.String(64), nullable=False, unique=True)
    refresh_token_hash = db.Column(db.String(64), nullable=True, unique=True)
    family = db.Column(db.String(64), nullable=True, index=True)
    auth_time = db.Column(db.Integer, nullable=True)
    acr = db.Column(db.String(64), nullable=True)
    amr = db.Column(db.JSON, nullable=False, default=list)
    sid = db.Column(db.String(64), nullable=True, index=True)
    issued_at = db.Column(db.Integer, nullable=False, index=True)
    expires_in = db.Column(db.Integer, nullable=False)
    refresh_expires_at = db.Column(db.Integer, nullable=True)
    access_revoked_at = db.Column(UTCDateTime, nullable=True)
    refresh_revoked_at = db.Column(UTCDateTime, nullable=True)
    refresh_used_at = db.Column(UTCDateTime, nullable=True)

    # --- authlib TokenMixin --------------------------------------------------
    def check_client(self, client):
        return self.client_id == client.get_client_id()

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def get_expires_at(self):
        return self.issued_at + self.expires_in

    def is_revoked(self):
        return self.access_revoked_at is not None

    def is_expired(self, now_ts):
        """``now_ts`` from the clock service (models do not read time themselves)."""
        return self.get_expires_at() <= now_ts

    def refresh_is_usable(self, now_ts):
        """Not used, revoked or expired - and, unless ``offline_access`` was
        granted, its login session still alive: an ordinary refresh token
        ends with the login (logout, expiry), an offline one outlives it
        (OIDC Core §11, DESIGN.md §2)."""
        usable = (self.refresh_token_hash is not None and self.refresh_revoked_at is None
                  and self.refresh_used_at is None
                  and (self.refresh_expires_at is None or self.refresh_expires_at > now_ts))
        if not usable or self.outlives_login or not self.sid:
            return usable
        from idp.models.session import LoginSession

        login = db.session.get(LoginSession, self.sid)
        return (login is not None and login.ended_at is None
                and login.expires_at.timestamp() > now_ts)

    @property
    def outlives_login(self):
        return "offline_access" in (self.scope or "").split()

    def get_client(self):
        from idp.models.client import OAuthClient

        return OAuthClient.query.filter_by(client_id=self.client_id).one_or_none()

    def get_user(self):
        from idp.models.principal import find_principal

        return find_principal(self.principal_kind, self.subject)


class UsedAssertion(db.Model):
    """``jti`` of client assertions already accepted (replay guard, RFC 7523 §3)."""

    __tablename__ = "used_assertions"

    jti_hash = db.Column(db.String(64), primary_key=True)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)
