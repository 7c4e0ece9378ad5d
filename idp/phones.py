"""Hungarian mobile numbers: parsing what people type, E.164 storage, display and masking."""

import re

import phonenumbers
from phonenumbers import NumberParseException
from phonenumbers import PhoneNumberType

REGION = "HU"
MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
#: What people type around the digits: a leading "+", spaces, "/", "-", ".", "( )".
#: Anything else (letters - which phonenumbers would read as a vanity number -,
#: emoji, markup, control characters) is refused rather than silently dropped.
TYPED_NUMBER = re.compile(r"\+?[\d\s()./-]+")


class PhoneNumberError(ValueError):
    pass


def parse_mobile(raw: str) -> str:
    """E.164 (``+36301234567``) of a Hungarian mobile number typed as ``301234567``,
    ``30 123 4567``, ``30/123-4567``, ``+36301234567`` or ``06301234567``."""
    text = (raw or "").strip()
    if not text or len(text) > 32:
        raise PhoneNumberError("empty or too long")
    if not TYPED_NUMBER.fullmatch(text):
        raise PhoneNumberError("unexpected characters")
    digits = "".join(c for c in text if c.isdigit())
    if not text.startswith(("+", "00", "06")) and len(digits) == 9:
        text = "+36" + digits
    try:
        number = phonenumbers.parse(text, REGION)
    except NumberParseException:
        raise PhoneNumberError("not a phone number") from None
    if (number.country_code != 36 or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in MOBILE_TYPES):
        raise PhoneNumberError("not a Hungarian mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """``+36 30 123 4567``"""
    return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask(e164: str) -> str:
    """``+36 30 *** **67``: enough to recognise one's own number, no more."""
    if not e164:
        return ""
    parts = display(e164).split(" ")
    if len(parts) < 3:
        return e164[:3] + "*" * max(0, len(e164) - 5) + e164[-2:]
    head = parts[:2]
    rest = " ".join(parts[2:])
    masked = "".join("*" if c.isdigit() else c for c in rest[:-2]) + rest[-2:]
    return " ".join(head + [masked])


def mask_email(address: str) -> str:
    """``a***@a***.hu``"""
    local, _, domain = (address or "").partition("@")
    name, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{name[:1]}***.{tld}" if name else f"{local[:1]}***@{domain}"
