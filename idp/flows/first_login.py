"""First-login password change (MISSION.md 5): a temporary password must be
replaced before anything else. The rules for a new password, and storing it,
shared by the first login and "Nem tudom a jelszavam"."""

from flask_babel import lazy_gettext as _l

from idp.errors import IdpError
from idp.services.passwords import policy_errors


class PasswordPolicyError(IdpError):
    def __init__(self, errors):
        super().__init__("password policy")
        self.errors = errors


def check_new_password(user, password, repeat):
    """Raise ``PasswordPolicyError`` listing what is wrong with a new password."""
    errors = policy_errors(password, user.identifier, (user.email_address,))
    if password != repeat:
        errors.append(_l("A két jelszó nem egyezik."))
    if errors:
        raise PasswordPolicyError(errors)


def set_password(ctx, user, password, event):
    """Store a new permanent password for ``user`` (audited)."""
    now = ctx.clock.now()
    user.password_hash = ctx.services.passwords.hash(password)
    user.password_temporary = False
    user.password_expires_at = None
    user.password_changed_at = now
    ctx.services.audit.record(event, actor=user.sub, subject=user.sub, company_id=user.company_id, ip=ctx.ip)


def change_temporary_password(ctx, user, password, repeat):
    """The first-login step: the policy, and not the temporary password again."""
    check_new_password(user, password, repeat)
    if ctx.services.passwords.verify(user.password_hash, password):
        raise PasswordPolicyError([_l("Az új jelszó nem lehet azonos az ideiglenessel.")])
    set_password(ctx, user, password, event="password.changed")
