"""mobileplans: an open-source implementation of the Mobile Plans system.

Parts: the broker (the "Mobile Plans service"), a reference mobile operator, an
SGP.22 SM-DP+, a device simulator and live-site operations tooling. See
``docs/architecture.md`` for the layers.
"""

__version__ = "0.1.0"
