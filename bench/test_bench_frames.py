"""Parsing a buffer of masked client frames, and building single frames."""

from typing import Any, Callable

FAMILIES = ("parse", "build")


def test_frames(case: Any, run_case: Callable[[Any], None]) -> None:
    run_case(case)
