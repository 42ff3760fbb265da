"""Negotiating permessage-deflate (RFC 7692 §5, §7.1) in the opening handshake.

Three steps, one helper each:

- ``deflate_offer()``: the client's ``Sec-WebSocket-Extensions`` value.
- ``deflate_choose(offers)``: the server picks the first acceptable offer
  from the client's header(s) and gets the negotiated ``DeflateParams`` and
  the value for its response, or ``None`` to answer without the extension.
  A bad offer (an unknown or repeated parameter, a value out of range, a
  value where none belongs) is declined and the next one considered, as
  RFC 7692 §5 and §7.1 ask.
- ``deflate_check(response)``: the client checks the server's answer;
  anything it did not ask for or cannot honour raises ``HandshakeError``
  naming the parameter (the client must then fail the connection, §5).

``DeflateParams`` holds what both ends agreed on, under the RFC's parameter
names, from either end's point of view: ``server_*`` always describe what
the server sends, ``client_*`` what the client sends.

zlib cannot compress with an 8-bit window (it silently uses 9, which a peer
holding an 8-bit window cannot inflate): a server declines an offer that
demands ``server_max_window_bits=8``, and a client fails a response that
sets ``client_max_window_bits=8``. Inflating a stream made with any window
works with a larger one, so 8 is fine in the other direction.

Pure Python: negotiation happens once per connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ._handshake import HandshakeError, Headers, Request, Response

__all__ = [
    "DeflateParams",
    "parse_extensions",
    "deflate_offer",
    "deflate_choose",
    "deflate_check",
]

#: The extension name (RFC 7692 §7).
NAME = "permessage-deflate"
HEADER = "Sec-WebSocket-Extensions"

_NO_VALUE = ("server_no_context_takeover", "client_no_context_takeover")
_BITS = ("server_max_window_bits", "client_max_window_bits")

# RFC 7230 §3.2.6.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_OWS = " \t"
# RFC 7692 §7.1.2: "a decimal integer value without leading zeroes between 8 to 15".
_BITS_VALUE = re.compile(r"8|9|1[0-5]")

Param = Tuple[str, Optional[str]]
Element = Tuple[str, List[Param]]
Offers = Union[Request, Response, Headers, str, Sequence[str], None]


@dataclass(frozen=True)
class DeflateParams:
    """Negotiated permessage-deflate parameters (RFC 7692 §7.1).

    ``*_no_context_takeover``: that end starts each message with a fresh
    compression context. ``*_max_window_bits``: the largest LZ77 window that
    end compresses with, 8 to 15.
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15

    def __post_init__(self) -> None:
        for name in _NO_VALUE:
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be bool, not {type(getattr(self, name)).__name__}")
        for name in _BITS:
            _check_bits(name, getattr(self, name), 8)

    def as_dict(self) -> Dict[str, Any]:
        """The four fields as keyword arguments, e.g. for the codec:
        ``PerMessageDeflate(client=True, **params.as_dict())``."""
        return {
            "server_no_context_takeover": self.server_no_context_takeover,
            "client_no_context_takeover": self.client_no_context_takeover,
            "server_max_window_bits": self.server_max_window_bits,
            "client_max_window_bits": self.client_max_window_bits,
        }

    def header_value(self) -> str:
        """These parameters as a response value: defaults left out, the
        window sizes written only when below 15."""
        params = [NAME]
        if self.server_no_context_takeover:
            params.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            params.append("client_no_context_takeover")
        if self.server_max_window_bits < 15:
            params.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.client_max_window_bits < 15:
            params.append(f"client_max_window_bits={self.client_max_window_bits}")
        return "; ".join(params)


def _check_bits(name: str, value: object, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be int, not {type(value).__name__}")
    if not low <= value <= 15:
        raise ValueError(f"{name} must be {low} to 15, not {value}")
    return value


# --------------------------------------------------------------------------
# parsing (RFC 7230 §7 list syntax, RFC 6455 §9.1 extension grammar)


def _split(value: str) -> List[str]:
    """Split a header value at the commas outside quoted strings."""
    elements: List[str] = []
    start = i = 0
    while i < len(value):
        ch = value[i]
        if ch == '"':
            match = _QUOTED.match(value, i)
            # An unterminated quote swallows the rest; the element is bad.
            i = match.end() if match else len(value)
            continue
        if ch == ",":
            elements.append(value[start:i])
            start = i + 1
        i += 1
    elements.append(value[start:])
    return [e.strip(_OWS) for e in elements if e.strip(_OWS)]


def _parse_element(text: str) -> Element:
    """``name; p1; p2=v; p3="v"`` as ``(name, [(p1, None), (p2, "v"), ...])``
    with names lowercased and quoted values unescaped; ``ValueError`` on
    anything else."""
    parts: List[str] = []
    start = i = 0
    while i < len(text):
        if text[i] == '"':
            match = _QUOTED.match(text, i)
            if not match:
                raise ValueError(f"unterminated quoted string in {text!r}")
            i = match.end()
            continue
        if text[i] == ";":
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    name = parts[0].strip(_OWS)
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"extension name {name!r} is not a token")
    params: List[Param] = []
    for part in parts[1:]:
        key, eq, raw = part.partition("=")
        key = key.strip(_OWS)
        if not _TOKEN.fullmatch(key):
            raise ValueError(f"parameter name {key!r} in {name} is not a token")
        if not eq:
            params.append((key.lower(), None))
            continue
        raw = raw.strip(_OWS)
        quoted = _QUOTED.fullmatch(raw)
        if quoted:
            value = re.sub(r"\\(.)", r"\1", quoted.group(1), flags=re.S)
        elif _TOKEN.fullmatch(raw):
            value = raw
        else:
            raise ValueError(f"value {raw!r} of {key} in {name} is neither a token nor a quoted string")
        params.append((key.lower(), value))
    return name.lower(), params


def _values(source: Offers) -> List[str]:
    if source is None:
        return []
    if isinstance(source, (Request, Response)):
        return source.headers.get_all(HEADER)
    if isinstance(source, Headers):
        return source.get_all(HEADER)
    if isinstance(source, str):
        return [source]
    values = list(source)
    for value in values:
        if not isinstance(value, str):
            raise TypeError(f"header values must be str, not {type(value).__name__}")
    return values


def parse_extensions(source: Offers) -> List[Element]:
    """Every extension in ``Sec-WebSocket-Extensions`` (a request, response,
    ``Headers``, one value or a list of values), in order, as
    ``(name, [(param, value or None), ...])``.

    Raises ``HandshakeError`` on a malformed element; ``deflate_choose``
    parses element by element instead, so that one bad offer only costs
    itself.
    """
    elements: List[Element] = []
    for value in _values(source):
        for text in _split(value):
            try:
                elements.append(_parse_element(text))
            except ValueError as exc:
                raise HandshakeError(f"malformed {HEADER}: {exc}", HEADER) from None
    return elements


def _params(params: List[Param], where: str) -> Dict[str, Optional[str]]:
    """Check permessage-deflate's parameter rules common to both ends:
    known names only, each once, a value exactly where one belongs."""
    seen: Dict[str, Optional[str]] = {}
    for key, value in params:
        if key in seen:
            raise ValueError(f"{key} appears twice in {where}")
        if key in _NO_VALUE:
            if value is not None:
                raise ValueError(f"{key} takes no value, got {value!r} in {where}")
        elif key in _BITS:
            if value is None:
                if key == "server_max_window_bits" or where == "the response":
                    raise ValueError(f"{key} needs a value (8 to 15) in {where}")
            elif not _BITS_VALUE.fullmatch(value):
                raise ValueError(f"{key}={value!r} in {where} is not a window size (8 to 15)")
        else:
            raise ValueError(f"unknown parameter {key!r} in {where}")
        seen[key] = value
    return seen


# --------------------------------------------------------------------------
# the client's offer


def deflate_offer(
    *,
    server_no_context_takeover: bool = False,
    client_no_context_takeover: bool = False,
    server_max_window_bits: Optional[int] = None,
    client_max_window_bits: Union[int, bool] = True,
) -> str:
    """The client's ``Sec-WebSocket-Extensions`` value offering permessage-deflate.

    ``server_*``: what the client asks of the server. ``client_no_context_
    takeover``: the client says it will reset its context per message.
    ``client_max_window_bits``: ``True`` (the default) lets the server pick
    the client's window, an int (9 to 15) also says the client uses no larger
    one, ``False`` leaves it out. ``deflate_check`` takes the same arguments.
    """
    params = [NAME]
    if not isinstance(server_no_context_takeover, bool) or not isinstance(client_no_context_takeover, bool):
        raise TypeError("the *_no_context_takeover arguments must be bool")
    if server_no_context_takeover:
        params.append("server_no_context_takeover")
    if client_no_context_takeover:
        params.append("client_no_context_takeover")
    if server_max_window_bits is not None:
        params.append(f"server_max_window_bits={_check_bits('server_max_window_bits', server_max_window_bits, 8)}")
    if client_max_window_bits is True:
        params.append("client_max_window_bits")
    elif client_max_window_bits is not False:
        # This end compresses with it: zlib has no 8-bit window.
        params.append(f"client_max_window_bits={_check_bits('client_max_window_bits', client_max_window_bits, 9)}")
    return "; ".join(params)


# --------------------------------------------------------------------------
# the server's choice


def _accept(
    offer: Dict[str, Optional[str]],
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: int,
    client_max_window_bits: int,
) -> DeflateParams:
    """The server's answer to one well-formed offer, or ``ValueError`` why not."""
    server_bits = server_max_window_bits
    asked = offer.get("server_max_window_bits")
    if asked is not None:
        server_bits = min(server_bits, int(asked))
        if server_bits < 9:
            raise ValueError("server_max_window_bits=8 is not supported (zlib has no 8-bit window)")
    if "client_max_window_bits" in offer:
        hinted = offer["client_max_window_bits"]
        client_bits = min(client_max_window_bits, int(hinted) if hinted is not None else 15)
    elif client_max_window_bits < 15:
        # The client cannot be told to use a smaller window (§7.1.2.2).
        raise ValueError(
            f"the offer has no client_max_window_bits, so the client's window "
            f"cannot be limited to {client_max_window_bits} bits"
        )
    else:
        client_bits = 15
    return DeflateParams(
        server_no_context_takeover=server_no_context_takeover or "server_no_context_takeover" in offer,
        client_no_context_takeover=client_no_context_takeover or "client_no_context_takeover" in offer,
        server_max_window_bits=server_bits,
        client_max_window_bits=client_bits,
    )


def deflate_choose(
    offers: Offers,
    *,
    server_no_context_takeover: bool = False,
    client_no_context_takeover: bool = False,
    server_max_window_bits: int = 15,
    client_max_window_bits: int = 15,
) -> Optional[Tuple[DeflateParams, str]]:
    """Pick the first acceptable permessage-deflate offer (server side).

    ``offers``: the client's request, its ``Headers``, or the
    ``Sec-WebSocket-Extensions`` value(s). The keyword arguments are this
    server's wishes: ``server_*`` for what it sends (``server_max_window_bits``
    9 to 15), ``client_*`` what it asks of the client (``client_max_window_bits``
    8 to 15; an offer that does not let the server limit it is declined when
    it is below 15).

    Returns ``(params, value)``, the negotiated parameters and the response's
    ``Sec-WebSocket-Extensions`` value (pass it to ``build_response(
    extensions=...)``), or ``None`` when no offer is acceptable. Other
    extensions and malformed or unacceptable offers are skipped.
    """
    if not isinstance(server_no_context_takeover, bool) or not isinstance(client_no_context_takeover, bool):
        raise TypeError("the *_no_context_takeover arguments must be bool")
    _check_bits("server_max_window_bits", server_max_window_bits, 9)
    _check_bits("client_max_window_bits", client_max_window_bits, 8)
    for value in _values(offers):
        for text in _split(value):
            try:
                name, params = _parse_element(text)
                if name != NAME:
                    continue
                params_of_offer = _params(params, "the offer")
                chosen = _accept(
                    params_of_offer,
                    server_no_context_takeover,
                    client_no_context_takeover,
                    server_max_window_bits,
                    client_max_window_bits,
                )
            except ValueError:
                continue
            return chosen, _response_value(chosen, params_of_offer)
    return None


def _response_value(params: DeflateParams, offer: Dict[str, Optional[str]]) -> str:
    parts = [NAME]
    if params.server_no_context_takeover:
        parts.append("server_no_context_takeover")
    if params.client_no_context_takeover:
        parts.append("client_no_context_takeover")
    # Answered when asked for (§7.1.2.1: the same or a smaller value), or
    # when this server's own limit is smaller.
    if "server_max_window_bits" in offer or params.server_max_window_bits < 15:
        parts.append(f"server_max_window_bits={params.server_max_window_bits}")
    # Only when offered (§7.1.2.2); with a value, always stated, so that the
    # client's window is explicit.
    if "client_max_window_bits" in offer and (
        offer["client_max_window_bits"] is not None or params.client_max_window_bits < 15
    ):
        parts.append(f"client_max_window_bits={params.client_max_window_bits}")
    return "; ".join(parts)


# --------------------------------------------------------------------------
# the client's check


def deflate_check(
    response: Offers,
    *,
    server_no_context_takeover: bool = False,
    client_no_context_takeover: bool = False,
    server_max_window_bits: Optional[int] = None,
    client_max_window_bits: Union[int, bool] = True,
) -> Optional[DeflateParams]:
    """Check the server's answer to ``deflate_offer(**same arguments)``.

    ``response``: the server's response, its ``Headers`` or the
    ``Sec-WebSocket-Extensions`` value(s). Returns the negotiated parameters,
    ``None`` when the server declined (no extension in its answer). Raises
    ``HandshakeError`` naming the parameter when the answer is malformed,
    names an extension that was not offered, or breaks the offer's terms;
    the client must fail the connection then (RFC 7692 §5).
    """
    if not isinstance(server_no_context_takeover, bool) or not isinstance(client_no_context_takeover, bool):
        raise TypeError("the *_no_context_takeover arguments must be bool")
    if server_max_window_bits is not None:
        _check_bits("server_max_window_bits", server_max_window_bits, 8)
    if not isinstance(client_max_window_bits, bool):
        _check_bits("client_max_window_bits", client_max_window_bits, 9)
    elements = parse_extensions(response)
    if not elements:
        return None
    if len(elements) > 1:
        names = ", ".join(name for name, _ in elements)
        raise HandshakeError(f"{HEADER} accepts more than the one extension offered: {names}", HEADER)
    name, params = elements[0]
    if name != NAME:
        raise HandshakeError(f"{HEADER} accepts {name!r}, which was not offered", HEADER)
    try:
        answer = _params(params, "the response")
    except ValueError as exc:
        raise HandshakeError(f"{HEADER}: {exc}", HEADER) from None

    def fail(text: str) -> HandshakeError:
        return HandshakeError(f"{HEADER}: {text}", HEADER)

    if server_no_context_takeover and "server_no_context_takeover" not in answer:
        raise fail("server_no_context_takeover was requested but the response lacks it")
    server_bits = 15
    sent = answer.get("server_max_window_bits")
    if sent is not None:
        server_bits = int(sent)
        if server_max_window_bits is not None and server_bits > server_max_window_bits:
            raise fail(f"server_max_window_bits={server_bits} exceeds the {server_max_window_bits} requested")
    elif server_max_window_bits is not None:
        raise fail(f"server_max_window_bits={server_max_window_bits} was requested but the response lacks it")
    client_bits = 15 if client_max_window_bits is True or client_max_window_bits is False else client_max_window_bits
    if "client_max_window_bits" in answer:
        if client_max_window_bits is False:
            raise fail("client_max_window_bits is in the response but was not offered")
        client_bits = int(answer["client_max_window_bits"] or 15)
        if client_max_window_bits is not True and client_bits > client_max_window_bits:
            raise fail(f"client_max_window_bits={client_bits} exceeds the {client_max_window_bits} offered")
        if client_bits < 9:
            raise fail("client_max_window_bits=8 is not supported (zlib has no 8-bit window)")
    return DeflateParams(
        server_no_context_takeover="server_no_context_takeover" in answer,
        client_no_context_takeover=client_no_context_takeover or "client_no_context_takeover" in answer,
        server_max_window_bits=server_bits,
        client_max_window_bits=client_bits,
    )
