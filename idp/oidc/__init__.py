"""The OpenID Connect provider: endpoint views (``views``), the authorization-server
wiring (``wiring.config_oauth``), and the login seam (``interactions``)."""
