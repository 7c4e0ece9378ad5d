"""SMS senders: the development outbox and the operator's HTTP gateway."""

import logging

import requests

from idp.extensions import db

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The message could not be handed to the gateway."""


class OutboxSmsSender:
    """Development: the SMS lands in the outbox table (``/dev/outbox``)."""

    def __init__(self, clock):
        self.clock = clock

    @classmethod
    def from_config(cls, config, clock):
        return cls(clock)

    def send(self, to, body):
        from idp.models.outbox import OutboxMessage

        db.session.add(OutboxMessage(channel="sms", to=to, body=body, created_at=self.clock.now()))
        db.session.flush()


class HttpGatewaySmsSender:
    """Production: POST ``{"to", "from", "text"}`` as JSON with a bearer token."""

    def __init__(self, url, token, sender, timeout=5.0):
        self.url, self.token, self.sender, self.timeout = url, token, sender, timeout

    @classmethod
    def from_config(cls, config, clock):
        from idp.errors import ConfigurationError

        if not config.get("SMS_GATEWAY_URL"):
            raise ConfigurationError("IDP_SMS_BACKEND=http needs IDP_SMS_GATEWAY_URL.")
        return cls(config["SMS_GATEWAY_URL"], config.get("SMS_GATEWAY_TOKEN"), config["SMS_SENDER_NAME"])

    def send(self, to, body):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = requests.post(self.url, json={"to": to, "from": self.sender, "text": body},
                                     headers=headers, timeout=self.timeout)
        except requests.RequestException as error:
            log.warning("SMS gateway unreachable: %s", error)
            raise DeliveryError("SMS gateway unreachable") from error
        if response.status_code >= 300:
            log.warning("SMS gateway answered %s", response.status_code)
            raise DeliveryError(f"SMS gateway answered {response.status_code}")
