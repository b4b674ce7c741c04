"""An operator's portal page as the device simulator and the conformance kit read it
(simulator/portal_page.py ``parse_page``, simulator/callbacks.py: the ``mp-callback``
block, docs/activation.md), the kit running against an operator's own portal.

Contract: ``parse_page`` returns a page for any text; the callback block is a
``BridgeCall`` or ``CallbackError``, and so is what the app does with it (``interpret``).
Properties: the page text is bounded; the scripts kept are known names with strings.
"""

from __future__ import annotations

from tests.fuzz.support import check, instrumented, main, text

with instrumented():
    from mobileplans.simulator import callbacks, portal_page


def TestOneInput(data: bytes) -> None:
    html = text(data)
    page = portal_page.parse_page(html, url="https://portal.example/mp")
    check(len(page.text) <= portal_page.TEXT_LIMIT, "page text not bounded", html)
    for block in (page.callback_text, html):
        if block is None:
            continue
        try:
            call = callbacks.parse_callback_block(block)
        except callbacks.CallbackError:
            continue
        check(all(n in callbacks.SCRIPT_NAMES for n in call.scripts), "unknown script", block)
        try:
            callbacks.interpret(call, transaction_id="waoigFfX00yGH3Vb.1")
        except callbacks.CallbackError:
            pass


if __name__ == "__main__":
    main(TestOneInput)
