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
