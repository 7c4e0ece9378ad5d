"""gunicorn settings, read automatically when gunicorn starts in the project
root (``gunicorn wsgi:app``). Command-line options still take precedence."""

import sys


def on_starting(server):
    """Check the configuration once in the master, before it binds or forks.

    A refused production setting (DESIGN.md §5) is then one line on stderr and
    exit status 2, instead of every worker failing to import ``wsgi`` and being
    restarted forever.
    """
    from idp import create_app
    from idp.errors import ConfigurationError

    try:
        create_app()
    except ConfigurationError as error:
        print(f"idp: configuration error: {error}", file=sys.stderr, flush=True)
        if server.pidfile is not None:
            server.pidfile.unlink()
        sys.exit(2)
