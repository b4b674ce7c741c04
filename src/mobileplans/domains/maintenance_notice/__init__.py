"""Planned-maintenance notices between the platform and operators (spec 5.5, issue #5)."""
