"""Operator endpoint URL checks (spec 3.1: https, no port) and safe joining (7.1 #22)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobileplans.kit.urls import (
    check_endpoint_url,
    check_origin,
    is_internal_host,
    join_base,
    origin_of,
)

# Written out here rather than imported, so a change to the code's set is caught.
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Not global: refused by the strict policy whatever the scheme and port (D236).
INTERNAL = LOOPBACK | {"127.0.0.2", "0.0.0.0", "::2"}

label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
dns_hosts = st.builds(
    lambda labels: ".".join([*labels, "example"]), st.lists(label, min_size=1, max_size=3)
)
# (as written in the URL, the hostname urlsplit reports)
loopback_hosts = st.sampled_from(
    [
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "localhost"),
        ("LocalHost", "localhost"),
        ("[::1]", "::1"),
    ]
)
lookalike_hosts = st.sampled_from(
    [
        ("127.0.0.2", "127.0.0.2"),
        ("0.0.0.0", "0.0.0.0"),
        ("[::2]", "::2"),
        ("localhost.example", "localhost.example"),
        ("127.0.0.1.example", "127.0.0.1.example"),
        ("mylocalhost", "mylocalhost"),
    ]
)
hosts = loopback_hosts | lookalike_hosts | dns_hosts.map(lambda h: (h, h))
paths = st.sampled_from(["", "/", "/v1", "/v1/", "/a/b/c", "/a?x=1", "/?x=1&y=2"])
ports = st.none() | st.integers(0, 65535)


def url_of(scheme: str, host: str, port: int | None, path: str) -> str:
    return f"{scheme}://{host}{'' if port is None else f':{port}'}{path}"


class TestStrictEndpoint:
    @pytest.mark.parametrize(
        "url",
        [
            "https://api.contoso.example",
            "https://api.contoso.example/",
            "https://api.contoso.example/v1/plans?market=US",
            "HTTPS://API.contoso.example/v1",
        ],
    )
    def test_accepts_https_without_port_and_returns_it_unchanged(self, url: str) -> None:
        assert check_endpoint_url(url, strict=True) == url

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("http://api.contoso.example/", "https"),
            ("http://127.0.0.1/", "https"),
            ("http://localhost/", "https"),
            ("https://api.contoso.example:8443/", "port"),
            ("https://api.contoso.example:443/", "port"),
            ("https://api.contoso.example:/", "port"),
            ("https://localhost:8443/", "port"),
            ("https://[::1]:8443/", "port"),
            ("https://user:secret@api.contoso.example/", "credentials"),
            ("https://user@api.contoso.example/", "credentials"),
            ("https://:secret@api.contoso.example/", "credentials"),
            ("https://@api.contoso.example/", "credentials"),
            ("https://api.contoso.example/v1#top", "fragment"),
            ("https://api.contoso.example/#", "fragment"),
            ("/v1/plans", "absolute"),
            ("//api.contoso.example/v1", "absolute"),
            ("api.contoso.example/v1", "absolute"),
            ("", "absolute"),
            ("https:///v1", "absolute"),
            ("ftp://api.contoso.example/", "absolute"),
            ("javascript:alert(1)", "absolute"),
            (" https://api.contoso.example/", "spaces or control"),
            ("https://api.contoso.example/ ", "spaces or control"),
            ("https://api.contoso\n.example/", "spaces or control"),
            ("https://api.contoso.example/v1\t", "spaces or control"),
            ("\x00https://api.contoso.example/", "spaces or control"),
            ("https://api.contoso.example/a b", "spaces or control"),
        ],
    )
    def test_rejects(self, url: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            check_endpoint_url(url, strict=True)

    @pytest.mark.parametrize(
        "url", ["https://api.contoso.example:99999/", "https://api.contoso.example:x/"]
    )
    def test_a_malformed_port_is_a_value_error(self, url: str) -> None:
        with pytest.raises(ValueError, match=r"[Pp]ort"):
            check_endpoint_url(url, strict=True)
        with pytest.raises(ValueError, match=r"[Pp]ort"):
            check_endpoint_url(url, strict=False)


class TestLocalEndpoint:
    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/",
            "http://127.0.0.1:8701/contoso/portal/",
            "http://localhost:8000",
            "http://LOCALHOST:8000/x",
            "https://localhost:8443/",
            "http://[::1]:8000/",
            "http://[::1]/",
            "https://api.contoso.example/v1",
        ],
    )
    def test_accepts_http_and_ports_on_loopback(self, url: str) -> None:
        assert check_endpoint_url(url, strict=False) == url

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("http://api.contoso.example/", "https"),
            ("https://api.contoso.example:8443/", "port"),
            ("http://127.0.0.2/", "https"),
            ("https://127.0.0.2:8000/", "port"),
            ("http://0.0.0.0:8000/", "https"),
            ("http://localhost.evil.example/", "https"),
            ("http://127.0.0.1.evil.example/", "https"),
            ("https://localhost.evil.example:8000/", "port"),
            ("http://[::2]:8000/", "https"),
        ],
    )
    def test_still_rejects_http_and_ports_elsewhere(self, url: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            check_endpoint_url(url, strict=False)

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("http://user:pw@127.0.0.1:8000/", "credentials"),
            ("http://localhost:8000/#x", "fragment"),
            ("//localhost:8000/", "absolute"),
        ],
    )
    def test_other_rules_still_apply_on_loopback(self, url: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            check_endpoint_url(url, strict=False)


@given(
    scheme=st.sampled_from(["http", "https"]),
    host=hosts,
    port=ports,
    path=paths,
    strict=st.booleans(),
)
def test_scheme_and_port_follow_the_policy(
    scheme: str, host: tuple[str, str], port: int | None, path: str, strict: bool
) -> None:
    written, hostname = host
    url = url_of(scheme, written, port, path)
    relaxed = not strict and hostname in LOOPBACK
    scheme_ok = scheme == "https" or relaxed
    port_ok = port is None or relaxed
    internal = strict and hostname in INTERNAL
    if scheme_ok and port_ok and not internal:
        assert check_endpoint_url(url, strict=strict) == url
    else:
        message = "https" if not scheme_ok else "port" if not port_ok else "private"
        with pytest.raises(ValueError, match=message):
            check_endpoint_url(url, strict=strict)


class TestTrailingSlash:
    @pytest.mark.parametrize("url", ["https://api.contoso.example/", "https://h.example/v1/esim/"])
    def test_accepts_a_url_ending_with_a_slash(self, url: str) -> None:
        assert check_endpoint_url(url, strict=True, trailing_slash=True) == url

    @pytest.mark.parametrize(
        "url",
        [
            "https://api.contoso.example",
            "https://api.contoso.example/v1",
            "https://api.contoso.example/v1/?key=1",
            "https://api.contoso.example/v1/?",
            "https://api.contoso.example/v1/?next=/",
        ],
    )
    def test_rejects_a_url_not_ending_with_a_slash(self, url: str) -> None:
        with pytest.raises(ValueError, match="must end with '/'"):
            check_endpoint_url(url, strict=True, trailing_slash=True)
        assert check_endpoint_url(url, strict=True) == url  # only the slash rule applies

    @given(
        host=dns_hosts,
        path=st.lists(label, max_size=3).map(lambda parts: "".join(f"/{p}" for p in parts)),
        slash=st.booleans(),
        tail=st.sampled_from(["", "?", "?a=1", "?a=/", "#", "#/"]),
    )
    def test_an_accepted_uri_extends_its_path_when_sims_is_appended(
        self, host: str, path: str, slash: bool, tail: str
    ) -> None:
        url = f"https://{host}{path}{'/' if slash else ''}{tail}"
        try:
            check_endpoint_url(url, strict=True, trailing_slash=True)
        except ValueError:
            assert not slash or tail
            return
        assert slash
        assert not tail
        joined = urlsplit(url + "sims/8901")
        assert joined.path == urlsplit(url).path + "sims/8901"
        assert (joined.query, joined.fragment) == ("", "")


class TestOrigin:
    @pytest.mark.parametrize(
        ("value", "strict", "expected"),
        [
            ("https://portal.contoso.example", True, "https://portal.contoso.example"),
            ("https://portal.contoso.example/", True, "https://portal.contoso.example"),
            ("http://127.0.0.1:8701", False, "http://127.0.0.1:8701"),
            ("http://127.0.0.1:8701/", False, "http://127.0.0.1:8701"),
            ("http://[::1]:8701/", False, "http://[::1]:8701"),
        ],
    )
    def test_returns_scheme_and_host(self, value: str, strict: bool, expected: str) -> None:
        assert check_origin(value, strict=strict) == expected

    @pytest.mark.parametrize(
        "value",
        [
            "https://portal.contoso.example/path",
            "https://portal.contoso.example/a/",
            "https://portal.contoso.example//",
            "https://portal.contoso.example/?x=1",
            "https://portal.contoso.example?x=1",
        ],
    )
    def test_rejects_a_path_or_query(self, value: str) -> None:
        with pytest.raises(ValueError, match="without a path"):
            check_origin(value, strict=True)

    @pytest.mark.parametrize(
        ("value", "strict", "message"),
        [
            ("http://portal.contoso.example", True, "https"),
            ("http://127.0.0.1:8701", True, "https"),
            ("https://portal.contoso.example:8443", False, "port"),
            ("https://@portal.contoso.example", True, "credentials"),
            ("https://portal.contoso.example#x", True, "fragment"),
            ("portal.contoso.example", True, "absolute"),
        ],
    )
    def test_applies_the_endpoint_rules(self, value: str, strict: bool, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            check_origin(value, strict=strict)

    @given(host=dns_hosts, slash=st.booleans())
    def test_any_https_host_is_its_own_origin(self, host: str, slash: bool) -> None:
        origin = f"https://{host}"
        assert check_origin(origin + ("/" if slash else ""), strict=True) == origin

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("https://h.example/a/b?c=d#e", "https://h.example"),
            ("http://127.0.0.1:8701/contoso/portal/", "http://127.0.0.1:8701"),
            ("https://h.example", "https://h.example"),
        ],
    )
    def test_origin_of(self, url: str, expected: str) -> None:
        assert origin_of(url) == expected


class TestJoinBase:
    @pytest.mark.parametrize(
        ("base", "path"),
        [
            ("https://h.example/v1", "sims/1"),
            ("https://h.example/v1/", "sims/1"),
            ("https://h.example/v1", "/sims/1"),
            ("https://h.example/v1/", "/sims/1"),
            ("https://h.example/v1///", "///sims/1"),
        ],
    )
    def test_joins_with_exactly_one_slash(self, base: str, path: str) -> None:
        assert join_base(base, path) == "https://h.example/v1/sims/1"

    @pytest.mark.parametrize(
        ("base", "path", "expected"),
        [
            ("https://h.example/v1/", "sims/", "https://h.example/v1/sims/"),
            ("https://h.example/v1", "/sims/1?x=/", "https://h.example/v1/sims/1?x=/"),
            ("https://h.example/v1/", "sims//1", "https://h.example/v1/sims//1"),
        ],
    )
    def test_only_the_seam_is_touched(self, base: str, path: str, expected: str) -> None:
        assert join_base(base, path) == expected

    def test_an_empty_path_gives_the_base_with_one_slash(self) -> None:
        assert join_base("https://h.example/v1//", "") == "https://h.example/v1/"

    @given(
        base=st.text(alphabet="ab/:.", min_size=1).filter(lambda s: not s.endswith("/")),
        path=st.text(alphabet="ab/?=", min_size=1).filter(lambda s: not s.startswith("/")),
        base_slashes=st.integers(0, 3),
        path_slashes=st.integers(0, 3),
    )
    def test_any_number_of_slashes_at_the_seam_becomes_one(
        self, base: str, path: str, base_slashes: int, path_slashes: int
    ) -> None:
        joined = join_base(base + "/" * base_slashes, "/" * path_slashes + path)
        assert joined == base + "/" + path


def test_a_strict_refusal_of_a_loopback_url_names_the_setting_that_allows_it() -> None:
    with pytest.raises(ValueError, match=r"must use https \(.*MP_URL_POLICY=local"):
        check_endpoint_url("http://127.0.0.1/api/", strict=True)
    with pytest.raises(ValueError, match=r"must not carry a port number \(.*MP_URL_POLICY"):
        check_endpoint_url("https://localhost:8701/api/", strict=True)
    # not on a public host: no setting makes http acceptable there
    with pytest.raises(ValueError, match=r"^must use https$"):
        check_endpoint_url("http://mo.example/api/", strict=False)
    assert check_endpoint_url("http://127.0.0.1:8701/api/", strict=False)


@pytest.mark.parametrize(
    ("host", "internal"),
    [
        ("::2", True),  # reserved (::/8): Python 3.11.7 calls it global
        ("[100::1]", True),  # the discard-only prefix
        ("fe80::1", True),
        ("2001:db8::1", True),  # documentation
        ("2606:4700::1", False),  # global unicast
        ("8.8.8.8", False),
        ("240.0.0.1", True),  # reserved IPv4
    ],
)
def test_reserved_addresses_are_internal_whatever_the_python(host: str, internal: bool) -> None:
    """The strict policy's rule (D236) must not depend on the interpreter's patch level."""
    assert is_internal_host(host) is internal
