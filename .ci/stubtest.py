"""stubtest on the public API and both backends' modules.

stubtest walks the whole package when given it (and refuses a package and
its submodules together), so this runs it once on ``wsfast`` and judges the
modules that make up the API: the package itself, the compiled hot paths
(against their .pyi stubs) and their pure twins. The command-line helpers
(bench, echo, drop-in adapters) are plain Python that mypy --strict checks
as source; what stubtest says about them is printed, not judged.
Arguments go to stubtest (--allowlist).
"""

from __future__ import annotations

import re
import subprocess
import sys

API = re.compile(r"wsfast(\._(mask|utf8|objects|codec)_(c|py))?$")


def main(argv: list) -> int:
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--concise", *argv, "wsfast"],
        capture_output=True,
        text=True,
    )
    judged, other = [], []
    for line in out.stdout.splitlines():
        name = line.split(" ", 1)[0]
        if not name.startswith("wsfast"):
            continue
        # wsfast._codec_c.FrameParser.feed -> the module part.
        parts = name.split(".")
        module = next(
            (".".join(parts[:i]) for i in range(len(parts), 0, -1) if API.match(".".join(parts[:i]))),
            None,
        )
        if module is not None and (module != "wsfast" or len(parts) == 2):
            judged.append(line)
        else:
            other.append(line)
    if out.returncode not in (0, 1) or "failed mypy compile" in out.stdout + out.stderr:
        print(out.stdout, out.stderr, sep="\n")
        return 1
    for line in other:
        print(f"(not judged) {line}")
    for line in judged:
        print(line)
    print(f"stubtest: {len(judged)} errors in the API modules" + ("" if judged else ": OK"))
    return 1 if judged else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
