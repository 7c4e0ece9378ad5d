"""``idp demo``: the authorization URL it prints works every time it is opened,
and the callback page's exchange (demo client, fixed PKCE verifier) succeeds."""

import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from idp.demo import DEMO_CLIENT_ID
from idp.demo import DEMO_CODE_VERIFIER
from idp.extensions import db
from idp.models.company import BusinessUser
from tests.conftest import login_url
from tests.login_helpers import id_token_claims
from tests.login_helpers import new_browser


def printed_demo(app):
    result = app.test_cli_runner().invoke(args=["idp", "demo", "--json"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return json.loads(result.stdout)


def log_in_with(app, authorize_url, principal):
    """A fresh browser opens the printed URL, logs in and exchanges the code as
    the callback page says; returns the token response."""
    browser = new_browser(app)
    parts = urlsplit(authorize_url)
    response = browser.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302 and "/login" in response.headers["Location"], response.headers
    response = browser.get(browser.get(login_url(response.headers["Location"], principal)).headers["Location"])
    location = response.headers["Location"]
    assert location.startswith("http://localhost/dev/callback?"), location
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert "error" not in query, query
    page = browser.get(f"/dev/callback?{urlsplit(location).query}").get_data(as_text=True)
    assert f"code_verifier={DEMO_CODE_VERIFIER}" in page and f"client_id={DEMO_CLIENT_ID}" in page
    tokens = browser.post("/oauth/token", data={
        "grant_type": "authorization_code", "client_id": DEMO_CLIENT_ID, "code": query["code"],
        "redirect_uri": "http://localhost/dev/callback", "code_verifier": DEMO_CODE_VERIFIER})
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    return tokens.get_json()


def test_the_printed_authorization_url_works_every_time(app):
    first = printed_demo(app)
    second = printed_demo(app)  # `make run` again: the same URL is printed
    assert second["authorize_url"] == first["authorize_url"]
    admin = BusinessUser.query.filter_by(username="admin").one()
    anna = BusinessUser.query.filter_by(username="anna").one()

    subs = []
    for url, principal in [(first["authorize_url"], admin), (first["authorize_url"], anna),
                           (second["authorize_url"], admin)]:
        tokens = log_in_with(app, url, principal)
        subs.append(id_token_claims(app.test_client(), tokens["id_token"])["sub"])
    assert subs == [admin.sub, anna.sub, admin.sub]
