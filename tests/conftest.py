"""Fixtures every tier shares: a clean environment per test, and the private servers
(PostgreSQL and Redis under .local/test) that integration and e2e tests run against."""

from __future__ import annotations

import os
import subprocess

import pytest

from local import services
from local.platform import reset_caches
from local.settings import Ports, function_env, test_profile

TEST_SETTINGS = {
    "STREAMFN_ENVIRONMENT": "test",
    "STREAMFN_BCRYPT_ROUNDS": "4",
    "STREAMFN_LOGIN_WINDOW_SECONDS": "3",
    # The suite registers hundreds of accounts from 127.0.0.1; its own test lowers it.
    "STREAMFN_REGISTER_MAX_PER_ADDRESS": "100000",
    "REPORT_SECONDS": "1",
    "THUMBNAIL_SECONDS": "2",
}


@pytest.fixture(autouse=True)
def _restore_environment():
    """Tests may change os.environ; each one starts from the same environment."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)
        reset_caches()


def _recreate_database(profile: services.Profile) -> None:
    env = {**os.environ, "PGPASSWORD": profile.password}
    for sql in ("DROP DATABASE IF EXISTS streamfn WITH (FORCE)", "CREATE DATABASE streamfn"):
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(profile.pg_port), "-U", services.PG_SUPERUSER,
             "-d", "postgres", "-qc", sql],
            check=True, capture_output=True, env=env,
        )


@pytest.fixture(scope="session")
def servers():
    """Real PostgreSQL and Redis, a fresh migrated database, and settings pointing at them."""
    profile = test_profile()
    services.start_postgres(profile)
    services.start_redis(profile)
    _recreate_database(profile)
    os.environ.update(function_env(profile, Ports(), environment="test"))
    os.environ.update(TEST_SETTINGS)
    os.environ.pop("K_SINK", None)
    reset_caches()
    from shared_lib.migrations import upgrade

    upgrade()
    yield profile
    from shared_lib.db import get_engine

    get_engine().dispose()
    services.stop_redis(profile)
    services.stop_postgres(profile)
