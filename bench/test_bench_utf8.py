"""UTF-8 validation of four corpora (ASCII, Latin-mixed, CJK, emoji), 16 B to 1 MiB."""

from typing import Any, Callable

FAMILIES = ("utf8",)


def test_utf8(case: Any, run_case: Callable[[Any], None]) -> None:
    run_case(case)
