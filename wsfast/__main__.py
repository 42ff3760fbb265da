"""Command line: ``python -m wsfast {bench,echo,client,info}``."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def _info(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m wsfast info", description="Show the backend and kernels in use.")
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
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {
        "bench": "compare wsfast with every installed peer",
        "echo": "run an echo server built on the codec",
        "client": "talk to a WebSocket server (ws://host:port/path)",
        "info": "show the backend, kernels and CPU features",
    }
    if not args or args[0] in ("-h", "--help") or args[0] not in commands:
        print("usage: python -m wsfast {bench,echo,client,info} [options]\n")
        for name, text in commands.items():
            print(f"  {name:6} {text}")
        return 0 if args and args[0] in ("-h", "--help") else 2
    command, rest = args[0], args[1:]
    if command == "info":
        return _info(rest)
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
