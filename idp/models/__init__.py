"""SQLAlchemy models, one module per domain."""

from idp.models.account import AccountLink
from idp.models.account import AccountOfferSnooze
from idp.models.account import TelekomAccount
from idp.models.audit import AuditEvent
from idp.models.client import OAuthClient
from idp.models.company import BusinessUser
from idp.models.company import Company
from idp.models.company import PhoneLine
from idp.models.flow import FlowState
from idp.models.otp import OtpChallenge
from idp.models.outbox import OutboxMessage
from idp.models.registration import LogoutNotification
from idp.models.registration import RegistrationToken
from idp.models.session import Consent
from idp.models.session import Interaction
from idp.models.session import LoginSession
from idp.models.subscription import Subscription
from idp.models.token import AuthorizationCode
from idp.models.token import Token
from idp.models.token import UsedAssertion

__all__ = ["AccountLink", "AccountOfferSnooze", "AuditEvent", "AuthorizationCode", "BusinessUser", "Company",
           "Consent", "FlowState", "Interaction", "LoginSession", "LogoutNotification", "OAuthClient", "OtpChallenge",
           "OutboxMessage", "PhoneLine", "RegistrationToken", "Subscription", "TelekomAccount", "Token",
           "UsedAssertion"]
