from tests.login_helpers import flow_id, last_code, post_form, temporary_password


def test_first_login_with_sms_and_new_password(app, client):
    from idp.companies import create_company

    company, admin = create_company("acme", "Acme Kft.", "boss@acme.example", "301234567")
    r = post_form(client, "/login", {"identifier": "  Admin@ACME "})
    assert r.status_code == 302, r.get_data(as_text=True)
    fid = flow_id(r.headers["Location"])
    r = post_form(client, r.headers["Location"], {"password": temporary_password("boss@acme.example")})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert "/login/sms" in r.headers["Location"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "+36 30 *** **67" in page
    r = post_form(client, f"/login/sms?flow={fid}", {"code": last_code("+36301234567")})
    assert r.status_code == 302 and "/login/new-password" in r.headers["Location"]
    r = post_form(client, r.headers["Location"], {"password": "correct horse battery", "repeat": "correct horse battery"})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert r.headers["Location"].endswith("/login/done")


def test_authorize_login_resume(app, client):
    from idp.companies import create_company
    from tests.factories import make_client

    company, admin = create_company("acme", "Acme Kft.", "boss@acme.example", "301234567", sms_login_required=False)
    rp, _ = make_client(first_party=True, public=True)
    r = client.get("/oauth/authorize?response_type=code&client_id=%s&redirect_uri=https://rp.example/cb"
                   "&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                   "&code_challenge_method=S256&state=s" % rp.client_id)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?interaction=")
    r = post_form(client, r.headers["Location"], {"identifier": "admin@acme"})
    r = post_form(client, r.headers["Location"], {"password": temporary_password("boss@acme.example")})
    assert "/login/new-password" in r.headers["Location"]
    r = post_form(client, r.headers["Location"], {"password": "correct horse battery", "repeat": "correct horse battery"})
    assert "/oauth/authorize/resume/" in r.headers["Location"], r.get_data(as_text=True)
    r = client.get(r.headers["Location"])
    assert r.headers["Location"].startswith("https://rp.example/cb?code="), r.headers.get("Location")
