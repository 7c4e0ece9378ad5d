"""The request id: taken from an incoming ``X-Request-ID`` when it is a sane
value, else made here; echoed in the response and put on every log line of
the request, so one id follows a request through the load balancer, this
node and the client's own logs.

"Sane" is 1 to 128 visible ASCII characters (no space, no control character,
no non-ASCII): enough for a UUID or a W3C trace id, and nothing a hostile
client can use to split a log line or a response header, or to fill the logs.
"""

import re
import uuid

HEADER = "X-Request-ID"
MAX_LENGTH = 128
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]{1,%d}" % MAX_LENGTH)


def printable_or_none(value, limit=MAX_LENGTH):
    """``value`` when it is 1 to ``limit`` visible ASCII characters, else None."""
    if isinstance(value, str) and len(value) <= limit and _VISIBLE_ASCII.fullmatch(value):
        return value
    return None


def request_id_from(headers):
    """The caller's ``X-Request-ID`` if it is sane, else a new random one."""
    return printable_or_none(headers.get(HEADER)) or uuid.uuid4().hex
