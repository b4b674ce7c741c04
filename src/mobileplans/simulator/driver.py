"""What a scenario needs from a WebView: the interface both modes implement."""

from __future__ import annotations

from typing import Protocol

from mobileplans.simulator.callbacks import BridgeCall
from mobileplans.simulator.portal_page import PortalPage


class PortalDriver(Protocol):
    """A WebView showing the operator portal, with the Mobile Plans bridge in it."""

    mode: str

    async def open(self, url: str, headers: dict[str, str]) -> PortalPage:
        """Top-level navigation to ``url`` (spec 2.1: GET) with extra request headers."""
        ...

    async def submit(
        self, page: PortalPage, values: dict[str, str], *, cancel: bool = False
    ) -> PortalPage:
        """Fill the step's form with ``values`` and press Next (or Cancel)."""
        ...

    async def follow(self, page: PortalPage, link: str) -> PortalPage:
        """Click ``<a data-mp-link="link">``."""
        ...

    async def bridge_call(self, page: PortalPage) -> BridgeCall | None:
        """The call the page made into the app, if any."""
        ...

    async def invoke_script(self, name: str, argument: str, shown_in: str) -> str | None:
        """Run the portal's global function ``name(argument)`` (InvokeScriptAsync).

        Returns the text of the element ``#shown_in`` afterwards, when the mode can see it.
        """
        ...

    async def findings(self, page: PortalPage) -> list[str]:
        """Layout observations on the current page (browser mode: horizontal overflow)."""
        ...

    async def close(self) -> None: ...
