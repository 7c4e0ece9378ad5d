"""Mailers: the development outbox and SMTP (``smtplib``)."""

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from idp.extensions import db
from idp.services.sms import DeliveryError

log = logging.getLogger(__name__)


class OutboxMailer:
    def __init__(self, clock):
        self.clock = clock

    @classmethod
    def from_config(cls, config, clock):
        return cls(clock)

    def send(self, to, subject, body):
        from idp.models.outbox import OutboxMessage

        db.session.add(OutboxMessage(channel="email", to=to, subject=subject, body=body,
                                     created_at=self.clock.now()))
        db.session.flush()


class SmtpMailer:
    def __init__(self, host, port, sender, use_tls=False, username=None, password=None, timeout=10.0):
        self.host, self.port, self.sender = host, port, sender
        self.use_tls, self.username, self.password, self.timeout = use_tls, username, password, timeout

    @classmethod
    def from_config(cls, config, clock):
        return cls(config["MAIL_SERVER"], int(config["MAIL_PORT"]), config["MAIL_FROM"],
                   bool(config.get("MAIL_USE_TLS")), config.get("MAIL_USERNAME"), config.get("MAIL_PASSWORD"))

    def send(self, to, subject, body):
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[-1].strip(">"))
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.use_tls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            log.warning("SMTP delivery to %s failed: %s", self.host, error)
            raise DeliveryError("SMTP delivery failed") from error
