/* Decoding of UTF-8 that the validator (utf8.h) has already accepted into a
 * str object in CPython's canonical representation.
 *
 * PyUnicode_DecodeUTF8 must check as it goes and widens its buffer every
 * time a larger code point turns up. Valid input allows two cheap passes
 * instead: a vector pass finds the largest byte and counts the code points
 * (every byte that is not a continuation 80..BF starts one), which fixes the
 * kind and length, so the object is allocated once at its final size; a
 * second pass computes, at every byte position, the code point that would
 * start there and packs the values at lead positions into the output, the
 * way simdutf's transcoders do. The largest byte is enough to know the kind:
 * continuation bytes never exceed BF, a lead >= C4 encodes a code point
 * above U+00FF and a lead >= F0 one above U+FFFF.
 *
 * Nothing is read beyond p+n: AVX-512 uses masked loads and stores, the
 * other kernels finish with scalar code or with blocks that end at n.
 */
#ifndef WSFAST_UTF8_DECODE_H
#define WSFAST_UTF8_DECODE_H

#include <Python.h>
#include "cpu.h"

#if defined(WSFAST_HAVE_X86_SIMD)
#include <immintrin.h>
#elif defined(WSFAST_AARCH64)
#include <arm_neon.h>
#endif

#define WSFAST_DEC_HI8 0x8080808080808080ULL

static inline unsigned wsfast_dec_popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

static inline unsigned wsfast_dec_ctz32(uint32_t x) {
#if defined(_MSC_VER) && !defined(__clang__)
    unsigned long r;
    _BitScanForward(&r, x);
    return (unsigned)r;
#elif defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctz(x);
#else
    unsigned r = 0;
    while (!(x & 1)) { x >>= 1; r++; }
    return r;
#endif
}

/* The bytes p[i..n) (fewer than eight) in the low bytes of a word, the rest
 * zero. Zero bytes are ASCII, so they change neither the count of
 * continuation bytes nor the largest byte. */
static inline uint64_t wsfast_dec_tail_word(const unsigned char *p, size_t i, size_t n) {
    size_t r = n - i;
    uint64_t w;
    if (r == 0) return 0;
    if (n >= 8) return wsfast_load64(p + n - 8) >> (8 * (8 - r));
    if (r >= 4) return wsfast_load32(p + i) | (((uint64_t)wsfast_load32(p + n - 4) >> (8 * (8 - r))) << 32);
    w = p[i];
    if (r > 1) w |= (uint64_t)p[i + 1] << 8;
    if (r > 2) w |= (uint64_t)p[i + 2] << 16;
    return w;
}

/* Shifting a word left by k moves bit 7-k of every byte to bit 7 of the
 * same byte, so byte-wise tests on the top bits need no unpacking. */
#define WSFAST_DEC_CONT_BITS(w) ((w) & ~((w) << 1) & WSFAST_DEC_HI8)
#define WSFAST_DEC_GE_C4_BITS(w) \
    ((w) & ((w) << 1) & (((w) << 2) | ((w) << 3) | ((w) << 4) | ((w) << 5)) & WSFAST_DEC_HI8)
#define WSFAST_DEC_GE_F0_BITS(w) ((w) & ((w) << 1) & ((w) << 2) & ((w) << 3) & WSFAST_DEC_HI8)

/* A representative of the largest byte (00, 80, C4 or F0) is all the
 * allocation needs. */
static inline unsigned wsfast_dec_top_of_word(uint64_t any80, uint64_t anyc4, uint64_t anyf0) {
    return anyf0 ? 0xF0u : anyc4 ? 0xC4u : any80 ? 0x80u : 0u;
}

static inline Py_UCS4 wsfast_dec_maxchar(unsigned top) {
    return top >= 0xF0 ? 0x10FFFF : top >= 0xC4 ? 0xFFFF : top >= 0x80 ? 0xFF : 0x7F;
}

static unsigned wsfast_dec_classify_scalar(const unsigned char *p, size_t n, size_t *count) {
    uint64_t a80 = 0, ac4 = 0, af0 = 0, w;
    size_t i = 0, conts = 0;
    for (; n - i >= 8; i += 8) {
        w = wsfast_load64(p + i);
        if (!(w & WSFAST_DEC_HI8)) continue;
        a80 |= w;
        ac4 |= WSFAST_DEC_GE_C4_BITS(w);
        af0 |= WSFAST_DEC_GE_F0_BITS(w);
        conts += wsfast_dec_popcount64(WSFAST_DEC_CONT_BITS(w));
    }
    w = wsfast_dec_tail_word(p, i, n);
    if (w & WSFAST_DEC_HI8) {
        a80 |= w;
        ac4 |= WSFAST_DEC_GE_C4_BITS(w);
        af0 |= WSFAST_DEC_GE_F0_BITS(w);
        conts += wsfast_dec_popcount64(WSFAST_DEC_CONT_BITS(w));
    }
    *count = n - conts;
    return wsfast_dec_top_of_word(a80 & WSFAST_DEC_HI8, ac4, af0);
}

/* The code point whose lead byte (>= 0x80) is at p[*i]; advances *i. */
static inline Py_UCS4 wsfast_dec_cp(const unsigned char *p, size_t *i) {
    size_t k = *i;
    Py_UCS4 c = p[k];
    if (c < 0xE0) {
        *i = k + 2;
        return ((c & 0x1F) << 6) | (p[k + 1] & 0x3F);
    }
    if (c < 0xF0) {
        *i = k + 3;
        return ((c & 0x0F) << 12) | ((Py_UCS4)(p[k + 1] & 0x3F) << 6) | (p[k + 2] & 0x3F);
    }
    *i = k + 4;
    return ((c & 0x07) << 18) | ((Py_UCS4)(p[k + 1] & 0x3F) << 12) |
           ((Py_UCS4)(p[k + 2] & 0x3F) << 6) | (p[k + 3] & 0x3F);
}

/* Scalar decoders from input position i / output position o to the end;
 * the kernels use them for what is left after their last full block. Runs
 * of eight ASCII bytes move as one word. */
static inline void wsfast_dec_rest1(const unsigned char *p, size_t i, size_t n, Py_UCS1 *out,
                                    size_t o) {
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            if (n - i >= 8) {
                uint64_t w = wsfast_load64(p + i);
                if (!(w & WSFAST_DEC_HI8)) {
                    wsfast_store64(out + o, w);
                    i += 8;
                    o += 8;
                    continue;
                }
            }
            out[o++] = (Py_UCS1)c;
            i++;
        } else {
            out[o++] = (Py_UCS1)(((c & 0x03) << 6) | (p[i + 1] & 0x3F));
            i += 2;
        }
    }
}

#define WSFAST_DEC_REST_WIDE(name, T)                                                  \
    static inline void name(const unsigned char *p, size_t i, size_t n, T *out, size_t o) { \
        while (i < n) {                                                                \
            if (p[i] < 0x80) {                                                         \
                if (n - i >= 8 && !(wsfast_load64(p + i) & WSFAST_DEC_HI8)) {          \
                    int k;                                                             \
                    for (k = 0; k < 8; k++) out[o + k] = p[i + k];                     \
                    i += 8;                                                            \
                    o += 8;                                                            \
                    continue;                                                          \
                }                                                                      \
                out[o++] = p[i++];                                                     \
            } else {                                                                   \
                out[o++] = (T)wsfast_dec_cp(p, &i);                                    \
            }                                                                          \
        }                                                                              \
    }
WSFAST_DEC_REST_WIDE(wsfast_dec_rest2, Py_UCS2)
WSFAST_DEC_REST_WIDE(wsfast_dec_rest4, Py_UCS4)
#undef WSFAST_DEC_REST_WIDE

static inline PyObject *wsfast_dec_ascii(const unsigned char *p, size_t n) {
    PyObject *s = PyUnicode_New((Py_ssize_t)n, 127);
    if (s) memcpy(PyUnicode_1BYTE_DATA(s), p, n);
    return s;
}

static PyObject *wsfast_dec_scalar(const unsigned char *p, size_t n) {
    size_t count;
    unsigned top = wsfast_dec_classify_scalar(p, n, &count);
    PyObject *s;
    if (top < 0x80) return wsfast_dec_ascii(p, n);
    s = PyUnicode_New((Py_ssize_t)count, wsfast_dec_maxchar(top));
    if (!s) return NULL;
    if (top < 0xC4) wsfast_dec_rest1(p, 0, n, PyUnicode_1BYTE_DATA(s), 0);
    else if (top < 0xF0) wsfast_dec_rest2(p, 0, n, PyUnicode_2BYTE_DATA(s), 0);
    else wsfast_dec_rest4(p, 0, n, PyUnicode_4BYTE_DATA(s), 0);
    return s;
}

#if defined(WSFAST_HAVE_X86_SIMD) || defined(WSFAST_AARCH64)
/* Entry m lists, one per byte and in increasing order, the positions of the
 * bits set in m: the shuffle that packs the lanes selected by m to the
 * front. Lanes past the popcount are don't-cares (zero). */
static const uint64_t wsfast_dec_pack8[256] = {
    0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000001ULL, 0x0000000000000100ULL,
    0x0000000000000002ULL, 0x0000000000000200ULL, 0x0000000000000201ULL, 0x0000000000020100ULL,
    0x0000000000000003ULL, 0x0000000000000300ULL, 0x0000000000000301ULL, 0x0000000000030100ULL,
    0x0000000000000302ULL, 0x0000000000030200ULL, 0x0000000000030201ULL, 0x0000000003020100ULL,
    0x0000000000000004ULL, 0x0000000000000400ULL, 0x0000000000000401ULL, 0x0000000000040100ULL,
    0x0000000000000402ULL, 0x0000000000040200ULL, 0x0000000000040201ULL, 0x0000000004020100ULL,
    0x0000000000000403ULL, 0x0000000000040300ULL, 0x0000000000040301ULL, 0x0000000004030100ULL,
    0x0000000000040302ULL, 0x0000000004030200ULL, 0x0000000004030201ULL, 0x0000000403020100ULL,
    0x0000000000000005ULL, 0x0000000000000500ULL, 0x0000000000000501ULL, 0x0000000000050100ULL,
    0x0000000000000502ULL, 0x0000000000050200ULL, 0x0000000000050201ULL, 0x0000000005020100ULL,
    0x0000000000000503ULL, 0x0000000000050300ULL, 0x0000000000050301ULL, 0x0000000005030100ULL,
    0x0000000000050302ULL, 0x0000000005030200ULL, 0x0000000005030201ULL, 0x0000000503020100ULL,
    0x0000000000000504ULL, 0x0000000000050400ULL, 0x0000000000050401ULL, 0x0000000005040100ULL,
    0x0000000000050402ULL, 0x0000000005040200ULL, 0x0000000005040201ULL, 0x0000000504020100ULL,
    0x0000000000050403ULL, 0x0000000005040300ULL, 0x0000000005040301ULL, 0x0000000504030100ULL,
    0x0000000005040302ULL, 0x0000000504030200ULL, 0x0000000504030201ULL, 0x0000050403020100ULL,
    0x0000000000000006ULL, 0x0000000000000600ULL, 0x0000000000000601ULL, 0x0000000000060100ULL,
    0x0000000000000602ULL, 0x0000000000060200ULL, 0x0000000000060201ULL, 0x0000000006020100ULL,
    0x0000000000000603ULL, 0x0000000000060300ULL, 0x0000000000060301ULL, 0x0000000006030100ULL,
    0x0000000000060302ULL, 0x0000000006030200ULL, 0x0000000006030201ULL, 0x0000000603020100ULL,
    0x0000000000000604ULL, 0x0000000000060400ULL, 0x0000000000060401ULL, 0x0000000006040100ULL,
    0x0000000000060402ULL, 0x0000000006040200ULL, 0x0000000006040201ULL, 0x0000000604020100ULL,
    0x0000000000060403ULL, 0x0000000006040300ULL, 0x0000000006040301ULL, 0x0000000604030100ULL,
    0x0000000006040302ULL, 0x0000000604030200ULL, 0x0000000604030201ULL, 0x0000060403020100ULL,
    0x0000000000000605ULL, 0x0000000000060500ULL, 0x0000000000060501ULL, 0x0000000006050100ULL,
    0x0000000000060502ULL, 0x0000000006050200ULL, 0x0000000006050201ULL, 0x0000000605020100ULL,
    0x0000000000060503ULL, 0x0000000006050300ULL, 0x0000000006050301ULL, 0x0000000605030100ULL,
    0x0000000006050302ULL, 0x0000000605030200ULL, 0x0000000605030201ULL, 0x0000060503020100ULL,
    0x0000000000060504ULL, 0x0000000006050400ULL, 0x0000000006050401ULL, 0x0000000605040100ULL,
    0x0000000006050402ULL, 0x0000000605040200ULL, 0x0000000605040201ULL, 0x0000060504020100ULL,
    0x0000000006050403ULL, 0x0000000605040300ULL, 0x0000000605040301ULL, 0x0000060504030100ULL,
    0x0000000605040302ULL, 0x0000060504030200ULL, 0x0000060504030201ULL, 0x0006050403020100ULL,
    0x0000000000000007ULL, 0x0000000000000700ULL, 0x0000000000000701ULL, 0x0000000000070100ULL,
    0x0000000000000702ULL, 0x0000000000070200ULL, 0x0000000000070201ULL, 0x0000000007020100ULL,
    0x0000000000000703ULL, 0x0000000000070300ULL, 0x0000000000070301ULL, 0x0000000007030100ULL,
    0x0000000000070302ULL, 0x0000000007030200ULL, 0x0000000007030201ULL, 0x0000000703020100ULL,
    0x0000000000000704ULL, 0x0000000000070400ULL, 0x0000000000070401ULL, 0x0000000007040100ULL,
    0x0000000000070402ULL, 0x0000000007040200ULL, 0x0000000007040201ULL, 0x0000000704020100ULL,
    0x0000000000070403ULL, 0x0000000007040300ULL, 0x0000000007040301ULL, 0x0000000704030100ULL,
    0x0000000007040302ULL, 0x0000000704030200ULL, 0x0000000704030201ULL, 0x0000070403020100ULL,
    0x0000000000000705ULL, 0x0000000000070500ULL, 0x0000000000070501ULL, 0x0000000007050100ULL,
    0x0000000000070502ULL, 0x0000000007050200ULL, 0x0000000007050201ULL, 0x0000000705020100ULL,
    0x0000000000070503ULL, 0x0000000007050300ULL, 0x0000000007050301ULL, 0x0000000705030100ULL,
    0x0000000007050302ULL, 0x0000000705030200ULL, 0x0000000705030201ULL, 0x0000070503020100ULL,
    0x0000000000070504ULL, 0x0000000007050400ULL, 0x0000000007050401ULL, 0x0000000705040100ULL,
    0x0000000007050402ULL, 0x0000000705040200ULL, 0x0000000705040201ULL, 0x0000070504020100ULL,
    0x0000000007050403ULL, 0x0000000705040300ULL, 0x0000000705040301ULL, 0x0000070504030100ULL,
    0x0000000705040302ULL, 0x0000070504030200ULL, 0x0000070504030201ULL, 0x0007050403020100ULL,
    0x0000000000000706ULL, 0x0000000000070600ULL, 0x0000000000070601ULL, 0x0000000007060100ULL,
    0x0000000000070602ULL, 0x0000000007060200ULL, 0x0000000007060201ULL, 0x0000000706020100ULL,
    0x0000000000070603ULL, 0x0000000007060300ULL, 0x0000000007060301ULL, 0x0000000706030100ULL,
    0x0000000007060302ULL, 0x0000000706030200ULL, 0x0000000706030201ULL, 0x0000070603020100ULL,
    0x0000000000070604ULL, 0x0000000007060400ULL, 0x0000000007060401ULL, 0x0000000706040100ULL,
    0x0000000007060402ULL, 0x0000000706040200ULL, 0x0000000706040201ULL, 0x0000070604020100ULL,
    0x0000000007060403ULL, 0x0000000706040300ULL, 0x0000000706040301ULL, 0x0000070604030100ULL,
    0x0000000706040302ULL, 0x0000070604030200ULL, 0x0000070604030201ULL, 0x0007060403020100ULL,
    0x0000000000070605ULL, 0x0000000007060500ULL, 0x0000000007060501ULL, 0x0000000706050100ULL,
    0x0000000007060502ULL, 0x0000000706050200ULL, 0x0000000706050201ULL, 0x0000070605020100ULL,
    0x0000000007060503ULL, 0x0000000706050300ULL, 0x0000000706050301ULL, 0x0000070605030100ULL,
    0x0000000706050302ULL, 0x0000070605030200ULL, 0x0000070605030201ULL, 0x0007060503020100ULL,
    0x0000000007060504ULL, 0x0000000706050400ULL, 0x0000000706050401ULL, 0x0000070605040100ULL,
    0x0000000706050402ULL, 0x0000070605040200ULL, 0x0000070605040201ULL, 0x0007060504020100ULL,
    0x0000000706050403ULL, 0x0000070605040300ULL, 0x0000070605040301ULL, 0x0007060504030100ULL,
    0x0000070605040302ULL, 0x0007060504030200ULL, 0x0007060504030201ULL, 0x0706050403020100ULL,
};
#endif

#if defined(WSFAST_HAVE_X86_SIMD)

#define WSFAST_DEC_LD16(ptr) _mm_loadu_si128((const __m128i *)(const void *)(ptr))
#define WSFAST_DEC_ST16(ptr, v) _mm_storeu_si128((__m128i *)(void *)(ptr), (v))
#define WSFAST_DEC_LD32(ptr) _mm256_loadu_si256((const __m256i *)(const void *)(ptr))
#define WSFAST_DEC_ST32(ptr, v) _mm256_storeu_si256((__m256i *)(void *)(ptr), (v))
#define WSFAST_DEC_LDPACK(m) _mm_loadl_epi64((const __m128i *)(const void *)(wsfast_dec_pack8 + (m)))

/* POPCNT and AVX512_VBMI2 are not among the features cpu.h reports. */
#define WSFAST_DEC_HAS_POPCNT 1
#define WSFAST_DEC_HAS_VBMI2 2
static inline int wsfast_dec_x86_extra(void) {
    static int feats = -1;
    if (WSFAST_ATOMIC_LOAD(feats) < 0) {
        uint32_t r[4];
        int f = 0;
        wsfast_cpuid(0, 0, r);
        if (r[0] >= 1) {
            uint32_t max_leaf = r[0];
            wsfast_cpuid(1, 0, r);
            if ((r[2] >> 23) & 1) f |= WSFAST_DEC_HAS_POPCNT;
            if (max_leaf >= 7) {
                wsfast_cpuid(7, 0, r);
                if ((r[2] >> 6) & 1) f |= WSFAST_DEC_HAS_VBMI2;
            }
        }
        WSFAST_ATOMIC_STORE(feats, f);
    }
    return WSFAST_ATOMIC_LOAD(feats);
}

/* Any byte that skips, as continuation bytes, what a scalar decoder would
 * take for a lead: a block may end inside a code point the block decoded. */
static inline size_t wsfast_dec_skip_conts(const unsigned char *p, size_t i, size_t n) {
    while (i < n && (p[i] & 0xC0) == 0x80) i++;
    return i;
}

/* ---- SSE2: vector classification and ASCII runs, scalar code points ---- */

/* SSE2 alone has no popcount: continuation bytes are summed per lane and
 * folded with psadbw before the byte counters can wrap. */
static unsigned wsfast_dec_sse2_classify(const unsigned char *p, size_t n, size_t *count) {
    const __m128i c0 = _mm_set1_epi8(-64);
    __m128i vmax = _mm_setzero_si128(), total = _mm_setzero_si128();
    size_t i = 0;
    unsigned a80, ac4, af0;
    if (n < 16) return wsfast_dec_classify_scalar(p, n, count);
    while (n - i >= 16) {
        __m128i acc = _mm_setzero_si128();
        size_t stop = n - i >= 16 * 255 ? i + 16 * 255 : n - ((n - i) & 15);
        for (; i < stop; i += 16) {
            __m128i a = WSFAST_DEC_LD16(p + i);
            vmax = _mm_max_epu8(vmax, a);
            acc = _mm_sub_epi8(acc, _mm_cmplt_epi8(a, c0));
        }
        total = _mm_add_epi64(total, _mm_sad_epu8(acc, _mm_setzero_si128()));
    }
    if (i < n) {
        /* the 16 bytes ending at n; lanes before i were counted already */
        static const signed char iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        __m128i a = WSFAST_DEC_LD16(p + n - 16);
        __m128i fresh = _mm_cmpgt_epi8(WSFAST_DEC_LD16(iota), _mm_set1_epi8((char)(15 - (n - i))));
        __m128i ones = _mm_and_si128(_mm_and_si128(_mm_cmplt_epi8(a, c0), fresh), _mm_set1_epi8(1));
        vmax = _mm_max_epu8(vmax, a);
        total = _mm_add_epi64(total, _mm_sad_epu8(ones, _mm_setzero_si128()));
    }
    {
        size_t conts = (size_t)_mm_cvtsi128_si64(total) +
                       (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(total, total));
        *count = n - conts;
    }
    a80 = (unsigned)_mm_movemask_epi8(vmax);
    ac4 = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(vmax, _mm_set1_epi8((char)0xC4)), vmax));
    af0 = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(vmax, _mm_set1_epi8((char)0xF0)), vmax));
    return af0 ? 0xF0u : ac4 ? 0xC4u : a80 ? 0x80u : 0u;
}

/* Sixteen bytes are stored (widened) before the block is known to be ASCII:
 * the run up to the first lead is kept, the rest is overwritten later. Each
 * store needs room for sixteen units below cap (count + 1: the terminator
 * slot is rewritten by the caller). */
#define WSFAST_DEC_SSE2_LOOP(T, STORE_ASCII, DECODE_ONE)                    \
    while (i < n) {                                                         \
        if (n - i >= 16 && cap - o >= 16) {                                 \
            __m128i a = WSFAST_DEC_LD16(p + i);                             \
            unsigned m = (unsigned)_mm_movemask_epi8(a);                    \
            STORE_ASCII;                                                    \
            if (!m) {                                                       \
                i += 16;                                                    \
                o += 16;                                                    \
                continue;                                                   \
            }                                                               \
            m = wsfast_dec_ctz32(m);                                        \
            i += m;                                                         \
            o += m;                                                         \
        } else if (p[i] < 0x80) {                                           \
            out[o++] = (T)p[i++];                                           \
            continue;                                                       \
        }                                                                   \
        do {                                                                \
            DECODE_ONE;                                                     \
        } while (i < n && p[i] >= 0x80);                                    \
    }

static void wsfast_dec_sse2_ucs1(const unsigned char *p, size_t n, Py_UCS1 *out, size_t cap) {
    size_t i = 0, o = 0;
    WSFAST_DEC_SSE2_LOOP(Py_UCS1, WSFAST_DEC_ST16(out + o, a),
                         (out[o++] = (Py_UCS1)(((p[i] & 0x03) << 6) | (p[i + 1] & 0x3F)), i += 2))
}

static void wsfast_dec_sse2_ucs2(const unsigned char *p, size_t n, Py_UCS2 *out, size_t cap) {
    size_t i = 0, o = 0;
    const __m128i z = _mm_setzero_si128();
    WSFAST_DEC_SSE2_LOOP(Py_UCS2,
                         (WSFAST_DEC_ST16(out + o, _mm_unpacklo_epi8(a, z)),
                          WSFAST_DEC_ST16(out + o + 8, _mm_unpackhi_epi8(a, z))),
                         out[o++] = (Py_UCS2)wsfast_dec_cp(p, &i))
}

static inline void wsfast_dec_sse2_widen4(Py_UCS4 *out, __m128i a) {
    const __m128i z = _mm_setzero_si128();
    __m128i lo = _mm_unpacklo_epi8(a, z), hi = _mm_unpackhi_epi8(a, z);
    WSFAST_DEC_ST16(out, _mm_unpacklo_epi16(lo, z));
    WSFAST_DEC_ST16(out + 4, _mm_unpackhi_epi16(lo, z));
    WSFAST_DEC_ST16(out + 8, _mm_unpacklo_epi16(hi, z));
    WSFAST_DEC_ST16(out + 12, _mm_unpackhi_epi16(hi, z));
}

static void wsfast_dec_sse2_ucs4(const unsigned char *p, size_t n, Py_UCS4 *out, size_t cap) {
    size_t i = 0, o = 0;
    WSFAST_DEC_SSE2_LOOP(Py_UCS4, wsfast_dec_sse2_widen4(out + o, a), out[o++] = wsfast_dec_cp(p, &i))
}
#undef WSFAST_DEC_SSE2_LOOP

static PyObject *wsfast_dec_sse2(const unsigned char *p, size_t n) {
    size_t count;
    unsigned top = wsfast_dec_sse2_classify(p, n, &count);
    PyObject *s;
    if (top < 0x80) return wsfast_dec_ascii(p, n);
    s = PyUnicode_New((Py_ssize_t)count, wsfast_dec_maxchar(top));
    if (!s) return NULL;
    if (top < 0xC4) {
        wsfast_dec_sse2_ucs1(p, n, PyUnicode_1BYTE_DATA(s), count + 1);
        PyUnicode_1BYTE_DATA(s)[count] = 0;
    } else if (top < 0xF0) {
        wsfast_dec_sse2_ucs2(p, n, PyUnicode_2BYTE_DATA(s), count + 1);
        PyUnicode_2BYTE_DATA(s)[count] = 0;
    } else {
        wsfast_dec_sse2_ucs4(p, n, PyUnicode_4BYTE_DATA(s), count + 1);
        PyUnicode_4BYTE_DATA(s)[count] = 0;
    }
    return s;
}

/* ---- AVX2 (with SSSE3 pshufb, BMI2 and POPCNT) ---- */

#define WSFAST_DEC_AVX2 "avx2,bmi,bmi2,popcnt"

WSFAST_TARGET(WSFAST_DEC_AVX2)
static unsigned wsfast_dec_avx2_classify(const unsigned char *p, size_t n, size_t *count) {
    size_t i = 0, conts = 0;
    __m256i vmax;
    unsigned a80, ac4, af0;
    if (n >= 32) {
        const __m256i c0 = _mm256_set1_epi8(-64);
        vmax = _mm256_setzero_si256();
        for (; n - i >= 64; i += 64) {
            __m256i a = WSFAST_DEC_LD32(p + i), b = WSFAST_DEC_LD32(p + i + 32);
            uint64_t m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(c0, a)) |
                         ((uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(c0, b)) << 32);
            vmax = _mm256_max_epu8(vmax, _mm256_max_epu8(a, b));
            conts += (size_t)_mm_popcnt_u64(m);
        }
        if (n - i >= 32) {
            __m256i a = WSFAST_DEC_LD32(p + i);
            vmax = _mm256_max_epu8(vmax, a);
            conts += (size_t)_mm_popcnt_u32((uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(c0, a)));
            i += 32;
        }
        if (i < n) {
            /* the 32 bytes ending at n: the max does not mind the overlap */
            __m256i a = WSFAST_DEC_LD32(p + n - 32);
            uint32_t m = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(c0, a));
            vmax = _mm256_max_epu8(vmax, a);
            conts += (size_t)_mm_popcnt_u32(m >> (32 - (n - i)));
        }
    } else if (n >= 16) {
        const __m128i c0 = _mm_set1_epi8(-64);
        __m128i a = WSFAST_DEC_LD16(p), b = WSFAST_DEC_LD16(p + n - 16);
        uint32_t ma = (uint32_t)_mm_movemask_epi8(_mm_cmpgt_epi8(c0, a));
        uint32_t mb = (uint32_t)_mm_movemask_epi8(_mm_cmpgt_epi8(c0, b));
        conts = (size_t)_mm_popcnt_u32(ma) + (size_t)_mm_popcnt_u32(mb >> (32 - n));
        vmax = _mm256_castsi128_si256(_mm_max_epu8(a, b));
        vmax = _mm256_inserti128_si256(vmax, _mm256_castsi256_si128(vmax), 1);
    } else {
        return wsfast_dec_classify_scalar(p, n, count);
    }
    *count = n - conts;
    a80 = (unsigned)_mm256_movemask_epi8(vmax);
    ac4 = (unsigned)_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_max_epu8(vmax, _mm256_set1_epi8((char)0xC4)), vmax));
    af0 = (unsigned)_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_max_epu8(vmax, _mm256_set1_epi8((char)0xF0)), vmax));
    return af0 ? 0xF0u : ac4 ? 0xC4u : a80 ? 0x80u : 0u;
}

/* Blocks of 16 input bytes; a lead byte at any position also needs the
 * byte after it, read by a second unaligned load. The continuation bytes
 * at the front of the next block are simply not kept. */
WSFAST_TARGET(WSFAST_DEC_AVX2)
static void wsfast_dec_avx2_ucs1(const unsigned char *p, size_t n, Py_UCS1 *out, size_t cap) {
    size_t i = 0, o = 0;
    const __m128i c0 = _mm_set1_epi8(-64), lo6 = _mm_set1_epi8(0x3F);
    const __m128i hi2 = _mm_set1_epi8((char)0xC0), eight = _mm_set1_epi8(8);
    while (n - i >= 17 && cap - o >= 16) {
        __m128i a = WSFAST_DEC_LD16(p + i), b, v, sh;
        unsigned keep, klo, khi;
        if (!_mm_movemask_epi8(a)) {
            WSFAST_DEC_ST16(out + o, a);
            i += 16;
            o += 16;
            continue;
        }
        b = WSFAST_DEC_LD16(p + i + 1);
        /* 110000xx 10yyyyyy -> xxyyyyyy; the 16-bit shift only leaks bits
         * into the other byte's lanes that the mask clears */
        v = _mm_or_si128(_mm_and_si128(_mm_slli_epi16(a, 6), hi2), _mm_and_si128(b, lo6));
        v = _mm_blendv_epi8(a, v, a);
        keep = ~(unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(a, c0)) & 0xFFFF;
        klo = keep & 0xFF;
        khi = keep >> 8;
        sh = _mm_unpacklo_epi64(WSFAST_DEC_LDPACK(klo), _mm_add_epi8(WSFAST_DEC_LDPACK(khi), eight));
        v = _mm_shuffle_epi8(v, sh);
        _mm_storel_epi64((__m128i *)(void *)(out + o), v);
        o += _mm_popcnt_u32(klo);
        _mm_storel_epi64((__m128i *)(void *)(out + o), _mm_unpackhi_epi64(v, v));
        o += _mm_popcnt_u32(khi);
        i += 16;
    }
    wsfast_dec_rest1(p, wsfast_dec_skip_conts(p, i, n), n, out, o);
}

/* Byte indices k of an 8-lane pack, turned into the byte pairs 2k, 2k+1
 * that move 16-bit lanes. */
WSFAST_TARGET(WSFAST_DEC_AVX2)
static inline __m128i wsfast_dec_avx2_pack16(unsigned m) {
    __m128i x = WSFAST_DEC_LDPACK(m);
    x = _mm_add_epi8(x, x);
    return _mm_unpacklo_epi8(x, _mm_add_epi8(x, _mm_set1_epi8(1)));
}

WSFAST_TARGET(WSFAST_DEC_AVX2)
static void wsfast_dec_avx2_ucs2(const unsigned char *p, size_t n, Py_UCS2 *out, size_t cap) {
    size_t i = 0, o = 0;
    const __m128i c0 = _mm_set1_epi8(-64), lo6 = _mm_set1_epi8(0x3F);
    const __m256i m7c0 = _mm256_set1_epi16(0x7C0), x7f = _mm256_set1_epi16(0x7F);
    const __m256i xdf = _mm256_set1_epi16(0xDF);
    while (n - i >= 18 && cap - o >= 16) {
        __m128i a = WSFAST_DEC_LD16(p + i);
        __m256i A, B, C, two, three, v;
        unsigned keep, klo, khi;
        if (!_mm_movemask_epi8(a)) {
            WSFAST_DEC_ST32(out + o, _mm256_cvtepu8_epi16(a));
            i += 16;
            o += 16;
            continue;
        }
        A = _mm256_cvtepu8_epi16(a);
        B = _mm256_cvtepu8_epi16(_mm_and_si128(WSFAST_DEC_LD16(p + i + 1), lo6));
        C = _mm256_cvtepu8_epi16(_mm_and_si128(WSFAST_DEC_LD16(p + i + 2), lo6));
        two = _mm256_or_si256(_mm256_and_si256(_mm256_slli_epi16(A, 6), m7c0), B);
        /* the 16-bit shift by 12 drops the 1110 prefix by itself */
        three = _mm256_or_si256(_mm256_or_si256(_mm256_slli_epi16(A, 12), _mm256_slli_epi16(B, 6)), C);
        v = _mm256_blendv_epi8(A, two, _mm256_cmpgt_epi16(A, x7f));
        v = _mm256_blendv_epi8(v, three, _mm256_cmpgt_epi16(A, xdf));
        keep = ~(unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(a, c0)) & 0xFFFF;
        klo = keep & 0xFF;
        khi = keep >> 8;
        v = _mm256_shuffle_epi8(v, _mm256_inserti128_si256(_mm256_castsi128_si256(wsfast_dec_avx2_pack16(klo)),
                                                           wsfast_dec_avx2_pack16(khi), 1));
        WSFAST_DEC_ST16(out + o, _mm256_castsi256_si128(v));
        o += _mm_popcnt_u32(klo);
        WSFAST_DEC_ST16(out + o, _mm256_extracti128_si256(v, 1));
        o += _mm_popcnt_u32(khi);
        i += 16;
    }
    _mm256_zeroupper();
    wsfast_dec_rest2(p, wsfast_dec_skip_conts(p, i, n), n, out, o);
}

/* Eight positions per step, read from one 16-byte load (a 4-byte sequence
 * that starts at position 7 ends at byte 10). */
WSFAST_TARGET(WSFAST_DEC_AVX2)
static void wsfast_dec_avx2_ucs4(const unsigned char *p, size_t n, Py_UCS4 *out, size_t cap) {
    size_t i = 0, o = 0;
    const __m128i c0 = _mm_set1_epi8(-64);
    const __m256i lo6 = _mm256_set1_epi32(0x3F), x1f = _mm256_set1_epi32(0x1F);
    const __m256i x0f = _mm256_set1_epi32(0x0F), x07 = _mm256_set1_epi32(0x07);
    const __m256i x7f = _mm256_set1_epi32(0x7F), xdf = _mm256_set1_epi32(0xDF);
    const __m256i xef = _mm256_set1_epi32(0xEF);
    while (n - i >= 16 && cap - o >= 16) {
        __m128i a = WSFAST_DEC_LD16(p + i);
        __m256i A, B, C, D, x2, x3, v;
        unsigned m = (unsigned)_mm_movemask_epi8(a), keep;
        if (!m) {
            WSFAST_DEC_ST32(out + o, _mm256_cvtepu8_epi32(a));
            WSFAST_DEC_ST32(out + o + 8, _mm256_cvtepu8_epi32(_mm_srli_si128(a, 8)));
            i += 16;
            o += 16;
            continue;
        }
        A = _mm256_cvtepu8_epi32(a);
        if (!(m & 0xFF)) {
            WSFAST_DEC_ST32(out + o, A);
            i += 8;
            o += 8;
            continue;
        }
        B = _mm256_and_si256(_mm256_cvtepu8_epi32(_mm_srli_si128(a, 1)), lo6);
        C = _mm256_and_si256(_mm256_cvtepu8_epi32(_mm_srli_si128(a, 2)), lo6);
        D = _mm256_and_si256(_mm256_cvtepu8_epi32(_mm_srli_si128(a, 3)), lo6);
        x2 = _mm256_or_si256(_mm256_slli_epi32(B, 6), C);
        x3 = _mm256_or_si256(_mm256_slli_epi32(x2, 6), D);
        v = _mm256_blendv_epi8(
            A, _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(A, x1f), 6), B), _mm256_cmpgt_epi32(A, x7f));
        v = _mm256_blendv_epi8(
            v, _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(A, x0f), 12), x2), _mm256_cmpgt_epi32(A, xdf));
        v = _mm256_blendv_epi8(
            v, _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(A, x07), 18), x3), _mm256_cmpgt_epi32(A, xef));
        keep = ~(unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(a, c0)) & 0xFF;
        v = _mm256_permutevar8x32_epi32(v, _mm256_cvtepu8_epi32(WSFAST_DEC_LDPACK(keep)));
        WSFAST_DEC_ST32(out + o, v);
        o += _mm_popcnt_u32(keep);
        i += 8;
    }
    _mm256_zeroupper();
    wsfast_dec_rest4(p, wsfast_dec_skip_conts(p, i, n), n, out, o);
}

WSFAST_TARGET(WSFAST_DEC_AVX2)
static PyObject *wsfast_dec_avx2(const unsigned char *p, size_t n) {
    size_t count;
    unsigned top = wsfast_dec_avx2_classify(p, n, &count);
    PyObject *s;
    _mm256_zeroupper();
    if (top < 0x80) return wsfast_dec_ascii(p, n);
    s = PyUnicode_New((Py_ssize_t)count, wsfast_dec_maxchar(top));
    if (!s) return NULL;
    if (top < 0xC4) {
        wsfast_dec_avx2_ucs1(p, n, PyUnicode_1BYTE_DATA(s), count + 1);
        PyUnicode_1BYTE_DATA(s)[count] = 0;
    } else if (top < 0xF0) {
        wsfast_dec_avx2_ucs2(p, n, PyUnicode_2BYTE_DATA(s), count + 1);
        PyUnicode_2BYTE_DATA(s)[count] = 0;
    } else {
        wsfast_dec_avx2_ucs4(p, n, PyUnicode_4BYTE_DATA(s), count + 1);
        PyUnicode_4BYTE_DATA(s)[count] = 0;
    }
    return s;
}

/* ---- AVX-512 (F, BW, VBMI2): masked loads and stores, in-register compress ---- */

#define WSFAST_DEC_AVX512 "avx512f,avx512bw,avx512vbmi2,bmi,bmi2,popcnt"

/* Lanes [0, r) of a 64-lane mask; r may exceed 64. */
static inline uint64_t wsfast_dec_lanes(size_t r) {
    return r >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << r) - 1);
}

WSFAST_TARGET(WSFAST_DEC_AVX512)
static unsigned wsfast_dec_avx512_classify(const unsigned char *p, size_t n, size_t *count) {
    const __m512i c0 = _mm512_set1_epi8(-64);
    __m512i vmax = _mm512_setzero_si512(), vmax2 = _mm512_setzero_si512();
    size_t i = 0, conts = 0, conts2 = 0;
    for (; n - i >= 128; i += 128) {
        __m512i a = _mm512_loadu_si512((const void *)(p + i));
        __m512i b = _mm512_loadu_si512((const void *)(p + i + 64));
        vmax = _mm512_max_epu8(vmax, a);
        vmax2 = _mm512_max_epu8(vmax2, b);
        conts += (size_t)_mm_popcnt_u64(_mm512_cmplt_epi8_mask(a, c0));
        conts2 += (size_t)_mm_popcnt_u64(_mm512_cmplt_epi8_mask(b, c0));
    }
    for (; i < n; i += 64) {
        /* the masked-off lanes read as zero: ASCII, not counted */
        __m512i a = _mm512_maskz_loadu_epi8(wsfast_dec_lanes(n - i), (const void *)(p + i));
        vmax = _mm512_max_epu8(vmax, a);
        conts += (size_t)_mm_popcnt_u64(_mm512_cmplt_epi8_mask(a, c0));
    }
    vmax = _mm512_max_epu8(vmax, vmax2);
    *count = n - conts - conts2;
    if (_mm512_cmpge_epu8_mask(vmax, _mm512_set1_epi8((char)0xF0))) return 0xF0;
    if (_mm512_cmpge_epu8_mask(vmax, _mm512_set1_epi8((char)0xC4))) return 0xC4;
    return _mm512_movepi8_mask(vmax) ? 0x80 : 0;
}

/* 64 input positions per step; the lookahead bytes come from loads at i+1
 * (and i+2, i+3) masked to the end of the input. Lanes past the end load
 * as zero and are dropped from the keep mask. */
WSFAST_TARGET(WSFAST_DEC_AVX512)
static void wsfast_dec_avx512_ucs1(const unsigned char *p, size_t n, Py_UCS1 *out) {
    const __m512i c0 = _mm512_set1_epi8(-64), lo6 = _mm512_set1_epi8(0x3F);
    const __m512i hi2 = _mm512_set1_epi8((char)0xC0);
    size_t i = 0, o = 0;
    for (; i < n; i += 64) {
        size_t r = n - i, k;
        __mmask64 ka = wsfast_dec_lanes(r), keep, na;
        __m512i a = _mm512_maskz_loadu_epi8(ka, (const void *)(p + i)), b, v;
        na = _mm512_movepi8_mask(a);
        if (!na) {
            _mm512_mask_storeu_epi8((void *)(out + o), ka, a);
            o += 64;
            continue;
        }
        b = _mm512_maskz_loadu_epi8(wsfast_dec_lanes(r - 1), (const void *)(p + i + 1));
        v = _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi16(a, 6), hi2), _mm512_and_si512(b, lo6));
        v = _mm512_mask_blend_epi8(na, a, v);
        keep = _mm512_cmpge_epi8_mask(a, c0) & ka;
        v = _mm512_maskz_compress_epi8(keep, v);
        k = (size_t)_mm_popcnt_u64(keep);
        _mm512_mask_storeu_epi8((void *)(out + o), wsfast_dec_lanes(k), v);
        o += k;
    }
}

WSFAST_TARGET(WSFAST_DEC_AVX512)
static void wsfast_dec_avx512_ucs2(const unsigned char *p, size_t n, Py_UCS2 *out) {
    const __m512i c0 = _mm512_set1_epi8(-64), lo6 = _mm512_set1_epi8(0x3F);
    const __m512i m7c0 = _mm512_set1_epi16(0x7C0), xe0 = _mm512_set1_epi8((char)0xE0);
    size_t i = 0, o = 0;
    for (; i < n; i += 64) {
        size_t r = n - i;
        __mmask64 ka = wsfast_dec_lanes(r), keep, na, e0;
        __m512i a = _mm512_maskz_loadu_epi8(ka, (const void *)(p + i)), b, c;
        na = _mm512_movepi8_mask(a);
        if (!na) {
            _mm512_mask_storeu_epi16((void *)(out + o), (__mmask32)ka,
                                     _mm512_cvtepu8_epi16(_mm512_castsi512_si256(a)));
            _mm512_mask_storeu_epi16((void *)(out + o + 32), (__mmask32)(ka >> 32),
                                     _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(a, 1)));
            o += 64;
            continue;
        }
        b = _mm512_and_si512(_mm512_maskz_loadu_epi8(wsfast_dec_lanes(r - 1), (const void *)(p + i + 1)), lo6);
        c = _mm512_and_si512(_mm512_maskz_loadu_epi8(wsfast_dec_lanes(r < 2 ? 0 : r - 2), (const void *)(p + i + 2)),
                             lo6);
        e0 = _mm512_cmpge_epu8_mask(a, xe0);
        keep = _mm512_cmpge_epi8_mask(a, c0) & ka;
#define WSFAST_DEC_HALF(h)                                                                        \
    {                                                                                             \
        __m512i A = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(a, h));                        \
        __m512i B = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(b, h));                        \
        __m512i C = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(c, h));                        \
        __m512i two = _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi16(A, 6), m7c0), B);        \
        __m512i three = _mm512_or_si512(_mm512_or_si512(_mm512_slli_epi16(A, 12), _mm512_slli_epi16(B, 6)), C); \
        __mmask32 kh = (__mmask32)(keep >> (32 * h));                                             \
        size_t k = (size_t)_mm_popcnt_u32(kh);                                                    \
        __m512i v = _mm512_mask_blend_epi16((__mmask32)(na >> (32 * h)), A, two);                 \
        v = _mm512_mask_blend_epi16((__mmask32)(e0 >> (32 * h)), v, three);                       \
        v = _mm512_maskz_compress_epi16(kh, v);                                                   \
        _mm512_mask_storeu_epi16((void *)(out + o), (__mmask32)wsfast_dec_lanes(k), v);           \
        o += k;                                                                                   \
    }
        WSFAST_DEC_HALF(0)
        WSFAST_DEC_HALF(1)
#undef WSFAST_DEC_HALF
    }
}

WSFAST_TARGET(WSFAST_DEC_AVX512)
static void wsfast_dec_avx512_ucs4(const unsigned char *p, size_t n, Py_UCS4 *out, size_t cap) {
    const __m512i c0 = _mm512_set1_epi8(-64), lo6 = _mm512_set1_epi8(0x3F);
    const __m512i xe0 = _mm512_set1_epi8((char)0xE0), xf0 = _mm512_set1_epi8((char)0xF0);
    const __m512i x1f = _mm512_set1_epi32(0x1F), x0f = _mm512_set1_epi32(0x0F);
    const __m512i x07 = _mm512_set1_epi32(0x07);
    size_t i = 0, o = 0;
    for (; i < n; i += 64) {
        size_t r = n - i;
        __mmask64 ka = wsfast_dec_lanes(r), keep, na, e0, f0;
        __m512i a = _mm512_maskz_loadu_epi8(ka, (const void *)(p + i)), b, c, d;
        na = _mm512_movepi8_mask(a);
        b = _mm512_and_si512(_mm512_maskz_loadu_epi8(wsfast_dec_lanes(r - 1), (const void *)(p + i + 1)), lo6);
        c = _mm512_and_si512(_mm512_maskz_loadu_epi8(wsfast_dec_lanes(r < 2 ? 0 : r - 2), (const void *)(p + i + 2)),
                             lo6);
        d = _mm512_and_si512(_mm512_maskz_loadu_epi8(wsfast_dec_lanes(r < 3 ? 0 : r - 3), (const void *)(p + i + 3)),
                             lo6);
        e0 = _mm512_cmpge_epu8_mask(a, xe0);
        f0 = _mm512_cmpge_epu8_mask(a, xf0);
        keep = _mm512_cmpge_epi8_mask(a, c0) & ka;
#define WSFAST_DEC_QUARTER(q)                                                                     \
    {                                                                                             \
        __mmask16 kq = (__mmask16)(keep >> (16 * q));                                             \
        __mmask16 nq = (__mmask16)(na >> (16 * q));                                              \
        __m512i A = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(a, q));                        \
        size_t k = (size_t)_mm_popcnt_u32(kq);                                                    \
        if (nq) {                                                                                 \
            __m512i B = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(b, q));                    \
            __m512i C = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(c, q));                    \
            __m512i D = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(d, q));                    \
            __m512i x2 = _mm512_or_si512(_mm512_slli_epi32(B, 6), C);                             \
            __m512i x3 = _mm512_or_si512(_mm512_slli_epi32(x2, 6), D);                            \
            __m512i v = _mm512_mask_blend_epi32(nq, A,                                            \
                _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(A, x1f), 6), B));              \
            v = _mm512_mask_blend_epi32((__mmask16)(e0 >> (16 * q)), v,                           \
                _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(A, x0f), 12), x2));            \
            v = _mm512_mask_blend_epi32((__mmask16)(f0 >> (16 * q)), v,                           \
                _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(A, x07), 18), x3));            \
            A = _mm512_maskz_compress_epi32(kq, v);                                               \
        }                                                                                         \
        if (cap - o >= 16)                                                                        \
            _mm512_storeu_si512((void *)(out + o), A);                                            \
        else                                                                                      \
            _mm512_mask_storeu_epi32((void *)(out + o), (__mmask16)wsfast_dec_lanes(k), A);       \
        o += k;                                                                                   \
    }
        WSFAST_DEC_QUARTER(0)
        WSFAST_DEC_QUARTER(1)
        WSFAST_DEC_QUARTER(2)
        WSFAST_DEC_QUARTER(3)
#undef WSFAST_DEC_QUARTER
    }
}

WSFAST_TARGET(WSFAST_DEC_AVX512)
static PyObject *wsfast_dec_avx512(const unsigned char *p, size_t n) {
    size_t count;
    unsigned top = wsfast_dec_avx512_classify(p, n, &count);
    PyObject *s;
    _mm256_zeroupper();
    if (top < 0x80) return wsfast_dec_ascii(p, n);
    s = PyUnicode_New((Py_ssize_t)count, wsfast_dec_maxchar(top));
    if (!s) return NULL;
    /* the stores end at count: the terminator written by PyUnicode_New stays */
    if (top < 0xC4) wsfast_dec_avx512_ucs1(p, n, PyUnicode_1BYTE_DATA(s));
    else if (top < 0xF0) wsfast_dec_avx512_ucs2(p, n, PyUnicode_2BYTE_DATA(s));
    else {
        wsfast_dec_avx512_ucs4(p, n, PyUnicode_4BYTE_DATA(s), count + 1);
        PyUnicode_4BYTE_DATA(s)[count] = 0;
    }
    _mm256_zeroupper();
    return s;
}

#undef WSFAST_DEC_LD16
#undef WSFAST_DEC_ST16
#undef WSFAST_DEC_LD32
#undef WSFAST_DEC_ST32
#undef WSFAST_DEC_LDPACK

#endif /* WSFAST_HAVE_X86_SIMD */

#if defined(WSFAST_AARCH64)

/* ---- NEON: vector classification and ASCII runs, scalar code points ---- */

static inline unsigned wsfast_dec_ctz64(uint64_t x) {
#if defined(_MSC_VER) && !defined(__clang__)
    unsigned long r;
    _BitScanForward64(&r, x);
    return (unsigned)r;
#else
    return (unsigned)__builtin_ctzll(x);
#endif
}

static unsigned wsfast_dec_neon_classify(const unsigned char *p, size_t n, size_t *count) {
    const int8x16_t c0 = vdupq_n_s8(-64);
    uint8x16_t vmax = vdupq_n_u8(0);
    size_t i = 0, conts = 0;
    unsigned top;
    if (n < 16) return wsfast_dec_classify_scalar(p, n, count);
    while (n - i >= 16) {
        /* byte counters, folded before they can wrap */
        uint8x16_t acc = vdupq_n_u8(0);
        size_t stop = n - i >= 16 * 255 ? i + 16 * 255 : n - ((n - i) & 15);
        for (; i < stop; i += 16) {
            uint8x16_t a = vld1q_u8(p + i);
            vmax = vmaxq_u8(vmax, a);
            acc = vsubq_u8(acc, vcltq_s8(vreinterpretq_s8_u8(a), c0));
        }
        conts += vaddlvq_u8(acc);
    }
    if (i < n) {
        static const uint8_t iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
        uint8x16_t a = vld1q_u8(p + n - 16);
        uint8x16_t fresh = vcgtq_u8(vld1q_u8(iota), vdupq_n_u8((uint8_t)(15 - (n - i))));
        vmax = vmaxq_u8(vmax, a);
        conts += vaddlvq_u8(vandq_u8(vandq_u8(vcltq_s8(vreinterpretq_s8_u8(a), c0), fresh), vdupq_n_u8(1)));
    }
    *count = n - conts;
    top = vmaxvq_u8(vmax);
    return top >= 0xF0 ? 0xF0u : top >= 0xC4 ? 0xC4u : top >= 0x80 ? 0x80u : 0u;
}

/* Index of the first byte >= 0x80 in a block known to hold one: a narrowing
 * shift leaves four bits per lane in a 64-bit word. */
static inline unsigned wsfast_dec_neon_first_hi(uint8x16_t a) {
    uint8x8_t nib = vshrn_n_u16(vreinterpretq_u16_u8(vcltq_s8(vreinterpretq_s8_u8(a), vdupq_n_s8(0))), 4);
    return wsfast_dec_ctz64(vget_lane_u64(vreinterpret_u64_u8(nib), 0)) >> 2;
}

#define WSFAST_DEC_NEON_LOOP(T, STORE_ASCII, DECODE_ONE)                    \
    while (i < n) {                                                         \
        if (n - i >= 16 && cap - o >= 16) {                                 \
            uint8x16_t a = vld1q_u8(p + i);                                 \
            unsigned k;                                                     \
            STORE_ASCII;                                                    \
            if (vmaxvq_u8(a) < 0x80) {                                      \
                i += 16;                                                    \
                o += 16;                                                    \
                continue;                                                   \
            }                                                               \
            k = wsfast_dec_neon_first_hi(a);                                \
            i += k;                                                         \
            o += k;                                                         \
        } else if (p[i] < 0x80) {                                           \
            out[o++] = (T)p[i++];                                           \
            continue;                                                       \
        }                                                                   \
        do {                                                                \
            DECODE_ONE;                                                     \
        } while (i < n && p[i] >= 0x80);                                    \
    }

static void wsfast_dec_neon_ucs1(const unsigned char *p, size_t n, Py_UCS1 *out, size_t cap) {
    size_t i = 0, o = 0;
    WSFAST_DEC_NEON_LOOP(Py_UCS1, vst1q_u8(out + o, a),
                         (out[o++] = (Py_UCS1)(((p[i] & 0x03) << 6) | (p[i + 1] & 0x3F)), i += 2))
}

static void wsfast_dec_neon_ucs2(const unsigned char *p, size_t n, Py_UCS2 *out, size_t cap) {
    size_t i = 0, o = 0;
    WSFAST_DEC_NEON_LOOP(Py_UCS2,
                         (vst1q_u16(out + o, vmovl_u8(vget_low_u8(a))),
                          vst1q_u16(out + o + 8, vmovl_u8(vget_high_u8(a)))),
                         out[o++] = (Py_UCS2)wsfast_dec_cp(p, &i))
}

static inline void wsfast_dec_neon_widen4(Py_UCS4 *out, uint8x16_t a) {
    uint16x8_t lo = vmovl_u8(vget_low_u8(a)), hi = vmovl_u8(vget_high_u8(a));
    vst1q_u32(out, vmovl_u16(vget_low_u16(lo)));
    vst1q_u32(out + 4, vmovl_u16(vget_high_u16(lo)));
    vst1q_u32(out + 8, vmovl_u16(vget_low_u16(hi)));
    vst1q_u32(out + 12, vmovl_u16(vget_high_u16(hi)));
}

static void wsfast_dec_neon_ucs4(const unsigned char *p, size_t n, Py_UCS4 *out, size_t cap) {
    size_t i = 0, o = 0;
    WSFAST_DEC_NEON_LOOP(Py_UCS4, wsfast_dec_neon_widen4(out + o, a), out[o++] = wsfast_dec_cp(p, &i))
}
#undef WSFAST_DEC_NEON_LOOP

static PyObject *wsfast_dec_neon(const unsigned char *p, size_t n) {
    size_t count;
    unsigned top = wsfast_dec_neon_classify(p, n, &count);
    PyObject *s;
    if (top < 0x80) return wsfast_dec_ascii(p, n);
    s = PyUnicode_New((Py_ssize_t)count, wsfast_dec_maxchar(top));
    if (!s) return NULL;
    if (top < 0xC4) {
        wsfast_dec_neon_ucs1(p, n, PyUnicode_1BYTE_DATA(s), count + 1);
        PyUnicode_1BYTE_DATA(s)[count] = 0;
    } else if (top < 0xF0) {
        wsfast_dec_neon_ucs2(p, n, PyUnicode_2BYTE_DATA(s), count + 1);
        PyUnicode_2BYTE_DATA(s)[count] = 0;
    } else {
        wsfast_dec_neon_ucs4(p, n, PyUnicode_4BYTE_DATA(s), count + 1);
        PyUnicode_4BYTE_DATA(s)[count] = 0;
    }
    return s;
}

#endif /* WSFAST_AARCH64 */

/* ---- dispatch ---- */

typedef PyObject *(*wsfast_dec_fn)(const unsigned char *, size_t);

static PyObject *wsfast_dec_resolve(const unsigned char *p, size_t n);

static wsfast_dec_fn wsfast_dec_impl = wsfast_dec_resolve;
static const char *wsfast_dec_impl_name = "scalar";
/* Whether the chosen kernel is a wide one (AVX2 and up), which beats
 * CPython's decoder at every size; read by the caller on each call. */
static int wsfast_dec_wide_ = 1;

/* Picks the best kernel at or below the capped level and returns its
 * level. The AVX-512 kernel also needs VBMI2 (byte and word compress): a
 * CPU without it gets the AVX2 kernel. Safe to call again at any time. */
static inline int wsfast_decode_select(int max_level) {
    int level = wsfast_effective_level(max_level);
    int chosen = WSFAST_LEVEL_SCALAR;
    wsfast_dec_fn fn = wsfast_dec_scalar;
    const char *name = "scalar";
#if defined(WSFAST_HAVE_X86_SIMD)
    int extra = wsfast_dec_x86_extra();
    if (level >= WSFAST_LEVEL_AVX512 && (extra & WSFAST_DEC_HAS_VBMI2) && (extra & WSFAST_DEC_HAS_POPCNT)) {
        fn = wsfast_dec_avx512; name = "avx512"; chosen = WSFAST_LEVEL_AVX512;
    } else if (level >= WSFAST_LEVEL_AVX2 && (extra & WSFAST_DEC_HAS_POPCNT)) {
        fn = wsfast_dec_avx2; name = "avx2"; chosen = WSFAST_LEVEL_AVX2;
    } else if (level >= WSFAST_LEVEL_SSE2) {
        fn = wsfast_dec_sse2; name = "sse2"; chosen = WSFAST_LEVEL_SSE2;
    }
#elif defined(WSFAST_AARCH64)
    if (level >= WSFAST_LEVEL_SSE2) {
        fn = wsfast_dec_neon; name = "neon"; chosen = WSFAST_LEVEL_SSE2;
    }
#else
    (void)level;
#endif
    /* Atomic (see cpu.h): other threads may be decoding meanwhile. */
    WSFAST_ATOMIC_STORE(wsfast_dec_impl_name, name);
    WSFAST_ATOMIC_STORE(wsfast_dec_impl, fn);
    WSFAST_ATOMIC_STORE(wsfast_dec_wide_, chosen >= WSFAST_LEVEL_AVX2);
    return chosen;
}

static PyObject *wsfast_dec_resolve(const unsigned char *p, size_t n) {
    wsfast_decode_select(-1);
    return WSFAST_ATOMIC_LOAD(wsfast_dec_impl)(p, n);
}

static inline int wsfast_decode_wide(void) {
    return WSFAST_ATOMIC_LOAD(wsfast_dec_wide_);
}

static inline const char *wsfast_decode_kernel(void) {
    if (WSFAST_ATOMIC_LOAD(wsfast_dec_impl) == wsfast_dec_resolve) wsfast_decode_select(-1);
    return WSFAST_ATOMIC_LOAD(wsfast_dec_impl_name);
}

/* A new str holding p[0:n], which must be valid, complete UTF-8 (checked
 * by the validator). Nothing here checks: a sequence cut by the end of the
 * input makes the scalar code read past p+n. NULL with an exception set
 * only when the allocation fails. */
static inline PyObject *wsfast_decode_valid_utf8(const unsigned char *p, size_t n) {
    /* short ASCII messages skip the indirect call and the vector set-up */
    if (n <= 16) {
        uint64_t w;
        if (n >= 8) w = wsfast_load64(p) | wsfast_load64(p + n - 8);
        else if (n >= 4) w = wsfast_load32(p) | wsfast_load32(p + n - 4);
        else w = n ? (uint64_t)(p[0] | p[n >> 1] | p[n - 1]) : 0;
        if (!(w & WSFAST_DEC_HI8)) return wsfast_dec_ascii(p, n);
    }
    return WSFAST_ATOMIC_LOAD(wsfast_dec_impl)(p, n);
}

#undef WSFAST_DEC_CONT_BITS
#undef WSFAST_DEC_GE_C4_BITS
#undef WSFAST_DEC_GE_F0_BITS

#endif /* WSFAST_UTF8_DECODE_H */
