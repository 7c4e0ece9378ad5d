"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""

import sys

from idp import create_app
from idp.errors import ConfigurationError

try:
    app = create_app()
except ConfigurationError as error:
    print(f"idp: configuration error: {error}", file=sys.stderr)
    sys.exit(2)
