"""Third-party extensions, created unbound and initialised in :func:`idp.create_app`.

This module imports nothing of the project (DESIGN.md §1: the bottom layer)."""

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
# Per-client-IP limits (DESIGN.md §4a); the peer address, or X-Forwarded-For
# through IDP_PROXY_HOPS trusted proxies (ProxyFix rewrites remote_addr).
limiter = Limiter(key_func=lambda: request.remote_addr or "unknown", strategy="fixed-window")
