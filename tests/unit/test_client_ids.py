"""Generated client ids can be typed on the command line: never a leading ``-``."""

from idp import clients


def test_a_drawn_id_that_looks_like_an_option_is_drawn_again(monkeypatch):
    drawn = iter(["-Aoption-like", "_fine-id"])
    monkeypatch.setattr(clients.secrets, "token_urlsafe", lambda nbytes: next(drawn))
    assert clients.new_client_id() == "_fine-id"


def test_ids_are_long_and_url_safe():
    ids = {clients.new_client_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 24 and not i.startswith("-") for i in ids)
