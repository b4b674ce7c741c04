"""Reading a portal page by its machine-readable markers (docs/activation.md "Portal contract").

``<main data-mp-step>``, ``<form data-mp-form>`` with its fields and ``data-mp-next`` /
``data-mp-cancel`` buttons, ``<a data-mp-link>``, plan radios with ``data-mp-plan-code``,
and the ``<script type="application/json" id="mp-callback">`` block. Both modes use it:
HTTP mode on the response body, browser mode on the live DOM's serialization.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

TEXT_LIMIT = 400


@dataclass
class FormField:
    name: str
    kind: str  # text | password | email | radio | checkbox | hidden | select | textarea | ...
    value: str
    checked: bool = False
    plan_code: str | None = None


@dataclass
class Form:
    step: str
    method: str
    action: str | None
    fields: list[FormField] = field(default_factory=list)
    next_button: tuple[str, str] | None = None
    cancel_button: tuple[str, str] | None = None

    def defaults(self) -> list[tuple[str, str]]:
        """What a browser would submit untouched: hidden/text values, checked boxes."""
        out: list[tuple[str, str]] = []
        for f in self.fields:
            if f.kind in ("radio", "checkbox") and not f.checked:
                continue
            if f.kind in ("submit", "button", "image", "reset", "file"):
                continue
            out.append((f.name, f.value))
        return out

    def names(self) -> set[str]:
        return {f.name for f in self.fields}


@dataclass
class PortalPage:
    url: str
    status: int
    step: str | None
    forms: dict[str, Form] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)  # plan code → radio value
    callback_text: str | None = None
    text: str = ""
    results: dict[str, str] = field(default_factory=dict)  # id → text of #mp-*-result

    @property
    def form(self) -> Form | None:
        return self.forms.get(self.step or "") or next(iter(self.forms.values()), None)


_RESULT_IDS = ("mp-activation-result", "mp-registration-result")


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = PortalPage(url="", status=0, step=None)
        self._form: Form | None = None
        self._capture: str | None = None  # "callback" | "main" | "title" | result id
        self._buffer: list[str] = []
        self._text: list[str] = []
        self._in_main = 0
        self._skip = 0  # inside <script>/<style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "main" and "data-mp-step" in a:
            self.page.step = a["data-mp-step"]
        if tag == "main":
            self._in_main += 1
        if tag == "form" and "data-mp-form" in a:
            self._form = Form(a["data-mp-form"], a.get("method", "get").lower(), a.get("action"))
            self.page.forms[self._form.step] = self._form
        elif tag in ("input", "select", "textarea", "button"):
            self._field(tag, a)
        elif tag == "a" and "data-mp-link" in a:
            self.page.links[a["data-mp-link"]] = a.get("href", "")
        elif tag == "script":
            self._skip += 1
            if a.get("id") == "mp-callback":
                self._capture, self._buffer = "callback", []
        elif tag == "style":
            self._skip += 1
        if a.get("id") in _RESULT_IDS:
            self._capture, self._buffer = a["id"], []

    def _field(self, tag: str, a: dict[str, str]) -> None:
        name = a.get("name")
        if tag == "button" and self._form is not None:
            pair = (name or "action", a.get("value", ""))
            if "data-mp-next" in a:
                self._form.next_button = pair
            if "data-mp-cancel" in a:
                self._form.cancel_button = pair
            return
        if not name or self._form is None:
            return
        kind = tag if tag != "input" else a.get("type", "text").lower()
        plan_code = a.get("data-mp-plan-code")
        self._form.fields.append(
            FormField(name, kind, a.get("value", ""), "checked" in a, plan_code)
        )
        if plan_code is not None and name == "plan":
            self.page.plans[plan_code] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "main":
            self._in_main = max(0, self._in_main - 1)
        elif tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        if self._capture == "callback" and tag == "script":
            self.page.callback_text = "".join(self._buffer).strip()
            self._capture = None
        elif self._capture in _RESULT_IDS and tag in ("div", "p", "span", "output", "section"):
            self.page.results[self._capture] = " ".join("".join(self._buffer).split())
            self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._buffer.append(data)
        if self._in_main and not self._skip:
            self._text.append(data)

    def finish(self) -> PortalPage:
        self.close()
        self.page.text = " ".join(" ".join(self._text).split())[:TEXT_LIMIT]
        return self.page


def _parse(html: str) -> PortalPage:
    parser = _Parser()
    parser.feed(html)
    return parser.finish()


def parse_page(html: str, *, url: str = "", status: int = 200) -> PortalPage:
    """Any text is a page. CPython's ``html.parser`` raises ``AssertionError`` on a marked
    section it cannot name (``<![{``, ``<![foo[``): such a page is read again with every
    ``<![`` as text."""
    try:
        page = _parse(html)
    except AssertionError:
        page = _parse(html.replace("<![", "&lt;!["))
    page.url, page.status = url, status
    return page
