"""Browser-side state of the protocol: paused authorization requests
(interactions), login sessions (the ``sid``) and remembered consents."""

from idp.extensions import db
from idp.models.base import UTCDateTime


class Interaction(db.Model):
    """An authorization request paused while the user logs in or consents.

    Like node-oidc-provider's Interaction: the request's parameters, the
    browser it belongs to, a TTL, and - once a flow finished - the login result.
    """

    __tablename__ = "interactions"

    id = db.Column(db.String(64), primary_key=True)
    browser_id = db.Column(db.String(64), nullable=False)
    client_id = db.Column(db.String(64), nullable=False)
    params = db.Column(db.JSON, nullable=False)
    prompt = db.Column(db.String(16), nullable=False)  # "login" | "consent"
    login_hint = db.Column(db.String(320), nullable=True)
    login_session_id = db.Column(db.String(64), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)
    consent_granted_at = db.Column(UTCDateTime, nullable=True)
    finished_at = db.Column(UTCDateTime, nullable=True)


class LoginSession(db.Model):
    """One login of one principal on one binding (a browser, or a first-party
    app's client); its id is the ``sid`` claim."""

    __tablename__ = "login_sessions"

    id = db.Column(db.String(64), primary_key=True)
    binding = db.Column(db.String(96), nullable=False, index=True)
    principal_kind = db.Column(db.String(16), nullable=False)
    subject = db.Column(db.String(32), nullable=False, index=True)
    auth_time = db.Column(db.Integer, nullable=False)
    acr = db.Column(db.String(64), nullable=True)
    amr = db.Column(db.JSON, nullable=False, default=list)
    created_at = db.Column(UTCDateTime, nullable=False)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)
    ended_at = db.Column(UTCDateTime, nullable=True)


class Consent(db.Model):
    """Scopes a principal allowed a third-party client to receive."""

    __tablename__ = "consents"
    __table_args__ = (db.UniqueConstraint("client_id", "principal_kind", "subject", name="uq_consents_grant"),)

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(64), nullable=False)
    principal_kind = db.Column(db.String(16), nullable=False)
    subject = db.Column(db.String(32), nullable=False)
    scope = db.Column(db.Text, nullable=False)
    updated_at = db.Column(UTCDateTime, nullable=False)
