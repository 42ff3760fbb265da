/* Strict incremental UTF-8 validation (RFC 3629, Unicode Table 3-7) for
 * text frames and close reasons (RFC 6455 section 8.1).
 *
 * Contract: the index returned for invalid input is the first byte that
 * cannot continue a valid sequence, exactly as a byte-at-a-time DFA reports
 * it, whatever kernel runs and however the stream is split into chunks.
 * The SIMD kernels therefore only decide pass/fail per block; when a block
 * fails, the scalar DFA rescans from the last code point boundary before it
 * and produces the position. A sequence left open at the end of a chunk is
 * not an error here: the caller checks the state at the end of the message.
 *
 * Kernels: a shift-based DFA with an ASCII fast path (scalar; also the
 * reference for positions), an SSE2 ASCII skip in front of that DFA (x86-64
 * baseline: pshufb needs SSSE3, which the dispatcher does not detect), and
 * the lookup algorithm of Keiser and Lemire, "Validating UTF-8 In Less Than
 * One Instruction Per Byte" (2021) on AVX2, AVX-512BW and NEON.
 */
#ifndef WSFAST_UTF8_H
#define WSFAST_UTF8_H

#include "cpu.h"

#if defined(WSFAST_HAVE_X86_SIMD)
#include <immintrin.h>
#elif defined(WSFAST_AARCH64)
#include <arm_neon.h>
#endif

/* DFA states are bit offsets into a 64-bit transition row (one row per byte
 * value, six bits per state): next = row[byte] >> state. One load and one
 * shift per byte, with no class lookup in between. */
#define WSFAST_UTF8_ACCEPT 0   /* at a code point boundary */
#define WSFAST_UTF8_REJECT 6   /* absorbing: every row maps it to itself */
#define WSFAST_UTF8_S1 12      /* one continuation byte 80..BF missing */
#define WSFAST_UTF8_S2 18      /* two continuation bytes missing */
#define WSFAST_UTF8_SE0 24     /* after E0: A0..BF (no overlong), then one */
#define WSFAST_UTF8_SED 30     /* after ED: 80..9F (no surrogate), then one */
#define WSFAST_UTF8_SF0 36     /* after F0: 90..BF (no overlong), then two */
#define WSFAST_UTF8_S3 42      /* after F1..F3: three */
#define WSFAST_UTF8_SF4 48     /* after F4: 80..8F (<= U+10FFFF), then two */

#define WSFAST_UTF8_ROW(a, s1, s2, e0, ed, f0, s3, f4)                        \
    (((uint64_t)(a) << WSFAST_UTF8_ACCEPT) |                                   \
     ((uint64_t)WSFAST_UTF8_REJECT << WSFAST_UTF8_REJECT) |                    \
     ((uint64_t)(s1) << WSFAST_UTF8_S1) | ((uint64_t)(s2) << WSFAST_UTF8_S2) | \
     ((uint64_t)(e0) << WSFAST_UTF8_SE0) | ((uint64_t)(ed) << WSFAST_UTF8_SED) | \
     ((uint64_t)(f0) << WSFAST_UTF8_SF0) | ((uint64_t)(s3) << WSFAST_UTF8_S3) | \
     ((uint64_t)(f4) << WSFAST_UTF8_SF4))

#define WSFAST_UTF8_R WSFAST_UTF8_REJECT
#define WSFAST_UTF8_LEAD(next) WSFAST_UTF8_ROW(next, WSFAST_UTF8_R, WSFAST_UTF8_R, \
    WSFAST_UTF8_R, WSFAST_UTF8_R, WSFAST_UTF8_R, WSFAST_UTF8_R, WSFAST_UTF8_R)
/* 00..7F */
#define WSFAST_UTF8_RASC WSFAST_UTF8_LEAD(WSFAST_UTF8_ACCEPT)
/* C0, C1, F5..FF: never valid */
#define WSFAST_UTF8_RBAD WSFAST_UTF8_LEAD(WSFAST_UTF8_R)
/* 80..8F, 90..9F, A0..BF: continuation bytes split where Table 3-7 splits */
#define WSFAST_UTF8_R80 WSFAST_UTF8_ROW(WSFAST_UTF8_R, WSFAST_UTF8_ACCEPT, WSFAST_UTF8_S1, \
    WSFAST_UTF8_R, WSFAST_UTF8_S1, WSFAST_UTF8_R, WSFAST_UTF8_S2, WSFAST_UTF8_S2)
#define WSFAST_UTF8_R90 WSFAST_UTF8_ROW(WSFAST_UTF8_R, WSFAST_UTF8_ACCEPT, WSFAST_UTF8_S1, \
    WSFAST_UTF8_R, WSFAST_UTF8_S1, WSFAST_UTF8_S2, WSFAST_UTF8_S2, WSFAST_UTF8_R)
#define WSFAST_UTF8_RA0 WSFAST_UTF8_ROW(WSFAST_UTF8_R, WSFAST_UTF8_ACCEPT, WSFAST_UTF8_S1, \
    WSFAST_UTF8_S1, WSFAST_UTF8_R, WSFAST_UTF8_S2, WSFAST_UTF8_S2, WSFAST_UTF8_R)

#define WSFAST_UTF8_X2(v) v, v
#define WSFAST_UTF8_X4(v) WSFAST_UTF8_X2(v), WSFAST_UTF8_X2(v)
#define WSFAST_UTF8_X8(v) WSFAST_UTF8_X4(v), WSFAST_UTF8_X4(v)
#define WSFAST_UTF8_X16(v) WSFAST_UTF8_X8(v), WSFAST_UTF8_X8(v)
#define WSFAST_UTF8_X32(v) WSFAST_UTF8_X16(v), WSFAST_UTF8_X16(v)
#define WSFAST_UTF8_X64(v) WSFAST_UTF8_X32(v), WSFAST_UTF8_X32(v)

static const uint64_t wsfast_utf8_dfa_rows[256] = {
    WSFAST_UTF8_X64(WSFAST_UTF8_RASC), WSFAST_UTF8_X64(WSFAST_UTF8_RASC), /* 00..7F */
    WSFAST_UTF8_X16(WSFAST_UTF8_R80),                                    /* 80..8F */
    WSFAST_UTF8_X16(WSFAST_UTF8_R90),                                    /* 90..9F */
    WSFAST_UTF8_X32(WSFAST_UTF8_RA0),                                    /* A0..BF */
    WSFAST_UTF8_X2(WSFAST_UTF8_RBAD),                                    /* C0..C1 */
    WSFAST_UTF8_X16(WSFAST_UTF8_LEAD(WSFAST_UTF8_S1)),                   /* C2..D1 */
    WSFAST_UTF8_X8(WSFAST_UTF8_LEAD(WSFAST_UTF8_S1)),                    /* D2..D9 */
    WSFAST_UTF8_X4(WSFAST_UTF8_LEAD(WSFAST_UTF8_S1)),                    /* DA..DD */
    WSFAST_UTF8_X2(WSFAST_UTF8_LEAD(WSFAST_UTF8_S1)),                    /* DE..DF */
    WSFAST_UTF8_LEAD(WSFAST_UTF8_SE0),                                   /* E0 */
    WSFAST_UTF8_X8(WSFAST_UTF8_LEAD(WSFAST_UTF8_S2)),                    /* E1..E8 */
    WSFAST_UTF8_X4(WSFAST_UTF8_LEAD(WSFAST_UTF8_S2)),                    /* E9..EC */
    WSFAST_UTF8_LEAD(WSFAST_UTF8_SED),                                   /* ED */
    WSFAST_UTF8_X2(WSFAST_UTF8_LEAD(WSFAST_UTF8_S2)),                    /* EE..EF */
    WSFAST_UTF8_LEAD(WSFAST_UTF8_SF0),                                   /* F0 */
    WSFAST_UTF8_X2(WSFAST_UTF8_LEAD(WSFAST_UTF8_S3)),                    /* F1..F2 */
    WSFAST_UTF8_LEAD(WSFAST_UTF8_S3),                                    /* F3 */
    WSFAST_UTF8_LEAD(WSFAST_UTF8_SF4),                                   /* F4 */
    WSFAST_UTF8_X8(WSFAST_UTF8_RBAD),                                    /* F5..FC */
    WSFAST_UTF8_X2(WSFAST_UTF8_RBAD), WSFAST_UTF8_RBAD                   /* FD..FF */
};

#undef WSFAST_UTF8_ROW
#undef WSFAST_UTF8_R
#undef WSFAST_UTF8_LEAD
#undef WSFAST_UTF8_RASC
#undef WSFAST_UTF8_RBAD
#undef WSFAST_UTF8_R80
#undef WSFAST_UTF8_R90
#undef WSFAST_UTF8_RA0
#undef WSFAST_UTF8_X2
#undef WSFAST_UTF8_X4
#undef WSFAST_UTF8_X8
#undef WSFAST_UTF8_X16
#undef WSFAST_UTF8_X32
#undef WSFAST_UTF8_X64

#define WSFAST_UTF8_HI8 0x8080808080808080ULL

/* One DFA step. The shift count is masked to six bits, which x86 and ARM
 * shifts do for free; the bits above the state are discarded at the end. */
#define WSFAST_UTF8_STEP(s, byte) ((s) = wsfast_utf8_dfa_rows[(byte)] >> ((s) & 63))

/* Runs the DFA over p[i..len) from *state. Returns the absolute index of the
 * first invalid byte (and leaves *state = REJECT), or -1 with the new state.
 * Reject is absorbing, so the state is tested once per 8 bytes and the
 * failing group is stepped again byte by byte only when it rejected. */
static inline ptrdiff_t wsfast_utf8_dfa(const unsigned char *p, size_t i, size_t len,
                                        uint32_t *state) {
    uint64_t s = *state;
    if (s == WSFAST_UTF8_REJECT) return i < len ? (ptrdiff_t)i : -1;
    while (i < len) {
        const unsigned char *q;
        uint64_t s0;
        size_t n, k;
        if (s == WSFAST_UTF8_ACCEPT) {
            while (len - i >= 16 &&
                   !((wsfast_load64(p + i) | wsfast_load64(p + i + 8)) & WSFAST_UTF8_HI8))
                i += 16;
            if (len - i >= 8 && !(wsfast_load64(p + i) & WSFAST_UTF8_HI8)) i += 8;
            if (i >= len) break;
        }
        q = p + i;
        n = len - i;
        s0 = s;
        if (n >= 8) {
            n = 8;
            WSFAST_UTF8_STEP(s, q[0]); WSFAST_UTF8_STEP(s, q[1]);
            WSFAST_UTF8_STEP(s, q[2]); WSFAST_UTF8_STEP(s, q[3]);
            WSFAST_UTF8_STEP(s, q[4]); WSFAST_UTF8_STEP(s, q[5]);
            WSFAST_UTF8_STEP(s, q[6]); WSFAST_UTF8_STEP(s, q[7]);
        } else {
            for (k = 0; k < n; k++) WSFAST_UTF8_STEP(s, q[k]);
        }
        s &= 63;
        if (s == WSFAST_UTF8_REJECT) {
            s = s0;
            for (k = 0; k + 1 < n; k++) {
                WSFAST_UTF8_STEP(s, q[k]);
                if ((s & 63) == WSFAST_UTF8_REJECT) break;
            }
            *state = WSFAST_UTF8_REJECT;
            return (ptrdiff_t)(i + k);
        }
        i += n;
    }
    *state = (uint32_t)s;
    return -1;
}

/* Steps the DFA from p[i] until the state returns to ACCEPT (at most three
 * bytes for a valid stream). Returns -2 with *pos at that boundary, or the
 * final result of the call when the chunk ended or a byte was rejected. */
static inline ptrdiff_t wsfast_utf8_resume(const unsigned char *p, size_t i, size_t len,
                                           uint32_t *state, size_t *pos) {
    uint64_t s = *state;
    if (s == WSFAST_UTF8_ACCEPT) { *pos = i; return -2; }
    if (s == WSFAST_UTF8_REJECT) return i < len ? (ptrdiff_t)i : -1;
    for (; i < len; i++) {
        s = (wsfast_utf8_dfa_rows[p[i]] >> s) & 63;
        if (s == WSFAST_UTF8_REJECT) { *state = WSFAST_UTF8_REJECT; return (ptrdiff_t)i; }
        if (s == WSFAST_UTF8_ACCEPT) { *state = WSFAST_UTF8_ACCEPT; *pos = i + 1; return -2; }
    }
    *state = (uint32_t)s;
    return -1;
}

/* Start of the code point that contains position b, or b itself if b starts
 * one. Requires p[s..b) to have passed the SIMD check from the boundary s:
 * then at most three continuation bytes precede b and the byte before them
 * is a lead or ASCII. A lead at b-1 counts even when it is C0/C1/F5..FF:
 * those are only caught by the check of the byte after them. */
static inline size_t wsfast_utf8_boundary(const unsigned char *p, size_t s, size_t b) {
    size_t j = b;
    while (j > s && b - j < 4 && (p[j - 1] & 0xC0) == 0x80) j--;
    if (j > s && p[j - 1] >= 0xC0) j--;
    return j;
}

/* Used by the SIMD kernels both when a block failed at or after b and at the
 * end of the chunk (b == len): the DFA rescans from the boundary before b,
 * giving the exact failure index or the exact final state. */
static inline ptrdiff_t wsfast_utf8_finish_from(const unsigned char *p, size_t s, size_t b,
                                                size_t len, uint32_t *state) {
    size_t j;
    if (b == len && (b == s || p[b - 1] < 0x80)) { /* the usual end: nothing open */
        *state = WSFAST_UTF8_ACCEPT;
        return -1;
    }
    j = wsfast_utf8_boundary(p, s, b);
    *state = WSFAST_UTF8_ACCEPT;
    return wsfast_utf8_dfa(p, j, len, state);
}

static ptrdiff_t wsfast_utf8_scalar(const unsigned char *p, size_t len, uint32_t *state) {
    return wsfast_utf8_dfa(p, 0, len, state);
}

/* Keiser-Lemire lookup tables. Each error class gets one bit; a byte pair
 * (prev1, cur) is invalid when the three nibble lookups share a bit.
 * TWO_CONTS (0x80) is not an error by itself: it must coincide exactly with
 * "this byte is the third or fourth of a sequence", checked separately. */
#define WSFAST_UTF8_TOO_SHORT 0x01  /* lead not followed by continuation */
#define WSFAST_UTF8_TOO_LONG 0x02   /* ASCII followed by continuation */
#define WSFAST_UTF8_OVERLONG_3 0x04 /* E0 80..9F */
#define WSFAST_UTF8_TOO_LARGE 0x08  /* F4 90..BF, F5.. 90..BF */
#define WSFAST_UTF8_SURROGATE 0x10  /* ED A0..BF */
#define WSFAST_UTF8_OVERLONG_2 0x20 /* C0/C1 continuation */
#define WSFAST_UTF8_TOO_LARGE_1000 0x40 /* F5.. 80..8F */
#define WSFAST_UTF8_OVERLONG_4 0x40 /* F0 80..8F */
#define WSFAST_UTF8_TWO_CONTS 0x80
#define WSFAST_UTF8_CARRY (WSFAST_UTF8_TOO_SHORT | WSFAST_UTF8_TOO_LONG | WSFAST_UTF8_TWO_CONTS)

#if defined(WSFAST_HAVE_X86_SIMD) || defined(WSFAST_AARCH64)
/* [0]: by high nibble of the previous byte, [1]: by its low nibble,
 * [2]: by high nibble of the current byte. */
static const unsigned char wsfast_utf8_lut[3][16] = {
    {WSFAST_UTF8_TOO_LONG, WSFAST_UTF8_TOO_LONG, WSFAST_UTF8_TOO_LONG, WSFAST_UTF8_TOO_LONG,
     WSFAST_UTF8_TOO_LONG, WSFAST_UTF8_TOO_LONG, WSFAST_UTF8_TOO_LONG, WSFAST_UTF8_TOO_LONG,
     WSFAST_UTF8_TWO_CONTS, WSFAST_UTF8_TWO_CONTS, WSFAST_UTF8_TWO_CONTS, WSFAST_UTF8_TWO_CONTS,
     WSFAST_UTF8_TOO_SHORT | WSFAST_UTF8_OVERLONG_2,
     WSFAST_UTF8_TOO_SHORT,
     WSFAST_UTF8_TOO_SHORT | WSFAST_UTF8_OVERLONG_3 | WSFAST_UTF8_SURROGATE,
     WSFAST_UTF8_TOO_SHORT | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000 |
         WSFAST_UTF8_OVERLONG_4},
    {WSFAST_UTF8_CARRY | WSFAST_UTF8_OVERLONG_3 | WSFAST_UTF8_OVERLONG_2 | WSFAST_UTF8_OVERLONG_4,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_OVERLONG_2,
     WSFAST_UTF8_CARRY, WSFAST_UTF8_CARRY,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000 | WSFAST_UTF8_SURROGATE,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000,
     WSFAST_UTF8_CARRY | WSFAST_UTF8_TOO_LARGE | WSFAST_UTF8_TOO_LARGE_1000},
    {WSFAST_UTF8_TOO_SHORT, WSFAST_UTF8_TOO_SHORT, WSFAST_UTF8_TOO_SHORT, WSFAST_UTF8_TOO_SHORT,
     WSFAST_UTF8_TOO_SHORT, WSFAST_UTF8_TOO_SHORT, WSFAST_UTF8_TOO_SHORT, WSFAST_UTF8_TOO_SHORT,
     WSFAST_UTF8_TOO_LONG | WSFAST_UTF8_OVERLONG_2 | WSFAST_UTF8_TWO_CONTS |
         WSFAST_UTF8_OVERLONG_3 | WSFAST_UTF8_TOO_LARGE_1000 | WSFAST_UTF8_OVERLONG_4,
     WSFAST_UTF8_TOO_LONG | WSFAST_UTF8_OVERLONG_2 | WSFAST_UTF8_TWO_CONTS |
         WSFAST_UTF8_OVERLONG_3 | WSFAST_UTF8_TOO_LARGE,
     WSFAST_UTF8_TOO_LONG | WSFAST_UTF8_OVERLONG_2 | WSFAST_UTF8_TWO_CONTS |
         WSFAST_UTF8_SURROGATE | WSFAST_UTF8_TOO_LARGE,
     WSFAST_UTF8_TOO_LONG | WSFAST_UTF8_OVERLONG_2 | WSFAST_UTF8_TWO_CONTS |
         WSFAST_UTF8_SURROGATE | WSFAST_UTF8_TOO_LARGE,
     WSFAST_UTF8_TOO_SHORT, WSFAST_UTF8_TOO_SHORT, WSFAST_UTF8_TOO_SHORT, WSFAST_UTF8_TOO_SHORT}};

/* A block ends inside a sequence when one of its last three bytes is a lead
 * needing more bytes than remain: saturating subtraction of these limits is
 * nonzero exactly there. The kernels use the last 32/64/16 bytes. */
static const unsigned char wsfast_utf8_incomplete_max[64] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xF0 - 1, 0xE0 - 1, 0xC0 - 1};

/* The final partial block of k < 16 bytes is read as the 16 bytes ending at
 * len (never past the end), then shuffled with indices taken from
 * (tail_shuf + 16 - k): the k real bytes move to the front and the rest
 * become zero. Copying to a stack buffer instead would cost a failed store
 * forward on every short call. iota gives lane numbers for masking off the
 * padding lanes. */
static const unsigned char wsfast_utf8_tail_shuf[32] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
static const unsigned char wsfast_utf8_iota[32] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
#endif

#undef WSFAST_UTF8_TOO_SHORT
#undef WSFAST_UTF8_TOO_LONG
#undef WSFAST_UTF8_OVERLONG_3
#undef WSFAST_UTF8_TOO_LARGE
#undef WSFAST_UTF8_SURROGATE
#undef WSFAST_UTF8_OVERLONG_2
#undef WSFAST_UTF8_TOO_LARGE_1000
#undef WSFAST_UTF8_OVERLONG_4
#undef WSFAST_UTF8_TWO_CONTS
#undef WSFAST_UTF8_CARRY

#if defined(WSFAST_HAVE_X86_SIMD)

#define WSFAST_UTF8_LD16(ptr) _mm_loadu_si128((const __m128i *)(const void *)(ptr))
#define WSFAST_UTF8_LD32(ptr) _mm256_loadu_si256((const __m256i *)(const void *)(ptr))

static inline unsigned wsfast_utf8_ctz32(uint32_t x) {
#if defined(WSFAST_MSVC_X86)
    unsigned long r;
    _BitScanForward(&r, x);
    return (unsigned)r;
#else
    return (unsigned)__builtin_ctz(x);
#endif
}

/* Level 1: SSE2 skips ASCII (64, then 16 bytes per step); the DFA handles
 * everything from the first non-ASCII byte of a 16-byte block. */
static ptrdiff_t wsfast_utf8_sse2(const unsigned char *p, size_t len, uint32_t *state) {
    size_t i = 0, end;
    ptrdiff_t r = wsfast_utf8_resume(p, 0, len, state, &i);
    if (r != -2) return r;
    for (;;) {
        unsigned m = 0;
        while (len - i >= 64) {
            const __m128i *q = (const __m128i *)(const void *)(p + i);
            __m128i v = _mm_or_si128(_mm_or_si128(_mm_loadu_si128(q), _mm_loadu_si128(q + 1)),
                                     _mm_or_si128(_mm_loadu_si128(q + 2), _mm_loadu_si128(q + 3)));
            if (_mm_movemask_epi8(v)) break;
            i += 64;
        }
        while (len - i >= 16) {
            m = (unsigned)_mm_movemask_epi8(WSFAST_UTF8_LD16(p + i));
            if (m) break;
            i += 16;
        }
        if (len - i < 16) return wsfast_utf8_dfa(p, i, len, state);
        i += wsfast_utf8_ctz32(m);
        if (len - i <= 32) return wsfast_utf8_dfa(p, i, len, state);
        end = i + 16;
        r = wsfast_utf8_dfa(p, i, end, state);
        if (r >= 0) return r;
        r = wsfast_utf8_resume(p, end, len, state, &i);
        if (r != -2) return r;
    }
}

/* ---- AVX2 ---- */

WSFAST_TARGET("avx2")
static inline __m256i wsfast_utf8_avx2_bcast(const unsigned char *t) {
    return _mm256_broadcastsi128_si256(WSFAST_UTF8_LD16(t));
}

/* Error bits for the 32 bytes of `in`, `prev` being the 32 bytes before. */
WSFAST_TARGET("avx2")
static inline __m256i wsfast_utf8_avx2_check(__m256i in, __m256i prev, __m256i t1, __m256i t2,
                                             __m256i t3) {
    const __m256i nib = _mm256_set1_epi8(0x0F);
    __m256i sh = _mm256_permute2x128_si256(prev, in, 0x21);
    __m256i p1 = _mm256_alignr_epi8(in, sh, 15);
    __m256i p2 = _mm256_alignr_epi8(in, sh, 14);
    __m256i p3 = _mm256_alignr_epi8(in, sh, 13);
    __m256i sc = _mm256_and_si256(
        _mm256_and_si256(
            _mm256_shuffle_epi8(t1, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib)),
            _mm256_shuffle_epi8(t2, _mm256_and_si256(p1, nib))),
        _mm256_shuffle_epi8(t3, _mm256_and_si256(_mm256_srli_epi16(in, 4), nib)));
    /* High bit set where the byte must be the 3rd (prev2 >= E0) or 4th
     * (prev3 >= F0) of a sequence; it must match TWO_CONTS exactly.
     * (-128 is the 0x80 byte without a truncating cast.) */
    __m256i must = _mm256_or_si256(_mm256_subs_epu8(p2, _mm256_set1_epi8(0xE0 - 0x80)),
                                   _mm256_subs_epu8(p3, _mm256_set1_epi8(0xF0 - 0x80)));
    must = _mm256_and_si256(must, _mm256_set1_epi8(-128));
    return _mm256_xor_si256(must, sc);
}

/* The same on 16 bytes, for short chunks: one lane-local pass has less
 * latency than the lane-crossing 256-bit version. */
WSFAST_TARGET("avx2")
static inline __m128i wsfast_utf8_avx2_check16(__m128i in, __m128i prev, __m256i t1, __m256i t2,
                                               __m256i t3) {
    const __m128i nib = _mm_set1_epi8(0x0F);
    __m128i p1 = _mm_alignr_epi8(in, prev, 15);
    __m128i p2 = _mm_alignr_epi8(in, prev, 14);
    __m128i p3 = _mm_alignr_epi8(in, prev, 13);
    __m128i sc = _mm_and_si128(
        _mm_and_si128(
            _mm_shuffle_epi8(_mm256_castsi256_si128(t1), _mm_and_si128(_mm_srli_epi16(p1, 4), nib)),
            _mm_shuffle_epi8(_mm256_castsi256_si128(t2), _mm_and_si128(p1, nib))),
        _mm_shuffle_epi8(_mm256_castsi256_si128(t3), _mm_and_si128(_mm_srli_epi16(in, 4), nib)));
    __m128i must = _mm_or_si128(_mm_subs_epu8(p2, _mm_set1_epi8(0xE0 - 0x80)),
                                _mm_subs_epu8(p3, _mm_set1_epi8(0xF0 - 0x80)));
    must = _mm_and_si128(must, _mm_set1_epi8(-128));
    return _mm_xor_si128(must, sc);
}

/* Every exit from vector code goes through here: compilers do not reliably
 * emit vzeroupper before a tail call into the scalar code, and a dirty upper
 * state slows down the SSE code of the caller on Intel CPUs. */
WSFAST_TARGET("avx2")
static inline ptrdiff_t wsfast_utf8_avx2_leave(const unsigned char *p, size_t s, size_t b,
                                               size_t len, uint32_t *state) {
    _mm256_zeroupper();
    return wsfast_utf8_finish_from(p, s, b, len, state);
}

/* Validates p[s..len) where s is a code point boundary with state ACCEPT. */
WSFAST_TARGET("avx2")
static inline ptrdiff_t wsfast_utf8_avx2_run(const unsigned char *p, size_t s, size_t len,
                                             uint32_t *state) {
    size_t i = s;
    /* the partial last block is read as the 16 bytes ending at len */
    if (len < 16) return wsfast_utf8_dfa(p, i, len, state);
    {
        const __m256i t1 = wsfast_utf8_avx2_bcast(wsfast_utf8_lut[0]);
        const __m256i t2 = wsfast_utf8_avx2_bcast(wsfast_utf8_lut[1]);
        const __m256i t3 = wsfast_utf8_avx2_bcast(wsfast_utf8_lut[2]);
        const __m256i maxv = WSFAST_UTF8_LD32(wsfast_utf8_incomplete_max + 32);
        __m256i prev = _mm256_setzero_si256();
        __m256i pinc = _mm256_setzero_si256();
        __m256i err;
        while (len - i >= 64) {
            __m256i a = WSFAST_UTF8_LD32(p + i);
            __m256i b = WSFAST_UTF8_LD32(p + i + 32);
            if (!_mm256_movemask_epi8(_mm256_or_si256(a, b))) {
                /* an ASCII block is wrong only if a sequence was left open */
                err = pinc;
                pinc = _mm256_setzero_si256();
            } else {
                err = _mm256_or_si256(wsfast_utf8_avx2_check(a, prev, t1, t2, t3),
                                      wsfast_utf8_avx2_check(b, a, t1, t2, t3));
                pinc = _mm256_subs_epu8(b, maxv);
            }
            prev = b;
            if (!_mm256_testz_si256(err, err)) return wsfast_utf8_avx2_leave(p, s, i, len, state);
            i += 64;
        }
        if (len - i >= 32) {
            __m256i a = WSFAST_UTF8_LD32(p + i);
            if (!_mm256_movemask_epi8(a)) {
                err = pinc;
                pinc = _mm256_setzero_si256();
            } else {
                err = wsfast_utf8_avx2_check(a, prev, t1, t2, t3);
                pinc = _mm256_subs_epu8(a, maxv);
            }
            prev = a;
            if (!_mm256_testz_si256(err, err)) return wsfast_utf8_avx2_leave(p, s, i, len, state);
            i += 32;
        }
        if (i < len) {
            /* 1..31 bytes left. The zero padding would flag a sequence that is
             * merely cut by the end of the chunk, so only real lanes count;
             * pinc is nonzero only in the top three lanes, i.e. the high half. */
            size_t n = len - i;
            if (n <= 16) {
                __m128i a = _mm_shuffle_epi8(WSFAST_UTF8_LD16(p + len - 16),
                                             WSFAST_UTF8_LD16(wsfast_utf8_tail_shuf + 16 - n));
                __m128i e;
                if (!_mm_movemask_epi8(a)) {
                    e = _mm256_extracti128_si256(pinc, 1);
                } else {
                    __m128i valid =
                        _mm_cmpgt_epi8(_mm_set1_epi8((char)n), WSFAST_UTF8_LD16(wsfast_utf8_iota));
                    e = wsfast_utf8_avx2_check16(a, _mm256_extracti128_si256(prev, 1), t1, t2, t3);
                    e = _mm_and_si128(e, valid);
                }
                if (!_mm_testz_si128(e, e)) return wsfast_utf8_avx2_leave(p, s, i, len, state);
            } else {
                __m128i lo = WSFAST_UTF8_LD16(p + i);
                __m128i hi = _mm_shuffle_epi8(WSFAST_UTF8_LD16(p + len - 16),
                                              WSFAST_UTF8_LD16(wsfast_utf8_tail_shuf + 32 - n));
                __m256i a = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
                if (!_mm256_movemask_epi8(a)) {
                    err = pinc;
                } else {
                    __m256i valid = _mm256_cmpgt_epi8(_mm256_set1_epi8((char)n),
                                                      WSFAST_UTF8_LD32(wsfast_utf8_iota));
                    err = _mm256_and_si256(wsfast_utf8_avx2_check(a, prev, t1, t2, t3), valid);
                }
                if (!_mm256_testz_si256(err, err))
                    return wsfast_utf8_avx2_leave(p, s, i, len, state);
            }
        }
        return wsfast_utf8_avx2_leave(p, s, len, len, state);
    }
}

WSFAST_TARGET("avx2")
static ptrdiff_t wsfast_utf8_avx2(const unsigned char *p, size_t len, uint32_t *state) {
    size_t i = 0;
    ptrdiff_t r = wsfast_utf8_resume(p, 0, len, state, &i);
    if (r != -2) return r;
    return wsfast_utf8_avx2_run(p, i, len, state);
}

/* ---- AVX-512 (F + BW) ---- */

WSFAST_TARGET("avx512f,avx512bw")
static inline __m512i wsfast_utf8_avx512_bcast(const unsigned char *t) {
    return _mm512_broadcast_i32x4(WSFAST_UTF8_LD16(t));
}

WSFAST_TARGET("avx512f,avx512bw")
static inline __m512i wsfast_utf8_avx512_check(__m512i in, __m512i prev, __m512i t1, __m512i t2,
                                               __m512i t3) {
    const __m512i nib = _mm512_set1_epi8(0x0F);
    /* [last 16 bytes of prev, first 48 of in]; alignr works per 128-bit lane */
    const __m512i rot = _mm512_setr_epi32(28, 29, 30, 31, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    __m512i sh = _mm512_permutex2var_epi32(in, rot, prev);
    __m512i p1 = _mm512_alignr_epi8(in, sh, 15);
    __m512i p2 = _mm512_alignr_epi8(in, sh, 14);
    __m512i p3 = _mm512_alignr_epi8(in, sh, 13);
    __m512i sc = _mm512_and_si512(
        _mm512_and_si512(
            _mm512_shuffle_epi8(t1, _mm512_and_si512(_mm512_srli_epi16(p1, 4), nib)),
            _mm512_shuffle_epi8(t2, _mm512_and_si512(p1, nib))),
        _mm512_shuffle_epi8(t3, _mm512_and_si512(_mm512_srli_epi16(in, 4), nib)));
    __m512i must = _mm512_or_si512(_mm512_subs_epu8(p2, _mm512_set1_epi8(0xE0 - 0x80)),
                                   _mm512_subs_epu8(p3, _mm512_set1_epi8(0xF0 - 0x80)));
    must = _mm512_and_si512(must, _mm512_set1_epi8(-128));
    return _mm512_xor_si512(must, sc);
}

WSFAST_TARGET("avx512f,avx512bw")
static ptrdiff_t wsfast_utf8_avx512(const unsigned char *p, size_t len, uint32_t *state) {
    size_t i = 0, s;
    ptrdiff_t r = wsfast_utf8_resume(p, 0, len, state, &i);
    if (r != -2) return r;
    s = i;
    /* AVX-512 implies AVX2 (cpu.h); below one block its set-up does not pay */
    if (len - s < 64) return wsfast_utf8_avx2_run(p, s, len, state);
    {
        const __m512i t1 = wsfast_utf8_avx512_bcast(wsfast_utf8_lut[0]);
        const __m512i t2 = wsfast_utf8_avx512_bcast(wsfast_utf8_lut[1]);
        const __m512i t3 = wsfast_utf8_avx512_bcast(wsfast_utf8_lut[2]);
        const __m512i maxv = _mm512_loadu_si512((const void *)wsfast_utf8_incomplete_max);
        __m512i prev = _mm512_setzero_si512();
        __m512i pinc = _mm512_setzero_si512();
        while (len - i >= 128) {
            __m512i a = _mm512_loadu_si512((const void *)(p + i));
            __m512i b = _mm512_loadu_si512((const void *)(p + i + 64));
            __m512i err;
            if (!_mm512_movepi8_mask(_mm512_or_si512(a, b))) {
                err = pinc;
                pinc = _mm512_setzero_si512();
            } else {
                err = _mm512_or_si512(wsfast_utf8_avx512_check(a, prev, t1, t2, t3),
                                      wsfast_utf8_avx512_check(b, a, t1, t2, t3));
                pinc = _mm512_subs_epu8(b, maxv);
            }
            prev = b;
            if (_mm512_test_epi8_mask(err, err)) return wsfast_utf8_avx2_leave(p, s, i, len, state);
            i += 128;
        }
        while (i < len) {
            /* masked loads fault-suppress the lanes past the end */
            size_t n = len - i;
            __mmask64 m = n >= 64 ? (__mmask64)~(uint64_t)0 : (__mmask64)(((uint64_t)1 << n) - 1);
            __m512i a = _mm512_maskz_loadu_epi8(m, (const void *)(p + i));
            int bad;
            if (!_mm512_movepi8_mask(a)) {
                bad = _mm512_test_epi8_mask(pinc, pinc) != 0;
                pinc = _mm512_setzero_si512();
            } else {
                __m512i err = wsfast_utf8_avx512_check(a, prev, t1, t2, t3);
                bad = _mm512_mask_test_epi8_mask(m, err, err) != 0;
                pinc = _mm512_subs_epu8(a, maxv);
            }
            if (bad) return wsfast_utf8_avx2_leave(p, s, i, len, state);
            prev = a;
            i += n >= 64 ? 64 : n;
        }
    }
    return wsfast_utf8_avx2_leave(p, s, len, len, state);
}

#endif /* WSFAST_HAVE_X86_SIMD */

#if defined(WSFAST_AARCH64)

static inline uint8x16_t wsfast_utf8_neon_check(uint8x16_t in, uint8x16_t prev, uint8x16_t t1,
                                                uint8x16_t t2, uint8x16_t t3) {
    uint8x16_t p1 = vextq_u8(prev, in, 15);
    uint8x16_t p2 = vextq_u8(prev, in, 14);
    uint8x16_t p3 = vextq_u8(prev, in, 13);
    uint8x16_t sc = vandq_u8(vandq_u8(vqtbl1q_u8(t1, vshrq_n_u8(p1, 4)),
                                      vqtbl1q_u8(t2, vandq_u8(p1, vdupq_n_u8(0x0F)))),
                             vqtbl1q_u8(t3, vshrq_n_u8(in, 4)));
    uint8x16_t must = vorrq_u8(vqsubq_u8(p2, vdupq_n_u8(0xE0 - 0x80)),
                               vqsubq_u8(p3, vdupq_n_u8(0xF0 - 0x80)));
    must = vandq_u8(must, vdupq_n_u8(0x80));
    return veorq_u8(must, sc);
}

static ptrdiff_t wsfast_utf8_neon(const unsigned char *p, size_t len, uint32_t *state) {
    size_t i = 0, s;
    ptrdiff_t r = wsfast_utf8_resume(p, 0, len, state, &i);
    if (r != -2) return r;
    s = i;
    if (len < 16) return wsfast_utf8_dfa(p, i, len, state);
    {
        const uint8x16_t t1 = vld1q_u8(wsfast_utf8_lut[0]);
        const uint8x16_t t2 = vld1q_u8(wsfast_utf8_lut[1]);
        const uint8x16_t t3 = vld1q_u8(wsfast_utf8_lut[2]);
        const uint8x16_t maxv = vld1q_u8(wsfast_utf8_incomplete_max + 48);
        uint8x16_t prev = vdupq_n_u8(0), pinc = vdupq_n_u8(0), err;
        while (len - i >= 64) {
            uint8x16_t a = vld1q_u8(p + i), b = vld1q_u8(p + i + 16);
            uint8x16_t c = vld1q_u8(p + i + 32), d = vld1q_u8(p + i + 48);
            if (vmaxvq_u8(vorrq_u8(vorrq_u8(a, b), vorrq_u8(c, d))) < 0x80) {
                err = pinc;
                pinc = vdupq_n_u8(0);
            } else {
                err = vorrq_u8(vorrq_u8(wsfast_utf8_neon_check(a, prev, t1, t2, t3),
                                        wsfast_utf8_neon_check(b, a, t1, t2, t3)),
                               vorrq_u8(wsfast_utf8_neon_check(c, b, t1, t2, t3),
                                        wsfast_utf8_neon_check(d, c, t1, t2, t3)));
                pinc = vqsubq_u8(d, maxv);
            }
            prev = d;
            if (vmaxvq_u8(err)) return wsfast_utf8_finish_from(p, s, i, len, state);
            i += 64;
        }
        while (i < len) {
            size_t n = len - i;
            uint8x16_t a;
            if (n >= 16) {
                a = vld1q_u8(p + i);
            } else {
                /* len >= 16: the 16 bytes ending at len are in bounds */
                a = vqtbl1q_u8(vld1q_u8(p + len - 16), vld1q_u8(wsfast_utf8_tail_shuf + 16 - n));
            }
            if (vmaxvq_u8(a) < 0x80) {
                err = pinc;
                pinc = vdupq_n_u8(0);
            } else {
                err = wsfast_utf8_neon_check(a, prev, t1, t2, t3);
                /* lanes past the end are padding, as in the AVX2 kernel */
                if (n < 16)
                    err = vandq_u8(err, vcltq_u8(vld1q_u8(wsfast_utf8_iota), vdupq_n_u8((uint8_t)n)));
                pinc = vqsubq_u8(a, maxv);
            }
            prev = a;
            if (vmaxvq_u8(err)) return wsfast_utf8_finish_from(p, s, i, len, state);
            i += n >= 16 ? 16 : n;
        }
    }
    return wsfast_utf8_finish_from(p, s, len, len, state);
}

#endif /* WSFAST_AARCH64 */

/* ---- dispatch ---- */

typedef ptrdiff_t (*wsfast_utf8_fn)(const unsigned char *, size_t, uint32_t *);

static ptrdiff_t wsfast_utf8_resolve(const unsigned char *p, size_t len, uint32_t *state);

static wsfast_utf8_fn wsfast_utf8_impl = wsfast_utf8_resolve;
static const char *wsfast_utf8_impl_name = "scalar";

/* Picks the best kernel at or below the capped level; returns the level of
 * the kernel chosen. Safe to call again at any time. */
static inline int wsfast_utf8_select(int max_level) {
    int level = wsfast_effective_level(max_level);
    int chosen = WSFAST_LEVEL_SCALAR;
    wsfast_utf8_fn fn = wsfast_utf8_scalar;
    const char *name = "scalar";
#if defined(WSFAST_HAVE_X86_SIMD)
    if (level >= WSFAST_LEVEL_AVX512) {
        fn = wsfast_utf8_avx512; name = "avx512"; chosen = WSFAST_LEVEL_AVX512;
    } else if (level >= WSFAST_LEVEL_AVX2) {
        fn = wsfast_utf8_avx2; name = "avx2"; chosen = WSFAST_LEVEL_AVX2;
    } else if (level >= WSFAST_LEVEL_SSE2) {
        fn = wsfast_utf8_sse2; name = "sse2"; chosen = WSFAST_LEVEL_SSE2;
    }
#elif defined(WSFAST_AARCH64)
    if (level >= WSFAST_LEVEL_SSE2) {
        fn = wsfast_utf8_neon; name = "neon"; chosen = WSFAST_LEVEL_SSE2;
    }
#else
    (void)level;
#endif
    /* Atomic (see cpu.h): other threads may be validating meanwhile. */
    WSFAST_ATOMIC_STORE(wsfast_utf8_impl_name, name);
    WSFAST_ATOMIC_STORE(wsfast_utf8_impl, fn);
    return chosen;
}

static ptrdiff_t wsfast_utf8_resolve(const unsigned char *p, size_t len, uint32_t *state) {
    wsfast_utf8_select(-1);
    return WSFAST_ATOMIC_LOAD(wsfast_utf8_impl)(p, len, state);
}

static inline const char *wsfast_utf8_kernel(void) {
    if (WSFAST_ATOMIC_LOAD(wsfast_utf8_impl) == wsfast_utf8_resolve) wsfast_utf8_select(-1);
    return WSFAST_ATOMIC_LOAD(wsfast_utf8_impl_name);
}

/* Validate len bytes continuing from *state (ACCEPT at the start of a
 * stream). Returns -1 when no byte was invalid, with *state updated (ACCEPT
 * if the chunk ended on a code point boundary). Otherwise returns the index
 * of the first invalid byte and sets *state to WSFAST_UTF8_REJECT; a
 * rejected state makes every later non-empty chunk fail at index 0. */
static inline ptrdiff_t wsfast_utf8_validate(const unsigned char *p, size_t len, uint32_t *state) {
    /* Short ASCII chunks (close reasons, small chat/JSON frames) are common
     * enough to answer here with overlapping word loads, before the
     * indirect call and the kernels' vector set-up. */
    if (len <= 32 && *state == WSFAST_UTF8_ACCEPT) {
        uint64_t w;
        if (len >= 16)
            w = wsfast_load64(p) | wsfast_load64(p + 8) | wsfast_load64(p + len - 16) |
                wsfast_load64(p + len - 8);
        else if (len >= 8)
            w = wsfast_load64(p) | wsfast_load64(p + len - 8);
        else if (len >= 4)
            w = wsfast_load32(p) | wsfast_load32(p + len - 4);
        else
            w = len ? (uint64_t)(p[0] | p[len >> 1] | p[len - 1]) : 0;
        if (!(w & WSFAST_UTF8_HI8)) return -1;
    }
    return WSFAST_ATOMIC_LOAD(wsfast_utf8_impl)(p, len, state);
}

#endif /* WSFAST_UTF8_H */
