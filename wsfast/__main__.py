"""Command line: ``python -m wsfast {bench,echo,client,info,run}``."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def _info(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wsfast info",
        description="Show the backend and kernels in use, and the host libraries wsfast can patch.",
    )
    parser.parse_args(argv)
    import platform

    import wsfast

    print(f"wsfast {wsfast.__version__}")
    print(f"python {platform.python_implementation()} {platform.python_version()} ({platform.machine()})")
    print(f"implementation: {wsfast.IMPLEMENTATION}")
    for name, kernel in wsfast.kernels().items():
        print(f"kernel {name}: {kernel}")
    try:
        from wsfast import _mask_c

        print(f"cpu features: {_mask_c.cpu_features() or '(none used)'}")
    except ImportError:
        print("cpu features: (compiled backend not loaded)")
    _hosts()
    return 0


def _hosts() -> None:
    """The host libraries wsfast can patch: installed version, patched or
    not in this process (``python -m wsfast run`` patches them)."""
    from wsfast import dropin

    patched = dropin.patched()
    print("hosts (patched by wsfast.patch() or python -m wsfast run):")
    for name in dropin.HOSTS:
        try:
            adapter = dropin._adapter(name)
        except ImportError:
            print(f"  {name:17} no adapter in this build")
            continue
        version = dropin._installed_version(adapter)
        lowest, below = adapter.TESTED
        if version is None:
            state = f"not installed (pip install {adapter.DISTRIBUTION})"
        elif name in patched:
            state = f"{version}, patched"
        elif not dropin._in_range(version, adapter.TESTED):
            state = f"{version}, not patched: outside the tested versions >={lowest}, <{below}"
        else:
            state = f"{version}, not patched"
        print(f"  {name:17} {state}")


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {
        "bench": "compare wsfast with every installed peer",
        "echo": "run an echo server built on the codec",
        "client": "talk to a WebSocket server (ws://host:port/path)",
        "info": "show the backend, kernels, CPU features and the host libraries",
        "run": "run a program with the host libraries patched (run -m MODULE | SCRIPT)",
    }
    if not args or args[0] in ("-h", "--help") or args[0] not in commands:
        print("usage: python -m wsfast {bench,echo,client,info,run} [options]\n")
        for name, text in commands.items():
            print(f"  {name:6} {text}")
        return 0 if args and args[0] in ("-h", "--help") else 2
    command, rest = args[0], args[1:]
    if command == "info":
        return _info(rest)
    if command == "run":
        from ._run import main as run_main

        return run_main(rest)
    if command == "bench":
        from ._bench.cli import main as bench_main

        return int(bench_main(rest))
    if command == "client":
        from ._echo_client import main as client_main

        return int(client_main(rest))
    from ._echo_server import main as echo_main

    return int(echo_main(rest))


if __name__ == "__main__":
    sys.exit(main())
