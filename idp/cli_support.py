"""What every ``idp`` command shares: ``--json`` and how results and refusals are printed.

With ``--json`` a command prints exactly one JSON document on stdout: its result, or
``{"error": "…"}`` when it refuses (and then exits non-zero). The one-line message on
stderr stays in both modes, for the person at the terminal and for logs.
"""

import json
import sys

import click

#: ``ctx.meta`` keys (shared by every context of one invocation).
JSON_REQUESTED = "idp.json"
RAW_ARGS = "idp.args"


def _remember_json(ctx, param, value):
    if value:
        ctx.meta[JSON_REQUESTED] = True
    return value


json_option = click.option("--json", "as_json", is_flag=True, callback=_remember_json,
                           help="Print one JSON document (errors too).")


def wants_json():
    """Whether the running command was given ``--json`` (also before its options were parsed)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    return bool(ctx.meta.get(JSON_REQUESTED) or "--json" in ctx.meta.get(RAW_ARGS, ()))


def emit(as_json, document, lines):
    """Exactly one JSON document with ``--json``; readable lines otherwise."""
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for line in lines:
            click.echo(line)


def fail(message, code=1):
    """One line on stderr (and ``{"error": …}`` on stdout with ``--json``) and a
    non-zero exit; never a traceback."""
    if wants_json():
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    click.echo(f"idp: {message}", err=True)
    sys.exit(code)


class JsonErrors:
    """Mixin for the ``idp`` group: Click's own refusals (a missing option, a bad
    choice, an unknown command) and an unusable database are errors like any
    other, so ``--json`` gets them as one JSON document too."""

    def parse_args(self, ctx, args):
        ctx.meta.setdefault(RAW_ARGS, tuple(args))
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        from sqlalchemy.exc import OperationalError
        from sqlalchemy.exc import ProgrammingError

        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            if wants_json():
                click.echo(json.dumps({"error": error.format_message()}, ensure_ascii=False))
            raise  # Click prints the usage and the message on stderr, exit status 2
        except (OperationalError, ProgrammingError) as error:
            detail = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
            fail(f"The database cannot be used: {detail}. Is it reachable and migrated (`idp db upgrade`)?")
