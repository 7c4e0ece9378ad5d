"""Audit events: who did what, when, from where."""

from idp.extensions import db
from idp.models.base import UTCDateTime


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id = db.Column(db.Integer, primary_key=True)
    event = db.Column(db.String(64), nullable=False, index=True)
    actor = db.Column(db.String(128), nullable=True)
    subject = db.Column(db.String(128), nullable=True, index=True)
    company_id = db.Column(db.Integer, db.ForeignKey("companies.id"), nullable=True, index=True)
    ip = db.Column(db.String(64), nullable=True)
    details = db.Column(db.JSON, nullable=False, default=dict)
    created_at = db.Column(UTCDateTime, nullable=False, index=True)
