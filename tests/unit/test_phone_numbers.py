"""Hungarian mobile numbers as people type them (MISSION.md 12): parsed with
phonenumbers, kept as E.164, shown for reading and masked."""

import pytest

from idp.phones import PhoneNumberError
from idp.phones import display
from idp.phones import mask
from idp.phones import parse_mobile

ACCEPTED = [
    ("nine-digits", "301234567", "+36301234567"),
    ("spaced", "30 123 4567", "+36301234567"),
    ("slash-dash", "30/123-4567", "+36301234567"),
    ("dots", "30.123.4567", "+36301234567"),
    ("parentheses", "(30) 123-4567", "+36301234567"),
    ("e164", "+36301234567", "+36301234567"),
    ("e164-spaced", "+36 30 123 4567", "+36301234567"),
    ("06-prefix", "06301234567", "+36301234567"),
    ("06-spaced", "06 30 123 4567", "+36301234567"),
    ("00-prefix", "0036301234567", "+36301234567"),
    ("surrounding-whitespace", " \t301234567\n", "+36301234567"),
    ("no-break-spaces", "30\u00a0123\u00a04567", "+36301234567"),
    ("fullwidth-digits", "３０１２３４５６７", "+36301234567"),
    ("prefix-20", "201234567", "+36201234567"),
    ("prefix-31", "311234567", "+36311234567"),
    ("prefix-50", "501234567", "+36501234567"),
    ("prefix-70", "701234567", "+36701234567"),
]

REFUSED = [
    ("empty", ""),
    ("none", None),
    ("whitespace", "   "),
    ("landline-budapest", "12345678"),
    ("landline-budapest-06", "0612345678"),
    ("landline-budapest-e164", "+3612345678"),
    ("landline-county", "0622123456"),
    ("german-mobile", "+4915112345678"),
    ("austrian-mobile", "+436641234567"),
    ("eight-digits", "30123456"),
    ("ten-digits", "3012345678"),
    ("e164-too-short", "+3630123456"),
    ("e164-too-long", "+363012345678"),
    ("no-such-mobile-prefix", "801234567"),
    ("letters-only", "harminc"),
    ("letters-around-digits", "abc301234567"),
    ("vanity-letters", "30ABCDEFG"),
    ("vanity-letters-06", "0630ABCDEFG"),
    ("emoji", "📱301234567"),
    ("nul-byte", "301234567\x00"),
    ("tel-uri", "tel:+36301234567"),
    ("double-plus", "++36301234567"),
    ("plus-inside", "36+301234567"),
    ("sql", "301234567' OR '1'='1"),
    ("html", "<b>301234567</b>"),
    ("too-long", "3" * 40),
    ("10kB", "3" * 10240),
]


@pytest.mark.parametrize(("typed", "e164"), [pytest.param(t, e, id=i) for i, t, e in ACCEPTED])
def test_accepted_forms_give_e164(typed, e164):
    assert parse_mobile(typed) == e164


@pytest.mark.parametrize("typed", [pytest.param(t, id=i) for i, t in REFUSED])
def test_refused_input(typed):
    with pytest.raises(PhoneNumberError):
        parse_mobile(typed)


@pytest.mark.parametrize(("e164", "shown", "masked"), [
    pytest.param("+36301234567", "+36 30 123 4567", "+36 30 *** **67", id="30"),
    pytest.param("+36201234589", "+36 20 123 4589", "+36 20 *** **89", id="20"),
    pytest.param("+36701112233", "+36 70 111 2233", "+36 70 *** **33", id="70"),
])
def test_display_and_mask(e164, shown, masked):
    assert display(e164) == shown
    assert mask(e164) == masked
