"""API principals and bearer tokens. Start with :func:`cimhouse.auth.tokens.create_token`.

``cimhouse tokens create`` issues a random token (shown once, stored as its SHA-256 hash in
``api_principal``); :func:`cimhouse.auth.tokens.authenticate` turns a presented token into a
:class:`cimhouse.auth.principal.Principal` carrying its scope and roles.
"""
