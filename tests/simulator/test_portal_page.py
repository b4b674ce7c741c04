"""Reading portal pages by the data-mp-* markers (docs/activation.md "Portal contract")."""

from __future__ import annotations

from mobileplans.simulator.portal_page import parse_page

PLANS = """<!doctype html><html><body>
<main data-mp-step="plans"><h1>Choose a plan</h1>
<style>.x{}</style>
<form method="POST" action="/contoso/portal/plans" data-mp-form="plans">
  <input type="hidden" name="csrf" value="tok">
  <label><input type="radio" name="plan" value="7" data-mp-plan-code="c-5gb" checked> 5 GB</label>
  <label><input type="radio" name="plan" value="8" data-mp-plan-code="c-delayed"> Later</label>
  <input type="checkbox" name="promo" value="yes">
  <button name="action" value="next" data-mp-next>Next</button>
  <button name="action" value="cancel" data-mp-cancel formnovalidate>Cancel</button>
</form>
<a data-mp-link="signup" href="/contoso/portal/signup">Create an account</a>
<div id="mp-activation-result">Waiting &amp; ready</div>
</main>
<script>var x = "<main data-mp-step='fake'>";</script>
</body></html>"""


def test_step_form_fields_buttons_links_and_plans() -> None:
    page = parse_page(PLANS, url="http://127.0.0.1:8701/contoso/portal/plans", status=200)
    assert page.step == "plans"
    form = page.form
    assert form is not None
    assert form.step == "plans"
    assert form.method == "post"
    assert form.action == "/contoso/portal/plans"
    assert form.next_button == ("action", "next")
    assert form.cancel_button == ("action", "cancel")
    assert page.plans == {"c-5gb": "7", "c-delayed": "8"}
    assert page.links == {"signup": "/contoso/portal/signup"}
    assert form.defaults() == [("csrf", "tok"), ("plan", "7")]  # unchecked box left out
    assert page.callback_text is None
    assert page.results == {"mp-activation-result": "Waiting & ready"}
    assert page.text.startswith("Choose a plan")
    assert "fake" not in page.text
    assert ".x" not in page.text


def test_the_callback_block_is_captured_verbatim() -> None:
    html = """<main data-mp-step="confirmation"><p>Done</p>
    <script type="application/json" id="mp-callback">
    {"object": "MobilePlans", "function": "notifyCancelledPurchase", "args": [{"planName": "a<b"}]}
    </script></main>"""
    page = parse_page(html)
    assert page.step == "confirmation"
    assert page.callback_text is not None
    assert page.callback_text.startswith('{"object": "MobilePlans"')
    assert '"a<b"' in page.callback_text
    assert page.forms == {}
    assert page.form is None


def test_a_page_without_markers_has_no_step() -> None:
    page = parse_page("<html><body><h1>502 Bad Gateway</h1></body></html>", status=502)
    assert page.step is None
    assert page.status == 502


def test_a_malformed_marked_section_is_read_as_text() -> None:
    """Found by fuzzing (tests/fuzz/harnesses/portal_page.py): html.parser raised
    AssertionError on ``<![`` followed by no keyword, so one bad byte in an operator's
    portal stopped the simulator and the conformance kit."""
    for section in ("<![{x", "<![foo[ x ]]>", "<![ ]"):
        html = (
            f'<main data-mp-step="plans"><p>Choose {section}</p>'
            '<a data-mp-link="signup" href="/s">s</a></main>'
        )
        page = parse_page(html, status=200)
        assert page.step == "plans"
        assert page.links == {"signup": "/s"}
        assert "<![" in page.text
