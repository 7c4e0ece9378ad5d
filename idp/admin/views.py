"""The admin pages (DESIGN.md §3 ``/admin``): HTTP glue around ``service``.

Only a logged-in business principal holding ``users.manage`` (the main admin
holds everything) gets in; others get 403. Objects are looked up inside the
admin's own company, so another company's ids are simply not found (404).
"""

from flask import Blueprint
from flask import abort
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext

from idp import phones
from idp.admin import events
from idp.admin import service
from idp.admin.events import event_label
from idp.admin.forms import ActionForm
from idp.admin.forms import NewUserForm
from idp.admin.forms import SmsSettingForm
from idp.admin.forms import UserDetailsForm
from idp.extensions import db
from idp.models.audit import AuditEvent
from idp.models.client import OAuthClient
from idp.models.company import BusinessUser
from idp.models.company import PhoneLine
from idp.models.principal import KIND_BUSINESS
from idp.oidc.sessions import current_login
from idp.oidc.sessions import end_login
from idp.permissions import catalog

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 25


@bp.before_request
def require_admin():
    _, principal = current_login()
    if principal is None:
        # After the login a POST cannot be replayed: those go back to the admin home.
        back = request.full_path.rstrip("?") if request.method == "GET" else url_for(".index")
        return redirect(url_for("login.identifier", next=back))
    if principal.kind != KIND_BUSINESS:
        abort(403)
    actor = service.Actor(company=principal.company, principal=principal, ip=request.remote_addr)
    if not actor.may_administer():
        abort(403)
    g.actor = actor
    return None


@bp.errorhandler(service.NotAllowedError)
def not_allowed(error):
    db.session.rollback()
    # str(): a lazy_gettext string counts as safe HTML (``__html__``), and the
    # message may quote what the request posted (an unknown permission code).
    return render_template("error.html", status=403, error=None, message=str(error.message)), 403


@bp.app_context_processor
def admin_helpers():
    return {"event_label": event_label, "permission_label": lambda code: next(
        (p.label(_locale()) for p in catalog().entries if p.code == code), code),
            "permission_labels": permission_labels, "phone_display": phones.display}


def permission_labels(codes):
    """The labels of ``codes`` in catalog order (the order of the rights grid's columns)."""
    codes, entries = set(codes or []), catalog().entries
    return ([p.label(_locale()) for p in entries if p.code in codes]
            + sorted(codes - {p.code for p in entries}))


def _locale():
    from flask_babel import get_locale

    return str(get_locale() or "hu")


def permission_choices(codes):
    return [(p.code, p.label(_locale())) for p in catalog().entries if p.code in codes]


def paginate(query):
    page = max(1, request.args.get("page", 1, type=int) or 1)
    return query.paginate(page=page, per_page=PAGE_SIZE, error_out=False)


@bp.route("")
def index():
    return redirect(url_for(".users"))


@bp.route("/logout", methods=["POST"])
def logout():
    if ActionForm().validate_on_submit():
        end_login()
        db.session.commit()
        return redirect(url_for("home.index"))
    abort(400)


# --- users ----------------------------------------------------------------------
@bp.route("/users")
def users():
    search = (request.args.get("q") or "").strip()[:64]
    pagination = paginate(service.company_users(g.actor.company, search))
    return render_template("admin/users.html", pagination=pagination, search=search)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = NewUserForm()
    form.permissions.choices = permission_choices(g.actor.grantable)
    if form.validate_on_submit():
        try:
            user = service.create_user(g.actor, form.username.data, form.email.data, form.phone.data,
                                       form.permissions.data, form.display_name.data).user
        except service.NotAllowedError:
            raise
        except service.AdminError as error:
            db.session.rollback()
            getattr(form, error.field or "username").errors.append(str(error.message))
        else:
            flash(gettext("%(who)s létrehozva; az ideiglenes jelszót e-mailben elküldtük.",
                          who=user.identifier), "notice")
            return redirect(url_for(".user", sub=user.sub))
    return render_template("admin/user_new.html", form=form)


def target_user(sub):
    user = service.find_user(g.actor.company, sub)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<sub>", methods=["GET", "POST"])
def user(sub):
    user = target_user(sub)
    form = UserDetailsForm(obj=None if request.method == "POST" else _details(user))
    if form.validate_on_submit():
        try:
            service.update_user(g.actor, user, form.email.data, form.phone.data, form.display_name.data)
        except service.NotAllowedError:
            raise
        except service.AdminError as error:
            db.session.rollback()
            getattr(form, error.field or "email").errors.append(str(error.message))
        else:
            flash(gettext("Mentve."), "notice")
            return redirect(url_for(".user", sub=user.sub))
    return render_template("admin/user.html", user=user, form=form, action=ActionForm(),
                           editable=service.may_edit_details(g.actor, user))


def _details(user):
    class Details:
        display_name = user.display_name
        email = user.email_address
        phone = user.phone

    return Details


USER_ACTIONS = {
    "disable": (lambda actor, user: service.set_disabled(actor, user, True), "Letiltva."),
    "enable": (lambda actor, user: service.set_disabled(actor, user, False), "Engedélyezve."),
    "resend-password": (service.resend_temporary_password, "Új ideiglenes jelszót küldtünk e-mailben."),
    "delete": (service.delete_user, "Törölve."),
}


@bp.route("/users/<sub>/<action>", methods=["POST"])
def user_action(sub, action):
    if action not in USER_ACTIONS:
        abort(404)
    user = target_user(sub)
    if not ActionForm().validate_on_submit():
        abort(400)
    run, message = USER_ACTIONS[action]
    try:
        run(g.actor, user)
    except service.NotAllowedError:
        raise
    except service.AdminError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for(".user", sub=user.sub))
    flash(gettext(message), "notice")
    return redirect(url_for(".users") if action == "delete" else url_for(".user", sub=user.sub))


# --- "Felhasználói jogok beállítása" ----------------------------------------------
@bp.route("/rights", methods=["GET", "POST"])
def rights():
    company = g.actor.company
    everyone = list(service.company_users(company))
    users = [u for u in everyone if not u.is_main_admin]
    lines = list(service.company_lines(company))
    form = ActionForm()
    if form.validate_on_submit():
        # Rows naming another company's users or lines are not found here and
        # ignored; a row naming the main admin is refused (403) by the service.
        # All rows are saved together or, on a refusal, none of them.
        rows = set(request.form.getlist("row"))
        for user in everyone:
            if f"user:{user.sub}" in rows:
                service.set_user_permissions(g.actor, user, request.form.getlist(f"user:{user.sub}"), commit=False)
        for line in lines:
            if f"line:{line.sub}" in rows:
                service.set_line_permissions(g.actor, line, request.form.getlist(f"line:{line.sub}"), commit=False)
        db.session.commit()
        flash(gettext("A jogosultságokat mentettük. A változás a következő belépéskor vagy "
                      "tokenfrissítéskor lép életbe."), "notice")
        return redirect(url_for(".rights"))
    return render_template("admin/rights.html", form=form, users=users, lines=lines,
                           permissions=catalog().entries, grantable=g.actor.grantable,
                           phone_codes=catalog().phone_codes())


# --- company settings -------------------------------------------------------------
@bp.route("/settings", methods=["GET", "POST"])
def settings():
    company = g.actor.company
    form = SmsSettingForm(data=None if request.method == "POST" else
                          {"sms_login": "on" if company.sms_login_required else "off"})
    if form.validate_on_submit():
        wants_sms = form.sms_login.data == "on"
        if not wants_sms and company.sms_login_required and not form.understood.data:
            form.understood.errors.append(gettext("A kikapcsoláshoz erősítse meg, hogy megértette a "
                                                  "kockázatot."))
        else:
            service.set_sms_login(g.actor, wants_sms)
            flash(gettext("Mentve."), "notice")
            return redirect(url_for(".settings"))
    return render_template("admin/settings.html", form=form, company=company)


# --- audit log --------------------------------------------------------------------
@bp.route("/audit")
def audit():
    query = (AuditEvent.query.filter_by(company_id=g.actor.company.id)
             .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()))
    pagination = paginate(query)
    names = _names(pagination.items)
    rows = [(e, events.who(e, names), events.describe(e, names)) for e in pagination.items]
    return render_template("admin/audit.html", pagination=pagination, rows=rows)


def _names(items):
    """Events name principals by ``sub`` and applications by client id: show the
    admin ``anna@acme``, the number, or the application's name instead."""
    subs = {e.actor for e in items if e.actor} | {e.subject for e in items if e.subject}
    # An application's own actions (a revoked token) name it by client id, as the actor.
    client_ids = subs | {c for e in items if isinstance(c := (e.details or {}).get("client_id"), str)}
    if not client_ids:
        return {}
    company_id = g.actor.company.id
    names = {c.client_id: c.client_name for c in OAuthClient.query.filter(OAuthClient.client_id.in_(client_ids))}
    names.update({u.sub: u.identifier for u in BusinessUser.query.filter(
        BusinessUser.company_id == company_id, BusinessUser.sub.in_(subs))})
    names.update({line.sub: phones.display(line.number) for line in PhoneLine.query.filter(
        PhoneLine.company_id == company_id, PhoneLine.sub.in_(subs))})
    return names
