"""Live-site probes of operator endpoints: definitions, schedule, runs (issue #4)."""
