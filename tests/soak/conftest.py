"""The soak tests are long (tens of seconds): ``-m "not soak"`` leaves them out."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: a million iterations looking for memory growth (deselect with -m 'not soak')")


def pytest_collection_modifyitems(items: list) -> None:  # type: ignore[type-arg]
    for item in items:
        if "tests/soak/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.soak)
