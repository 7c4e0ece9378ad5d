"""Development outbox: every SMS and email, newest first. 404 in production."""

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import jsonify
from flask import render_template

from idp.models.outbox import OutboxMessage

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.before_request
def development_only():
    if current_app.config["ENV"] == "production":
        abort(404)


def newest_messages(limit=200):
    return OutboxMessage.query.order_by(OutboxMessage.id.desc()).limit(limit).all()


@bp.route("/outbox")
def outbox():
    return render_template("outbox.html", messages=newest_messages())


@bp.route("/outbox.json")
def outbox_json():
    return jsonify([m.to_dict() for m in newest_messages()])


@bp.route("/callback")
def callback():
    """Landing page of the demo relying party: shows what came back and how to
    exchange the code (the demo client's PKCE verifier is public on purpose)."""
    from flask import request

    from idp.demo import DEMO_CLIENT_ID
    from idp.demo import DEMO_CODE_VERIFIER

    # The demo's own request (state=demo) has a known client and verifier; for
    # any other client the command shows where its values go.
    demo = request.args.get("state") == "demo"
    return render_template("dev_callback.html", params=request.args,
                           client_id=DEMO_CLIENT_ID if demo else "CLIENT_ID",
                           code_verifier=DEMO_CODE_VERIFIER if demo else "CODE_VERIFIER",
                           issuer=current_app.config["ISSUER"])
