"""Background workers (probes, notifications); see issue #4."""
