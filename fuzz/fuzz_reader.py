#!/usr/bin/env python3
"""MessageReader: compiled (every SIMD level) against pure Python on random
and structured streams in random chunkings: messages, control events, the
error (type, close code, reason, riding events) and the failed state must be
identical, and feeding the stream whole must give the same events and error
(fail fast inside a frame in pieces is the same error, reported earlier).
A third of the runs negotiate permessage-deflate: compressed messages,
corrupt ones and ones that inflate past the limit."""

from __future__ import annotations

import atheris
import fuzzlib
from fuzzlib import PURE, check_same, each_compiled, pick, record

with atheris.instrument_imports(include=["wsfast"]):
    from wsfast import PerMessageDeflate


def make(api, opts):
    deflate = None
    if opts[4]:
        # A connection of its own per reader; no context takeover, as the
        # stream's compressed messages are each compressed afresh.
        deflate = PerMessageDeflate(client=opts[0], server_no_context_takeover=True,
                                    client_no_context_takeover=True, library="zlib")
    return api.MessageReader(client=opts[0], max_message_size=opts[1], max_frame_size=opts[2], strict=opts[3],
                             deflate=deflate)


def flatten(out):
    events, error = [], None
    for item in out:
        if isinstance(item, list):
            events += item
        elif item[0] == "error":
            events += item[4]
            error = item[1:3]
    return events, error


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    opts = (fdp.ConsumeBool(), pick(fdp, fuzzlib.LIMITS), pick(fdp, (None, None, 10, 200)), fdp.ConsumeIntInRange(0, 3) != 0,
            fdp.ConsumeIntInRange(0, 2) == 0)
    wire = fuzzlib.stream(fdp, opts[0], compressed=opts[4])
    chunks = fuzzlib.chunking(fdp, wire)
    expected = record(make(PURE, opts), chunks)
    whole = record(make(PURE, opts), [wire])
    check_same("whole vs chunked (pure)", flatten(whole), flatten(expected), "-")
    for level, api in each_compiled():
        check_same(f"MessageReader{opts} on {wire!r} in {len(chunks)} chunks", expected, record(make(api, opts), chunks), level)


if __name__ == "__main__":
    fuzzlib.run(test_one_input)
