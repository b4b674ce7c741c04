"""Probe kinds, one adapter each; ``KINDS`` maps a kind's name to its adapter."""

from __future__ import annotations

from mobileplans.domains.probe.kinds.base import ProbeFailure, ProbeKind, TlsSetting
from mobileplans.domains.probe.kinds.getbalance import GetBalanceProbe
from mobileplans.domains.probe.kinds.microbalance import MicrobalanceProbe
from mobileplans.domains.probe.kinds.portal import PortalProbe

KINDS: dict[str, ProbeKind] = {
    kind.name.value: kind for kind in (PortalProbe(), GetBalanceProbe(), MicrobalanceProbe())
}

__all__ = ["KINDS", "ProbeFailure", "ProbeKind", "TlsSetting"]
