"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""

import sys

from idp import create_app
from idp.errors import ConfigurationError

#: gunicorn's APP_LOAD_ERROR: a worker exiting with it makes the arbiter stop
#: instead of restarting workers forever (gunicorn.conf.py normally catches the
#: error earlier, in the master). Any other runner just sees a non-zero status.
APP_LOAD_ERROR = 4

try:
    app = create_app()
except ConfigurationError as error:
    print(f"idp: configuration error: {error}", file=sys.stderr, flush=True)
    sys.exit(APP_LOAD_ERROR)
