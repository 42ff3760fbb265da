"""The websockets adapter's ``Assembler.get`` (asyncio and threading
layers): the same messages, exceptions and queue state as websockets' own
method, with text decoded by wsfast; websockets' method is kept where its
source is not the one the copy was made from."""

from __future__ import annotations

import asyncio
import types
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

import pytest

from wsfast import dropin

pytest.importorskip("websockets")
import websockets.asyncio.messages as amessages
import websockets.sync.messages as smessages
from websockets.frames import Frame, Opcode

from wsfast.dropin import _websockets_messages

_VERSION = dropin._installed_version(dropin._adapter("websockets"))
if not dropin._in_range(_VERSION or "", dropin._adapter("websockets").TESTED):
    pytest.skip(f"the adapter refuses websockets {_VERSION}", allow_module_level=True)

TEXT, BINARY, CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT

MESSAGES: List[Tuple[str, List[Frame], Optional[bool]]] = []
for label, text in [
    ("empty", ""),
    ("short-ascii", "hi"),
    ("ascii-63", "a" * 63),
    ("ascii-64", "a" * 64),
    ("latin-1", "café naïve " * 40),
    ("cjk", "日本語のテキスト" * 500),
    ("emoji", "🙂 wsfast 😀" * 3000),
    ("ascii-64KiB", "x" * 65536),
]:
    data = text.encode()
    for decode in (None, True, False):
        MESSAGES.append((f"{label}-text-{decode}", [Frame(TEXT, data)], decode))
        MESSAGES.append((f"{label}-binary-{decode}", [Frame(BINARY, data)], decode))
    if len(data) > 3:
        pieces = [data[: len(data) // 3], data[len(data) // 3 : 2 * len(data) // 3], data[2 * len(data) // 3 :]]
        MESSAGES.append(
            (f"{label}-fragmented", [Frame(TEXT, pieces[0], fin=False), Frame(CONT, pieces[1], fin=False), Frame(CONT, pieces[2])], None)
        )
for label, data in [
    ("bad-start", b"\xff" + b"a" * 100),
    ("bad-middle", b"a" * 100 + b"\xc3\x28" + b"b" * 100),
    ("truncated-end", "é".encode() * 50 + b"\xe6\x97"),
    ("surrogate", b"a" * 70 + b"\xed\xa0\x80"),
    ("overlong", b"\xc0\xaf" * 40),
    ("short-bad", b"\xfe"),
]:
    MESSAGES.append((f"invalid-{label}", [Frame(TEXT, data)], None))
    MESSAGES.append((f"invalid-{label}-forced", [Frame(BINARY, data)], True))
    MESSAGES.append((f"invalid-{label}-raw", [Frame(TEXT, data)], False))
    MESSAGES.append((f"invalid-{label}-split", [Frame(TEXT, data[:1], fin=False), Frame(CONT, data[1:])], None))


def raised(exc: Exception) -> Tuple[Any, ...]:
    detail: Tuple[Any, ...] = ("raised", type(exc), str(exc))
    if isinstance(exc, UnicodeDecodeError):
        detail += (exc.start, exc.end, exc.reason, exc.object)
    return detail


def outcome(call: Callable[[], Any]) -> Tuple[Any, ...]:
    try:
        value = call()
    except Exception as exc:
        return raised(exc)
    return ("returned", type(value), value)


def asyncio_run(frames: Sequence[Frame], decode: Optional[bool]) -> List[Any]:
    async def main() -> List[Any]:
        paused: List[str] = []
        assembler = amessages.Assembler(high=4, low=1, pause=lambda: paused.append("pause"), resume=lambda: paused.append("resume"))
        for frame in frames:
            assembler.put(frame)
        try:
            value = await assembler.get(decode)
            got: Tuple[Any, ...] = ("returned", type(value), value)
        except Exception as exc:
            got = raised(exc)
        return [got, paused, len(assembler.frames), assembler.get_in_progress]

    return asyncio.run(main())


def sync_run(frames: Sequence[Frame], decode: Optional[bool]) -> List[Any]:
    paused: List[str] = []
    assembler = smessages.Assembler(high=4, low=1, pause=lambda: paused.append("pause"), resume=lambda: paused.append("resume"))
    for frame in frames:
        assembler.put(frame)
    got = outcome(lambda: assembler.get(1.0, decode))
    return [got, paused, assembler.frames.qsize(), assembler.get_in_progress]


@pytest.fixture
def patch_websockets(ws: types.SimpleNamespace) -> Iterator[Callable[[], None]]:
    def apply() -> None:
        assert dropin._patch_with(ws, ("websockets",)) == ["websockets"]

    try:
        yield apply
    finally:
        dropin.unpatch("websockets")


def test_the_copies_match_this_version(ws: types.SimpleNamespace) -> None:
    """On the version the adapter was written for, both gets are replaced
    (else the decoding falls back to websockets' without anyone noticing)."""
    host = (vars(amessages.Assembler)["get"], vars(smessages.Assembler)["get"])
    dropin._patch_with(ws, ("websockets",))
    try:
        if _VERSION == "17.4":
            assert vars(amessages.Assembler)["get"] is not host[0]
            assert vars(smessages.Assembler)["get"] is not host[1]
    finally:
        dropin.unpatch("websockets")
    assert (vars(amessages.Assembler)["get"], vars(smessages.Assembler)["get"]) == host
    assert vars(amessages.Assembler)["get"] is host[0] and vars(smessages.Assembler)["get"] is host[1]


@pytest.mark.parametrize("label,frames,decode", MESSAGES, ids=[m[0] for m in MESSAGES])
@pytest.mark.parametrize("layer", [asyncio_run, sync_run], ids=["asyncio", "sync"])
def test_same_message_or_error(
    layer: Callable[..., List[Any]], label: str, frames: List[Frame], decode: Optional[bool], patch_websockets: Callable[[], None]
) -> None:
    expected = layer(frames, decode)
    patch_websockets()
    got = layer(frames, decode)
    assert got == expected
    # The table means what it says: invalid text raises, the rest returns.
    should_raise = label.startswith("invalid-") and not label.endswith("-raw")
    assert got[0][0] == ("raised" if should_raise else "returned")
    if should_raise:
        assert got[0][1] is UnicodeDecodeError


def test_fragment_limit_and_concurrency(monkeypatch: pytest.MonkeyPatch, patch_websockets: Callable[[], None]) -> None:
    """MAX_FRAGMENTS is read at each call, as websockets reads it; a
    second get() while one runs is refused alike."""
    monkeypatch.setattr(amessages, "MAX_FRAGMENTS", 3)
    monkeypatch.setattr(smessages, "MAX_FRAGMENTS", 3)
    frames = [Frame(TEXT, b"a", fin=False)] + [Frame(CONT, b"b", fin=False)] * 4 + [Frame(CONT, b"c")]

    async def concurrent() -> List[Any]:
        assembler = amessages.Assembler()
        first = asyncio.ensure_future(assembler.get())
        await asyncio.sleep(0)
        second: Any = None
        try:
            await assembler.get()
        except Exception as exc:
            second = (type(exc), str(exc))
        assembler.put(Frame(TEXT, "é".encode() * 40))
        return [second, await first]

    def run() -> List[Any]:
        return [asyncio_run(frames, None), sync_run(frames, None), asyncio.run(concurrent())]

    expected = run()
    patch_websockets()
    assert run() == expected
    assert "TooManyFragments" in repr(expected[0][0])


def test_cancelled_and_timed_out_gets_put_frames_back(patch_websockets: Callable[[], None]) -> None:
    async def cancelled() -> List[Any]:
        assembler = amessages.Assembler()
        assembler.put(Frame(TEXT, "é".encode() * 40, fin=False))
        task = asyncio.ensure_future(assembler.get())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assembler.put(Frame(CONT, "ü".encode() * 40))
        return [len(assembler.frames), await assembler.get()]

    def timed_out() -> List[Any]:
        assembler = smessages.Assembler()
        assembler.put(Frame(TEXT, "é".encode() * 40, fin=False))
        with pytest.raises(TimeoutError):
            assembler.get(0.01)
        assembler.put(Frame(CONT, "ü".encode() * 40))
        return [assembler.frames.qsize(), assembler.get(1.0)]

    expected = [asyncio.run(cancelled()), timed_out()]
    patch_websockets()
    assert [asyncio.run(cancelled()), timed_out()] == expected


def test_a_changed_method_is_left_alone(ws: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A websockets whose Assembler.get is not the copied source keeps its own."""
    monkeypatch.setattr(_websockets_messages, "SOURCES", {name: set() for name in _websockets_messages.SOURCES})
    host = (vars(amessages.Assembler)["get"], vars(smessages.Assembler)["get"])
    dropin._patch_with(ws, ("websockets",))
    try:
        assert (vars(amessages.Assembler)["get"], vars(smessages.Assembler)["get"]) == host
    finally:
        dropin.unpatch("websockets")


def test_recv_through_a_connection(patch_websockets: Callable[[], None]) -> None:
    """recv() on a real asyncio connection over 127.0.0.1, text and bytes."""
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    payloads: List[Any] = ["", "héllo", "🙂" * 20000, "a" * 200, b"\x00\xff" * 100]

    async def main() -> List[Any]:
        async def echo(conn: Any) -> None:
            async for message in conn:
                await conn.send(message)

        async with serve(echo, "127.0.0.1", 0, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}", max_size=None) as client:
                got = []
                for payload in payloads:
                    await client.send(payload)
                    got.append(await client.recv())
                return got

    assert asyncio.run(main()) == payloads
    patch_websockets()
    assert asyncio.run(main()) == payloads
