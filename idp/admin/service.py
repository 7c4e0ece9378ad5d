"""What a company administrator may do, with every rule in one place.

The actor is the company's main admin, a delegated admin (a business user
holding ``users.manage``) or the operator's CLI (acting as customer service,
with the main admin's powers). Rules for delegated admins: they never grant a
permission they do not hold themselves, never touch the main admin, and never
disable or delete themselves - so a company always keeps an administrator.
Every change writes an audit event in the same transaction.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from idp.companies import USERNAME
from idp.companies import Registered
from idp.companies import RegistrationError
from idp.companies import check_email
from idp.companies import check_phone
from idp.companies import issue_temporary_password
from idp.extensions import db
from idp.models.company import MAIN_ADMIN_USERNAME
from idp.models.company import MANAGE_USERS
from idp.models.company import BusinessUser
from idp.models.company import PhoneLine
from idp.permissions import catalog
from idp.services import get_services



class AdminError(Exception):
    """A refused change; ``message`` is safe to show, ``field`` names the form field."""

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotAllowedError(AdminError):
    """The actor may not do this at all (a crafted request, not a typo)."""


@dataclass
class Actor:
    company: object
    principal: object = None  # None: the operator's CLI
    ip: str | None = None

    @property
    def name(self):
        return self.principal.identifier if self.principal is not None else "cli"

    @property
    def is_main_admin(self):
        return self.principal is None or self.principal.is_main_admin

    @property
    def grantable(self) -> set:
        """The permission codes this actor may hand out."""
        if self.is_main_admin:
            return catalog().codes()
        return set(self.principal.permission_codes)

    def may_administer(self):
        return self.principal is None or self.principal.may_administer

    def audit(self, event, subject=None, **details):
        get_services().audit.record(event, actor=self.name, subject=subject, company_id=self.company.id,
                                    ip=self.ip, **details)


def _check_target(actor, user):
    if user.company_id != actor.company.id:
        raise NotAllowedError(_l("Nincs ilyen felhasználó."))
    if user.is_main_admin and not actor.is_main_admin:
        raise NotAllowedError(_l("A főadminisztrátort csak ő maga módosíthatja."))


def _check_codes(actor, codes, allowed=None):
    codes = set(codes or [])
    unknown = catalog().unknown(codes)
    if unknown:
        raise NotAllowedError(_l("Ismeretlen jogosultság: %(codes)s", codes=", ".join(unknown)), "permissions")
    not_grantable = codes - actor.grantable
    if not_grantable:
        raise NotAllowedError(_l("Olyan jogosultságot nem adhat, amellyel Ön sem rendelkezik: %(codes)s",
                                 codes=", ".join(sorted(not_grantable))), "permissions")
    if allowed is not None and codes - allowed:
        raise NotAllowedError(_l("Telefonszámhoz nem adható: %(codes)s",
                                 codes=", ".join(sorted(codes - allowed))), "permissions")
    return codes


def merge_permissions(actor, current, submitted, allowed=None):
    """The new set: what the actor may grant comes from the form; what it may
    not grant stays as it was (a delegated admin neither adds nor removes it)."""
    submitted = _check_codes(actor, submitted, allowed)
    kept = set(current or []) - actor.grantable
    return sorted(kept | submitted)


# --- users ----------------------------------------------------------------------
def create_user(actor, username, email, phone, permissions=(), display_name=None):
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise AdminError(_l("A felhasználónév 1-64 karakter: kisbetű, számjegy, pont, kötőjel vagy aláhúzás."),
                         "username")
    if username == MAIN_ADMIN_USERNAME:
        raise AdminError(_l("Az „admin” név a főadminisztrátoré."), "username")
    if BusinessUser.query.filter_by(company_id=actor.company.id, username=username).first():
        raise AdminError(_l("Ez a felhasználónév már foglalt (törölt felhasználóé sem adható ki újra)."),
                         "username")
    codes = sorted(_check_codes(actor, permissions))
    user = BusinessUser(company_id=actor.company.id, company_obj=actor.company, username=username,
                        email_address=_email(email), phone=_phone(phone), permissions=codes,
                        display_name=(display_name or "").strip()[:200] or None,
                        created_at=get_services().clock.now())
    db.session.add(user)
    password = issue_temporary_password(user)
    db.session.flush()  # assigns the sub the audit event names
    actor.audit("user.created", subject=user.sub, username=username, permissions=codes)
    db.session.commit()
    return Registered(user, password)


def may_edit_details(actor, user):
    """Whoever sets a user's email and phone receives its temporary passwords,
    reset codes and SMS codes, i.e. can take the account over: a delegated admin
    may not do that to a user holding a permission it does not hold itself."""
    return actor.is_main_admin or not set(user.permission_codes) - actor.grantable


def update_user(actor, user, email, phone, display_name=None):
    _check_target(actor, user)
    if not may_edit_details(actor, user):
        raise NotAllowedError(_l("Önnél több joggal rendelkező felhasználó adatait nem módosíthatja."))
    before = {"email": user.email_address, "phone": user.phone, "name": user.display_name}
    user.email_address, user.phone = _email(email), _phone(phone)
    user.display_name = (display_name or "").strip()[:200] or None
    after = {"email": user.email_address, "phone": user.phone, "name": user.display_name}
    changed = {k: after[k] for k in after if after[k] != before[k]}
    if changed:
        actor.audit("user.updated", subject=user.sub, username=user.username, changed=sorted(changed))
    db.session.commit()


def set_user_permissions(actor, user, codes, commit=True):
    """``commit=False``: the caller commits (several rows saved all or nothing)."""
    _check_target(actor, user)
    if user.is_main_admin:
        raise NotAllowedError(_l("A főadminisztrátor minden funkciót használhat; jogai nem módosíthatók."))
    new = merge_permissions(actor, user.permissions, codes)
    is_self = actor.principal is not None and user.sub == actor.principal.sub
    if is_self and MANAGE_USERS in (user.permissions or []) and MANAGE_USERS not in new:
        raise NotAllowedError(_l("Saját magától nem veheti el a felhasználók kezelésének jogát."))
    if new != sorted(user.permissions or []):
        actor.audit("user.permissions_changed", subject=user.sub, username=user.username,
                    before=sorted(user.permissions or []), after=new)
        user.permissions = new
    if commit:
        db.session.commit()


def _check_not_stronger(actor, user):
    if not may_edit_details(actor, user):
        raise NotAllowedError(_l("Önnél több joggal rendelkező felhasználót nem kezelhet."))


def set_disabled(actor, user, disabled):
    _check_target(actor, user)
    _check_not_stronger(actor, user)
    if user.is_main_admin:
        raise NotAllowedError(_l("A főadminisztrátor nem tiltható le."))
    if actor.principal is not None and user.sub == actor.principal.sub:
        raise NotAllowedError(_l("Saját magát nem tilthatja le."))
    if user.disabled != disabled:
        user.disabled = disabled
        if disabled:
            get_services().sessions.end_all(user)
        actor.audit("user.disabled" if disabled else "user.enabled", subject=user.sub, username=user.username)
    db.session.commit()


def delete_user(actor, user):
    """Soft delete: the row stays so ``username@company`` is never given to someone else."""
    _check_target(actor, user)
    _check_not_stronger(actor, user)
    if user.is_main_admin:
        raise NotAllowedError(_l("A főadminisztrátor nem törölhető."))
    if actor.principal is not None and user.sub == actor.principal.sub:
        raise NotAllowedError(_l("Saját magát nem törölheti."))
    _retire(user)
    actor.audit("user.deleted", subject=user.sub, username=user.username)
    db.session.commit()


def _retire(principal):
    """Soft delete: it can no longer log in, its sessions and tokens end, and the
    row stays so its identifier is never given to anyone else."""
    services = get_services()
    principal.deleted_at = services.clock.now()
    principal.disabled = True
    services.sessions.end_all(principal)


def resend_temporary_password(actor, user):
    _check_target(actor, user)
    _check_not_stronger(actor, user)
    if user.disabled:
        raise AdminError(_l("Letiltott felhasználónak nem küldhető új jelszó."))
    issue_temporary_password(user)
    get_services().sessions.end_all(user)
    actor.audit("user.temporary_password_sent", subject=user.sub, username=user.username)
    db.session.commit()


# --- phone lines ---------------------------------------------------------------------
def set_line_permissions(actor, line, codes, commit=True):
    if line.company_id != actor.company.id:
        raise NotAllowedError(_l("Nincs ilyen telefonszám."))
    new = merge_permissions(actor, line.permissions, codes, allowed=catalog().phone_codes())
    if new != sorted(line.permissions or []):
        actor.audit("phone_line.permissions_changed", subject=line.sub, number=line.number,
                    before=sorted(line.permissions or []), after=new)
        line.permissions = new
    if commit:
        db.session.commit()


def remove_phone_line(actor, line):
    if line.company_id != actor.company.id:
        raise NotAllowedError(_l("Nincs ilyen telefonszám."))
    _retire(line)
    actor.audit("phone_line.removed", subject=line.sub, number=line.number)
    db.session.commit()


# --- company settings ----------------------------------------------------------------
def set_sms_login(actor, required):
    if not actor.is_main_admin:
        raise NotAllowedError(_l("Az SMS-kódot csak a főadminisztrátor kapcsolhatja ki vagy be."))
    company = actor.company
    if company.sms_login_required != required:
        company.sms_login_required = required
        company.sms_setting_changed_by = actor.name
        company.sms_setting_changed_at = get_services().clock.now()
        actor.audit("company.sms_login_changed", sms_login_required=required)
    db.session.commit()


# --- queries -------------------------------------------------------------------------
def company_users(company, search=None, include_deleted=False):
    query = BusinessUser.query.filter_by(company_id=company.id)
    if not include_deleted:
        query = query.filter(BusinessUser.deleted_at.is_(None))
    if search:
        term = search.strip().lower()[:64].replace("\\", "")
        pattern = "%" + term.replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.filter(db.or_(BusinessUser.username.ilike(pattern, escape="\\"),
                                    BusinessUser.email_address.ilike(pattern, escape="\\"),
                                    BusinessUser.display_name.ilike(pattern, escape="\\")))
    return query.order_by(BusinessUser.username)


def company_lines(company):
    return (PhoneLine.query.filter_by(company_id=company.id, deleted_at=None).order_by(PhoneLine.number))


def find_user(company, sub):
    user = BusinessUser.query.filter_by(sub=sub or "", company_id=company.id).one_or_none()
    return user if user is not None and user.deleted_at is None else None


def find_user_by_identifier(identifier):
    username, _, slug = (identifier or "").strip().lower().partition("@")
    from idp.models.company import Company

    return (BusinessUser.query.join(Company, BusinessUser.company_id == Company.id)
            .filter(Company.slug == slug, BusinessUser.username == username,
                    BusinessUser.deleted_at.is_(None)).one_or_none())


def find_line(company, sub):
    line = PhoneLine.query.filter_by(sub=sub or "", company_id=company.id).one_or_none()
    return line if line is not None and line.deleted_at is None else None


def _email(value):
    try:
        return check_email(value)
    except RegistrationError:
        raise AdminError(_l("Érvénytelen e-mail-cím."), "email") from None


def _phone(value):
    try:
        return check_phone(value)
    except RegistrationError:
        raise AdminError(_l("Adjon meg magyar mobilszámot 9 számjegyű formában, például 301234567."),
                         "phone") from None
