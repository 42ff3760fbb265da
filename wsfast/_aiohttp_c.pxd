# Types for compiling _aiohttp_py.py as wsfast._aiohttp_c (setup.py builds
# the extension from that same file). The C types of the fields and counters
# are aiohttp's own (aiohttp/_websocket/reader_c.pxd), so that limits and
# sizes overflow, or not, exactly where they do in aiohttp's compiled reader.

import cython

from wsfast._mask_c cimport build_frame, frame_header, mask_bytearray, unmask_slice
from wsfast._utf8_c cimport decode_utf8

cdef object TooManyMembersError, ZLibDecompressor, _EXC_SENTINEL, _set_exception
cdef object ws_logger, EofStream, UNPACK_CLOSE_CODE, UNPACK_LEN3
cdef object WS_DEFLATE_TRAILING, WebSocketError, WSCloseCode, WSMessage
cdef object WSMessageTextBytes, WSMsgType, ClientConnectionResetError
cdef object MASK_LEN, MSG_SIZE, PACK_LEN1, PACK_RANDBITS
cdef object _Writer, _write_frame_aiohttp

cdef set ALLOWED_CLOSE_CODES

cdef unsigned int READ_HEADER, READ_PAYLOAD_LENGTH, READ_PAYLOAD_MASK, READ_PAYLOAD
cdef unsigned long long MAX_PAYLOAD_LEN

cdef object WS_MSG_TYPE_BINARY, WS_MSG_TYPE_TEXT, WS_MSG_TYPE_CLOSE
cdef object WS_MSG_TYPE_PING, WS_MSG_TYPE_PONG

cdef int OP_CODE_NOT_SET, OP_CODE_CONTINUATION, OP_CODE_TEXT, OP_CODE_BINARY
cdef int OP_CODE_CLOSE, OP_CODE_PING, OP_CODE_PONG

cdef tuple EMPTY_FRAME_ERROR, EMPTY_FRAME
cdef int COMPRESSED_NOT_SET, COMPRESSED_FALSE, COMPRESSED_TRUE
cdef object TUPLE_NEW
cdef unsigned int MSG_SIZE_OVERHEAD
cdef str STALLED_READER_COLLECTED


cpdef void websocket_mask(bytes mask, bytearray data) except *

@cython.locals(msg_length=Py_ssize_t, first_byte=int, header_len=Py_ssize_t)
cpdef void write_websocket_frame(object self, object message, int opcode, int rsv) except *

cdef object _foreign_self(str method, str owner, object obj)
cdef object _message(object kind, object data, object extra)
cdef object _text_bytes(bytes data)


cdef class WebSocketDataQueue:
    cdef readonly unsigned int _size
    cdef public object _protocol
    cdef readonly unsigned int _limit
    cdef object _loop
    cdef bint _eof
    cdef object _waiter
    cdef object _exception
    cdef public object _buffer
    cdef object _get_buffer
    cdef object _put_buffer
    cdef public object _stalled_reader

    cdef void _release_waiter(self)
    cpdef void feed_data(self, object data, unsigned int size)

    @cython.locals(size="unsigned int")
    cdef _read_from_buffer(self)


cdef class WebSocketReader:
    cdef object __weakref__
    cdef object _weak_self

    cdef public object queue
    cdef WebSocketDataQueue _own_queue
    cdef unsigned int _max_msg_size
    cdef bint _decode_text

    cdef Exception _exc
    cdef bytearray _partial
    cdef unsigned int _state

    cdef int _opcode
    cdef bint _frame_fin
    cdef int _frame_opcode
    cdef list _payload_fragments
    cdef bytearray _payload_buffer
    cdef Py_ssize_t _max_fragments
    cdef Py_ssize_t _frame_payload_len

    cdef bytes _tail
    cdef bint _has_mask
    cdef bytes _frame_mask
    cdef Py_ssize_t _payload_bytes_to_read
    cdef unsigned int _payload_len_flag
    cdef int _compressed
    cdef object _decompressobj
    cdef bint _compress

    cpdef tuple feed_data(self, object data)

    cdef void _put(self, object msg, unsigned int size) except *

    @cython.locals(has_partial=bint, payload_merged=bytes, text=object)
    cpdef void _handle_frame(self, bint fin, int opcode, object payload, int compressed) except *

    cdef void _invalid_text(self, bytes payload) except *

    cdef bytes _inflate(self, object assembled)

    cdef bint _queue_over_limit(self) except -1

    @cython.locals(
        start_pos=Py_ssize_t,
        data_len=Py_ssize_t,
        chunk_len=Py_ssize_t,
        data_cstr="const unsigned char *",
        first_byte="unsigned char",
        second_byte="unsigned char",
        fin=int,
        rsv1=int,
        rsv2=int,
        rsv3=int,
        opcode=int,
        has_mask=int,
        length=int,
        len_flag="unsigned int",
        f_start_pos=Py_ssize_t,
        f_end_pos=Py_ssize_t,
        had_fragments=Py_ssize_t,
        partial_len=Py_ssize_t,
        frame_len="unsigned long long",
        mask_pos=Py_ssize_t,
        payload=bytes,
        joined=bytes,
    )
    cpdef void _feed_data(self, bytes data) except *
