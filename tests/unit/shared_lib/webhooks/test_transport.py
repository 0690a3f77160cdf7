"""One webhook attempt through the outbound client, with httpx's mock transport for the
receiver: it reaches the checked address, names the URL's host, and follows nothing."""

from __future__ import annotations

import httpx
import pytest

from shared_lib.webhooks.transport import Target, post

TARGET = Target("https", "hooks.example.com", 443, "/in?x=1", "203.0.113.7")


def client(answer):
    seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    return httpx.Client(transport=httpx.MockTransport(handle), follow_redirects=False), seen


def test_the_attempt_goes_to_the_checked_address_under_the_urls_host_name():
    mock, seen = client(lambda _: httpx.Response(204))
    outcome = post(TARGET, {"webhook-id": "e1"}, b"{}", timeout=5, client=mock)
    assert outcome.ok and outcome.status_code == 204
    [request] = seen
    assert str(request.url) == "https://203.0.113.7/in?x=1", "no second DNS lookup"
    assert request.headers["host"] == "hooks.example.com"
    assert request.extensions["sni_hostname"] == "hooks.example.com", "the certificate must name it"
    assert request.headers["connection"] == "close"


def test_a_redirect_is_a_failed_attempt_and_is_not_followed():
    mock, seen = client(lambda _: httpx.Response(302, headers={"Location": "http://10.0.0.1/"}))
    outcome = post(TARGET, {}, b"{}", timeout=5, client=mock)
    assert not outcome.ok and outcome.status_code == 302 and len(seen) == 1


def test_a_receiver_that_cannot_be_reached_is_a_failed_attempt_with_the_reason():
    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    mock, _ = client(refuse)
    outcome = post(TARGET, {}, b"{}", timeout=5, client=mock)
    assert not outcome.ok and outcome.status_code is None and "ConnectError" in outcome.error


def test_a_port_that_is_not_the_default_is_part_of_the_host_header():
    mock, seen = client(lambda _: httpx.Response(200))
    post(Target("http", "hooks.example.com", 8443, "/", "2001:db8::7"), {}, b"{}", timeout=5,
         client=mock)
    assert str(seen[0].url) == "http://[2001:db8::7]:8443/"
    assert seen[0].headers["host"] == "hooks.example.com:8443"


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("64:ff9b::808:808", True),
    ("10.0.0.1", False), ("127.0.0.1", False), ("::1", False), ("fe80::1", False),
    ("::ffff:127.0.0.1", False),            # IPv4-mapped
    ("64:ff9b::7f00:1", False),             # NAT64 of 127.0.0.1
    ("64:ff9b:1::a00:1", False),            # local-use NAT64 of 10.0.0.1
    ("2002:7f00:1::", False),               # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::", False),            # 6to4 of the metadata address 169.254.169.254
    ("::127.0.0.1", False),                 # IPv4-compatible
    ("::ffff:0:7f00:1", False),             # IPv4-translated
    ("fec0::1", False),                     # site-local
])
def test_ipv6_forms_of_private_ipv4_addresses_are_not_public(address, public):
    from shared_lib.webhooks.transport import _public

    assert _public(address) is public


def test_urls_are_percent_encoded_and_control_characters_refused():
    from shared_lib.webhooks.transport import UnsafeUrl, normalize

    assert normalize("https://example.com/h\u00e9?q=\u00fc") == "https://example.com/h%C3%A9?q=%C3%BC"
    assert normalize("https://b\u00fccher.example/x") == "https://xn--bcher-kva.example/x"
    for bad in ("https://example.com/a b", "https://example.com/\x00", "https://example.com/\n"):
        with pytest.raises(UnsafeUrl):
            normalize(bad)
