"""Persistence: engine, sessions, ORM models and repositories."""
