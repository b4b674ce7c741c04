"""Audit trail of configuration changes: who, when, before/after."""
