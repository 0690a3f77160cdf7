"""TLS to PostgreSQL, as libpq's sslmode names it."""

from __future__ import annotations


def test_tls_to_postgresql_follows_libpq_sslmode_with_one_context_per_process():
    import ssl

    from shared_lib.connections import ssl_context

    assert ssl_context("disable") is False, "no TLS offer on a connection to this machine"
    assert ssl_context("prefer") is None, "pg8000's own: TLS when the server offers it"
    required, verified = ssl_context("require"), ssl_context("verify-full")
    assert required.verify_mode == ssl.CERT_NONE and not required.check_hostname
    assert verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname
    assert ssl_context("verify-full") is verified, "built once, not per connection"
