"""What the services and the grants announce, for observers above them: the
metrics and the request log of ``idp.observability`` (issue 12 §5).

Blinker signals, like Flask's and Authlib's own: a layer sends and never knows
who listens, so no layer imports its observers (DESIGN.md §1) and the product
works the same with nobody listening. Receivers run in the sender's thread,
inside its request and transaction: they must be quick and must not raise.
"""

from blinker import Namespace

_signals = Namespace()

#: An audit event was recorded (``idp.services.audit``). Sender: the event name
#: (``"login.succeeded"``); keywords ``actor``, ``subject`` and ``details`` as recorded.
audit_recorded = _signals.signal("audit-recorded")

#: This browser's login session was found alive (``idp.services.sessions``).
#: Sender: the session service; keyword ``subject``: the logged-in principal's ``sub``.
login_session_found = _signals.signal("login-session-found")

#: A throttle refused an SMS before it was sent (``idp.services.throttles``). Sender:
#: the throttles; keyword ``reason``: ``cooldown``, ``principal``, ``ip`` or ``budget``.
sms_refused = _signals.signal("sms-refused")

#: Tokens were issued and stored (``idp.grants.tokens``). Sender: the grant type;
#: keywords ``client_id`` and ``subject`` (None for a client's own token).
token_issued = _signals.signal("token-issued")
