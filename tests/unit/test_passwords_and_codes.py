"""Tables for the small pieces of the login: the password policy, argon2id
hashing, identifier normalisation, phone and email masking, and one-time
codes (expiry, attempts, single use, keyed hashes) on a frozen clock."""

import re
import unicodedata

import pytest
from sqlalchemy import text as sql

from idp.extensions import db
from idp.flows.business import IdentifierFormatError
from idp.flows.business import normalize_identifier
from idp.models.otp import OtpChallenge
from idp.phones import PhoneNumberError
from idp.phones import mask
from idp.phones import mask_email
from idp.phones import parse_mobile
from idp.services.clock import FrozenClock
from idp.services.otp import CodeExpiredError
from idp.services.otp import CodeInvalidError
from idp.services.otp import OtpService
from idp.services.otp import new_code
from idp.services.passwords import PasswordService
from idp.services.passwords import common_passwords
from idp.services.passwords import policy_errors

# --- password policy ----------------------------------------------------------------------------
TOO_SHORT, TOO_LONG = "legalább 12 karakter", "legfeljebb 128 karakter"
USERNAME, COMMON = "felhasználónév", "túl gyakori"


@pytest.mark.parametrize(("password", "expected"), [
    pytest.param("", [TOO_SHORT], id="empty"),
    pytest.param("a" * 11, [TOO_SHORT], id="11-chars"),
    pytest.param("kék ég alatt", [], id="12-chars"),
    pytest.param("x" * 128, [], id="128-chars"),
    pytest.param("x" * 129, [TOO_LONG], id="129-chars"),
    pytest.param("anna@acme", [TOO_SHORT, USERNAME], id="identifier-itself"),
    pytest.param("ANNA@ACME", [TOO_SHORT, USERNAME], id="identifier-upper-case"),
    pytest.param("anna@acme2024", [USERNAME], id="identifier-plus-year"),
    pytest.param("anna.kovacs@example.com", [USERNAME], id="email-address"),
    pytest.param("anna", [TOO_SHORT, USERNAME], id="username"),
    pytest.param("anna szereti a kávét", [], id="username-inside-a-sentence"),
    pytest.param("jelszo123456", [COMMON], id="common"),
    pytest.param("JELSZO123456", [COMMON], id="common-upper-case"),
    pytest.param("Password123!", [COMMON], id="common-with-symbol"),
    pytest.param("password", [TOO_SHORT], id="short-common"),
    pytest.param("ｊｅｌｓｚｏ１２３４５６", [COMMON], id="common-fullwidth-nfkc"),
])
def test_password_policy(password, expected):
    errors = [str(e) for e in policy_errors(password, "anna@acme", ("anna.kovacs@example.com",))]
    assert len(errors) == len(expected), errors
    for fragment, error in zip(expected, errors):
        assert fragment in error


def test_common_password_list_is_loaded_and_case_folded():
    words = common_passwords()
    assert len(words) >= 50
    assert "password1234" in words and "jelszo123456" in words
    assert all(w == w.casefold() and not w.startswith("#") for w in words)


# --- argon2id ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hasher():
    return PasswordService()


def test_default_hash_is_argon2id_m19456_t2_p1(hasher):
    hashed = hasher.hash("kék ég alatt")
    assert re.fullmatch(r"\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+", hashed)
    assert hasher.hash("kék ég alatt") != hashed  # salted


@pytest.mark.parametrize(("stored", "typed", "ok"), [
    pytest.param("kék ég alatt", "kék ég alatt", True, id="same"),
    pytest.param("kék ég alatt", "Kék ég alatt", False, id="case-matters"),
    pytest.param("kék ég alatt", "kék ég alatt ", False, id="trailing-space-matters"),
    pytest.param(unicodedata.normalize("NFC", "Árvíztűrő tükörfúrógép"),
                 unicodedata.normalize("NFD", "Árvíztűrő tükörfúrógép"), True, id="nfc-vs-nfd"),
    pytest.param("ｐａｓｓｗｏｒｄ１２", "password12", True, id="fullwidth-nfkc"),
])
def test_verify(hasher, stored, typed, ok):
    assert hasher.verify(hasher.hash(stored), typed) is ok


@pytest.mark.parametrize("stored", [None, "", "not a hash", "$argon2id$v=19$m=19456,t=2,p=1$broken"],
                         ids=["none", "empty", "garbage", "truncated"])
def test_verify_without_a_usable_hash_is_false(hasher, stored):
    assert hasher.verify(stored, "dummy password for timing equality") is False


def test_needs_rehash_when_parameters_change(hasher):
    hashed = hasher.hash("kék ég alatt")
    assert hasher.needs_rehash(hashed) is False
    assert PasswordService(time_cost=1).needs_rehash(hashed) is True
    assert PasswordService(memory_cost=8192).needs_rehash(hashed) is True


# --- identifiers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "normalised"), [
    pytest.param("admin@acme", "admin@acme", id="plain"),
    pytest.param("  Admin@ACME \n", "admin@acme", id="trim-and-case"),
    pytest.param("ＡＤＭＩＮ＠ＡＣＭＥ", "admin@acme", id="fullwidth"),
    pytest.param("anna.kovacs_2@acme-kft", "anna.kovacs_2@acme-kft", id="dots-dashes-underscores"),
    pytest.param("Straße@acme", "strasse@acme", id="casefold-sharp-s"),
    pytest.param("u" * 64 + "@" + "c" * 64, "u" * 64 + "@" + "c" * 64, id="longest"),
])
def test_identifier_normalisation(typed, normalised):
    assert normalize_identifier(typed) == normalised


@pytest.mark.parametrize("typed", [
    pytest.param("", id="empty"),
    pytest.param("   ", id="whitespace"),
    pytest.param(None, id="none"),
    pytest.param("admin", id="no-at"),
    pytest.param("admin@", id="no-company"),
    pytest.param("@acme", id="no-user"),
    pytest.param("ad min@acme", id="inner-space"),
    pytest.param("admin@acme@x", id="two-ats"),
    pytest.param("admin@acme.hu", id="dot-in-company"),
    pytest.param("<script>@acme", id="html"),
    pytest.param("admin'--@acme", id="sql"),
    pytest.param("ádmin@acme", id="accented"),
    pytest.param("u" * 65 + "@acme", id="user-too-long"),
    pytest.param("a" * 10240, id="10kB"),
])
def test_malformed_identifiers_are_refused(typed):
    with pytest.raises(IdentifierFormatError):
        normalize_identifier(typed)


# --- phone numbers and masking ---------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "e164"), [
    pytest.param("301234567", "+36301234567", id="nine-digits"),
    pytest.param("30 123 4567", "+36301234567", id="spaces"),
    pytest.param("30/123-4567", "+36301234567", id="slash-dash"),
    pytest.param("+36301234567", "+36301234567", id="e164"),
    pytest.param("06301234567", "+36301234567", id="trunk-prefix"),
    pytest.param("0036 20 123 4567", "+36201234567", id="international-prefix"),
    pytest.param("701234567", "+36701234567", id="vodafone-70"),
])
def test_parse_mobile(typed, e164):
    assert parse_mobile(typed) == e164


@pytest.mark.parametrize("typed", [
    pytest.param("", id="empty"), pytest.param("12345", id="short"), pytest.param("1" * 40, id="long"),
    pytest.param("+447911123456", id="foreign"), pytest.param("+3612345678", id="budapest-landline"),
    pytest.param("abc", id="letters"),
])
def test_parse_mobile_refuses(typed):
    with pytest.raises(PhoneNumberError):
        parse_mobile(typed)


@pytest.mark.parametrize(("e164", "masked"), [
    pytest.param("+36301234567", "+36 30 *** **67", id="30"),
    pytest.param("+36201234599", "+36 20 *** **99", id="20"),
    pytest.param("+36709876500", "+36 70 *** **00", id="70"),
    pytest.param("", "", id="empty"),
])
def test_phone_mask(e164, masked):
    assert mask(e164) == masked


@pytest.mark.parametrize(("address", "masked"), [
    pytest.param("anna@acme.example", "a***@a***.example", id="simple"),
    pytest.param("boss@acme.hu", "b***@a***.hu", id="hu"),
    pytest.param("x.y@sub.domain.hu", "x***@s***.hu", id="subdomain"),
    pytest.param("a@localhost", "a***@localhost", id="no-dot"),
])
def test_email_mask(address, masked):
    assert mask_email(address) == masked


# --- one-time codes -----------------------------------------------------------------------------------
@pytest.fixture
def otp(app):
    clock = FrozenClock()
    return OtpService(clock, "unit-test-secret", ttl=300, max_attempts=5)


def issue(otp):
    issued = otp.issue("login", channel="sms", destination="+36301234567")
    db.session.commit()
    return issued


def wrong_code(code):
    return f"{(int(code) + 1) % 1000000:06d}"


def test_codes_are_six_digits_zero_padded_and_random():
    codes = [new_code() for _ in range(2000)]
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)
    assert len(set(codes)) > 1900
    assert any(c.startswith("0") for c in codes)


def test_code_is_stored_only_as_a_keyed_hash(otp):
    issued = issue(otp)
    row = db.session.execute(sql("SELECT * FROM otp_challenges WHERE id = :id"), {"id": issued.challenge.id}).one()
    assert not any(issued.code in str(value) for value in row)
    assert re.fullmatch(r"[0-9a-f]{64}", issued.challenge.code_hash)
    # Keyed with the app's secret: another key does not accept the code.
    other = OtpService(otp.clock, "another-secret")
    with pytest.raises(CodeInvalidError):
        other.verify(issued.challenge.id, issued.code)


@pytest.mark.parametrize(("seconds", "alive"), [
    pytest.param(0, True, id="at-once"),
    pytest.param(299, True, id="299s"),
    pytest.param(300, False, id="300s"),
    pytest.param(301, False, id="301s"),
])
def test_code_lives_five_minutes(otp, seconds, alive):
    issued = issue(otp)
    otp.clock.advance(seconds)
    if alive:
        assert otp.verify(issued.challenge.id, issued.code).used_at == otp.clock.now()
    else:
        with pytest.raises(CodeExpiredError):
            otp.verify(issued.challenge.id, issued.code)


@pytest.mark.parametrize("wrong_tries", [0, 1, 4, 5, 6], ids=lambda n: f"{n}-wrong")
def test_at_most_five_wrong_tries(otp, wrong_tries):
    issued = issue(otp)
    lefts = []
    for n in range(wrong_tries):
        try:
            otp.verify(issued.challenge.id, wrong_code(issued.code))
        except CodeInvalidError as error:
            lefts.append(error.attempts_left)
        except CodeExpiredError:
            lefts.append("dead")
    assert lefts == [4, 3, 2, 1, "dead", "dead"][:wrong_tries]
    if wrong_tries < 5:
        otp.verify(issued.challenge.id, issued.code)
    else:
        with pytest.raises(CodeExpiredError):
            otp.verify(issued.challenge.id, issued.code)
    db.session.expire_all()
    assert db.session.get(OtpChallenge, issued.challenge.id).attempts == min(wrong_tries, 5) + (wrong_tries < 5)


def test_code_is_single_use(otp):
    issued = issue(otp)
    otp.verify(issued.challenge.id, issued.code)
    with pytest.raises(CodeExpiredError):
        otp.verify(issued.challenge.id, issued.code)


def test_reissue_kills_the_old_code_restarts_the_ttl_but_keeps_the_wrong_tries(otp):
    issued = issue(otp)
    for _ in range(3):
        with pytest.raises(CodeInvalidError):
            otp.verify(issued.challenge.id, wrong_code(issued.code))
    otp.clock.advance(200)
    fresh = otp.reissue(issued.challenge)
    db.session.commit()
    if fresh.code != issued.code:
        with pytest.raises(CodeInvalidError) as error:
            otp.verify(issued.challenge.id, issued.code)
        assert error.value.attempts_left == 1
    otp.clock.advance(299)  # 499 s after the first code, 299 s after the fresh one
    otp.verify(issued.challenge.id, fresh.code)


@pytest.mark.parametrize(("typed", "accepted"), [
    pytest.param("{code}", True, id="exact"),
    pytest.param(" {code} ", True, id="surrounding-spaces"),
    pytest.param("{c3} {c3b}", True, id="grouped-3-3"),
    pytest.param("{code}0", False, id="7-digits"),
    pytest.param("{c5}", False, id="5-digits"),
    pytest.param("", False, id="empty"),
    pytest.param(None, False, id="none"),
    pytest.param("{fullwidth}", False, id="fullwidth-digits"),
    pytest.param("' OR 1=1 --", False, id="sql"),
])
def test_code_formats(otp, typed, accepted):
    issued = issue(otp)
    code = issued.code
    if typed is not None:
        typed = typed.format(code=code, c3=code[:3], c3b=code[3:], c5=code[:5],
                             fullwidth="".join(chr(ord(d) + 0xFEE0) for d in code))
    if accepted:
        otp.verify(issued.challenge.id, typed)
    else:
        with pytest.raises(CodeInvalidError):
            otp.verify(issued.challenge.id, typed)


@pytest.mark.parametrize("challenge_id", [None, "", "nope", "x" * 1000], ids=["none", "empty", "unknown", "long"])
def test_unknown_challenge_is_dead(otp, challenge_id):
    with pytest.raises(CodeExpiredError):
        otp.verify(challenge_id, "123456")
