"""Upgrade the database to the newest revision."""

from shared_lib.migrations import upgrade

upgrade()
