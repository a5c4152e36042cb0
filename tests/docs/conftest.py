"""The documentation's generators (docs/hooks.py), loaded as a module for the tests."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from tests.docs.blocks import ROOT


def load_hooks() -> ModuleType:
    """``docs/hooks.py``, the MkDocs hooks that generate the reference pages."""
    spec = importlib.util.spec_from_file_location("canmore_docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def hooks() -> ModuleType:
    return load_hooks()
