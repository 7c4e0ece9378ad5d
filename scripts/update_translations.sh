#!/usr/bin/env bash
# Re-extract the Hungarian source strings and merge them into the English catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k lazy_gettext -k _l -o idp/translations/messages.pot --no-location --sort-output --width=100 .
.venv/bin/pybabel update -i idp/translations/messages.pot -d idp/translations --no-fuzzy-matching --width=100
