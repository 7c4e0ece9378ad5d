"""What every ``idp`` command shares: ``--json`` and how results and refusals are printed."""

import json
import sys

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


def emit(as_json, document, lines):
    """Exactly one JSON document with ``--json``; readable lines otherwise."""
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for line in lines:
            click.echo(line)


def fail(message):
    """One line on stderr and a non-zero exit; never a traceback."""
    click.echo(f"idp: {message}", err=True)
    sys.exit(1)
