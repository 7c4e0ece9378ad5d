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
# Each process's connection pool for a database server (SQLite keeps SQLAlchemy's own); a key
# set in SQLALCHEMY_ENGINE_OPTIONS wins. Connections open only when needed: a sync gunicorn
# worker holds one for the request it serves and one more while its thread delivers
# back-channel logouts; a threaded worker up to one per thread. README "Production deployment".
DB_POOL_SIZE = 5  # connections kept open
DB_MAX_OVERFLOW = 5  # more, opened under load and closed when given back
DB_POOL_TIMEOUT = 10  # seconds a request waits for a free connection before its 503
DB_POOL_RECYCLE = 1800  # seconds before a connection is replaced (proxies and firewalls cut idle ones)
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

# Facebook Login (idp/services/facebook.py): the app's id and secret (both or neither; unset,
# Facebook login is off) and Facebook's endpoints (https only in production).
FACEBOOK_CLIENT_ID = None
FACEBOOK_CLIENT_SECRET = None
FACEBOOK_AUTHORIZE_URL = "https://www.facebook.com/v21.0/dialog/oauth"
FACEBOOK_TOKEN_URL = "https://graph.facebook.com/v21.0/oauth/access_token"
FACEBOOK_USERINFO_URL = "https://graph.facebook.com/me"  # asked with fields=id,name,email

# Signing keys (keys/ beside the project unless set).
KEYS_DIR = None
KEY_ROTATION_OVERLAP = 3600  # seconds a new key is published before it signs
KEY_RETIRE_AFTER = 86400  # seconds an old key stays published after it stops signing
DEFAULT_SIGNING_ALG = "RS256"

# How long a client's previous secret keeps working after a rotation (seconds).
CLIENT_SECRET_ROTATION_GRACE = 24 * 3600

# Back-channel logout (OIDC Back-Channel Logout 1.0): the POST's timeout, the delays
# between retries (then it is given up), and whether a node sends in a background thread.
BACKCHANNEL_LOGOUT_TIMEOUT = 5
BACKCHANNEL_RETRY_DELAYS = [30, 120, 600, 3600]
BACKCHANNEL_LOGOUT_ASYNC = True

# Token lifetimes, in seconds.
AUTHORIZATION_CODE_TTL = 60
ACCESS_TOKEN_TTL = 600
ID_TOKEN_TTL = 600
REFRESH_TOKEN_TTL = 30 * 86400
LOGIN_SESSION_TTL = 8 * 3600
INTERACTION_TTL = 15 * 60

# Protocol.
SCOPES = ["openid", "profile", "email", "phone", "company", "permissions", "subscriptions", "offline_access"]
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

# Passwords (argon2id; OWASP minimum) and temporary passwords.
PASSWORD_HASH_TIME_COST = 2
PASSWORD_HASH_MEMORY_COST = 19456  # KiB
PASSWORD_HASH_PARALLELISM = 1
TEMP_PASSWORD_TTL = 7 * 86400

# One-time codes.
OTP_TTL = 300
OTP_MAX_ATTEMPTS = 5
LOGIN_FLOW_TTL = 15 * 60

# Throttles (DESIGN.md §4a).
PASSWORD_DELAY_AFTER = 5  # from the 5th wrong password a growing delay ...
PASSWORD_DELAY_MAX = 30  # ... of 1, 2, 4 ... seconds, at most this many
PASSWORD_LOCK_AFTER = 20  # the 20th locks the identifier ...
PASSWORD_LOCK_SECONDS = 15 * 60  # ... for 15 minutes
PASSWORD_FAILURE_WINDOW = 3600  # wrong passwords are counted over this window
IP_PASSWORD_FAILURES_PER_HOUR = 100
SMS_RESEND_COOLDOWN = 30
SMS_PER_PRINCIPAL_PER_HOUR = 5
SMS_PER_IP_PER_HOUR = 30
# Flask-Limiter's own headers would put Retry-After on every response and overwrite the
# Retry-After of our own throttles (a 30 s resend cooldown became 3600); a breach of one of its
# limits gets Retry-After from idp.errors instead.
RATELIMIT_HEADERS_ENABLED = False
RATELIMIT_KEY_PREFIX = "idp"
# Redis away: our throttles fail closed (idp.unavailable); the coarse flood guard counts in this
# process's memory meanwhile and goes back to Redis by itself (it re-checks with a back-off).
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
SMS_DAILY_BUDGET = 10_000
# Telekom accounts: how long a login counts as proof for linking (and unlinking), and
# how long "Később" keeps the offer to create or link an account away.
ACCOUNT_LINK_PROOF_TTL = 600
ACCOUNT_OFFER_SNOOZE_DAYS = 30
# A coarse outer guard (Flask-Limiter) on form posts to the login pages per client IP.
LOGIN_POSTS_PER_IP_PER_MINUTE = 300
# idp cleanup (idp/cleanup.py): rows are deleted this many seconds after they stopped
# mattering (expired, used, ended, delivered), in batches of this many rows.
CLEANUP_GRACE = 24 * 3600
CLEANUP_BATCH_SIZE = 1000
# Observability (idp/observability, README "Observability"): the log format ("json" | "text";
# None: json in production, text in development), the bearer token /metrics asks for (None:
# open in development, 404 in production), and the seconds /readyz waits for each store.
LOG_FORMAT = None
METRICS_TOKEN = None
READINESS_TIMEOUT = 2
