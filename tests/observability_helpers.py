"""Helpers for the observability tests: the log lines of a test as production
writes them, and the value of a metric in this process."""

import io
import json
import logging

import pytest
from prometheus_client import REGISTRY

from idp.observability.logs import JsonFormatter


class CapturedLogs:
    def __init__(self, stream, caplog):
        self.stream = stream
        self.caplog = caplog

    def lines(self):
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def requests(self, path=None):
        """The request lines (of ``path``)."""
        return [line for line in self.lines()
                if line["logger"] == "idp.request" and (path is None or line["path"] == path)]

    def everything(self):
        """Every rendering of every line: the JSON as written, its values decoded, pytest's own."""
        decoded = "\n".join(json.dumps(line, ensure_ascii=False) for line in self.lines())
        return "\n".join([self.stream.getvalue(), decoded, self.caplog.text])


@pytest.fixture
def logs(caplog):
    """Every log line of the test, at DEBUG and above, through the production JSON formatter."""
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield CapturedLogs(stream, caplog)
    root.removeHandler(handler)


def metric(name, **labels):
    """The value of sample ``name`` with ``labels`` in this process (0 before the first count)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
