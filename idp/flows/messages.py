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


def account_code_sms(issuer, code, minutes):
    return (f"Telekom fiók: a megerősítő kódja {code}. {minutes} percig érvényes. Az SMS díjmentes.\n\n"
            f"{webotp_line(issuer, code)}")


def account_code_email(code, minutes):
    subject = "Telekom fiók – megerősítő kód"
    body = (f"Kedves Ügyfelünk!\n\nA Telekom fiókja létrehozásához írja be ezt a kódot: {code}\n"
            f"A kód {minutes} percig érvényes.\n\nHa nem Ön kezdte a regisztrációt, hagyja figyelmen kívül ezt a "
            "levelet.\n\nTelekom")
    return subject, body


def account_exists_sms(issuer):
    return ("Telekom fiók: ehhez a számhoz már tartozik Telekom fiók, ezért nem hoztunk létre újat. "
            f"Belépés: {issuer}/account/login")


def account_exists_email(issuer):
    subject = "Telekom fiók – már van fiókja"
    body = ("Kedves Ügyfelünk!\n\nValaki Telekom fiókot próbált létrehozni ezzel az e-mail-címmel, de ehhez a "
            "címhez már tartozik fiók, ezért nem hoztunk létre újat.\n\n"
            f"Ha Ön volt, lépjen be a meglévő fiókjával: {issuer}/account/login\n"
            "Ha nem Ön volt, nincs teendője.\n\nTelekom")
    return subject, body


def link_changed_email(linked, identity, issuer):
    """The account's owner hears of every link and unlink (it may not be them)."""
    what = "csatoltuk" if linked else "leválasztottuk"
    subject = "Telekom fiók – " + ("új csatolt azonosító" if linked else "azonosító leválasztva")
    body = (f"Kedves Ügyfelünk!\n\nA Telekom fiókjához {what} ezt az azonosítót: {identity}.\n\n"
            f"Ha nem Ön volt, lépjen be a fiókjába, és nézze át a csatolt azonosítókat: {issuer}/account\n\n"
            "Telekom")
    return subject, body
