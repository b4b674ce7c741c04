"""HTTP plumbing shared by every app: problem+json errors, metrics, servers.

Imports only ``kit``, ``config`` and ``errors``; never a domain or an app.
"""
