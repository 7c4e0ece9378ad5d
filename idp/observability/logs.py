"""Log lines: one JSON object per line in production (what log collectors
parse), readable text in development (``make run``); both carry the request id
of the request they were written in.

``IDP_LOG_FORMAT`` (``json`` | ``text``) chooses; unset, production writes JSON
and development text. The process's root logger gets one handler on stderr,
unless the process configured logging itself (pytest, an operator's own
``logging`` setup): then its handlers are left as they are.

A few libraries would write what must never reach a log, so they are held at
INFO unless the operator set their level: Authlib logs every issued token at
DEBUG, urllib3 every URL it fetches (Facebook's token request carries the
code). The development server's own request lines go: ours replace them, and
theirs carry the query string (codes, tokens, flow ids).
"""

import json
import logging
import sys
from datetime import datetime
from datetime import timezone

from idp.errors import ConfigurationError
from idp.observability.request_facts import current

FORMATS = ("json", "text")

#: Attributes every LogRecord has; anything else on a record came as ``extra=``.
STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}

#: Loggers that write secrets below INFO (see the module docstring).
CHATTY_BELOW_INFO = ("authlib", "urllib3")


def request_id_of(record):
    facts = current()
    return getattr(record, "request_id", None) or (facts.request_id if facts is not None else None)


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "request_id", …extra}`` on one line."""

    def format(self, record):
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_of(record)
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request id]: message`` for a developer's terminal (the
    first 8 characters of the request id are enough to tell requests apart there)."""

    def format(self, record):
        request_id = request_id_of(record)
        context = f" [{request_id[:8]}]" if request_id else ""
        line = f"{self.formatTime(record)} {record.levelname} {record.name}{context}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class IdpLogHandler(logging.StreamHandler):
    """The handler ``configure_logging`` installs (told apart from anybody else's)."""


class WithoutDevServerRequestLines(logging.Filter):
    """Werkzeug's development server logs ``"GET /path?query HTTP/1.1" 200 -``."""

    def filter(self, record):
        return not str(record.msg).endswith('"%s" %s %s')


def log_format(config):
    chosen = config.get("LOG_FORMAT") or ("json" if config["ENV"] == "production" else "text")
    if chosen not in FORMATS:
        raise ConfigurationError(f"IDP_LOG_FORMAT must be 'json' or 'text', not {chosen!r}.")
    return chosen


def formatter_for(name):
    return JsonFormatter() if name == "json" else TextFormatter()


def configure_logging(app):
    """Once per process: our handler on the root logger (unless logging was set up
    already), the chosen formatter on it, the chatty loggers held at INFO."""
    chosen = log_format(app.config)
    root = logging.getLogger()
    ours = next((h for h in root.handlers if isinstance(h, IdpLogHandler)), None)
    if ours is None and not root.handlers:
        ours = IdpLogHandler(sys.stderr)
        root.addHandler(ours)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)  # Python warnings become log lines like any other
    if ours is not None:
        ours.setFormatter(formatter_for(chosen))
    for name in CHATTY_BELOW_INFO:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, WithoutDevServerRequestLines) for f in werkzeug.filters):
        werkzeug.addFilter(WithoutDevServerRequestLines())
