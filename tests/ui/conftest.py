"""Fixtures of the console's tests: small real logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from logbuilder import demo_log


@pytest.fixture
def demo_db(tmp_path: Path) -> tuple[str, dict]:
    """A small night (see :func:`tests.ui.logbuilder.demo_log`): (path, ids)."""
    path = tmp_path / "night.db"
    return str(path), demo_log(path)
