"""The pieces of idp.observability: the log formatters, the request id rule,
the login method of the metrics, the settings it refuses."""

import json
import logging
import sys

import pytest

from idp.errors import ConfigurationError
from idp.observability.exposition import check_metrics_settings
from idp.observability.logs import JsonFormatter
from idp.observability.logs import TextFormatter
from idp.observability.logs import WithoutDevServerRequestLines
from idp.observability.logs import log_format
from idp.observability.metrics import login_method
from idp.observability.request_id import printable_or_none


def record(message="hello %s", args=("world",), level=logging.INFO, exc_info=None, **extra):
    made = logging.LogRecord("idp.test", level, __file__, 1, message, args, exc_info)
    made.__dict__.update(extra)
    return made


def test_json_line_has_the_standard_fields_and_the_extras():
    line = json.loads(JsonFormatter().format(record(request_id="r-1", method="GET", status=200)))
    assert line.pop("ts").endswith("+00:00")
    assert line == {"level": "info", "logger": "idp.test", "message": "hello world", "request_id": "r-1",
                    "method": "GET", "status": 200}


def test_json_line_stays_one_line_with_an_exception_and_hostile_text():
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        made = record("line one\r\nforged line", (), logging.ERROR, exc_info=sys.exc_info())
    text = JsonFormatter().format(made)
    assert "\n" not in text and "\r" not in text
    line = json.loads(text)
    assert line["message"] == "line one\r\nforged line" and "ValueError: bad" in line["exception"]


def test_text_line_for_a_terminal_with_a_short_request_id():
    text = TextFormatter().format(record("GET %s", ("/login",), request_id="0123456789abcdef"))
    assert text.endswith(" INFO idp.test [01234567]: GET /login")


@pytest.mark.parametrize(("value", "kept"), [
    ("f47ac10b-58cc-4372-a567-0e02b2c3d479", True),
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", True),
    ("x" * 128, True),
    ("x" * 129, False),
    ("", False),
    ("with space", False),
    ("tab\there", False),
    ("crlf\r\nX: 1", False),
    ("k\u00f3d", False),
    ("del\x7f", False),
])
def test_request_id_rule(value, kept):
    assert printable_or_none(value) == (value if kept else None)


@pytest.mark.parametrize(("amr", "method"), [
    (["pwd", "sms", "mfa"], "pwd+sms"),
    (["sms"], "sms"),
    (["pwd"], "pwd"),
    (["fed"], "fed"),
    (["mfa"], "other"),
    (None, "other"),
])
def test_login_method_is_the_factors_used(amr, method):
    assert login_method(amr) == method


def test_the_dev_server_request_lines_are_dropped_and_its_other_lines_kept():
    dev_filter = WithoutDevServerRequestLines()
    assert not dev_filter.filter(record('127.0.0.1 - - [date] "%s" %s %s', ("GET /?code=1 HTTP/1.1", 200, "-")))
    assert dev_filter.filter(record(" * Running on %s", ("http://127.0.0.1:5000",)))


@pytest.mark.parametrize(("config", "expected"), [
    ({"ENV": "production"}, "json"),
    ({"ENV": "development"}, "text"),
    ({"ENV": "production", "LOG_FORMAT": "text"}, "text"),
    ({"ENV": "development", "LOG_FORMAT": "json"}, "json"),
])
def test_log_format_defaults_by_environment(config, expected):
    assert log_format(config) == expected


@pytest.mark.parametrize(("config", "message"), [
    ({"ENV": "development", "LOG_FORMAT": "xml"}, "IDP_LOG_FORMAT"),
    ({"ENV": "production", "METRICS_TOKEN": "x" * 31}, "at least 32"),
    ({"ENV": "development", "METRICS_TOKEN": 12345}, "must be a string"),
])
def test_unusable_settings_are_refused(config, message):
    with pytest.raises(ConfigurationError, match=message):
        log_format(config)
        check_metrics_settings(config)
