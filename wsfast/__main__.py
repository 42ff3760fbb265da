"""Command line: ``python -m wsfast {bench,echo,client,info,run}``."""

from __future__ import annotations

import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {
        "bench": "compare wsfast with every installed peer",
        "echo": "run an echo server built on the codec",
        "client": "talk to a WebSocket server (ws://host:port/path)",
        "info": "is the fast path active (and why not), kernels, CPU features, host libraries",
        "run": "run a program with the host libraries patched (run -m MODULE | SCRIPT)",
    }
    if not args or args[0] in ("-h", "--help") or args[0] not in commands:
        print("usage: python -m wsfast {bench,echo,client,info,run} [options]\n")
        for name, text in commands.items():
            print(f"  {name:6} {text}")
        return 0 if args and args[0] in ("-h", "--help") else 2
    command, rest = args[0], args[1:]
    if command == "info":
        from ._info import main as info_main

        return info_main(rest)
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
