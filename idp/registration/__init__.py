"""Dynamic client registration: RFC 7591 at ``/oauth/register`` and RFC 7592 management at
``/oauth/register/<client_id>``, under the rules of ``idp.clients`` that the CLI and the
developer portal use too.

It sits beside ``idp.clients``, above the protocol layers (DESIGN.md §1): ``idp.oidc``
may not import the shared rules, so ``create_app`` wires these endpoints in with
:func:`init_registration`.
"""

_registered = False


def init_registration(app):
    """Add the two endpoints to the authorization server (once per process, like
    ``idp.oidc.wiring.config_oauth``) and their routes to ``app``."""
    global _registered
    from idp.oidc.server import authorization
    from idp.registration.endpoints import ClientConfigurationEndpoint
    from idp.registration.endpoints import ClientRegistrationEndpoint
    from idp.registration.views import bp

    if not _registered:
        authorization.register_endpoint(ClientRegistrationEndpoint)
        authorization.register_endpoint(ClientConfigurationEndpoint)
        _registered = True
    app.register_blueprint(bp)
