"""Authlib grant classes and their extensions (one per module)."""

ALL_CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

#: The first-party multi-step grants (DESIGN.md §4).
BUSINESS_PASSWORD_GRANT = "urn:telekom:oauth:grant-type:business-password"
PHONE_GRANT = "urn:telekom:oauth:grant-type:phone"
SMS_OTP_GRANT = "urn:telekom:oauth:grant-type:sms-otp"
FIRST_PARTY_GRANTS = (BUSINESS_PASSWORD_GRANT, PHONE_GRANT, SMS_OTP_GRANT)
