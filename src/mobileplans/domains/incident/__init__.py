"""Incidents: the engine that opens them from probe results, their lifecycle and clocks."""
