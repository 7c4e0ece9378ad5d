"""What a login journey hands its channel when it ends (DESIGN.md §1)."""

from dataclasses import dataclass

ACR_ONE_FACTOR = "urn:telekom:acr:1fa"
ACR_TWO_FACTORS = "urn:telekom:acr:2fa"


@dataclass(frozen=True)
class LoginResult:
    """Who (the principal), how (RFC 8176 ``amr``), how strongly (``acr``) and
    when. ``sid`` is the login session the channel started for it (the session
    service fills it in); the journey itself knows no sessions."""

    principal: object
    amr: tuple
    acr: str
    auth_time: int
    sid: str | None = None
