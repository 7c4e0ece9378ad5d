"""Every audit event the product writes has a readable name on the log page."""

import re
from pathlib import Path

from idp.admin.events import EVENT_LABELS

SOURCE = Path(__file__).resolve().parents[2] / "idp"
LITERAL = re.compile(r'(?:\.record|\.audit)\(\s*"([a-z_]+\.[a-z_]+)"')
PASSED_IN = re.compile(r'event="([a-z_]+\.[a-z_]+)"')


def test_every_recorded_event_has_a_label():
    events = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text("utf-8")
        events |= set(LITERAL.findall(text)) | set(PASSED_IN.findall(text))
    assert {"user.created", "login.failed", "password.reset"} <= events  # the scan itself works
    assert sorted(events - set(EVENT_LABELS)) == []
