"""pytest-benchmark over the workloads of ``python -m wsfast bench``.

Each test module names the workload families it covers (``FAMILIES``); every
(workload, candidate) pair becomes one test, grouped by workload so
``--benchmark-group-by=group`` puts the peers side by side. Run with
``python -m pytest bench/ -p no:cacheprovider --benchmark-enable``; without
``--benchmark-enable`` (the project default) each candidate runs once and is
checked, which makes a quick smoke test. ``--benchmark-disable-gc`` times with
the collector off, as ``python -m wsfast bench`` does.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

import pytest

from wsfast._bench import workloads

Case = Tuple[str, str]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    families = metafunc.module.FAMILIES
    params = [
        pytest.param(
            (workload.name, candidate.name), id=f"{workload.name}-{candidate.name.replace(' ', '_')}"
        )
        for workload, candidate in workloads.cases(families)
    ]
    metafunc.parametrize("case", params)


# The inputs of the workload being run; released when the next one starts,
# so the 16 MiB buffers of one workload are not held for the whole session.
_current: List[Optional[workloads.Workload]] = [None]


@pytest.fixture
def run_case(benchmark: Any) -> Callable[[Case], None]:
    def run(case: Case) -> None:
        workload = workloads.get(case[0])
        candidate = workload.candidate(case[1])
        reason = candidate.skip_reason(workload)
        if reason is not None:
            pytest.skip(reason)
        if _current[0] is not None and _current[0] is not workload:
            _current[0].release()
        _current[0] = workload
        inputs = workload.inputs()
        call, check = candidate.setup(inputs)
        # Checked once, outside the timing: a wrong answer never gets a number.
        check(call())
        benchmark.group = workload.name
        benchmark.extra_info.update(
            candidate=candidate.name,
            kind=candidate.kind,
            bytes_per_call=inputs.bytes_per_call,
            items_per_call=inputs.items_per_call,
            unit=workload.unit,
        )
        benchmark(call)

    return run
