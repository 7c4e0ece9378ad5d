"""``idp cleanup`` (issue 12 §7): what is spent goes a grace period (a day) after it stopped
mattering; what a replay check, a logout or the audit still needs stays; it goes in batches;
and two runs at once (two nodes' cron jobs) delete every row once, without errors."""

import json
import secrets
import threading
from datetime import timedelta

from sqlalchemy import insert

from idp.cleanup import KINDS
from idp.cleanup import delete_spent_rows
from idp.extensions import db
from idp.models.account import AccountOfferSnooze
from idp.models.audit import AuditEvent
from idp.models.flow import FlowState
from idp.models.otp import OtpChallenge
from idp.models.outbox import OutboxMessage
from idp.models.registration import LogoutNotification
from idp.models.registration import RegistrationToken
from idp.models.session import Consent
from idp.models.session import Interaction
from idp.models.session import LoginSession
from idp.models.token import AuthorizationCode
from idp.models.token import Token
from idp.models.token import UsedAssertion
from tests.factories import make_client
from tests.factories import make_login_user
from tests.oauth_helpers import tokens_for

HOUR, DAY = 3600, 86400


def rid():
    return secrets.token_hex(12)


class Seeder:
    """Rows of every kind, each at a moment relative to the frozen ``now``, under a label."""

    def __init__(self, now):
        self.now = now
        self.rows = {}

    def at(self, seconds):
        return self.now + timedelta(seconds=seconds)

    def ts(self, seconds):
        return int(self.at(seconds).timestamp())

    def add(self, label, row):
        db.session.add(row)
        db.session.flush()
        self.rows[label] = row
        return row

    def session(self, label, expires, ended=None):
        return self.add(label, LoginSession(id=rid(), binding="browser:x", principal_kind="business", subject="s",
                                            auth_time=self.ts(-DAY), amr=["pwd"], created_at=self.at(-2 * DAY),
                                            expires_at=self.at(expires),
                                            ended_at=None if ended is None else self.at(ended)))

    def code(self, label, expires, sid=None):
        return self.add(label, AuthorizationCode(
            code_hash=rid(), client_id="rp", scope="openid", principal_kind="business", subject="s",
            auth_time=self.ts(-DAY), amr=["pwd"], sid=sid, created_at=self.at(expires - 60),
            expires_at=self.at(expires)))

    def token(self, label, access_expires, refresh_expires=None, family=None, sid=None, revoked=None, used=None):
        return self.add(label, Token(
            client_id="rp", scope="openid", grant_type="authorization_code", access_token_hash=rid(), jti=rid(),
            issued_at=self.ts(access_expires - 600), expires_in=600, amr=[], family=family, sid=sid,
            refresh_token_hash=rid() if refresh_expires is not None else None,
            refresh_expires_at=self.ts(refresh_expires) if refresh_expires is not None else None,
            refresh_revoked_at=None if revoked is None else self.at(revoked),
            refresh_used_at=None if used is None else self.at(used)))


#: The rows of ``seed_every_case`` that ``idp cleanup`` deletes; every other one stays.
MUST_GO = {
    "session ended two days ago", "session expired two days ago",
    "access token expired two days ago", "refresh token revoked two days ago",
    "rotated refresh token of a dead family", "last member of the dead family",
    "code expired two days ago",
    "interaction expired two days ago", "flow state expired two days ago", "one-time code expired two days ago",
    "client assertion expired two days ago", "registration token expired two days ago",
    "registration token used up two days ago",
    "logout token delivered two days ago", "logout token given up two days ago",
    "outbox message of two days ago", "offer snoozed until two days ago",
}


def seed_every_case(seed):
    """A row for every rule of ``idp.cleanup``, on each side of it."""
    alive = seed.session("session alive", expires=HOUR)
    seed.session("session ended an hour ago", expires=HOUR, ended=-HOUR)
    seed.session("session ended two days ago", expires=HOUR, ended=-2 * DAY)
    seed.session("session expired two days ago", expires=-2 * DAY)

    seed.token("access token expired two days ago", access_expires=-2 * DAY)
    seed.token("access token expired an hour ago", access_expires=-HOUR)
    seed.token("refresh token still valid", access_expires=-2 * DAY, refresh_expires=10 * DAY, family="f1")
    seed.token("rotated refresh token of a live family", access_expires=-31 * DAY, refresh_expires=-2 * DAY,
               family="f2", used=-29 * DAY)
    seed.token("live member of that family", access_expires=-29 * DAY, refresh_expires=DAY, family="f2")
    seed.token("rotated refresh token of a dead family", access_expires=-40 * DAY, refresh_expires=-10 * DAY,
               family="f3", used=-39 * DAY)
    seed.token("last member of the dead family", access_expires=-39 * DAY, refresh_expires=-9 * DAY, family="f3")
    seed.token("refresh token revoked two days ago", access_expires=-3 * DAY, refresh_expires=20 * DAY,
               family="f4", revoked=-2 * DAY)
    seed.token("expired token of a live session", access_expires=-2 * DAY, sid=alive.id)

    seed.code("code expired two days ago", expires=-2 * DAY)
    seed.code("code expired an hour ago", expires=-HOUR)
    seed.code("code of a live session", expires=-2 * DAY, sid=alive.id)
    with_tokens = seed.code("code whose tokens live on", expires=-2 * DAY)
    seed.token("token from that code", access_expires=-2 * DAY, refresh_expires=5 * DAY,
               family=f"code-{with_tokens.id}")

    expiring = {
        "interaction": lambda at: Interaction(id=rid(), browser_id="b", client_id="rp", params={}, prompt="login",
                                              created_at=seed.at(-3 * DAY), expires_at=at),
        "flow state": lambda at: FlowState(id=rid(), kind="business", step="password", binding="browser:x", amr=[],
                                           data={}, created_at=seed.at(-3 * DAY), expires_at=at),
        "one-time code": lambda at: OtpChallenge(id=rid(), purpose="login", channel="sms", attempts=0,
                                                 created_at=seed.at(-3 * DAY), expires_at=at),
        "client assertion": lambda at: UsedAssertion(jti_hash=rid(), expires_at=at),
        "registration token": lambda at: RegistrationToken(token_hash=rid(), uses_left=1,
                                                           created_at=seed.at(-3 * DAY), expires_at=at),
    }
    for label, make in expiring.items():
        seed.add(f"{label} expired two days ago", make(seed.at(-2 * DAY)))
        seed.add(f"{label} still valid", make(seed.at(HOUR)))
    seed.add("registration token used up two days ago", RegistrationToken(
        token_hash=rid(), uses_left=0, created_at=seed.at(-2 * DAY), expires_at=seed.at(DAY)))
    seed.add("registration token used up today", RegistrationToken(
        token_hash=rid(), uses_left=0, created_at=seed.at(-HOUR), expires_at=seed.at(DAY)))

    def notification(label, **moments):
        seed.add(label, LogoutNotification(client_id="rp", uri="https://rp.example/bc", logout_token="t", attempts=1,
                                           created_at=seed.at(-3 * DAY), next_attempt_at=seed.at(-3 * DAY),
                                           **{k: seed.at(v) for k, v in moments.items()}))

    notification("logout token delivered two days ago", delivered_at=-2 * DAY)
    notification("logout token given up two days ago", given_up_at=-2 * DAY)
    notification("logout token delivered an hour ago", delivered_at=-HOUR)
    notification("logout token still to send")
    seed.add("outbox message of two days ago", OutboxMessage(channel="sms", to="+36301234567", body="x",
                                                             created_at=seed.at(-2 * DAY)))
    seed.add("outbox message of today", OutboxMessage(channel="sms", to="+36301234567", body="x",
                                                      created_at=seed.at(-HOUR)))
    seed.add("offer snoozed until two days ago", AccountOfferSnooze(principal_kind="business", subject="a",
                                                                    until=seed.at(-2 * DAY)))
    seed.add("offer snoozed until next month", AccountOfferSnooze(principal_kind="business", subject="b",
                                                                  until=seed.at(30 * DAY)))
    seed.add("audit event of last year", AuditEvent(event="login.succeeded", details={},
                                                    created_at=seed.at(-365 * DAY)))
    seed.add("consent", Consent(client_id="rp", principal_kind="business", subject="s", scope="openid",
                                updated_at=seed.at(-365 * DAY)))
    db.session.commit()


def survivors(seed):
    db.session.expire_all()
    return {label for label, row in seed.rows.items()
            if db.session.get(type(row), db.inspect(row).identity[0]) is not None}


def test_spent_rows_go_and_what_is_still_needed_stays(app, clock):
    seed = Seeder(clock.now())
    seed_every_case(seed)
    deleted = delete_spent_rows()
    gone = set(seed.rows) - survivors(seed)
    assert sorted(gone) == sorted(MUST_GO)
    assert sum(deleted.values()) == len(MUST_GO)
    assert set(deleted) == {name for name, _, _ in KINDS}


def test_a_whole_login_is_cleaned_up_once_nothing_needs_it(app, client, clock):
    rp, secret = make_client(first_party=True)
    tokens_for(client, rp, secret, make_login_user())
    assert sum(delete_spent_rows().values()) == 0  # everything still matters
    clock.advance(days=30 + 2)  # past the refresh token's 30 days, the session's 8 hours and the grace
    deleted = delete_spent_rows()
    assert deleted["tokens"] == 1 and deleted["authorization_codes"] == 1 and deleted["login_sessions"] == 1
    assert deleted["interactions"] == 1
    assert Token.query.count() == AuthorizationCode.query.count() == LoginSession.query.count() == 0
    assert AuditEvent.query.count() > 0  # the audit log is a record, never a leftover


def old_outbox_messages(clock, count):
    old = clock.now() - timedelta(days=2)
    db.session.execute(insert(OutboxMessage), [{"channel": "sms", "to": "+36301234567", "body": str(n),
                                                "created_at": old} for n in range(count)])
    return old


def test_the_command_deletes_in_batches_and_says_what_it_deleted(app, clock):
    old_outbox_messages(clock, 25)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["idp", "cleanup", "--json", "--batch-size", "10"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["deleted"]["outbox_messages"] == 25 and document["total"] == 25
    result = runner.invoke(args=["idp", "cleanup"])
    assert result.exit_code == 0 and "0  outbox messages" in result.output
    assert "0  rows deleted in all" in result.output


def test_runs_at_the_same_time_delete_every_row_once(app, clock, runs=2):
    """Two nodes' cron jobs at the same minute: on PostgreSQL each batch takes rows nobody else
    has locked (SKIP LOCKED); the counts add up to exactly the rows there were."""
    old = old_outbox_messages(clock, 1500)
    db.session.execute(insert(OtpChallenge), [{"id": rid(), "purpose": "login", "channel": "sms", "attempts": 0,
                                               "created_at": old, "expires_at": old} for _ in range(700)])
    db.session.commit()
    barrier, counts, errors = threading.Barrier(runs), [], []

    def run():
        with app.app_context():
            barrier.wait()
            try:
                counts.append(delete_spent_rows(batch_size=50))
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and len(counts) == runs
    assert sum(c["outbox_messages"] for c in counts) == 1500
    assert sum(c["otp_challenges"] for c in counts) == 700
    db.session.expire_all()
    assert OutboxMessage.query.count() == 0 and OtpChallenge.query.count() == 0
