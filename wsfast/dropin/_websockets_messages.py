"""websockets' message assembly with wsfast's UTF-8 decoder.

``Assembler.get()`` of websockets' asyncio and threading layers joins a
message's frames and decodes a text message with ``bytes.decode()``. The
two functions here are those methods statement for statement (websockets
17.4) but for the last step: the text is decoded by wsfast's vectorised
decoder (``_copies.text_decoder``: 2-6x faster than ``bytes.decode`` on
text that is not pure ASCII), and when it is not valid UTF-8,
``bytes.decode()`` runs after all, so the ``UnicodeDecodeError`` (and the
1007 reason websockets builds from it) is websockets' own.

A copy is only safe while it is the host's code: ``replacements()`` puts
it in place only when the host's method has exactly the source it was
copied from (``SOURCES``), and otherwise leaves websockets' method, with
its decoding, alone.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

from ._copies import source_digest, text_decoder

# sha256 of each copied method's source (textwrap.dedent of
# inspect.getsource), by the module it comes from.
SOURCES = {
    "websockets.asyncio.messages": {"79f27690af15498a9409251aea7987d83a0934891ae754a27c013e7450c849f7"},  # 17.4
    "websockets.sync.messages": {"ff791264ee7835f788ee638f35f90bd7511d99d68e43759a97acd21f6b89dffb"},  # 17.4
}

def asyncio_get(module: Any, decode_text: Callable[[bytes], str]) -> Callable[..., Any]:
    """``websockets.asyncio.messages.Assembler.get``, decoding by wsfast."""
    asyncio = module.asyncio
    ConcurrencyError = module.ConcurrencyError
    TooManyFragments = module.TooManyFragments
    TEXT, BINARY, CONT = module.TEXT, module.BINARY, module.CONT

    async def get(self: Any, decode: Optional[bool] = None) -> Any:
        if self.get_in_progress:
            raise ConcurrencyError("get() or get_iter() is already running")
        self.get_in_progress = True
        try:
            frame = await self.frames.get(not self.closed)
            self.maybe_resume()
            assert frame.opcode is TEXT or frame.opcode is BINARY
            if decode is None:
                decode = frame.opcode is TEXT
            frames = [frame]
            while not frame.fin:
                try:
                    frame = await self.frames.get(not self.closed)
                except asyncio.CancelledError:
                    self.frames.put_back(frames)
                    raise
                self.maybe_resume()
                assert frame.opcode is CONT
                if len(frames) >= module.MAX_FRAGMENTS:
                    raise TooManyFragments(module.MAX_FRAGMENTS)
                frames.append(frame)
        finally:
            self.get_in_progress = False
        data = b"".join(frame.data for frame in frames)
        if decode:
            return decode_text(data)
        else:
            return data

    return get


def sync_get(module: Any, decode_text: Callable[[bytes], str]) -> Callable[..., Any]:
    """``websockets.sync.messages.Assembler.get``, decoding by wsfast."""
    ConcurrencyError = module.ConcurrencyError
    TooManyFragments = module.TooManyFragments
    Deadline = module.Deadline
    TEXT, BINARY, CONT = module.TEXT, module.BINARY, module.CONT

    def get(self: Any, timeout: Optional[float] = None, decode: Optional[bool] = None) -> Any:
        with self.mutex:
            if self.get_in_progress:
                raise ConcurrencyError("get() or get_iter() is already running")
            self.get_in_progress = True
        try:
            deadline = Deadline(timeout)
            frame = self.get_next_frame(deadline.timeout(raise_if_elapsed=False))
            with self.mutex:
                self.maybe_resume()
            assert frame.opcode is TEXT or frame.opcode is BINARY
            if decode is None:
                decode = frame.opcode is TEXT
            frames = [frame]
            while not frame.fin:
                try:
                    frame = self.get_next_frame(deadline.timeout(raise_if_elapsed=False))
                except TimeoutError:
                    self.reset_queue(frames)
                    raise
                with self.mutex:
                    self.maybe_resume()
                assert frame.opcode is CONT
                if len(frames) >= module.MAX_FRAGMENTS:
                    raise TooManyFragments(module.MAX_FRAGMENTS)
                frames.append(frame)
        finally:
            self.get_in_progress = False
        data = b"".join(frame.data for frame in frames)
        if decode:
            return decode_text(data)
        else:
            return data

    return get


def replacements(decode_utf8: Callable[[bytes, int, int], Optional[str]]) -> List[Tuple[Any, str, Any]]:
    """``Assembler.get`` of each layer whose source matches its copy."""
    import importlib

    decode_text = text_decoder(decode_utf8)
    found: List[Tuple[Any, str, Any]] = []
    for name, build in (("websockets.asyncio.messages", asyncio_get), ("websockets.sync.messages", sync_get)):
        try:
            module = importlib.import_module(name)
        except ImportError:  # a layer this version does not have
            continue
        host = module.Assembler.get
        if source_digest(host) not in SOURCES[name]:
            continue
        get = build(module, decode_text)
        get.__doc__ = host.__doc__
        get.__qualname__ = host.__qualname__
        get.__module__ = __name__
        found.append((module.Assembler, "get", get))
    return found
