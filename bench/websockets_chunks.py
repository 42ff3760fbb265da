"""websockets' sans-I/O receive of 64 KiB text frames that arrive in
pieces, patched against unpatched, in CPU instructions (callgrind).

    python bench/websockets_chunks.py [--frames 100] [--chunk 16384 32768 65550]

A ``Protocol(SERVER)`` is fed masked 64 KiB text frames in chunks of the
given sizes (65550: each frame whole) and drained with
``events_received()``. Each state runs twice under ``valgrind
--tool=callgrind`` in a child process, with ``--frames`` frames and with
none; the difference over ``--frames`` is the count per frame, without the
interpreter's start-up.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import sys, wsfast
from websockets.protocol import SERVER, Protocol, State
from wsfast._bench.workloads import encode_reference_frame
patched, chunk, frames = sys.argv[1] == "1", int(sys.argv[2]), int(sys.argv[3])
payload = ("wsfast é 日本 " * 6000).encode()[:65536]
frame = encode_reference_frame(1, payload, b"abcd")
pieces = [frame[i : i + chunk] for i in range(0, len(frame), chunk)]
if patched:
    assert wsfast.patch("websockets") == ["websockets"]
protocol = Protocol(SERVER, state=State.OPEN, max_size=None)
for _ in range(frames):
    for piece in pieces:
        protocol.receive_data(piece)
    assert len(protocol.events_received()) == 1
"""


def instructions(patched: bool, chunk: int, frames: int) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "child.py"
        script.write_text(CHILD)
        out = Path(scratch) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(script),
                        "1" if patched else "0", str(chunk), str(frames)], check=True, capture_output=True)
        match = re.search(rb"^summary: (\d+)", out.read_bytes(), re.M)
        assert match is not None
        return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--chunk", type=int, nargs="+", default=[16384, 32768, 65550])
    args = parser.parse_args()
    print("| chunk | unpatched instructions/frame | patched | unpatched / patched |")
    print("|---|---|---|---|")
    for chunk in args.chunk:
        per = []
        for patched in (False, True):
            per.append((instructions(patched, chunk, args.frames) - instructions(patched, chunk, 0)) / args.frames)
        print(f"| {chunk} | {per[0]:,.0f} | {per[1]:,.0f} | **{per[0] / per[1]:.2f}×** |")


if __name__ == "__main__":
    main()
