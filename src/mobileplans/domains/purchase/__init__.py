"""MO Direct purchases: portal launch rules, orders, the ES2+ client, JS callbacks, re-entry.

See ``docs/portal.md`` for the flow and the callback matrix.
"""
