#!/usr/bin/env python3
"""validate_utf8 and Utf8Validator: compiled (every SIMD level) against pure
Python and against Python's own strict decoder, on random bytes and on text
with broken sequences spliced in, fed whole and in random chunkings; the
validity and every tuple (valid, ends on a code point, current index, total
index) must be identical, and the first invalid byte is reported on the
chunk that holds it."""

from __future__ import annotations

import atheris
import fuzzlib
from fuzzlib import PURE, Mismatch, check_same, each_compiled


def feed_all(validator, chunks):
    results = [validator.validate(chunk) for chunk in chunks]
    results.append(validator.validate(b"\xe2"))  # after the end (or after a failure)
    validator.reset()
    results.append(validator.validate(b"ok"))
    return results


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        text = bytes(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300)))
    else:
        text = b"".join(fuzzlib.some_text(fdp, bad=fdp.ConsumeIntInRange(0, 2) == 0) for _ in range(fdp.ConsumeIntInRange(1, 4)))
    chunks = fuzzlib.chunking(fdp, text)
    try:
        text.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    if PURE.validate_utf8(text) != valid:
        raise Mismatch(f"pure validate_utf8({text!r}) is {not valid}, Python's decoder says {valid}")
    expected = feed_all(PURE.Utf8Validator(), chunks)
    last = expected[len(chunks) - 1]
    if (last[0] and last[1]) != valid:
        raise Mismatch(f"pure Utf8Validator on {chunks!r} ends with {expected[len(chunks) - 1]}, valid is {valid}")
    for level, api in each_compiled():
        check_same(f"validate_utf8({text!r})", valid, api.validate_utf8(text), level)
        check_same(f"validate_utf8(bytearray {text!r})", valid, api.validate_utf8(bytearray(text)), level)
        check_same(f"Utf8Validator on {chunks!r}", expected, feed_all(api.Utf8Validator(), chunks), level)


if __name__ == "__main__":
    fuzzlib.run(test_one_input)
