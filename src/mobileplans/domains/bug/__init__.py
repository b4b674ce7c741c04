"""Bug workflow between the platform and operators (spec 5.6, issue #5)."""
