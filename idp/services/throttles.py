"""The throttle rules of DESIGN.md §4a, every one of them, counted in one
place over the clock-aware counters service: wrong passwords per identifier
and per client IP, SMS per flow (the resend cooldown), per principal, per
client IP and for the whole service per day. The journeys call them, so they
hold on every channel - the login pages, the first-party grants and the
authorization challenge endpoint alike. (Flask-Limiter only stays as a coarse
outer guard against floods of requests.)

Wrong passwords are counted *before* the password is checked (an attempt
reserves its number atomically and a success gives it back), so parallel
guesses cannot slip past the lock - the bug of CVE-2023-47111.
"""

from flask_babel import lazy_gettext as _l

from idp.errors import IdpError
from idp.services.signals import sms_refused


class ThrottledError(IdpError):
    """Refused for now; ``retry_after`` seconds until it may work."""

    def __init__(self, message, retry_after):
        super().__init__(str(message))
        self.message = message
        self.retry_after = max(1, int(retry_after))


class LockedError(ThrottledError):
    pass


class SmsBudgetError(ThrottledError):
    pass


def locked_message(minutes):
    return _l("Túl sok sikertelen próbálkozás miatt ezt az azonosítót %(minutes)s percre zároltuk. Új jelszót "
              "a „Nem tudom a jelszavam” lehetőséggel kérhet.", minutes=minutes)


class Throttles:
    def __init__(self, counters, config, audit):
        self.counters = counters
        self.config = config
        self.audit = audit

    # --- passwords -------------------------------------------------------------
    def reserve_password_attempt(self, identifier, ip):
        """Call before checking a password; raises if the attempt may not happen.
        Reserves a wrong password of ``identifier`` and of the client ``ip``;
        :meth:`password_succeeded` gives both back."""
        c = self.config
        _, locked_for = self.counters.get(f"pw:lock:{identifier}")
        if locked_for:
            raise LockedError(locked_message(max(1, round(locked_for / 60))), locked_for)
        _, wait = self.counters.get(f"pw:delay:{identifier}")
        if wait:
            raise ThrottledError(_l("Túl sok sikertelen próbálkozás. Próbálja újra %(seconds)s másodperc "
                                    "múlva.", seconds=wait), wait)
        self._reserve_ip_password_failure(ip)
        attempt = self.counters.hit(f"pw:id:{identifier}", int(c["PASSWORD_FAILURE_WINDOW"]))
        if attempt > int(c["PASSWORD_LOCK_AFTER"]):
            self.counters.hit(f"pw:id:{identifier}", int(c["PASSWORD_FAILURE_WINDOW"]), amount=-1)
            self._give_back_ip_password_failure(ip)
            raise LockedError(_l("Túl sok sikertelen próbálkozás miatt ezt az azonosítót zároltuk. Új jelszót "
                                 "a „Nem tudom a jelszavam” lehetőséggel kérhet."), int(c["PASSWORD_LOCK_SECONDS"]))
        return attempt

    def password_failed(self, identifier, ip, attempt, company_id=None, sub=None):
        """Record a wrong password; returns the ``LockedError`` to show when
        this very attempt locked the identifier (the 20th), else None.
        ``sub``: the principal the identifier names, if it exists (for the audit)."""
        c = self.config
        if attempt >= int(c["PASSWORD_LOCK_AFTER"]):
            seconds = int(c["PASSWORD_LOCK_SECONDS"])
            self.counters.set(f"pw:lock:{identifier}", 1, seconds)
            self.counters.reset(f"pw:id:{identifier}")
            self.audit.record("login.locked", actor=sub, subject=sub or identifier, company_id=company_id, ip=ip,
                              minutes=max(1, round(seconds / 60)))
            return LockedError(locked_message(max(1, round(seconds / 60))), seconds)
        if attempt >= int(c["PASSWORD_DELAY_AFTER"]):
            delay = min(2 ** (attempt - int(c["PASSWORD_DELAY_AFTER"])), int(c["PASSWORD_DELAY_MAX"]))
            self.counters.set(f"pw:delay:{identifier}", 1, delay)
        return None

    def password_succeeded(self, identifier, ip=None):
        """The identifier's failures are forgotten; with ``ip``, the attempt
        reserved by :meth:`reserve_password_attempt` is given back."""
        self.counters.reset(f"pw:id:{identifier}")
        self.counters.reset(f"pw:delay:{identifier}")
        if ip is not None:
            self._give_back_ip_password_failure(ip)

    def _reserve_ip_password_failure(self, ip):
        limit = int(self.config["IP_PASSWORD_FAILURES_PER_HOUR"])
        key = f"password-failures-ip:{ip}"
        if self.counters.hit(key, 3600) > limit:
            self.counters.hit(key, 3600, amount=-1)
            _, wait = self.counters.get(key)
            raise ThrottledError(_l("Túl sok sikertelen belépési kísérlet érkezett erről a hálózatról. Próbálja "
                                    "újra %(minutes)s perc múlva.", minutes=max(1, round(wait / 60))), wait)

    def _give_back_ip_password_failure(self, ip):
        key = f"password-failures-ip:{ip}"
        count, _ = self.counters.get(key)
        if count > 0:  # not into a window that has ended meanwhile
            self.counters.hit(key, 3600, amount=-1)

    # --- SMS -------------------------------------------------------------------
    def reserve_sms(self, principal_key, ip, flow_key=None, spend_budget=True):
        """Call before sending an SMS; raises (and sends nothing) when over a limit.
        ``spend_budget=False`` (nothing will really be sent) still refuses when
        the budget is spent, so both cases look the same from outside."""
        c = self.config
        if flow_key is not None:
            count, wait = self.counters.get(f"sms:flow:{flow_key}")
            if count:
                sms_refused.send(self, reason="cooldown")
                raise ThrottledError(_l("Új kódot %(seconds)s másodperc múlva kérhet.", seconds=wait), wait)
        checks = [(f"sms:principal:{principal_key}", int(c["SMS_PER_PRINCIPAL_PER_HOUR"]), 3600),
                  (f"sms-ip:{ip}", int(c["SMS_PER_IP_PER_HOUR"]), 3600)]
        for key, limit, window in checks:
            count, wait = self.counters.get(key)
            if count >= limit:
                sms_refused.send(self, reason="ip" if key.startswith("sms-ip:") else "principal")
                raise ThrottledError(_l("Túl sok SMS-t kért. Próbálja újra %(minutes)s perc múlva.",
                                        minutes=max(1, round(wait / 60))), wait)
        budget = int(c["SMS_DAILY_BUDGET"])
        sent_today = self.counters.hit("sms:budget", 86400, amount=1 if spend_budget else 0)
        if not spend_budget and sent_today > budget:
            sent_today = budget + 2  # refused like the others, without a second audit event
        elif not spend_budget and sent_today == budget:
            # The first refusal of the day is counted (so it is audited, once) even when
            # it is an unregistered number's.
            sent_today = self.counters.hit("sms:budget", 86400)
        if sent_today > budget:
            _, wait = self.counters.get("sms:budget")
            if sent_today == budget + 1:
                self.audit.record("sms.budget_exhausted", ip=ip, budget=budget)
            sms_refused.send(self, reason="budget")
            raise SmsBudgetError(_l("Az SMS-küldés átmenetileg nem érhető el. Kérjük, próbálja újra később."),
                                 wait)
        for key, _, window in checks:
            self.counters.hit(key, window)
        if flow_key is not None:
            self.counters.set(f"sms:flow:{flow_key}", 1, int(c["SMS_RESEND_COOLDOWN"]))

    # --- email -----------------------------------------------------------------
    def reserve_email(self, principal_key, ip, flow_key=None):
        """Call before sending a code by email: the resend cooldown of the flow and
        the hourly limits per principal and per client IP of the SMS apply too
        (no mailbox is flooded from here), without the SMS budget."""
        c = self.config
        if flow_key is not None:
            count, wait = self.counters.get(f"email:flow:{flow_key}")
            if count:
                raise ThrottledError(_l("Új kódot %(seconds)s másodperc múlva kérhet.", seconds=wait), wait)
        checks = [(f"email:principal:{principal_key}", int(c["SMS_PER_PRINCIPAL_PER_HOUR"]), 3600),
                  (f"email-ip:{ip}", int(c["SMS_PER_IP_PER_HOUR"]), 3600)]
        for key, limit, _ in checks:
            count, wait = self.counters.get(key)
            if count >= limit:
                raise ThrottledError(_l("Túl sok kódot kért. Próbálja újra %(minutes)s perc múlva.",
                                        minutes=max(1, round(wait / 60))), wait)
        for key, _, window in checks:
            self.counters.hit(key, window)
        if flow_key is not None:
            self.counters.set(f"email:flow:{flow_key}", 1, int(c["SMS_RESEND_COOLDOWN"]))

    def unlock(self, identifier):
        """After a successful password reset the identifier may log in again."""
        self.counters.reset(f"pw:lock:{identifier}")
