"""Notifications outbox: written with the event, delivered by the worker (issue #5)."""
