/* RFC 6455 payload masking: dst[i] = src[i] ^ key[i % 4].
 *
 * One kernel per SIMD level (scalar, SSE2, AVX2, AVX-512BW on x86-64; NEON
 * on aarch64), picked at run time through a function pointer. Payloads of
 * up to WSFAST_MASK_INLINE_MAX bytes (most frames) never reach the pointer:
 * they are masked inline with two overlapping word operations.
 *
 * Interface:
 *   wsfast_mask(src, dst, len, key)   dst may equal src; otherwise no overlap.
 *                                     key[0] applies to src[0].
 *   wsfast_mask_select(max_level)     choose the best kernel <= the cap
 *                                     (-1: no cap); returns the level chosen.
 *   wsfast_mask_kernel()              name of the kernel in use.
 *
 * Every kernel reads and writes only [src, src+len) and [dst, dst+len).
 * Where a kernel covers a range with two overlapping vectors, both are loaded
 * before either is stored, so in-place masking never re-masks a byte.
 */
#ifndef WSFAST_MASK_H
#define WSFAST_MASK_H

#include "cpu.h"

#if defined(WSFAST_HAVE_X86_SIMD)
#include <immintrin.h>
#elif defined(WSFAST_AARCH64)
#include <arm_neon.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define WSFAST_MASK_UNUSED __attribute__((unused))
#else
#define WSFAST_MASK_UNUSED
#endif

/* Lengths up to this are masked inline in wsfast_mask(), before dispatch
 * (the inline code handles at most 16). */
#ifndef WSFAST_MASK_INLINE_MAX
#define WSFAST_MASK_INLINE_MAX 16
#endif
#if WSFAST_MASK_INLINE_MAX > 16
#error "WSFAST_MASK_INLINE_MAX must be at most 16"
#endif
/* From this length on, the AVX2/AVX-512 kernels align their stores to the
 * vector width (a split store costs two cache-line accesses). */
#ifndef WSFAST_MASK_ALIGN_MIN
#define WSFAST_MASK_ALIGN_MIN 256
#endif

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define WSFAST_MASK_BIG_ENDIAN 1
#endif

/* Key word for a chunk starting `off` bytes (mod 4) after the key phase:
 * its first byte in memory is key[off & 3]. The shift forms are the
 * rotate idiom (no undefined shift by the full width when off == 0). */
static inline uint32_t wsfast_mask_rot32_(uint32_t k, size_t off) {
    unsigned s = (unsigned)(off & 3) * 8u;
#ifdef WSFAST_MASK_BIG_ENDIAN
    return (k << s) | (k >> ((32u - s) & 31u));
#else
    return (k >> s) | (k << ((32u - s) & 31u));
#endif
}

static inline uint64_t wsfast_mask_rot64_(uint64_t k, size_t off) {
    unsigned s = (unsigned)(off & 3) * 8u;
#ifdef WSFAST_MASK_BIG_ENDIAN
    return (k << s) | (k >> ((64u - s) & 63u));
#else
    return (k >> s) | (k << ((64u - s) & 63u));
#endif
}

/* The 4 key bytes twice, in memory order, as one native 64-bit word. */
static inline uint64_t wsfast_mask_key64_(uint32_t k32) {
    return ((uint64_t)k32 << 32) | (uint64_t)k32;
}

/* len <= 16, branch per size class only: two overlapping 8-byte (9..16),
 * two overlapping 4-byte (4..8) or three single-byte (1..3) operations,
 * all loads first. */
static inline void wsfast_mask_small_(const unsigned char *src, unsigned char *dst, size_t len,
                                      const unsigned char *key) {
    if (len >= 8) {
        uint64_t k = wsfast_mask_key64_(wsfast_load32(key));
        uint64_t a = wsfast_load64(src);
        uint64_t b = wsfast_load64(src + len - 8);
        wsfast_store64(dst, a ^ k);
        wsfast_store64(dst + len - 8, b ^ wsfast_mask_rot64_(k, len));
    } else if (len >= 4) {
        uint32_t k = wsfast_load32(key);
        uint32_t a = wsfast_load32(src);
        uint32_t b = wsfast_load32(src + len - 4);
        wsfast_store32(dst, a ^ k);
        wsfast_store32(dst + len - 4, b ^ wsfast_mask_rot32_(k, len));
    } else if (len > 0) {
        /* positions 0, len/2, len-1 cover 1..3 bytes */
        size_t m = len >> 1, e = len - 1;
        unsigned char a = (unsigned char)(src[0] ^ key[0]);
        unsigned char b = (unsigned char)(src[m] ^ key[m]);
        unsigned char c = (unsigned char)(src[e] ^ key[e]);
        dst[0] = a;
        dst[m] = b;
        dst[e] = c;
    }
}

/* ------------------------------------------------------------------ */
/* scalar: 64-bit words, 32 bytes per iteration                        */

static void wsfast_mask_scalar(const unsigned char *src, unsigned char *dst, size_t len,
                               const unsigned char *key) {
    uint64_t k, tail;
    size_t i = 0;
    if (len <= 16) {
        wsfast_mask_small_(src, dst, len, key);
        return;
    }
    k = wsfast_mask_key64_(wsfast_load32(key));
    /* last 8 bytes, loaded before anything is stored (in-place safe) */
    tail = wsfast_load64(src + len - 8) ^ wsfast_mask_rot64_(k, len);
    for (; i + 32 <= len; i += 32) {
        uint64_t a = wsfast_load64(src + i);
        uint64_t b = wsfast_load64(src + i + 8);
        uint64_t c = wsfast_load64(src + i + 16);
        uint64_t d = wsfast_load64(src + i + 24);
        wsfast_store64(dst + i, a ^ k);
        wsfast_store64(dst + i + 8, b ^ k);
        wsfast_store64(dst + i + 16, c ^ k);
        wsfast_store64(dst + i + 24, d ^ k);
    }
    for (; i + 8 <= len; i += 8)
        wsfast_store64(dst + i, wsfast_load64(src + i) ^ k);
    wsfast_store64(dst + len - 8, tail);
}

/* ------------------------------------------------------------------ */
/* x86-64: SSE2, AVX2, AVX-512BW                                       */

#if defined(WSFAST_HAVE_X86_SIMD)

/* Unaligned loads and stores; the void * step keeps -Wcast-align quiet. */
#define WSFAST_MASK_LD128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define WSFAST_MASK_ST128(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
#define WSFAST_MASK_LD256(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define WSFAST_MASK_ST256(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#define WSFAST_MASK_LD512(p) _mm512_loadu_si512((const void *)(p))
#define WSFAST_MASK_ST512(p, v) _mm512_storeu_si512((void *)(p), (v))

WSFAST_TARGET("sse2")
static void wsfast_mask_sse2(const unsigned char *src, unsigned char *dst, size_t len,
                             const unsigned char *key) {
    uint32_t k32;
    __m128i k, t;
    size_t i = 0;
    if (len <= 16) {
        wsfast_mask_small_(src, dst, len, key);
        return;
    }
    k32 = wsfast_load32(key);
    k = _mm_set1_epi32((int)k32);
    t = _mm_xor_si128(WSFAST_MASK_LD128(src + len - 16),
                      _mm_set1_epi32((int)wsfast_mask_rot32_(k32, len)));
    for (; i + 64 <= len; i += 64) {
        __m128i a = WSFAST_MASK_LD128(src + i);
        __m128i b = WSFAST_MASK_LD128(src + i + 16);
        __m128i c = WSFAST_MASK_LD128(src + i + 32);
        __m128i d = WSFAST_MASK_LD128(src + i + 48);
        WSFAST_MASK_ST128(dst + i, _mm_xor_si128(a, k));
        WSFAST_MASK_ST128(dst + i + 16, _mm_xor_si128(b, k));
        WSFAST_MASK_ST128(dst + i + 32, _mm_xor_si128(c, k));
        WSFAST_MASK_ST128(dst + i + 48, _mm_xor_si128(d, k));
    }
    for (; i + 16 <= len; i += 16)
        WSFAST_MASK_ST128(dst + i, _mm_xor_si128(WSFAST_MASK_LD128(src + i), k));
    WSFAST_MASK_ST128(dst + len - 16, t);
}

WSFAST_TARGET("avx2")
static void wsfast_mask_avx2(const unsigned char *src, unsigned char *dst, size_t len,
                             const unsigned char *key) {
    uint32_t k32;
    __m256i k, kl, h, t;
    size_t i = 0, p = 0;
    if (len <= 16) {
        wsfast_mask_small_(src, dst, len, key);
        return;
    }
    k32 = wsfast_load32(key);
    if (len <= 32) {
        __m128i k1 = _mm_set1_epi32((int)k32);
        __m128i a = WSFAST_MASK_LD128(src);
        __m128i b = WSFAST_MASK_LD128(src + len - 16);
        __m128i kt = _mm_set1_epi32((int)wsfast_mask_rot32_(k32, len));
        WSFAST_MASK_ST128(dst, _mm_xor_si128(a, k1));
        WSFAST_MASK_ST128(dst + len - 16, _mm_xor_si128(b, kt));
        return;
    }
    k = _mm256_set1_epi32((int)k32);
    kl = _mm256_set1_epi32((int)wsfast_mask_rot32_(k32, len)); /* for vectors ending at len */
    if (len <= 64) {
        __m256i a = WSFAST_MASK_LD256(src);
        __m256i b = WSFAST_MASK_LD256(src + len - 32);
        WSFAST_MASK_ST256(dst, _mm256_xor_si256(a, k));
        WSFAST_MASK_ST256(dst + len - 32, _mm256_xor_si256(b, kl));
        return;
    }
    if (len <= 128) {
        __m256i a = WSFAST_MASK_LD256(src);
        __m256i b = WSFAST_MASK_LD256(src + 32);
        __m256i c = WSFAST_MASK_LD256(src + len - 64);
        __m256i d = WSFAST_MASK_LD256(src + len - 32);
        WSFAST_MASK_ST256(dst, _mm256_xor_si256(a, k));
        WSFAST_MASK_ST256(dst + 32, _mm256_xor_si256(b, k));
        WSFAST_MASK_ST256(dst + len - 64, _mm256_xor_si256(c, kl));
        WSFAST_MASK_ST256(dst + len - 32, _mm256_xor_si256(d, kl));
        return;
    }
    /* The last 32 bytes (and, when aligning, the first 32) are loaded before
     * the loop and stored after it, so in place they are never re-masked. */
    t = _mm256_xor_si256(WSFAST_MASK_LD256(src + len - 32), kl);
    kl = k;
    h = k;
    if (len >= WSFAST_MASK_ALIGN_MIN) {
        /* loop from the first 32-byte boundary of dst, key rotated to match */
        p = (size_t)(0u - (uintptr_t)dst) & 31u;
        if (p) {
            h = _mm256_xor_si256(WSFAST_MASK_LD256(src), k);
            kl = _mm256_set1_epi32((int)wsfast_mask_rot32_(k32, p));
            i = p;
        }
    }
    for (; i + 128 <= len; i += 128) {
        __m256i a = WSFAST_MASK_LD256(src + i);
        __m256i b = WSFAST_MASK_LD256(src + i + 32);
        __m256i c = WSFAST_MASK_LD256(src + i + 64);
        __m256i d = WSFAST_MASK_LD256(src + i + 96);
        WSFAST_MASK_ST256(dst + i, _mm256_xor_si256(a, kl));
        WSFAST_MASK_ST256(dst + i + 32, _mm256_xor_si256(b, kl));
        WSFAST_MASK_ST256(dst + i + 64, _mm256_xor_si256(c, kl));
        WSFAST_MASK_ST256(dst + i + 96, _mm256_xor_si256(d, kl));
    }
    for (; i + 32 <= len; i += 32)
        WSFAST_MASK_ST256(dst + i, _mm256_xor_si256(WSFAST_MASK_LD256(src + i), kl));
    if (p)
        WSFAST_MASK_ST256(dst, h);
    WSFAST_MASK_ST256(dst + len - 32, t);
}

/* Bytes [0, n) of a 64-byte vector, n <= 64. */
static inline uint64_t wsfast_mask_lowbits_(size_t n) {
    return n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
}

WSFAST_TARGET("avx512f,avx512bw")
static void wsfast_mask_avx512(const unsigned char *src, unsigned char *dst, size_t len,
                               const unsigned char *key) {
    uint32_t k32;
    __m512i k, kl, h, t;
    size_t i = 0, p = 0;
    if (len <= 16) {
        wsfast_mask_small_(src, dst, len, key);
        return;
    }
    k32 = wsfast_load32(key);
    k = _mm512_set1_epi32((int)k32);
    if (len <= 64) {
        /* one masked operation; masked-off bytes are neither read nor written */
        __mmask64 m = (__mmask64)wsfast_mask_lowbits_(len);
        __m512i a = _mm512_maskz_loadu_epi8(m, src);
        _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(a, k));
        return;
    }
    kl = _mm512_set1_epi32((int)wsfast_mask_rot32_(k32, len)); /* for vectors ending at len */
    if (len <= 128) {
        __m512i a = WSFAST_MASK_LD512(src);
        __m512i b = WSFAST_MASK_LD512(src + len - 64);
        WSFAST_MASK_ST512(dst, _mm512_xor_si512(a, k));
        WSFAST_MASK_ST512(dst + len - 64, _mm512_xor_si512(b, kl));
        return;
    }
    /* Same shape as the AVX2 kernel: head and tail loaded before the loop
     * and stored after it. (A masked head store measured 1.5-1.8x slower
     * on Zen 4 for 0.5-1 KiB: the loop's first loads wait for it.) */
    t = _mm512_xor_si512(WSFAST_MASK_LD512(src + len - 64), kl);
    kl = k;
    h = k;
    if (len >= WSFAST_MASK_ALIGN_MIN) {
        p = (size_t)(0u - (uintptr_t)dst) & 63u;
        if (p) {
            h = _mm512_xor_si512(WSFAST_MASK_LD512(src), k);
            kl = _mm512_set1_epi32((int)wsfast_mask_rot32_(k32, p));
            i = p;
        }
    }
    for (; i + 256 <= len; i += 256) {
        __m512i a = WSFAST_MASK_LD512(src + i);
        __m512i b = WSFAST_MASK_LD512(src + i + 64);
        __m512i c = WSFAST_MASK_LD512(src + i + 128);
        __m512i d = WSFAST_MASK_LD512(src + i + 192);
        WSFAST_MASK_ST512(dst + i, _mm512_xor_si512(a, kl));
        WSFAST_MASK_ST512(dst + i + 64, _mm512_xor_si512(b, kl));
        WSFAST_MASK_ST512(dst + i + 128, _mm512_xor_si512(c, kl));
        WSFAST_MASK_ST512(dst + i + 192, _mm512_xor_si512(d, kl));
    }
    for (; i + 64 <= len; i += 64)
        WSFAST_MASK_ST512(dst + i, _mm512_xor_si512(WSFAST_MASK_LD512(src + i), kl));
    if (p)
        WSFAST_MASK_ST512(dst, h);
    WSFAST_MASK_ST512(dst + len - 64, t);
}

#endif /* WSFAST_HAVE_X86_SIMD */

/* ------------------------------------------------------------------ */
/* aarch64: NEON                                                       */

#if defined(WSFAST_AARCH64)

static void wsfast_mask_neon(const unsigned char *src, unsigned char *dst, size_t len,
                             const unsigned char *key) {
    unsigned char kb[20];
    uint8x16_t k, t;
    size_t i = 0;
    int j;
    if (len <= 16) {
        wsfast_mask_small_(src, dst, len, key);
        return;
    }
    /* key repeated in memory order: kb + r is the key rotated by r bytes */
    for (j = 0; j < 20; j++)
        kb[j] = key[j & 3];
    k = vld1q_u8(kb);
    t = veorq_u8(vld1q_u8(src + len - 16), vld1q_u8(kb + (len & 3)));
    for (; i + 64 <= len; i += 64) {
        uint8x16_t a = vld1q_u8(src + i);
        uint8x16_t b = vld1q_u8(src + i + 16);
        uint8x16_t c = vld1q_u8(src + i + 32);
        uint8x16_t d = vld1q_u8(src + i + 48);
        vst1q_u8(dst + i, veorq_u8(a, k));
        vst1q_u8(dst + i + 16, veorq_u8(b, k));
        vst1q_u8(dst + i + 32, veorq_u8(c, k));
        vst1q_u8(dst + i + 48, veorq_u8(d, k));
    }
    for (; i + 16 <= len; i += 16)
        vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), k));
    vst1q_u8(dst + len - 16, t);
}

#endif /* WSFAST_AARCH64 */

/* ------------------------------------------------------------------ */
/* dispatch                                                            */

typedef void (*wsfast_mask_fn)(const unsigned char *src, unsigned char *dst, size_t len,
                               const unsigned char *key);

static void wsfast_mask_resolve_(const unsigned char *src, unsigned char *dst, size_t len,
                                 const unsigned char *key);

/* Starts at the resolver, which selects with no cap on the first call (the
 * module's initialisation makes that call, before any other thread can).
 * Read and written atomically: a kernel may be chosen again at run time
 * while other threads mask; they get the old kernel or the new one. */
static wsfast_mask_fn wsfast_mask_impl_ WSFAST_MASK_UNUSED = wsfast_mask_resolve_;
static const char *wsfast_mask_name_ WSFAST_MASK_UNUSED = 0;

WSFAST_MASK_UNUSED
static int wsfast_mask_select(int max_level) {
    int level = wsfast_effective_level(max_level);
    wsfast_mask_fn fn = wsfast_mask_scalar;
    const char *name = "scalar";
#if defined(WSFAST_HAVE_X86_SIMD)
    if (level >= WSFAST_LEVEL_AVX512) {
        level = WSFAST_LEVEL_AVX512;
        fn = wsfast_mask_avx512;
        name = "avx512";
    } else if (level == WSFAST_LEVEL_AVX2) {
        fn = wsfast_mask_avx2;
        name = "avx2";
    } else if (level == WSFAST_LEVEL_SSE2) {
        fn = wsfast_mask_sse2;
        name = "sse2";
    } else {
        level = WSFAST_LEVEL_SCALAR;
    }
#elif defined(WSFAST_AARCH64)
    if (level >= WSFAST_LEVEL_SSE2) {
        level = WSFAST_LEVEL_SSE2;
        fn = wsfast_mask_neon;
        name = "neon";
    } else {
        level = WSFAST_LEVEL_SCALAR;
    }
#else
    level = WSFAST_LEVEL_SCALAR;
#endif
    WSFAST_ATOMIC_STORE(wsfast_mask_name_, name);
    WSFAST_ATOMIC_STORE(wsfast_mask_impl_, fn);
    return level;
}

static void wsfast_mask_resolve_(const unsigned char *src, unsigned char *dst, size_t len,
                                 const unsigned char *key) {
    wsfast_mask_select(-1);
    WSFAST_ATOMIC_LOAD(wsfast_mask_impl_)(src, dst, len, key);
}

WSFAST_MASK_UNUSED
static const char *wsfast_mask_kernel(void) {
    if (!WSFAST_ATOMIC_LOAD(wsfast_mask_name_))
        wsfast_mask_select(-1);
    return WSFAST_ATOMIC_LOAD(wsfast_mask_name_);
}

/* XOR `len` bytes of src with the 4-byte key into dst; key[0] applies to
 * src[0]. dst may equal src (in place); otherwise they must not overlap. */
static inline void wsfast_mask(const unsigned char *src, unsigned char *dst, size_t len,
                               const unsigned char key[4]) {
    if (len <= WSFAST_MASK_INLINE_MAX)
        wsfast_mask_small_(src, dst, len, key);
    else
        WSFAST_ATOMIC_LOAD(wsfast_mask_impl_)(src, dst, len, key);
}

#endif /* WSFAST_MASK_H */
