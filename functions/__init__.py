"""One module per domain; every decorated callable is one Knative function (see
shared_lib.catalog). `load_catalog()` is here, beside what it imports, so that shared_lib
never imports functions/."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared_lib.catalog import FunctionSpec

HERE = Path(__file__).resolve().parent


def function_modules() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def load_catalog() -> list[FunctionSpec]:
    """Every function in functions/, sorted by name."""
    from shared_lib.catalog import registered

    modules = function_modules()
    for module in modules:
        importlib.import_module(f"functions.{module}")
    return registered(modules)
