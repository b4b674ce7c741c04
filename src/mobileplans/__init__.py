"""mobileplans: an open-source implementation of the Mobile Plans system.

Parts: the broker (the "Mobile Plans service"), a reference mobile operator, an
SGP.22 SM-DP+, a device simulator and live-site operations tooling. See
``docs/architecture.md`` for the layers.

Citations in the code ("spec 2.3", "spec 7.1 #6" or "7.2 #31", "esim-rsp 1.3",
"SGP.22 5.3.1") are section numbers of the interface reference in ``docs/reference/``
(``mobile-plans.md`` and ``esim-rsp.md``); a test keeps every one of them resolvable.
"""

__version__ = "0.1.0"
