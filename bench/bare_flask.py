"""The ceiling: a Flask "hello" under the same gunicorn settings as the IdP
(``gunicorn -c gunicorn.conf.py bench.bare_flask:app``). What the IdP's cheapest
endpoints (JWKS, discovery) are compared with: Flask, Werkzeug and gunicorn and
nothing else."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
