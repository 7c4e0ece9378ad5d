"""Default configuration. Only defaults live here.

Layering (DESIGN.md §5): these defaults, then the file named by ``IDP_CONFIG``
(``.py``, ``.json`` or ``.toml``), then ``IDP_*`` environment variables
(``IDP_ISSUER`` sets ``ISSUER``). Values from the environment are parsed as
JSON when they look like JSON (``IDP_PROXY_HOPS=1`` is the integer 1).
"""

DEVELOPMENT_SECRET_KEY = "development-secret-key-not-for-production"

ENV = "development"
ISSUER = "http://127.0.0.1:5000"
SECRET_KEY = DEVELOPMENT_SECRET_KEY
SQLALCHEMY_DATABASE_URI = None  # filled in by create_app: SQLite under instance/
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
REDIS_URL = None
PROXY_HOPS = 0

# External effects (STYLE.md "Services"): dotted paths of the backends.
SMS_BACKEND = "outbox"
MAIL_BACKEND = "outbox"
CLOCK_BACKEND = "idp.services.clock:SystemClock"
SMS_GATEWAY_URL = None
SMS_GATEWAY_TOKEN = None
SMS_SENDER_NAME = "Telekom"
MAIL_SERVER = "localhost"
MAIL_PORT = 25
MAIL_USE_TLS = False
MAIL_USERNAME = None
MAIL_PASSWORD = None
MAIL_FROM = "Telekom Belépés <noreply@telekom.example>"

# Signing keys (keys/ beside the project unless set).
KEYS_DIR = None
KEY_ROTATION_OVERLAP = 3600  # seconds a new key is published before it signs
KEY_RETIRE_AFTER = 86400  # seconds an old key stays published after it stops signing
DEFAULT_SIGNING_ALG = "RS256"

# Token lifetimes, in seconds.
AUTHORIZATION_CODE_TTL = 60
ACCESS_TOKEN_TTL = 600
ID_TOKEN_TTL = 600
REFRESH_TOKEN_TTL = 30 * 86400
LOGIN_SESSION_TTL = 8 * 3600
INTERACTION_TTL = 15 * 60

# Protocol.
SCOPES = ["openid", "profile", "email", "phone", "company", "permissions", "subscriptions"]
ACR_VALUES = ["urn:telekom:acr:1fa", "urn:telekom:acr:2fa"]  # one factor; password + SMS
MAX_PARAM_LENGTH = 2048
MAX_CONTENT_LENGTH = 64 * 1024

# UI.
LANGUAGES = ["hu", "en"]
BABEL_DEFAULT_LOCALE = "hu"
WTF_CSRF_TIME_LIMIT = 3600
SESSION_COOKIE_NAME = "idp_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
