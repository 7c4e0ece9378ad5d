"""Server-side state of an interactive login journey (STYLE.md "A flow")."""

from idp.extensions import db
from idp.models.base import UTCDateTime


class FlowState(db.Model):
    __tablename__ = "flow_states"

    id = db.Column(db.String(64), primary_key=True)
    kind = db.Column(db.String(32), nullable=False)  # business | phone | password_reset | ...
    step = db.Column(db.String(32), nullable=False)
    # Who may continue the journey: "browser:<id>" or "client:<client_id>" (flows.base.Binding).
    binding = db.Column(db.String(96), nullable=False)
    # Where the channel goes when the journey ends; opaque to the journey.
    return_to = db.Column(db.String(600), nullable=True)
    identifier = db.Column(db.String(320), nullable=True)  # as normalised, even if unknown
    principal_kind = db.Column(db.String(16), nullable=True)
    subject = db.Column(db.String(32), nullable=True)
    otp_challenge_id = db.Column(db.String(64), nullable=True)
    amr = db.Column(db.JSON, nullable=False, default=list)
    data = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(UTCDateTime, nullable=False)
    expires_at = db.Column(UTCDateTime, nullable=False, index=True)
    finished_at = db.Column(UTCDateTime, nullable=True)
