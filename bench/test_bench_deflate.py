"""permessage-deflate: receiving and sending compressed messages."""

from typing import Any, Callable

FAMILIES = ("deflate-recv", "deflate-send")


def test_deflate(case: Any, run_case: Callable[[Any], None]) -> None:
    run_case(case)
