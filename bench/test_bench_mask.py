"""Masking, into new bytes and in place, at 16 B to 16 MiB."""

from typing import Any, Callable

FAMILIES = ("mask", "mask-inplace")


def test_mask(case: Any, run_case: Callable[[Any], None]) -> None:
    run_case(case)
