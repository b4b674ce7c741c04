"""SLA statements, rollups, burn-rate alerts and maintenance exclusion (spec 5.1-5.3, 5.5;
issue #4). ``docs/monitoring.md`` explains how availability and latency are computed."""
