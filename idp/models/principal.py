"""What every principal (business user, phone line, Telekom account) offers the protocol."""

KIND_BUSINESS = "business"
KIND_PHONE = "phone"
KIND_ACCOUNT = "account"
KINDS = (KIND_BUSINESS, KIND_PHONE, KIND_ACCOUNT)


class PrincipalMixin:
    """Authlib calls ``get_user_id``; the claims code reads the rest."""

    kind: str = ""

    def get_user_id(self):
        return self.sub

    @property
    def is_active(self) -> bool:
        return not getattr(self, "disabled", False) and getattr(self, "deleted_at", None) is None

    @property
    def company(self):
        return None

    @property
    def company_role(self):
        return None

    @property
    def permission_codes(self) -> list[str]:
        return []

    @property
    def email(self):
        return None

    @property
    def email_verified(self):
        return False

    @property
    def phone_number(self):
        return None

    @property
    def phone_number_verified(self):
        return False

    @property
    def locale(self):
        return None

    def visible_subscriptions(self):
        return []


def find_principal(kind, sub):
    """The active principal of ``kind`` with ``sub``, or None."""
    from idp.models.account import TelekomAccount
    from idp.models.company import BusinessUser
    from idp.models.company import PhoneLine

    model = {KIND_BUSINESS: BusinessUser, KIND_PHONE: PhoneLine, KIND_ACCOUNT: TelekomAccount}.get(kind)
    if model is None or not sub:
        return None
    principal = model.query.filter_by(sub=sub).one_or_none()
    if principal is None or not principal.is_active:
        return None
    return principal
