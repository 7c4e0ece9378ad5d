"""Texts of the SMS and emails the journeys send (Hungarian, the customers' language)."""

from urllib.parse import urlsplit


def webotp_line(issuer, code):
    """WebOTP (https://wicg.github.io/sms-one-time-codes/): lets the phone offer the code."""
    return f"@{urlsplit(issuer).hostname} #{code}"


def login_code_sms(issuer, code, minutes):
    return (f"Telekom Belépés: az egyszer használatos kódja {code}. {minutes} percig érvényes. "
            f"Az SMS díjmentes.\n\n{webotp_line(issuer, code)}")


def reset_code_sms(issuer, code, minutes):
    return (f"Telekom: jelszó-visszaállító kódja {code}. {minutes} percig érvényes. "
            f"Az SMS díjmentes.\n\n{webotp_line(issuer, code)}")


def reset_code_email(code, minutes):
    subject = "Telekom – jelszó-visszaállító kód"
    body = (f"Kedves Ügyfelünk!\n\nA jelszava visszaállításához használja ezt a kódot: {code}\n"
            f"A kód {minutes} percig érvényes.\n\nHa nem Ön kérte, hagyja figyelmen kívül ezt a levelet; "
            "a jelszava nem változott.\n\nTelekom")
    return subject, body


def temporary_password_email(identifier, password, valid_until, login_url):
    subject = "Telekom üzleti fiók – ideiglenes jelszó"
    body = (f"Kedves Ügyfelünk!\n\nLétrehoztuk a Telekom üzleti fiókját.\n\n"
            f"Azonosító: {identifier}\nIdeiglenes jelszó: {password}\n\n"
            f"Az ideiglenes jelszó {valid_until:%Y-%m-%d %H:%M} (UTC) -ig érvényes, és az első belépéskor "
            f"meg kell változtatnia.\nBelépés: {login_url}\n\nTelekom")
    return subject, body
