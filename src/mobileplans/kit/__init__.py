"""Dependency-free building blocks: identifiers, clock, ids.

Nothing in ``kit`` imports any other ``mobileplans`` package.
"""
