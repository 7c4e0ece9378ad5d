"""Helpers for driving the login pages through the Flask test client."""

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from idp.models.outbox import OutboxMessage

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html):
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def post_form(client, url, data):
    """GET the page, then POST ``data`` with its CSRF token."""
    page = client.get(url)
    token = csrf_token(page.get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def flow_id(location):
    return parse_qs(urlsplit(location).query)["flow"][0]


def last_code(to=None):
    """The code of the newest SMS/email in the outbox (for ``to`` if given)."""
    query = OutboxMessage.query.order_by(OutboxMessage.id.desc())
    if to:
        query = query.filter_by(to=to)
    message = query.first()
    assert message is not None, "nothing in the outbox"
    return re.search(r"#(\d{6})\s*$", message.body).group(1) if "#" in message.body else re.search(
        r"\b(\d{6})\b", message.body).group(1)


def temporary_password(email):
    message = (OutboxMessage.query.filter_by(channel="email", to=email)
               .order_by(OutboxMessage.id.desc()).first())
    return re.search(r"Ideiglenes jelszó: (\S+)", message.body).group(1)


# --- added for the business-login, password-reset and throttle tests ----------------
FLOW_PARAM = re.compile(r"flow=[A-Za-z0-9_\-]+")
INTERACTION_PARAM = re.compile(r"interaction=[A-Za-z0-9_\-]+")


def strip_volatile(html):
    """The page without what differs between two identical visits: CSRF tokens and flow/interaction ids."""
    html = CSRF.sub('name="csrf_token" type="hidden" value=""', html)
    html = FLOW_PARAM.sub("flow=X", html)
    return INTERACTION_PARAM.sub("interaction=X", html)


def text(response):
    return response.get_data(as_text=True)


def start_login(client, identifier, query=""):
    """Identifier page → password page; returns the flow id."""
    response = post_form(client, "/login" + query, {"identifier": identifier})
    assert response.status_code == 302, text(response)
    assert "/login/password?flow=" in response.headers["Location"]
    return flow_id(response.headers["Location"])


def submit_password(client, fid, password):
    return post_form(client, f"/login/password?flow={fid}", {"password": password})


def submit_code(client, fid, code):
    return post_form(client, f"/login/sms?flow={fid}", {"code": code})


def outbox(channel=None, to=None):
    """The outbox messages, oldest first."""
    query = OutboxMessage.query.order_by(OutboxMessage.id)
    if channel:
        query = query.filter_by(channel=channel)
    if to:
        query = query.filter_by(to=to)
    return query.all()


def audit_events(event, **filters):
    from idp.models.audit import AuditEvent

    return AuditEvent.query.filter_by(event=event, **filters).order_by(AuditEvent.id).all()


def log_in(client, identifier, password, phone=None):
    """A complete business login through the pages (password, then the SMS code
    if one is asked for); returns the last response."""
    fid = start_login(client, identifier)
    response = submit_password(client, fid, password)
    assert response.status_code == 302, text(response)
    if "/login/sms" in response.headers["Location"]:
        response = submit_code(client, fid, last_code(phone))
        assert response.status_code == 302, text(response)
    return past_the_offer(client, response)


def authorize(client, rp, *, scope="openid", redirect_uri="https://rp.example/cb", **extra):
    """Start an authorization request (code, PKCE S256, a fresh nonce); returns ``(response, verifier)``."""
    import secrets
    from urllib.parse import urlencode

    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    verifier = secrets.token_urlsafe(48)
    params = {"response_type": "code", "client_id": rp.client_id, "redirect_uri": redirect_uri,
              "scope": scope, "state": "st", "nonce": secrets.token_urlsafe(8),
              "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256", **extra}
    return client.get("/oauth/authorize?" + urlencode(params)), verifier


def exchange_code(client, rp, location, verifier, redirect_uri="https://rp.example/cb", secret=None):
    """The token response for the code in the RP callback ``location`` (a public
    client, or a confidential one authenticating with ``secret``)."""
    code = parse_qs(urlsplit(location).query)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    if secret is None:
        data["client_id"] = rp.client_id
    response = client.post("/oauth/token", data=data, auth=(rp.client_id, secret) if secret else None)
    assert response.status_code == 200, text(response)
    return response.get_json()


def id_token_claims(client, token):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").get_json())).claims


def resend(client, fid):
    """Press "Nem kaptam meg az SMS-t" on the SMS page of flow ``fid``."""
    token = csrf_token(client.get(f"/login/sms?flow={fid}").get_data(as_text=True))
    return client.post(f"/login/sms/resend?flow={fid}", data={"csrf_token": token})


class Browser(FlaskClient):
    """A test client whose every request starts with an empty ``flask.g``, as
    in production. (The ``app`` fixture keeps one app context pushed, and Flask
    reuses a pushed context of the same app for each request, so ``g`` - with
    Flask-WTF's cached CSRF token, Flask-Babel's locale and the pages' flags -
    would otherwise carry over from one request, or one browser, to the next.)"""

    def open(self, *args, **kwargs):
        from flask import g
        from flask import has_app_context

        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


def new_browser(app):
    return Browser(app, app.response_class, use_cookies=True)


def post_anyway(client, url, data):
    """POST ``data`` with a valid CSRF token of this browser, taken from the
    identifier page (for URLs whose own page has no form any more)."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


# --- added for the phone-login tests ------------------------------------------------------
def start_phone_login(client, number, query=""):
    """Number page → check page; returns the flow id."""
    response = post_form(client, "/login/phone" + query, {"number": number})
    assert response.status_code == 302, text(response)
    assert "/login/phone/check?flow=" in response.headers["Location"]
    return flow_id(response.headers["Location"])


def request_sms(client, fid):
    """Press "Kérem az SMS-t" on the check page of flow ``fid``."""
    return post_form(client, f"/login/phone/check?flow={fid}", {})


def at_phone_code(client, number):
    """Number → "Kérem az SMS-t"; returns the flow id (now on the code page)."""
    fid = start_phone_login(client, number)
    response = request_sms(client, fid)
    assert response.status_code == 302, text(response)
    assert response.headers["Location"].endswith(f"/login/phone/code?flow={fid}")
    return fid


def submit_phone_code(client, fid, code):
    """Type the code and press "Belépek"."""
    return post_form(client, f"/login/phone/code?flow={fid}", {"code": code})


def phone_resend(client, fid):
    """Press "Nem kaptam meg az SMS-t" on the code page of flow ``fid``."""
    token = csrf_token(client.get(f"/login/phone/code?flow={fid}").get_data(as_text=True))
    return client.post(f"/login/phone/code/resend?flow={fid}", data={"csrf_token": token})


def other_code(code):
    """A six-digit code that is certainly not ``code``."""
    return f"{(int(code) + 1) % 1000000:06d}"


# --- added for the admin-area tests ------------------------------------------------------
ANY_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')


def any_csrf_token(html):
    """The CSRF token of any form on the page (whatever the attribute order)."""
    match = ANY_CSRF.search(html)
    assert match, "no CSRF token in the page"
    return re.search(r'value="([^"]+)"', match.group(0)).group(1)


def admin_browser(app, identifier, password="Helyes-jelszo-2024!", phone=None):
    """A new browser logged in as ``identifier`` the way a person reaches the
    admin area: GET /admin → /login?next=/admin → password (→ SMS code) → /admin.
    Returns the browser; the login must have landed on /admin."""
    browser = new_browser(app)
    response = browser.get("/admin")
    assert response.status_code == 302, text(response)
    location = response.headers["Location"]
    assert urlsplit(location).path == "/login" and parse_qs(urlsplit(location).query)["next"] == ["/admin"]
    fid = start_login(browser, identifier, query="?" + urlsplit(location).query)
    response = submit_password(browser, fid, password)
    assert response.status_code == 302, text(response)
    if "/login/sms" in response.headers["Location"]:
        response = submit_code(browser, fid, last_code(phone))
        assert response.status_code == 302, text(response)
    response = past_the_offer(browser, response)
    assert response.headers["Location"] == "/admin", response.headers["Location"]
    return browser


def past_the_offer(browser, response):
    """A login of a business user or phone line not yet linked to a Telekom account
    is first offered one (``/account/offer?next=…``): answer "Később" and return
    the redirect to where the login was going. Other responses pass unchanged."""
    if response.status_code != 302 or urlsplit(response.headers["Location"]).path != "/account/offer":
        return response
    offer = browser.get(response.headers["Location"])
    assert offer.status_code == 200, text(offer)
    token = re.search(r'name="later-csrf_token" type="hidden" value="([^"]+)"', text(offer)).group(1)
    answer = browser.post(response.headers["Location"], data={"later-csrf_token": token, "later-submit": "Később"})
    assert answer.status_code == 302, text(answer)
    return answer


def admin_post(client, url, data, page="/admin/rights"):
    """POST ``data`` to ``url`` with a valid CSRF token of this browser taken from ``page``."""
    token = any_csrf_token(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def post_at_once(browser, url, data, times=2):
    """POST the same form ``times`` times at the same instant from copies of one
    browser's cookies (a live server); returns the responses."""
    import threading

    import requests

    barrier = threading.Barrier(times)
    replies = []

    def submit():
        session = requests.Session()
        session.cookies.update(browser.cookies)
        barrier.wait()
        replies.append(session.post(url, data=data, allow_redirects=False, timeout=30))

    threads = [threading.Thread(target=submit) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return replies


# --- added for the Telekom account tests ---------------------------------------------------
ACCOUNT_PASSWORD = "Fiok-jelszo-Teszt-2024"


def make_account(email=None, phone=None, password=ACCOUNT_PASSWORD, name="Teszt Elek", email_confirmed=None,
                 phone_confirmed=None, **fields):
    """A Telekom account row (its email and phone verified unless told otherwise)."""
    from idp.extensions import db
    from idp.models.account import TelekomAccount
    from idp.services import get_services

    services = get_services()
    account = TelekomAccount(
        email_address=email, phone=phone, display_name=name, created_at=services.clock.now(),
        email_confirmed=bool(email) if email_confirmed is None else email_confirmed,
        phone_confirmed=bool(phone) if phone_confirmed is None else phone_confirmed,
        password_hash=services.passwords.hash(password) if password else None,
        password_changed_at=services.clock.now() if password else None, **fields)
    db.session.add(account)
    db.session.commit()
    return account


def link_identities(account, *identities):
    """Link rows made directly (test data; the pages' rules are not involved)."""
    from idp.extensions import db
    from idp.models.account import AccountLink
    from idp.services import get_services

    for identity in identities:
        db.session.add(AccountLink(account_id=account.id, principal_kind=identity.kind, subject=identity.sub,
                                   created_at=get_services().clock.now()))
    db.session.commit()


def named_token(html, name="csrf_token"):
    """The value of the hidden input ``name`` (``later-csrf_token`` ...), whatever the attribute order."""
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert match, f"no {name} in the page"
    return re.search(r'value="([^"]*)"', match.group(0)).group(1)


def location(response):
    """Where a redirect goes (asserting it is one)."""
    assert response.status_code in (302, 303), (response.status_code, text(response)[:2000])
    return response.headers["Location"]


def path_of(url):
    return urlsplit(url).path


def account_log_in(client, username, password=ACCOUNT_PASSWORD, query="", phone=None):
    """``/account/login`` (then the SMS code if the risk rules ask for it); returns the last response."""
    response = post_form(client, "/account/login" + query, {"username": username, "password": password})
    if response.status_code == 302 and path_of(response.headers["Location"]) == "/account/login/sms":
        response = post_form(client, response.headers["Location"], {"code": last_code(phone)})
    return response


def signed_in_as(client):
    """Who this browser is logged in as (the identifier on ``/login/done``), or None."""
    import html as html_module

    match = re.search(r"Bejelentkezve: ([^<]+)</span>", text(client.get("/login/done")))
    return html_module.unescape(match.group(1)).strip() if match else None


def hrefs(html):
    """Every link target of the page, unescaped."""
    import html as html_module

    return [html_module.unescape(h) for h in re.findall(r'href="([^"]+)"', html)]


def facebook_round_trip(client, fake, start="/account/facebook", allow=True):
    """``start`` → Facebook's dialog (``fake`` plays the user) → our callback; returns the callback's response."""
    dialog = location(client.get(start))
    assert dialog.startswith(fake.authorize_url), dialog
    back = fake.login(dialog, allow=allow)
    assert urlsplit(back).path == "/account/facebook/callback", back
    return client.get(back)
