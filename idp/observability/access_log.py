"""One log line per request (issue 12 §5), written when its response is ready:
``method``, ``path`` (never the query string: codes, tokens and flow ids travel
there), ``status``, ``duration_ms``, ``request_id``, ``client_id`` and the
principal's ``sub`` when known, and the client's ``ip``. Nothing else of the
request goes in - no header, no parameter, no body - so no password, code,
token or secret can.
"""

import logging
import re

log = logging.getLogger("idp.request")

#: Longer paths are cut, and the message shows control characters escaped: a text log
#: line stays one line, whatever a client sends (JSON escapes them itself).
MAX_PATH = 512
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def log_request(request, status, facts, seconds):
    duration_ms = round(seconds * 1000, 1)
    path = request.path[:MAX_PATH]
    shown = _CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}", path)
    fields = {"method": request.method[:16], "path": path, "status": status, "duration_ms": duration_ms,
              "client_id": facts.client_id, "sub": facts.sub, "ip": request.remote_addr}
    who = "".join(f" {name}={fields[name]}" for name in ("client_id", "sub") if fields[name])
    log.info("%s %s %s %.1f ms%s", fields["method"], shown, status, duration_ms, who,
             extra={name: value for name, value in fields.items() if value is not None})
