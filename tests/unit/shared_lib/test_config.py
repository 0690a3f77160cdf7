"""Settings: typed, lazy, and strict outside development."""

from __future__ import annotations

import pytest

from shared_lib.config import SettingsError, from_environment


def test_development_runs_with_defaults():
    settings = from_environment({})
    assert settings.environment == "development" and settings.bcrypt_rounds == 12


def test_values_are_typed():
    settings = from_environment({"STREAMFN_MAX_BODY_BYTES": "1024", "K_SINK": "http://b/"})
    assert settings.max_body_bytes == 1024 and settings.k_sink == "http://b/"


def test_a_non_number_is_a_clear_error():
    with pytest.raises(SettingsError, match="STREAMFN_BCRYPT_ROUNDS"):
        from_environment({"STREAMFN_BCRYPT_ROUNDS": "many"})


@pytest.mark.parametrize("secret", ["change-me", "", "secret"])
def test_placeholder_secrets_are_refused_in_production(secret):
    with pytest.raises(SettingsError, match="INGEST_SECRET"):
        from_environment({"STREAMFN_ENVIRONMENT": "production", "STREAMFN_INGEST_SECRET": secret})


def test_weak_bcrypt_is_refused_in_production():
    with pytest.raises(SettingsError, match="BCRYPT"):
        from_environment({"STREAMFN_ENVIRONMENT": "production", "STREAMFN_INGEST_SECRET": "x" * 40,
                          "STREAMFN_BCRYPT_ROUNDS": "4",
                          "STREAMFN_JWT_PUBLIC_KEYS_FILE": "/keys/jwks.json"})


def test_production_with_real_secrets_starts():
    settings = from_environment({"STREAMFN_ENVIRONMENT": "production",
                                 "STREAMFN_INGEST_SECRET": "x" * 40,
                                 "STREAMFN_JWT_PUBLIC_KEYS_FILE": "/keys/jwks.json"})
    assert not settings.relaxed


def test_private_webhook_addresses_are_for_local_testing_only():
    production = {"STREAMFN_ENVIRONMENT": "production", "STREAMFN_INGEST_SECRET": "x" * 40}
    assert from_environment(production).webhook_allow_private_addresses is False
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOW_PRIVATE_ADDRESSES"):
        from_environment({**production, "STREAMFN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true"})
    local = from_environment({"STREAMFN_ENVIRONMENT": "test",
                              "STREAMFN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "yes"})
    assert local.webhook_allow_private_addresses is True
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOW_PRIVATE_ADDRESSES"):
        from_environment({"STREAMFN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "maybe"})
