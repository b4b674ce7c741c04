"""The MO Direct portal (spec 2.1 launch, 2.2 callbacks, 5.11 design policies).

Pages follow the portal contract of ``docs/activation.md`` (``data-mp-step`` markers,
``data-mp-form`` forms, the ``mp-callback`` block); ``docs/portal.md`` describes the flow.
"""

from __future__ import annotations

from fastapi import APIRouter

from mobileplans.apps.operator.routes.portal import account_steps, launch, outcome, purchase_steps

router = APIRouter(tags=["portal"])
for _module in (launch, account_steps, purchase_steps, outcome):
    router.include_router(_module.router)
