# Types for compiling _codec_py.py as wsfast._codec_c (setup.py builds the
# extension from that same file). Everything declared here must keep the
# name it has there.

import cython

from wsfast._mask_c cimport GrowBuffer, build_frame, build_masked_frame, new_buffer, unmask_slice
from wsfast._objects_c cimport untracked
from wsfast._utf8_c cimport decode_utf8, utf8_feed

cdef object InvalidUTF8, MessageTooBig, ProtocolError, Opcode, as_bytes, PerMessageDeflate
cdef tuple OPCODES
cdef bytes _EMPTY, _SYNC_TAIL
cdef Py_ssize_t _INFLATE_STEP, _INFLATE_WHOLE
cdef long long _RESERVE_MAX
cdef long long MAX_WIRE_LENGTH

cdef int OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG
cdef int RSV1, RSV2, RSV3
cdef int _STATE_HEADER, _STATE_PAYLOAD


@cython.freelist(64)
cdef class Frame:
    cdef public bint fin, rsv1, rsv2, rsv3
    cdef public object opcode
    cdef public bytes payload


@cython.freelist(64)
cdef class Message:
    cdef public object opcode
    cdef public object data


@cython.freelist(16)
cdef class Ping:
    cdef public bytes payload


@cython.freelist(16)
cdef class Pong:
    cdef public bytes payload


cdef class Close:
    cdef public object code
    cdef public str reason


cdef Frame _new_frame(bint fin, int rsv, int opcode, bytes payload)
cdef Message _new_message(int opcode, object data)
cdef bint _close_code_valid(long code)
cdef long long _check_limit(object limit, str what) except -2

@cython.locals(first=int, data=bytes, key=bytes)
cdef bytes _encode(int opcode, object payload, bint fin, bint rsv1, object mask)


cdef class _FrameReader:
    cdef bint _client
    cdef long long _max_frame
    cdef int _rsv_allowed
    cdef bint _strict
    cdef object _error
    cdef list _events
    cdef bytes _tail
    cdef int _state
    cdef bint _in_message
    cdef bint _fin
    cdef int _rsv
    cdef int _opcode
    cdef bint _masked
    cdef bytes _key
    cdef long long _remaining
    cdef long long _received

    cdef void _on_header(self, bint fin, int rsv, int opcode, long long length) except *
    cdef void _on_frame(self, bint fin, int rsv, int opcode, bytes payload) except *
    cdef void _on_payload_start(self, int opcode, long long length) except *
    cdef void _on_piece(self, int opcode, bytes data, Py_ssize_t start, Py_ssize_t end, long long phase, bint last) except *

    cpdef list feed(self, object data)

    @cython.locals(opcode=int, rsv=int)
    cdef void _check_first(self, int first) except *
    cdef void _check_second(self, int second) except *

    @cython.locals(
        pos=Py_ssize_t,
        n=Py_ssize_t,
        p="const unsigned char *",
        first=int,
        second=int,
        opcode=int,
        length="long long",
        head=Py_ssize_t,
        masked=int,
        start=Py_ssize_t,
        end=Py_ssize_t,
        fin=bint,
        buf=bytes,
        payload=bytes,
    )
    cdef void _parse(self, bytes data) except *

    cdef Py_ssize_t _continue_payload(self, bytes data) except -1

    @cython.locals(n=Py_ssize_t, take="long long", end=Py_ssize_t, phase="long long", last=bint)
    cdef Py_ssize_t _continue_payload_from(self, bytes data, Py_ssize_t start) except -1
    cdef bytes _piece(self, bytes data, Py_ssize_t start, Py_ssize_t end, long long phase)
    cdef void _reserve(self, GrowBuffer buf, long long limit, long long length) except *


cdef class FrameParser(_FrameReader):
    cdef GrowBuffer _buf

    cdef void _on_frame(self, bint fin, int rsv, int opcode, bytes payload) except *
    cdef void _on_payload_start(self, int opcode, long long length) except *
    @cython.locals(buf=GrowBuffer, payload=bytes)
    cdef void _on_piece(self, int opcode, bytes data, Py_ssize_t start, Py_ssize_t end, long long phase, bint last) except *


cdef class MessageReader(_FrameReader):
    cdef long long _max_message
    cdef int _message_opcode
    cdef long long _message_size
    cdef GrowBuffer _buf
    cdef GrowBuffer _control
    cdef Py_ssize_t _utf8_state
    cdef object _deflate
    cdef bint _compressed
    cdef bint _inflate_reset
    cdef object _inflate_errors

    cdef void _on_header(self, bint fin, int rsv, int opcode, long long length) except *
    cdef void _on_frame(self, bint fin, int rsv, int opcode, bytes payload) except *
    cdef void _on_payload_start(self, int opcode, long long length) except *
    @cython.locals(key=bytes, control=GrowBuffer, buf=GrowBuffer, size=Py_ssize_t, final=bint)
    cdef void _on_piece(self, int opcode, bytes data, Py_ssize_t start, Py_ssize_t end, long long phase, bint last) except *

    @cython.locals(buf=GrowBuffer, text=object)
    cdef void _data_piece(self, bytes piece, bint final) except *
    @cython.locals(state=Py_ssize_t)
    cdef void _check_text(self, Py_ssize_t start) except *
    @cython.locals(buf=GrowBuffer, text=object)
    cdef void _finish_message(self) except *
    cdef void _control_event(self, int opcode, bytes payload) except *
    @cython.locals(room="long long", cap="long long", n=Py_ssize_t, out=bytes, rest=bytes, text=object)
    cdef void _inflate_whole(self, bytes payload) except *
    cdef void _inflate_piece(self, bytes piece, bint final) except *
    @cython.locals(room="long long", step="long long", n=Py_ssize_t, chunk=bytes)
    cdef void _inflate_drain(self) except *
