"""Purchase telemetry: the callback metadata the app reports, for business reporting (spec 5.8)."""
