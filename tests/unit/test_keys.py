"""Signing keys on disk (idp.services.keys.KeyStore): generation, rotation with
overlap, retirement, several nodes on one directory, concurrent first use."""

import base64
import hashlib
import json
import stat
import threading

import pytest
from joserfc import jwt
from joserfc.errors import JoseError

from idp.services.clock import FrozenClock
from idp.services.keys import KeyStore

OVERLAP = 600
RETIRE_AFTER = 3000
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def rfc7638_thumbprint(jwk):
    """RFC 7638 §3: SHA-256 over the required members, sorted, no whitespace."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def kids(store):
    return {entry.kid for entry in store.published()}


def by_alg(store):
    return {entry.alg: entry.kid for entry in store.published()}


@pytest.fixture
def clock():
    return FrozenClock()


@pytest.fixture
def keys_dir(tmp_path):
    return tmp_path / "keys"


@pytest.fixture
def store(keys_dir, clock):
    return KeyStore(keys_dir, clock, overlap=OVERLAP, retire_after=RETIRE_AFTER)


def test_first_use_generates_one_rs256_and_one_es256_key(store, keys_dir):
    assert not keys_dir.exists()

    rsa = store.signing_key("RS256")
    ec = store.signing_key("ES256")

    keyring = json.loads((keys_dir / "keyring.json").read_text())
    assert sorted(e["alg"] for e in keyring["keys"]) == ["ES256", "RS256"]
    assert {e["kid"] for e in keyring["keys"]} == {rsa.kid, ec.kid}
    pems = sorted(p.name for p in keys_dir.glob("*.pem"))
    assert pems == sorted([f"{rsa.kid}.pem", f"{ec.kid}.pem"])
    for pem in keys_dir.glob("*.pem"):
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600, pem
        assert b"PRIVATE KEY" in pem.read_bytes()
    # keyring.json is public metadata only.
    assert "PRIVATE" not in (keys_dir / "keyring.json").read_text()
    assert all(set(e) == {"kid", "alg", "created_at", "activates_at"} for e in keyring["keys"])


def test_kid_is_the_rfc7638_thumbprint(store):
    jwks = store.public_jwks()
    assert len(jwks["keys"]) == 2
    for jwk in jwks["keys"]:
        assert jwk["kid"] == rfc7638_thumbprint(jwk)
    assert {j["kty"] for j in jwks["keys"]} == {"RSA", "EC"}


def test_rotate_on_a_fresh_directory_still_leaves_a_signing_key(store, clock):
    """Nothing was ever published, so there is nothing to overlap with: the
    store must not be left without a key that signs for ``overlap`` seconds."""
    new = store.rotate()
    assert store.signing_key("RS256")
    assert store.signing_key("ES256")
    assert {e.kid for e in new} <= kids(store)


def test_public_jwks_has_no_private_members(store):
    store.rotate()  # current and next keys both published
    jwks = store.public_jwks()
    assert len(jwks["keys"]) == 4
    for jwk in jwks["keys"]:
        assert not PRIVATE_MEMBERS & set(jwk), jwk
        assert jwk["use"] == "sig"
        assert jwk["alg"] in ("RS256", "ES256")
    ec = [j for j in jwks["keys"] if j["kty"] == "EC"]
    assert all(j["crv"] == "P-256" for j in ec)


def test_rotation_publishes_at_once_but_signs_only_after_the_overlap(store, clock):
    old_rsa = store.signing_key("RS256").kid
    old_ec = store.signing_key("ES256").kid

    new = store.rotate()

    assert sorted(e.alg for e in new) == ["ES256", "RS256"]
    new_kids = {e.alg: e.kid for e in new}
    assert {old_rsa, old_ec, *new_kids.values()} == kids(store)
    assert all(e.activates_at == clock.timestamp() + OVERLAP for e in new)
    # Still the old keys until the overlap has passed ...
    assert store.signing_key("RS256").kid == old_rsa
    clock.advance(OVERLAP - 1)
    assert store.signing_key("RS256").kid == old_rsa
    assert store.signing_key("ES256").kid == old_ec
    # ... then the new ones.
    clock.advance(1)
    assert store.signing_key("RS256").kid == new_kids["RS256"]
    assert store.signing_key("ES256").kid == new_kids["ES256"]


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_token_signed_by_the_old_key_verifies_after_rotation_until_retired(store, clock, alg):
    old_key = store.signing_key(alg)
    token = jwt.encode({"alg": alg, "kid": old_key.kid}, {"sub": "anna"}, old_key)

    store.rotate()
    clock.advance(OVERLAP)
    assert store.signing_key(alg).kid != old_key.kid
    assert jwt.decode(token, store.verification_keys(), algorithms=[alg]).claims["sub"] == "anna"

    clock.advance(RETIRE_AFTER)  # the old key is no longer published
    assert old_key.kid not in kids(store)
    with pytest.raises((JoseError, ValueError)):
        jwt.decode(token, store.verification_keys(), algorithms=[alg])


def test_old_key_retires_retire_after_seconds_after_successor_activates(store, clock, keys_dir):
    old = by_alg(store)
    store.rotate()

    clock.advance(OVERLAP + RETIRE_AFTER - 1)
    assert set(old.values()) <= kids(store)
    clock.advance(1)
    published = kids(store)
    assert not set(old.values()) & published
    assert len(published) == 2
    # Retired, but the private key file is only removed by the next rotation.
    assert all((keys_dir / f"{kid}.pem").exists() for kid in old.values())

    newest = store.rotate()

    for kid in old.values():
        assert not (keys_dir / f"{kid}.pem").exists()
    keyring = json.loads((keys_dir / "keyring.json").read_text())
    assert not {e["kid"] for e in keyring["keys"]} & set(old.values())
    assert {e.kid for e in newest} <= kids(store)
    assert len(list(keys_dir.glob("*.pem"))) == 4


def test_rotation_keeps_keys_whose_successor_has_not_retired_them_yet(store, clock, keys_dir):
    old = by_alg(store)
    store.rotate()
    clock.advance(OVERLAP + 10)  # successor signs, old key still in its retirement window
    store.rotate()
    assert set(old.values()) <= kids(store)
    assert all((keys_dir / f"{kid}.pem").exists() for kid in old.values())
    assert len(kids(store)) == 6


def test_two_nodes_on_one_directory_share_keys_and_see_rotations(keys_dir, clock):
    node_a = KeyStore(keys_dir, clock, overlap=OVERLAP, retire_after=RETIRE_AFTER)
    node_b = KeyStore(keys_dir, clock, overlap=OVERLAP, retire_after=RETIRE_AFTER)

    node_a.ensure()
    assert node_b.signing_key("RS256").kid == node_a.signing_key("RS256").kid
    assert node_b.signing_key("ES256").kid == node_a.signing_key("ES256").kid
    assert node_b.public_jwks() == node_a.public_jwks()
    assert len(list(keys_dir.glob("*.pem"))) == 2  # node B did not generate its own

    before = kids(node_b)  # node B has now cached the keyring
    new = node_a.rotate()

    assert kids(node_b) == before | {e.kid for e in new}
    clock.advance(OVERLAP)
    new_rsa = next(e.kid for e in new if e.alg == "RS256")
    assert node_b.signing_key("RS256").kid == new_rsa
    # Node B can verify what node A signs with the new key.
    key = node_a.signing_key("RS256")
    token = jwt.encode({"alg": "RS256", "kid": key.kid}, {"sub": "x"}, key)
    assert jwt.decode(token, node_b.verification_keys(), algorithms=["RS256"]).claims["sub"] == "x"


def test_rotation_by_another_node_is_seen_even_after_a_cached_read(keys_dir, clock):
    node_a = KeyStore(keys_dir, clock, overlap=0, retire_after=0)
    node_b = KeyStore(keys_dir, clock, overlap=0, retire_after=0)
    first = node_b.signing_key("ES256").kid
    clock.advance(1)

    node_a.rotate()  # overlap 0: the new key signs at once; retire 0: the old one goes

    second = node_b.signing_key("ES256").kid
    assert second != first
    assert first not in kids(node_b)
    assert not (keys_dir / f"{first}.pem").exists()


def test_concurrent_ensure_creates_exactly_one_key_per_algorithm(keys_dir, clock):
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    errors = []
    seen = []

    def node():
        store = KeyStore(keys_dir, clock, overlap=OVERLAP, retire_after=RETIRE_AFTER)
        try:
            barrier.wait(5)
            store.ensure()
            seen.append(by_alg(store))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=node) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert len(seen) == threads_count
    assert all(view == seen[0] for view in seen)
    keyring = json.loads((keys_dir / "keyring.json").read_text())
    assert sorted(e["alg"] for e in keyring["keys"]) == ["ES256", "RS256"]
    assert len(list(keys_dir.glob("*.pem"))) == 2


def test_ensure_is_idempotent(store, keys_dir):
    store.ensure()
    first = (keys_dir / "keyring.json").read_text()
    store.ensure()
    KeyStore(keys_dir, FrozenClock()).ensure()
    assert (keys_dir / "keyring.json").read_text() == first
    assert len(list(keys_dir.glob("*.pem"))) == 2
