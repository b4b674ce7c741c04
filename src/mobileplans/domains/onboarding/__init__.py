"""Onboarding: an operator's way from Feasibility to an accepted launch (spec 4.4-4.5)."""
