"""Operators, their per-environment endpoints, ICCID ranges and configuration versions."""
