#!/usr/bin/env python3
"""apply_mask, mask_inplace and Masker: compiled (every SIMD level) against
pure Python and a plain XOR, with any key, offsets (huge and negative too),
contiguous and strided buffers, and random chunkings for the streaming
masker; results, offsets and exception types must be identical."""

from __future__ import annotations

import atheris
import fuzzlib
from fuzzlib import PURE, Mismatch, check_same, each_compiled, pick

OFFSETS = (0, 1, 2, 3, 4, 5, 7, -1, -3, 2**31, 2**32 + 1, 2**63 - 1, 2**64 + 3, -(2**63))


def outcome(call):
    try:
        return ("ok", call())
    except Exception as exc:  # the type is what must match
        return ("error", type(exc).__name__)


def run(api, data, key, offset, stride, chunks):
    out = []
    out.append(outcome(lambda: api.apply_mask(data, key, offset)))
    view = memoryview(data)[::stride]
    out.append(outcome(lambda: api.apply_mask(view, key, offset)))
    buf = bytearray(data)
    out.append(outcome(lambda: (api.mask_inplace(buf, key, offset), bytes(buf))))
    strided = bytearray(data)
    out.append(outcome(lambda: (api.mask_inplace(memoryview(strided)[::stride], key, offset), bytes(strided))))
    masker = outcome(lambda: api.Masker(key))
    if masker[0] == "ok":
        m = masker[1]
        pieces = [m.process(chunk) for chunk in chunks]
        out.append(("masker", b"".join(pieces), m.offset))
        m.reset()
        out.append(("reset", m.process(data[:5]), m.offset))
    else:
        out.append(masker)
    return out


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    key = bytes(fdp.ConsumeBytes(pick(fdp, (4, 4, 4, 4, 0, 3, 5))))
    offset = pick(fdp, OFFSETS) if fdp.ConsumeBool() else fdp.ConsumeIntInRange(0, 1000)
    stride = fdp.ConsumeIntInRange(1, 5)
    payload = fuzzlib.some_bytes(fdp) if fdp.ConsumeBool() else bytes(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 600)))
    chunks = fuzzlib.chunking(fdp, payload)
    expected = run(PURE, payload, key, offset, stride, chunks)
    if len(key) == 4:
        rotated = key[offset % 4 :] + key[: offset % 4]
        if expected[0] != ("ok", fuzzlib.xor(payload, rotated)):
            raise Mismatch(f"pure apply_mask({payload!r}, {key!r}, {offset}) is {expected[0]!r}")
        if expected[4] != ("masker", fuzzlib.xor(payload, key), len(payload)):
            raise Mismatch(f"pure Masker over {chunks!r} gave {expected[4]!r}")
    for level, api in each_compiled():
        check_same(f"masking {payload!r} with {key!r} at {offset}, stride {stride}", expected,
                   run(api, payload, key, offset, stride, chunks), level)


if __name__ == "__main__":
    fuzzlib.run(test_one_input)
