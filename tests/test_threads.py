"""Threads: the stateless functions are safe to call from many threads at
once, fresh masking keys are never shared, and large masks and validations
let other threads run (the compiled kernels release the GIL from 64 KiB).

The stateful objects (Masker, Utf8Validator, FrameParser, MessageReader)
hold one stream's state: each thread here has its own, as their docstrings
ask. On a free-threaded CPython (3.13t and later) these tests run the calls
truly in parallel; with the GIL they still interleave them at every switch.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from typing import Any, Callable, List

import pytest

from .conftest import load_backend

THREADS = 8
ROUNDS = 300
KEY = b"\x37\xfa\x21\x3d"


def _run_threads(work: Callable[[int], None], threads: int = THREADS) -> None:
    """Run ``work(i)`` in ``threads`` threads started together; re-raise the
    first failure."""
    barrier = threading.Barrier(threads)
    errors: List[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    pool = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]


def _masked_frame(payload: bytes) -> bytes:
    body = bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))
    return bytes((0x82, 0x80 | len(payload))) + KEY + body


@pytest.mark.thread_unsafe(reason="starts its own threads")
def test_stateless_functions_from_eight_threads(ws: types.SimpleNamespace) -> None:
    # Shared inputs, every result checked against one computed up front.
    data = bytes(range(256)) * 8 + b"tail"
    shared_bytearray = bytearray(data)
    shared_view = memoryview(data)
    spread = bytearray(2 * len(data))
    spread[::2] = data
    strided = memoryview(spread)[::2]
    text = ("κόσμε 😀 " * 200).encode()
    bad_text = text[:100] + b"\xed\xa0\x80" + text[100:]
    payload = b"p" * 300
    frames = _masked_frame(b"x" * 100) * 5
    expected_mask = ws.apply_mask(data, KEY, 1)
    expected_frame = ws.encode_frame(2, payload, mask=KEY)
    expected_close = ws.encode_close(1000, "bye")
    expected_events = [repr(e) for e in ws.FrameParser().feed(frames)]

    def work(i: int) -> None:
        for _ in range(ROUNDS):
            assert ws.apply_mask(data, KEY, 1) == expected_mask
            assert ws.apply_mask(shared_bytearray, KEY, 1) == expected_mask
            assert ws.apply_mask(shared_view, KEY, 1) == expected_mask
            assert ws.apply_mask(strided, KEY, 1) == expected_mask
            own = bytearray(data)
            ws.mask_inplace(own, KEY, 1)
            assert own == expected_mask
            assert ws.validate_utf8(text) is True
            assert ws.validate_utf8(bad_text) is False
            assert ws.encode_frame(2, payload, mask=KEY) == expected_frame
            assert ws.encode_close(1000, "bye") == expected_close
            assert ws.parse_close(expected_close) == (1000, "bye")
            assert [repr(e) for e in ws.FrameParser().feed(frames)] == expected_events

    _run_threads(work)
    assert shared_bytearray == data  # read by every thread, written by none


@pytest.mark.thread_unsafe(reason="starts its own threads")
def test_stateful_objects_one_per_thread(ws: types.SimpleNamespace) -> None:
    text = ("κόσμε 😀 " * 50).encode()
    stream = b"".join(_masked_frame(text[i : i + 7]) for i in range(0, 70, 7))

    def work(i: int) -> None:
        masker = ws.Masker(KEY)
        validator = ws.Utf8Validator()
        parser = ws.FrameParser()
        for _ in range(ROUNDS // 3):
            masker.reset()
            validator.reset()
            assert b"".join(masker.process(text[j : j + 5]) for j in range(0, len(text), 5)) == ws.apply_mask(text, KEY)
            results = [validator.validate(text[j : j + 3]) for j in range(0, len(text), 3)]
            assert all(r[0] for r in results) and results[-1][1] and results[-1][3] == len(text)
            frames = [f for j in range(len(stream)) for f in parser.feed(stream[j : j + 1])]
            assert b"".join(f.payload for f in frames) == text[:70]

    _run_threads(work)


@pytest.mark.thread_unsafe(reason="replaces os.urandom in the masking module")
def test_fresh_keys_are_never_shared_between_threads(ws: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    # Key batches made of distinct 4-byte words: any key handed out twice
    # shows up as a duplicate (real random keys could collide by chance).
    module = importlib.import_module("wsfast._mask_c" if ws.IMPLEMENTATION == "cython" else "wsfast._mask_py")
    counter = [0]
    lock = threading.Lock()

    def urandom(n: int) -> bytes:
        assert n % 4 == 0
        with lock:
            start = counter[0]
            counter[0] += n // 4
        return b"".join((0x80000000 | (start + i)).to_bytes(4, "big") for i in range(n // 4))

    def drain() -> None:
        # The pure pool is a deque (racing refills may queue several
        # batches): emptied. The compiled one holds one batch: used up.
        if hasattr(module, "_keys"):
            module._keys.clear()
        for _ in range(1100):
            ws.encode_frame(2, b"", mask=True)

    monkeypatch.setattr(module, "os", types.SimpleNamespace(urandom=urandom))
    drain()
    assert counter[0] > 0, "the masking module did not draw keys from os.urandom"
    per_thread: List[List[bytes]] = [[] for _ in range(THREADS)]

    def work(i: int) -> None:
        keys = per_thread[i]
        for _ in range(1500):
            frame = ws.encode_frame(2, b"ab", mask=True)
            keys.append(frame[2:6])

    try:
        _run_threads(work)
    finally:
        # Real keys again for every later test: drain what is left of the
        # made-up batch (at most one batch of 1024 keys).
        monkeypatch.undo()
        drain()
    keys = [k for ks in per_thread for k in ks]
    assert all(k[0] & 0x80 for k in keys), "a key did not come from the pool"
    assert len(set(keys)) == len(keys), f"{len(keys) - len(set(keys))} keys were handed out twice"


def _other_thread_runs_during(call: Callable[[], Any]) -> bool:
    """Whether this thread gets to run Python while ``call`` runs in another
    one: possible only when the call releases the GIL.

    The switch interval is raised far above the call's length, so a thread
    that holds the GIL keeps it until it gives it up itself. This thread
    waits for the worker to start (giving up the GIL), and can only come
    back before the worker is done if the worker's call lets go of it."""
    started = threading.Event()
    done = threading.Event()

    def worker() -> None:
        started.set()
        call()
        done.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    try:
        t = threading.Thread(target=worker)
        t.start()
        started.wait()
        ran_during = not done.is_set()
        t.join()
    finally:
        sys.setswitchinterval(interval)
    return ran_during


@pytest.mark.thread_unsafe(reason="changes the interpreter's switch interval")
@pytest.mark.parametrize("what", ["apply_mask", "mask_inplace", "validate_utf8", "Utf8Validator", "encode_frame"])
def test_large_calls_let_other_threads_run(what: str) -> None:
    api = load_backend("cython")
    size = 32 * 2**20
    data = b"\x61" * size
    buf = bytearray(size)
    calls = {
        "apply_mask": lambda: api.apply_mask(data, KEY),
        "mask_inplace": lambda: api.mask_inplace(buf, KEY),
        "validate_utf8": lambda: api.validate_utf8(data),
        "Utf8Validator": lambda: api.Utf8Validator().validate(data),
        "encode_frame": lambda: api.encode_frame(2, data, mask=KEY),
    }
    # The worker may finish before this thread is scheduled again (a loaded
    # machine); with the GIL held throughout, no attempt could succeed.
    assert any(_other_thread_runs_during(calls[what]) for _ in range(10)), f"{what} held the GIL"


@pytest.mark.thread_unsafe(reason="changes the interpreter's switch interval")
@pytest.mark.skipif(not getattr(sys, "_is_gil_enabled", lambda: True)(), reason="no GIL to hold")
@pytest.mark.skipif(
    sys.implementation.name != "cpython", reason="the control relies on CPython holding the GIL in bytes.translate"
)
def test_the_gil_check_can_fail() -> None:
    # bytes.translate holds the GIL for its whole length.
    data = b"a" * (32 * 2**20)
    table = bytes(range(256))
    assert not any(_other_thread_runs_during(lambda: data.translate(table)) for _ in range(3))


@pytest.mark.thread_unsafe(reason="starts its own threads")
def test_resizing_a_bytearray_while_another_thread_masks_it(ws: types.SimpleNamespace) -> None:
    # The export a large call holds forbids resizing: the resizing thread
    # gets BufferError instead of freeing memory under the kernel.
    if ws.IMPLEMENTATION != "cython":
        pytest.skip("the pure backend copies its input before touching it")
    buf = bytearray(16 * 2**20)
    stop = threading.Event()
    refused: List[int] = []

    def resizer() -> None:
        while not stop.is_set():
            try:
                buf.extend(b"x")
            except BufferError:
                refused.append(1)
                continue
            while True:  # put the length back, as soon as no export forbids it
                try:
                    del buf[-1:]
                    break
                except BufferError:
                    refused.append(1)

    t = threading.Thread(target=resizer)
    t.start()
    try:
        for _ in range(40):
            ws.mask_inplace(buf, KEY)
            ws.apply_mask(buf, KEY)
            ws.validate_utf8(buf)
    finally:
        stop.set()
        t.join()
    assert len(buf) == 16 * 2**20
