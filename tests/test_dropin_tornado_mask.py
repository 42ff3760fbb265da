"""The tornado adapter through ``_patch_with``, on both backends: every
place tornado binds ``_websocket_mask`` computes tornado's XOR (argument
order ``(mask, data)``), and ``unpatch`` puts tornado's own function back."""

from __future__ import annotations

import types

import pytest

from wsfast import dropin


def test_tornado_mask_patched_and_restored(ws: types.SimpleNamespace) -> None:
    pytest.importorskip("tornado")
    import tornado.util
    import tornado.web
    import tornado.websocket

    original = tornado.util._websocket_mask
    assert dropin._patch_with(ws, ("tornado",)) == ["tornado"]
    try:
        data = bytes(range(37))
        expected = bytes(b ^ b"\x01\x02\x03\x04"[i % 4] for i, b in enumerate(data))
        for module in (tornado.util, tornado.websocket, tornado.web):
            assert module._websocket_mask is not original
            assert module._websocket_mask(b"\x01\x02\x03\x04", data) == expected
        with pytest.raises(ValueError):
            tornado.websocket._websocket_mask(b"\x01\x02\x03", data)
    finally:
        dropin.unpatch("tornado")
    for module in (tornado.util, tornado.websocket, tornado.web):
        assert module._websocket_mask is original
