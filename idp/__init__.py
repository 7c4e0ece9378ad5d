"""Telekom identity provider: the OAuth 2.0 / OpenID Connect server behind "Belépés".

``create_app(config=None, services=None)`` builds the Flask application; see
DESIGN.md for the public contract and README.md for a tour.
"""

import logging

from flask import Flask
from flask import has_request_context
from flask_babel import get_locale
from flask import request
from flask import session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from idp.config import load_config
from idp.errors import register_error_handlers
from idp.extensions import babel
from idp.extensions import csrf
from idp.extensions import db
from idp.extensions import limiter
from idp.extensions import migrate
from idp.observability import init_observability
from idp.services import build_services
from idp.unavailable import register_unavailable_handlers

MIGRATIONS_DIR = __path__[0] + "/migrations"


def select_locale():
    """``ui_locales`` of the request, then the one remembered from the
    authorization request, then Accept-Language, then Hungarian."""
    from flask import current_app

    from idp.oidc.sessions import preferred_locale

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the operator's CLI answers in English, like its other output
        return "en"
    try:
        ui_locales = request.values.get("ui_locales")
    except RequestEntityTooLarge:  # the body is over MAX_CONTENT_LENGTH: its 413 page still speaks
        ui_locales = request.args.get("ui_locales")
    chosen = preferred_locale(ui_locales, languages)
    if chosen:
        return chosen
    if session.get("locale") in languages:
        return session["locale"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def install_security_headers(app):
    """Browser hardening on every response; pages are never cached."""

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":
            # form-action also covers the redirect after a POST: the consent and
            # login forms end at the relying party's redirect URI, any origin.
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; "
                "form-action 'self' http: https:")
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def create_app(config=None, services=None):
    app = Flask(__name__, instance_relative_config=False)
    load_config(app, config)
    if app.config["PROXY_HOPS"]:
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    init_observability(app)  # first: its hooks wrap every other (idp.observability)
    logging.basicConfig(level=logging.INFO)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.extensions["idp"] = build_services(app, services)
    if app.config["ENV"] == "production" and not app.config.get("REDIS_URL"):
        app.logger.warning("IDP_REDIS_URL is not set: throttle counters live in each process, so "
                           "several nodes (or gunicorn workers) each count on their own.")

    from idp import models  # noqa: F401  (registers the tables)
    from idp.admin.views import bp as admin_bp
    from idp.developers import bp as developers_bp
    from idp.dev import bp as dev_bp
    from idp.pages import bp as login_bp
    from idp.pages.account import bp as account_bp
    from idp.health import bp as health_bp
    from idp.pages.home import bp as home_bp
    from idp.oidc.cors import install_cors
    from idp.oidc.guard import install_request_guard
    from idp.oidc.consent import bp as consent_bp
    from idp.oidc.logout import bp as logout_bp
    from idp.oidc.wiring import config_oauth
    from idp.oidc.views import bp as oidc_bp
    from idp.registration import init_registration

    config_oauth(app)
    init_registration(app)
    app.register_blueprint(oidc_bp)
    app.register_blueprint(logout_bp)
    app.register_blueprint(consent_bp)
    app.register_blueprint(login_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(developers_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(dev_bp)
    register_error_handlers(app)
    register_unavailable_handlers(app)

    from idp.grants.claims import scope_label

    app.jinja_env.globals["scope_label"] = scope_label
    app.jinja_env.globals["get_locale"] = get_locale

    from idp.cli import idp_group

    app.cli.add_command(idp_group)

    install_security_headers(app)
    install_request_guard(app)
    install_cors(app)
    install_backchannel_delivery(app)
    return app


def install_backchannel_delivery(app):
    """Logout tokens queued by a request go out once its response is on its way."""

    @app.teardown_request
    def send_logout_tokens(error=None):
        from flask import g

        if g.pop("backchannel_due", False) and error is None:
            app.extensions["idp"].backchannel.deliver_in_background(app)
