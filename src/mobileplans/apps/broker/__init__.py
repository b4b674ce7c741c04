"""The broker: the "Mobile Plans service" (spec 1.1 A5)."""
