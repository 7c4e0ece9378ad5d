"""The developer portal's pages (DESIGN.md §3 ``/developers``): HTTP glue over
``idp.clients``, which validates every change and audits it with the
developer's ``sub`` as the actor.

Who gets in: the principal logged in on this browser, when it is a Telekom
account or a business user (a stranger logs in first; a phone line gets 403).
Clients are looked up among that principal's own, so another developer's
client id is simply not found (404). What the portal registers is always a
third-party client: first-party and resource-server are the operator's
decisions, and no form field reaches them.
"""

from flask import abort
from flask import flash
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from idp import clients
from idp.developers import bp
from idp.developers import shown_once
from idp.developers.forms import ActionForm
from idp.developers.forms import ClientForm
from idp.developers.forms import RotateForm
from idp.extensions import db
from idp.models.client import OAuthClient
from idp.models.principal import KIND_ACCOUNT
from idp.models.principal import KIND_BUSINESS
from idp.oidc.interactions import current_login
from idp.services import get_services

DEVELOPER_KINDS = (KIND_ACCOUNT, KIND_BUSINESS)
PHONE_LINE_REFUSED = _l("A fejlesztői portált Telekom fiókkal vagy üzleti azonosítóval lehet használni, "
                        "telefonszámos belépéssel nem. Jelentkezzen ki, majd lépjen be újra azok egyikével.")


@bp.before_request
def require_developer():
    _, principal = current_login()
    if principal is None:
        # After the login a POST cannot be replayed: those go back to the list.
        back = request.full_path.rstrip("?") if request.method == "GET" else url_for(".index")
        return redirect(url_for("login.identifier", next=back))
    if principal.kind not in DEVELOPER_KINDS:
        return render_template("error.html", status=403, error=None, message=str(PHONE_LINE_REFUSED)), 403
    g.developer = principal
    return None


@bp.errorhandler(413)
def too_large(error):
    """A form far over every limit is refused before it is read (``MAX_CONTENT_LENGTH``)."""
    return render_template("error.html", status=413, error=error, message=gettext(
        "A beküldött adatok túl nagyok, ezért semmit sem mentettünk. Egy cím legfeljebb 2000, a név legfeljebb "
        "200 karakter lehet.")), 413


def my_clients():
    return OAuthClient.query.filter_by(owner_kind=g.developer.kind, owner_sub=g.developer.sub)


def own_client(client_id):
    """The developer's client ``client_id``; anyone else's (or none) is 404."""
    client = my_clients().filter_by(client_id=client_id).one_or_none()
    if client is None:
        abort(404)
    return client


def after_change(result, message, why):
    """A new secret goes to the page that shows it once; otherwise the client's page says ``message``."""
    client_id = result.client.client_id
    if result.client_secret:
        shown_once.keep(client_id, result.client_secret, why)
        return redirect(url_for(".secret", client_id=client_id), 303)
    flash(message, "notice")
    return redirect(url_for(".client", client_id=client_id), 303)


# --- the list and a new client ------------------------------------------------------------------
@bp.route("")
def index():
    mine = my_clients().order_by(OAuthClient.created_at.desc(), OAuthClient.id.desc()).all()
    return render_template("developers/index.html", clients=mine)


@bp.route("/clients/new", methods=["GET", "POST"])
def new_client():
    form = ClientForm()
    if form.validate_on_submit():
        try:
            result = clients.register_client(owner=g.developer, actor=g.developer.sub, **form.metadata())
        except clients.ClientRegistrationError as error:
            db.session.rollback()
            form.refuse(error)
        else:
            return after_change(result, gettext("Az alkalmazást regisztráltuk."), shown_once.REGISTERED)
    return render_template("developers/new.html", form=form)


# --- one client -----------------------------------------------------------------------------------
@bp.route("/clients/<client_id>", methods=["GET", "POST"])
def client(client_id):
    client = own_client(client_id)
    form = ClientForm() if request.method == "POST" else ClientForm.of(client)
    if form.validate_on_submit():
        try:
            result = clients.update_client(client, actor=g.developer.sub, **form.metadata())
        except clients.ClientRegistrationError as error:
            db.session.rollback()
            form.refuse(error)
        else:
            # A move to a secret-based auth method makes a new secret (idp.clients.update_client).
            return after_change(result, gettext("Mentve."), shown_once.REPLACED)
    return detail_page(client, form=form)


def detail_page(client, form=None, rotate=None):
    return render_template("developers/client.html", client=client, form=form or ClientForm.of(client),
                           rotate=rotate or RotateForm(formdata=None), action=ActionForm(),
                           now=get_services().clock.now())


@bp.route("/clients/<client_id>/secret")
def secret(client_id):
    """The new secret, this once. The page must not be cached; a reload finds nothing."""
    client = own_client(client_id)
    kept = shown_once.take(client.client_id)
    if kept is None:
        flash(gettext("A titkos kulcsot csak egyszer, közvetlenül a létrehozása után mutatjuk meg. Ha nem "
                      "mentette el, cserélje le újra."), "notice")
        return redirect(url_for(".client", client_id=client.client_id), 303)
    response = make_response(render_template("developers/secret.html", client=client, secret=kept["secret"],
                                             why=kept["why"], now=get_services().clock.now()))
    response.headers["Cache-Control"] = "no-store, max-age=0"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.route("/clients/<client_id>/rotate-secret", methods=["POST"])
def rotate_secret(client_id):
    client = own_client(client_id)
    form = RotateForm()
    if not form.validate_on_submit():
        return detail_page(client, rotate=form)
    try:
        result = clients.rotate_secret(client, actor=g.developer.sub, grace=int(form.grace.data))
    except clients.ClientError:
        db.session.rollback()
        flash(gettext("Ennek az alkalmazásnak nincs titkos kulcsa, amelyet le lehetne cserélni."), "error")
        return redirect(url_for(".client", client_id=client.client_id), 303)
    shown_once.keep(client.client_id, result.client_secret, shown_once.ROTATED)
    return redirect(url_for(".secret", client_id=client.client_id), 303)


@bp.route("/clients/<client_id>/<any(disable, enable):action>", methods=["POST"])
def set_disabled(client_id, action):
    client = own_client(client_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    clients.set_client_disabled(client, action == "disable", actor=g.developer.sub)
    flash(gettext("Letiltva: senki sem léphet be vele, és minden kiadott tokenje érvényét vesztette.")
          if action == "disable" else gettext("Engedélyezve."), "notice")
    return redirect(url_for(".client", client_id=client.client_id), 303)


@bp.route("/clients/<client_id>/delete", methods=["GET", "POST"])
def delete(client_id):
    client = own_client(client_id)
    form = ActionForm()
    if form.validate_on_submit():
        name = client.client_name
        clients.delete_client(client, actor=g.developer.sub)
        flash(gettext("„%(name)s” törölve; minden kiadott tokenje érvényét vesztette.", name=name), "notice")
        return redirect(url_for(".index"), 303)
    return render_template("developers/delete.html", client=client, form=form)
