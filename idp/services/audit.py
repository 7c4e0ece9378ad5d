"""Audit log kept in the database, written in the caller's transaction so an
event is recorded exactly when the change it describes is."""

from idp.extensions import db
from idp.services.signals import audit_recorded


class DatabaseAuditLog:
    def __init__(self, clock):
        self.clock = clock

    def record(self, event, *, actor=None, subject=None, company_id=None, ip=None, **details):
        from idp.models.audit import AuditEvent

        db.session.add(AuditEvent(event=event, actor=actor, subject=subject, company_id=company_id,
                                  ip=ip, details=details, created_at=self.clock.now()))
        audit_recorded.send(event, actor=actor, subject=subject, details=details)
