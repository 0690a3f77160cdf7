"""The unit of work loads each domain's tables only when its repository is first used, so
every domain's tables must be complete on their own: a flush sorts all mapped tables by
their foreign keys and fails on one that names a table not yet mapped (a cut-clip whose
first flush failed so is how this was found)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOMAINS = sorted(path.parent.name for path in (ROOT / "shared_lib").glob("*/models.py"))
# What a flush does first: sort every mapped table by the tables its foreign keys name.
SORT = """
import shared_lib.{domain}.models
from sqlalchemy.sql.util import sort_tables
from shared_lib.db import Base
mapped = [mapper.local_table for mapper in Base.registry.mappers]
sort_tables(mapped)
print(len(mapped))
"""


def test_every_domain_has_tables():
    assert {"accounts", "chat", "clips", "streams", "webhooks"} <= set(DOMAINS)


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_domains_tables_can_be_flushed_without_any_other_domain_imported(domain):
    result = subprocess.run([sys.executable, "-c", SORT.format(domain=domain)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_unit_of_work_makes_only_the_repositories_it_is_asked_for():
    code = ("import sys\nfrom shared_lib.db import UnitOfWork\n"
            "uow = UnitOfWork(session_factory=lambda: None).__enter__()\n"
            "uow.follows\n"
            "print('shared_lib.chat.models' in sys.modules, 'shared_lib.follows.models' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.split() == ["False", "True"], result.stderr[-2000:]


@pytest.mark.parametrize(("state", "unavailable"), [
    ("53300", True),   # too many clients already
    ("57P03", True),   # the database system is starting up / shutting down
    ("08006", True),   # connection failure
    ("23505", False),  # a unique violation is the caller's, not the server's
    ("42601", False),  # a syntax error is a bug, a 500
])
def test_a_server_that_cannot_take_the_work_now_is_a_503_not_a_500(state, unavailable):
    import pg8000
    from sqlalchemy.exc import ProgrammingError

    from shared_lib.db import _is_connection_error

    error = ProgrammingError("connect", {}, pg8000.ProgrammingError({"S": "FATAL", "C": state, "M": "x"}))
    assert _is_connection_error(error) is unavailable
