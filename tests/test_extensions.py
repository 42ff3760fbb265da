"""Tests for permessage-deflate negotiation (RFC 7692 §5, §7.1).

Pure Python on both backends (negotiation has no compiled part), so these
run once. The RFC's own examples come first, then each rule the server
applies to an offer and the client to a response, parameter by parameter,
then a cross-check against websockets' negotiation code.
"""

from __future__ import annotations

import itertools
from typing import Any, List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wsfast
from wsfast import DeflateParams, HandshakeError, deflate_check, deflate_choose, deflate_offer, parse_extensions
from wsfast._handshake import Headers, build_request, build_response, parse_request, parse_response

P = DeflateParams
DEFAULT = P()


def choose(*values: str, **wishes: Any) -> Optional[Tuple[DeflateParams, str]]:
    return deflate_choose(list(values), **wishes)


# --------------------------------------------------------------------------
# DeflateParams


def test_params_defaults_and_frozen() -> None:
    assert P(False, False, 15, 15) == DEFAULT
    with pytest.raises(AttributeError):
        DEFAULT.server_max_window_bits = 9  # type: ignore[misc]
    assert hash(P(True)) == hash(P(True))
    assert P(True, False, 9, 10).as_dict() == {
        "server_no_context_takeover": True,
        "client_no_context_takeover": False,
        "server_max_window_bits": 9,
        "client_max_window_bits": 10,
    }


@pytest.mark.parametrize("bits", [8, 9, 12, 15])
def test_params_accept_every_window_size(bits: int) -> None:
    assert P(server_max_window_bits=bits, client_max_window_bits=bits).client_max_window_bits == bits


@pytest.mark.parametrize("bits", [-1, 0, 7, 16, 2**40])
def test_params_reject_bad_window_sizes(bits: int) -> None:
    with pytest.raises(ValueError, match="server_max_window_bits"):
        P(server_max_window_bits=bits)
    with pytest.raises(ValueError, match="client_max_window_bits"):
        P(client_max_window_bits=bits)


@pytest.mark.parametrize("value", ["15", 15.0, None, True])
def test_params_reject_wrong_types(value: Any) -> None:
    with pytest.raises(TypeError):
        P(server_max_window_bits=value)
    with pytest.raises(TypeError):
        P(server_no_context_takeover=1)  # type: ignore[arg-type]


def test_params_header_value() -> None:
    assert DEFAULT.header_value() == "permessage-deflate"
    assert P(True, True, 9, 12).header_value() == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=9; client_max_window_bits=12"
    )


def test_public_names() -> None:
    for name in ("DeflateParams", "deflate_offer", "deflate_choose", "deflate_check", "parse_extensions"):
        assert name in wsfast.__all__ and getattr(wsfast, name) is not None


# --------------------------------------------------------------------------
# parsing


def test_parse_extensions_grammar() -> None:
    value = 'foo, permessage-deflate ;client_max_window_bits ; server_max_window_bits = "10" , bar; x="a,b;c\\"d"'
    assert parse_extensions(value) == [
        ("foo", []),
        ("permessage-deflate", [("client_max_window_bits", None), ("server_max_window_bits", "10")]),
        ("bar", [("x", 'a,b;c"d')]),
    ]


def test_parse_extensions_sources() -> None:
    headers = Headers([("Sec-WebSocket-Extensions", "a"), ("X", "y"), ("sec-websocket-extensions", "b; c")])
    expected = [("a", []), ("b", [("c", None)])]
    assert parse_extensions(headers) == expected
    assert parse_extensions(["a", "b; c"]) == expected
    request = parse_request(build_request("h:1", extra_headers=list(headers))[0])
    assert parse_extensions(request) == expected
    assert parse_extensions(None) == [] and parse_extensions("") == [] and parse_extensions(" , ,") == []
    with pytest.raises(TypeError):
        parse_extensions([b"permessage-deflate"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "value",
    [
        "permessage-deflate; x=",
        "permessage-deflate; =1",
        "permessage-deflate; x=a b",
        'permessage-deflate; x="unterminated',
        "permessage deflate",
        "; x",
        "permessage-deflate; x=@",
    ],
)
def test_parse_extensions_rejects_malformed(value: str) -> None:
    with pytest.raises(HandshakeError) as info:
        parse_extensions(value)
    assert info.value.header == "Sec-WebSocket-Extensions"


# --------------------------------------------------------------------------
# the client's offer


def test_offer_default_lets_the_server_pick_the_client_window() -> None:
    # Every browser sends this exact offer.
    assert deflate_offer() == "permessage-deflate; client_max_window_bits"


def test_offer_every_parameter() -> None:
    assert deflate_offer(
        server_no_context_takeover=True,
        client_no_context_takeover=True,
        server_max_window_bits=10,
        client_max_window_bits=12,
    ) == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10; client_max_window_bits=12"
    )
    assert deflate_offer(client_max_window_bits=False) == "permessage-deflate"
    assert deflate_offer(server_max_window_bits=8, client_max_window_bits=False) == (
        "permessage-deflate; server_max_window_bits=8"
    )


def test_offer_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="client_max_window_bits"):
        deflate_offer(client_max_window_bits=8)  # this end could not compress with it
    with pytest.raises(ValueError, match="server_max_window_bits"):
        deflate_offer(server_max_window_bits=16)
    with pytest.raises(TypeError):
        deflate_offer(server_max_window_bits="10")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        deflate_offer(server_no_context_takeover=None)  # type: ignore[arg-type]


def test_offer_goes_into_a_request() -> None:
    request, _ = build_request("h:1", extra_headers=[("Sec-WebSocket-Extensions", deflate_offer())])
    assert deflate_choose(parse_request(request)) == (DEFAULT, "permessage-deflate")


# --------------------------------------------------------------------------
# the server's choice


def test_choose_rfc_7692_examples() -> None:
    # §7.1.3 and §5.2's examples.
    assert choose("permessage-deflate") == (DEFAULT, "permessage-deflate")
    assert choose("permessage-deflate; client_max_window_bits") == (DEFAULT, "permessage-deflate")
    assert choose("permessage-deflate; server_max_window_bits=10") == (
        P(server_max_window_bits=10),
        "permessage-deflate; server_max_window_bits=10",
    )
    assert choose(
        "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits",
    ) == (P(server_max_window_bits=10), "permessage-deflate; server_max_window_bits=10")


def test_choose_nothing_offered() -> None:
    assert deflate_choose(None) is None
    assert deflate_choose([]) is None
    assert choose("") is None
    assert choose("x-webkit-deflate-frame", "foo; bar=1") is None
    assert deflate_choose(Headers([("Host", "x")])) is None


def test_choose_skips_other_extensions() -> None:
    assert choose("x-webkit-deflate-frame, permessage-deflate") == (DEFAULT, "permessage-deflate")


def test_choose_context_takeover_offered() -> None:
    assert choose("permessage-deflate; server_no_context_takeover") == (
        P(server_no_context_takeover=True),
        "permessage-deflate; server_no_context_takeover",
    )
    assert choose("permessage-deflate; client_no_context_takeover") == (
        P(client_no_context_takeover=True),
        "permessage-deflate; client_no_context_takeover",
    )


def test_choose_context_takeover_by_server_wish() -> None:
    # §7.1.1.1 and §7.1.1.2: a server may add either without being asked.
    assert choose("permessage-deflate", server_no_context_takeover=True, client_no_context_takeover=True) == (
        P(True, True),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    )


@pytest.mark.parametrize("offered", range(9, 16))
@pytest.mark.parametrize("wish", range(9, 16))
def test_choose_server_window(offered: int, wish: int) -> None:
    # §7.1.2.1: the same or a smaller value than asked; the server's own
    # limit applies too.
    chosen = choose(f"permessage-deflate; server_max_window_bits={offered}", server_max_window_bits=wish)
    bits = min(offered, wish)
    assert chosen == (P(server_max_window_bits=bits), f"permessage-deflate; server_max_window_bits={bits}")


def test_choose_server_window_not_offered() -> None:
    # §7.1.2.1: the server may state its window even unasked.
    assert choose("permessage-deflate", server_max_window_bits=11) == (
        P(server_max_window_bits=11),
        "permessage-deflate; server_max_window_bits=11",
    )


def test_choose_declines_server_window_8() -> None:
    assert choose("permessage-deflate; server_max_window_bits=8") is None
    # ... and takes the next acceptable offer.
    assert choose("permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9") == (
        P(server_max_window_bits=9),
        "permessage-deflate; server_max_window_bits=9",
    )


@pytest.mark.parametrize("offered", [None, *range(8, 16)])
@pytest.mark.parametrize("wish", range(8, 16))
def test_choose_client_window(offered: Optional[int], wish: int) -> None:
    value = "permessage-deflate; client_max_window_bits" + ("" if offered is None else f"={offered}")
    chosen = choose(value, client_max_window_bits=wish)
    bits = min(wish, 15 if offered is None else offered)
    assert chosen is not None
    params, response = chosen
    assert params == P(client_max_window_bits=bits)
    if offered is None and bits == 15:
        assert response == "permessage-deflate"
    else:
        assert response == f"permessage-deflate; client_max_window_bits={bits}"
    # The client accepts exactly that answer.
    offer_bits: Any = True if offered is None else offered
    if offer_bits is True or offer_bits >= 9:
        if bits >= 9:
            assert deflate_check(response, client_max_window_bits=offer_bits) == params
        else:
            with pytest.raises(HandshakeError, match="client_max_window_bits=8"):
                deflate_check(response, client_max_window_bits=offer_bits)


def test_choose_client_window_not_offered() -> None:
    # Without client_max_window_bits in the offer the server cannot limit
    # the client's window (§7.1.2.2): a server that must, declines.
    assert choose("permessage-deflate", client_max_window_bits=15) == (DEFAULT, "permessage-deflate")
    assert choose("permessage-deflate", client_max_window_bits=10) is None
    assert choose("permessage-deflate, permessage-deflate; client_max_window_bits", client_max_window_bits=10) == (
        P(client_max_window_bits=10),
        "permessage-deflate; client_max_window_bits=10",
    )


@pytest.mark.parametrize(
    "bad",
    [
        # unknown parameters
        "permessage-deflate; foo",
        "permessage-deflate; foo=1",
        "permessage-deflate; max_window_bits=10",
        # duplicates, with equal or different values
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=11",
        "permessage-deflate; client_max_window_bits; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=10; client_max_window_bits",
        "permessage-deflate; Server_Max_Window_Bits=10; server_max_window_bits=10",
        # values where none belongs
        "permessage-deflate; server_no_context_takeover=1",
        'permessage-deflate; client_no_context_takeover=""',
        "permessage-deflate; client_no_context_takeover=true",
        # no value where one is needed (§7.1.2.1)
        "permessage-deflate; server_max_window_bits",
        # out of range, not decimal, leading zeros, signs, spaces inside quotes
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=0",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits=+10",
        "permessage-deflate; server_max_window_bits=-10",
        "permessage-deflate; server_max_window_bits=1e1",
        "permessage-deflate; server_max_window_bits=a",
        'permessage-deflate; server_max_window_bits=" 10"',
        'permessage-deflate; server_max_window_bits=""',
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=09",
        'permessage-deflate; client_max_window_bits="1 0"',
        "permessage-deflate; client_max_window_bits=１０",
        # syntax
        'permessage-deflate; client_max_window_bits="10',
        "permessage-deflate; =10",
        "permessage-deflate; client_max_window_bits=",
        # zlib has no 8-bit window to compress with
        "permessage-deflate; server_max_window_bits=8",
    ],
)
def test_choose_declines_a_bad_offer_and_takes_the_next(bad: str) -> None:
    assert choose(bad) is None
    good = "permessage-deflate; server_no_context_takeover"
    expected = (P(server_no_context_takeover=True), good)
    # The next offer in the same header, in a later header, after other
    # extensions: the first acceptable one wins.
    if bad.count('"') % 2 == 0:  # an unterminated quote swallows the rest of its line
        assert choose(f"{bad}, {good}") == expected
    assert choose(bad, good) == expected
    assert choose(bad, "x-foo", good, "permessage-deflate") == expected


def test_choose_quoted_values() -> None:
    # §7.1: the quoted-string form is allowed; its unescaped content must be
    # what the token form would be.
    assert choose('permessage-deflate; server_max_window_bits="10"') == (
        P(server_max_window_bits=10),
        "permessage-deflate; server_max_window_bits=10",
    )
    assert choose('permessage-deflate; client_max_window_bits="1\\2"') == (
        P(client_max_window_bits=12),
        "permessage-deflate; client_max_window_bits=12",
    )


def test_choose_case_and_whitespace() -> None:
    assert choose("  Permessage-Deflate ;\tSERVER_MAX_WINDOW_BITS = 12 ;client_max_window_bits  ") == (
        P(server_max_window_bits=12),
        "permessage-deflate; server_max_window_bits=12",
    )


def test_choose_first_acceptable_offer_wins() -> None:
    chosen = choose(
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits",
        "permessage-deflate; server_no_context_takeover",
    )
    assert chosen == (P(server_max_window_bits=10), "permessage-deflate; server_max_window_bits=10")


def test_choose_every_parameter_at_once() -> None:
    chosen = choose(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=9; client_max_window_bits=10"
    )
    assert chosen == (
        P(True, True, 9, 10),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=9; client_max_window_bits=10",
    )


def test_choose_rejects_bad_wishes() -> None:
    with pytest.raises(ValueError, match="server_max_window_bits"):
        choose("permessage-deflate", server_max_window_bits=8)
    with pytest.raises(ValueError, match="client_max_window_bits"):
        choose("permessage-deflate", client_max_window_bits=7)
    with pytest.raises(TypeError):
        choose("permessage-deflate", server_no_context_takeover="yes")
    with pytest.raises(TypeError):
        deflate_choose([b"permessage-deflate"])  # type: ignore[list-item]


def test_choose_response_goes_into_build_response() -> None:
    chosen = choose("permessage-deflate; client_max_window_bits", client_max_window_bits=12)
    assert chosen is not None
    response = parse_response(build_response("dGhlIHNhbXBsZSBub25jZQ==", extensions=chosen[1]))
    assert response.headers.get_all("Sec-WebSocket-Extensions") == ["permessage-deflate; client_max_window_bits=12"]
    assert deflate_check(response) == chosen[0]


# --------------------------------------------------------------------------
# the client's check


def test_check_declined() -> None:
    assert deflate_check(None) is None
    assert deflate_check([]) is None
    assert deflate_check(Headers([("Upgrade", "websocket")])) is None


def test_check_accepts_each_lawful_answer() -> None:
    assert deflate_check("permessage-deflate") == DEFAULT
    assert deflate_check("permessage-deflate; server_no_context_takeover") == P(server_no_context_takeover=True)
    # The server may impose client_no_context_takeover unasked (§7.1.1.2).
    assert deflate_check("permessage-deflate; client_no_context_takeover") == P(client_no_context_takeover=True)
    assert deflate_check("permessage-deflate", client_no_context_takeover=True) == P(client_no_context_takeover=True)
    for bits in range(8, 16):
        # The server's window may be anything; inflating copes even with 8.
        assert deflate_check(f"permessage-deflate; server_max_window_bits={bits}") == P(server_max_window_bits=bits)
    for bits in range(9, 16):
        assert deflate_check(f"permessage-deflate; client_max_window_bits={bits}") == P(client_max_window_bits=bits)
    assert deflate_check('permessage-deflate; client_max_window_bits="9"') == P(client_max_window_bits=9)


@pytest.mark.parametrize(
    "response, offer, fragment",
    [
        ("permessage-deflate; foo", {}, "unknown parameter 'foo'"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", {}, "server_no_context_takeover appears twice"),
        ("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", {}, "server_max_window_bits appears twice"),
        ("permessage-deflate; client_no_context_takeover=1", {}, "client_no_context_takeover takes no value"),
        ("permessage-deflate; server_max_window_bits", {}, "server_max_window_bits needs a value"),
        ("permessage-deflate; client_max_window_bits", {}, "client_max_window_bits needs a value"),
        ("permessage-deflate; server_max_window_bits=16", {}, "server_max_window_bits='16'"),
        ("permessage-deflate; server_max_window_bits=7", {}, "server_max_window_bits='7'"),
        ("permessage-deflate; client_max_window_bits=010", {}, "client_max_window_bits='010'"),
        ('permessage-deflate; client_max_window_bits="x"', {}, "client_max_window_bits='x'"),
        # client_max_window_bits only when offered (§7.1.2.2), not above the offer
        ("permessage-deflate; client_max_window_bits=10", {"client_max_window_bits": False}, "was not offered"),
        ("permessage-deflate; client_max_window_bits=12", {"client_max_window_bits": 11}, "exceeds the 11 offered"),
        ("permessage-deflate; client_max_window_bits=8", {}, "client_max_window_bits=8 is not supported"),
        # what was asked of the server must be answered (§7.1.1.1, §7.1.2.1)
        ("permessage-deflate", {"server_no_context_takeover": True}, "server_no_context_takeover was requested"),
        ("permessage-deflate", {"server_max_window_bits": 10}, "server_max_window_bits=10 was requested"),
        ("permessage-deflate; server_max_window_bits=11", {"server_max_window_bits": 10}, "exceeds the 10 requested"),
        # one extension, the one offered
        ("permessage-deflate, permessage-deflate", {}, "more than the one extension"),
        ("x-webkit-deflate-frame", {}, "'x-webkit-deflate-frame', which was not offered"),
        ("permessage-deflate; x=", {}, "malformed"),
    ],
)
def test_check_fails_a_bad_answer(response: str, offer: Any, fragment: str) -> None:
    with pytest.raises(HandshakeError) as info:
        deflate_check(response, **offer)
    assert fragment in str(info.value)
    assert info.value.header == "Sec-WebSocket-Extensions"


def test_check_two_header_lines_are_two_answers() -> None:
    with pytest.raises(HandshakeError, match="more than the one"):
        deflate_check(["permessage-deflate", "permessage-deflate"])


def test_check_within_the_offer() -> None:
    assert deflate_check(
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
        server_no_context_takeover=True,
        server_max_window_bits=10,
        client_max_window_bits=12,
    ) == P(True, False, 9, 10)
    # A value offered for the client's window binds even unanswered.
    assert deflate_check("permessage-deflate", client_max_window_bits=12) == P(client_max_window_bits=12)


def test_check_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        deflate_check("permessage-deflate", client_max_window_bits=8)
    with pytest.raises(ValueError):
        deflate_check("permessage-deflate", server_max_window_bits=16)
    with pytest.raises(TypeError):
        deflate_check("permessage-deflate", client_no_context_takeover=None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# round trips


_OFFERS = [
    dict(zip(("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"), combo))
    for combo in itertools.product([False, True], [False, True], [None, 8, 9, 12, 15], [True, False, 9, 12, 15])
]
_WISHES = [
    dict(zip(("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"), combo))
    for combo in itertools.product([False, True], [False, True], [9, 11, 15], [8, 10, 15])
]


@pytest.mark.parametrize("offer", _OFFERS, ids=str)
def test_offer_choose_check_agree(offer: Any) -> None:
    # Every offer this module builds, against every server wish: the server
    # either declines, or the client accepts its answer and both ends hold
    # the same parameters, within what each asked for.
    value = deflate_offer(**offer)
    for wish in _WISHES:
        chosen = deflate_choose(value, **wish)
        if chosen is None:
            # Only for the two reasons a server has to decline.
            assert offer["server_max_window_bits"] == 8 or (
                offer["client_max_window_bits"] is False and wish["client_max_window_bits"] < 15
            )
            continue
        params, response = chosen
        if params.client_max_window_bits == 8:
            with pytest.raises(HandshakeError):
                deflate_check(response, **offer)
            continue
        assert deflate_check(response, **offer) == params
        assert params.server_no_context_takeover == (offer["server_no_context_takeover"] or wish["server_no_context_takeover"])
        assert params.client_no_context_takeover == (offer["client_no_context_takeover"] or wish["client_no_context_takeover"])
        assert params.server_max_window_bits <= min(wish["server_max_window_bits"], offer["server_max_window_bits"] or 15)
        if not isinstance(offer["client_max_window_bits"], bool):
            assert params.client_max_window_bits <= offer["client_max_window_bits"]
        assert params.client_max_window_bits <= wish["client_max_window_bits"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet='permessage-deflate;=," \\\tclient_max_window_bits01589server_no_context_takeover', max_size=80), max_size=3))
def test_choose_and_check_never_crash(values: List[str]) -> None:
    # Whatever arrives: a result or None from the server, a result, None or
    # HandshakeError from the client, and a server answer the client takes.
    chosen = deflate_choose(values)
    if chosen is not None:
        params, response = chosen
        if params.client_max_window_bits >= 9:
            assert deflate_check(response, client_max_window_bits=True) == params
    try:
        deflate_check(values)
    except HandshakeError:
        pass


# --------------------------------------------------------------------------
# websockets' negotiation code as the other end


def _websockets() -> Any:
    return pytest.importorskip("websockets.extensions.permessage_deflate")


# websockets accepts server_max_window_bits=8 and compresses with 9 anyway;
# this module's server declines it (test_choose_declines_server_window_8).
@pytest.mark.parametrize("offer", [o for o in _OFFERS if o["server_max_window_bits"] != 8], ids=str)
def test_websockets_server_accepts_our_offer(offer: Any) -> None:
    pmd = _websockets()
    from websockets.headers import build_extension, parse_extension

    [(name, params)] = parse_extension(deflate_offer(**offer))
    factory = pmd.ServerPerMessageDeflateFactory(
        server_max_window_bits=None, client_max_window_bits=None
    )
    response_params, _ = factory.process_request_params(params, [])
    response = build_extension([(name, response_params)])
    assert deflate_check(response, **offer) is not None


@pytest.mark.parametrize("client_bits", [None, True, 10])
@pytest.mark.parametrize("server_bits", [None, 10])
@pytest.mark.parametrize("no_takeover", [False, True])
def test_websockets_client_accepts_our_answer(client_bits: Any, server_bits: Any, no_takeover: bool) -> None:
    pmd = _websockets()
    from websockets.headers import build_extension, parse_extension

    client = pmd.ClientPerMessageDeflateFactory(
        server_no_context_takeover=no_takeover,
        client_no_context_takeover=no_takeover,
        server_max_window_bits=server_bits,
        client_max_window_bits=client_bits,
    )
    offer = build_extension([(pmd.PerMessageDeflate.name, client.get_request_params())])
    chosen = deflate_choose(offer, client_max_window_bits=12 if client_bits else 15)
    assert chosen is not None
    params, response = chosen
    [(_, response_params)] = parse_extension(response)
    extension = client.process_response_params(response_params, [])
    assert extension.remote_no_context_takeover == params.server_no_context_takeover
    assert extension.local_no_context_takeover == params.client_no_context_takeover
    assert extension.remote_max_window_bits == params.server_max_window_bits
    assert extension.local_max_window_bits == params.client_max_window_bits
