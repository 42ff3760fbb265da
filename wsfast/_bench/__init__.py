"""Benchmarks: wsfast against the installed WebSocket libraries, side by side.

One set of workload definitions (:mod:`wsfast._bench.workloads`) feeds both
``python -m wsfast bench`` and the pytest-benchmark suite in ``bench/``, so
the two always measure the same bytes through the same calls.
"""

from __future__ import annotations
