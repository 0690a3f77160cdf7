"""The one outbound client: what it sends goes where the URL says, never through a proxy
named in the environment, and a redirect is an answer, not an instruction."""

from __future__ import annotations

from shared_lib import outbound


def test_a_stray_proxy_in_the_environment_never_sees_a_payload(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    outbound.client.cache_clear()
    try:
        client = outbound.client()
        assert client.trust_env is False
        assert client._mounts == {}, "no transport mounted for a proxy"
        assert client.follow_redirects is False
    finally:
        outbound.client.cache_clear()


def test_the_client_is_built_once_per_process():
    assert outbound.client() is outbound.client()
