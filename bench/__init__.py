"""``make bench``: the production setup on loopback under load, side by side with
the bare-Flask ceiling, argon2id and panva's oidc-provider (README.md here).

Run from the project root: ``.venv/bin/python -m bench.run``. Nothing here is a
test: pytest collects only ``tests/``.
"""
