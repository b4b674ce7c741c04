"""Plumbing of the portal pages: session cookie, language, rendering, redirects, formatting.

Every page is HTML with HTTP 200, errors included: an error is a handled state of the
flow (``data-mp-step="error"`` and its ``mp-callback``), not a failed navigation, which
would make the app show its generic load-error page (spec 5.11 reference design).
Pages carry a Content-Security-Policy allowing only this origin (no third-party
resources, spec 5.11 security) and ``Cache-Control: no-store``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mobileplans.apps.operator import i18n, portal_session
from mobileplans.apps.operator.assets import brand_color
from mobileplans.apps.operator.deps import Site, State
from mobileplans.apps.operator.portal_session import PortalState
from mobileplans.apps.operator.routes.portal import formatting
from mobileplans.apps.operator.state import OperatorState
from mobileplans.config import OperatorSite
from mobileplans.db.transactions import Transactions

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html",)),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates ship with the package: compile once, never stat() again
)
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
PROGRESS = ("signin", "plans", "checkout", "terms", "review")


def callback_json(callback: dict[str, Any]) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``<``, ``>``, ``&``)."""
    text = json.dumps(callback, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class Portal:
    """One portal request: site, language, the session state and how to answer."""

    def __init__(self, request: Request, site: OperatorSite, app: OperatorState) -> None:
        self.request, self.site, self.app = request, site, app
        self.lang = i18n.negotiate(request.headers.get("accept-language"), site.languages)
        self.t = i18n.Translator(self.lang)
        self.base = f"/{site.operator_id}/portal"
        self.now = app.clock.now()
        self.secret = app.config.session_secret
        token = request.cookies.get(portal_session.COOKIE_NAME)
        self.state = portal_session.decode(token, self.secret, site.operator_id, self.now)
        self._dirty = False
        self._logout = False
        self.format = formatting.Formatter(self.t, self.lang)

    def url(self, step: str = "") -> str:
        return f"{self.base}/{step}"

    def keep(self, state: PortalState) -> None:
        """Store ``state`` in the cookie sent with this answer."""
        self.state, self._dirty, self._logout = state, True, False

    def update(self, state: PortalState, **changes: Any) -> PortalState:
        """Store ``state`` with ``changes`` in the cookie; returns the new state."""
        changed = state.model_copy(update=changes)
        self.keep(changed)
        return changed

    def logout(self) -> None:
        """Secure logout (spec 5.11): the answer deletes the session cookie."""
        self._logout, self._dirty = True, False

    async def form(self) -> dict[str, str]:
        data = await self.request.form()
        return {k: v for k, v in data.items() if isinstance(v, str)}

    def redirect(self, step: str) -> Response:
        """POST-redirect-GET: 303 to the step's URL."""
        return self._finish(RedirectResponse(self.url(step), status_code=303))

    def page(self, template: str, step: str, *, title: str, **context: Any) -> Response:
        state = self.state
        index = PROGRESS.index(step) if step in PROGRESS else None
        values = {
            "lang": self.lang,
            "t": self.t,
            "site": self.site,
            "brand": brand_color(self.site),
            "static": f"/{self.site.operator_id}/static",
            "portal": self.base,
            "action": self.url(step),
            "step": step,
            "title": self.t(title),
            "progress": {"steps": PROGRESS, "index": index} if index is not None else None,
            "in_session": state is not None and state.end is None and not self._logout,
            "error": None,
            "error_field": None,
            "callback_json": None,
            "back": None,
            "next_label": None,
            "cancel_label": None,
            **self.format.helpers(),
            **context,
        }
        html = ENV.get_template(template).render(**values)
        return self._finish(HTMLResponse(html, headers=HEADERS))

    def terminal(self, template: str, step: str, *, title: str, **context: Any) -> Response:
        """A page that ends the session (confirmation, cancel, error): logs out."""
        self.logout()
        return self.page(template, step, title=title, **context)

    def session_ended(self) -> Response:
        """No (or an expired) session: say so; there is nothing to hand the app."""
        return self.terminal("error.html", "error", title="title.ended",
                             message=self.t("error.session_ended"), detail=None)  # fmt: skip

    def _finish(self, response: Response) -> Response:
        secure = self.request.url.scheme == "https"
        if self._logout:
            response.delete_cookie(portal_session.COOKIE_NAME, path=self.base, secure=secure,
                                   httponly=True, samesite="lax")  # fmt: skip
        elif self._dirty and self.state is not None:
            response.set_cookie(
                portal_session.COOKIE_NAME, portal_session.encode(self.state, self.secret),
                max_age=portal_session.MAX_AGE_SECONDS, path=self.base, secure=secure,
                httponly=True, samesite="lax",
            )  # fmt: skip
        return response


async def get_portal(request: Request, site: Site, state: State) -> Portal:
    return Portal(request, site, state)


PortalDep = Annotated[Portal, Depends(get_portal)]


async def get_transactions(state: State) -> Transactions:
    """Short transactions for a step that calls the SM-DP+ between database steps (the
    review's order, the re-entry's re-issue): it holds no request session across ES2+
    (docs/architecture.md, "Transactions")."""
    return Transactions(state.sessions)


Tx = Annotated[Transactions, Depends(get_transactions)]
