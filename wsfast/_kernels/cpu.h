/* Runtime CPU feature detection for kernel dispatch.
 *
 * Features are read with cpuid/xgetbv directly: __builtin_cpu_supports()
 * answers 0 under some toolchains, and a wheel must pick its kernel on the
 * machine it runs on, never at build time (no -march anywhere).
 */
#ifndef WSFAST_CPU_H
#define WSFAST_CPU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WSFAST_LEVEL_SCALAR 0
#define WSFAST_LEVEL_SSE2 1   /* x86-64 baseline; NEON on aarch64 uses this slot */
#define WSFAST_LEVEL_AVX2 2
#define WSFAST_LEVEL_AVX512 3 /* AVX-512 F + BW */

#if defined(__x86_64__) || defined(_M_X64) || defined(_M_AMD64)
#define WSFAST_X86_64 1
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define WSFAST_MSVC_X86 1
#endif
#elif defined(__aarch64__) || defined(_M_ARM64)
#define WSFAST_AARCH64 1
#endif

/* Per-function ISA targets: GCC and clang need the attribute to emit
 * AVX2/AVX-512 code in a translation unit compiled for baseline x86-64;
 * MSVC emits any intrinsic without it. */
#if defined(WSFAST_X86_64) && (defined(__GNUC__) || defined(__clang__))
#define WSFAST_TARGET(isa) __attribute__((target(isa)))
#define WSFAST_HAVE_X86_SIMD 1
#elif defined(WSFAST_MSVC_X86)
#define WSFAST_TARGET(isa)
#define WSFAST_HAVE_X86_SIMD 1
#else
#define WSFAST_TARGET(isa)
#endif

#ifdef WSFAST_X86_64
static inline void wsfast_cpuid(uint32_t leaf, uint32_t sub, uint32_t regs[4]) {
#ifdef WSFAST_MSVC_X86
    int r[4];
    __cpuidex(r, (int)leaf, (int)sub);
    regs[0] = (uint32_t)r[0]; regs[1] = (uint32_t)r[1];
    regs[2] = (uint32_t)r[2]; regs[3] = (uint32_t)r[3];
#else
    uint32_t a, b, c, d;
    __asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(sub));
    regs[0] = a; regs[1] = b; regs[2] = c; regs[3] = d;
#endif
}

static inline uint64_t wsfast_xgetbv0(void) {
#ifdef WSFAST_MSVC_X86
    return (uint64_t)_xgetbv(0);
#else
    uint32_t lo, hi;
    __asm__ __volatile__(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#endif
}
#endif

/* Dispatch pointers and cached CPU facts are read by every call, from any
 * thread (free-threaded CPython runs calls truly in parallel), and written by
 * module initialisation and by an explicit kernel choice. Word-sized atomic
 * loads and stores keep each read whole and race-free; every value ever
 * stored is valid, so a reader needs nothing stronger. */
#if defined(__GNUC__) || defined(__clang__)
#define WSFAST_ATOMIC_LOAD(var) __atomic_load_n(&(var), __ATOMIC_ACQUIRE)
#define WSFAST_ATOMIC_STORE(var, value) __atomic_store_n(&(var), (value), __ATOMIC_RELEASE)
#else
/* MSVC: an aligned word is loaded and stored in one instruction on every
 * target it builds for (x86-64, ARM64); every value stored is valid. */
#define WSFAST_ATOMIC_LOAD(var) (var)
#define WSFAST_ATOMIC_STORE(var, value) ((void)((var) = (value)))
#endif

/* Free-threaded CPython (3.13t and later): no GIL keeps other threads out
 * while a bytearray is read through a raw pointer, so the compiled modules
 * always take a buffer export there (it forbids resizing). */
#ifdef Py_GIL_DISABLED
#define WSFAST_FREE_THREADED 1
#else
#define WSFAST_FREE_THREADED 0
#endif

/* Highest kernel level this CPU and OS support (the OS must save the
 * YMM/ZMM state, hence xgetbv, not cpuid alone). Computed once. */
static inline int wsfast_cpu_level(void) {
    static int level = -1;
    int known = WSFAST_ATOMIC_LOAD(level);
    if (known >= 0) return known;
#if defined(WSFAST_HAVE_X86_SIMD)
    {
        uint32_t r[4];
        int lvl = WSFAST_LEVEL_SSE2; /* SSE2 is architectural on x86-64 */
        wsfast_cpuid(0, 0, r);
        uint32_t max_leaf = r[0];
        wsfast_cpuid(1, 0, r);
        int osxsave = (r[2] >> 27) & 1;
        int avx = (r[2] >> 28) & 1;
        if (osxsave && avx && max_leaf >= 7) {
            uint64_t xcr0 = wsfast_xgetbv0();
            int ymm_ok = (xcr0 & 0x6) == 0x6;          /* XMM | YMM */
            int zmm_ok = (xcr0 & 0xe6) == 0xe6;        /* + opmask, ZMM_Hi256, Hi16_ZMM */
            wsfast_cpuid(7, 0, r);
            int avx2 = (r[1] >> 5) & 1;
            int bmi2 = (r[1] >> 8) & 1;
            int avx512f = (r[1] >> 16) & 1;
            int avx512bw = (r[1] >> 30) & 1;
            if (ymm_ok && avx2 && bmi2) lvl = WSFAST_LEVEL_AVX2;
            if (lvl == WSFAST_LEVEL_AVX2 && zmm_ok && avx512f && avx512bw) lvl = WSFAST_LEVEL_AVX512;
        }
        known = lvl;
    }
#elif defined(WSFAST_AARCH64)
    known = WSFAST_LEVEL_SSE2; /* NEON is architectural on aarch64 */
#else
    known = WSFAST_LEVEL_SCALAR;
#endif
    /* Concurrent first calls compute and store the same value. */
    WSFAST_ATOMIC_STORE(level, known);
    return known;
}

/* Names of the CPU features found, for `python -m wsfast info`. */
static inline const char *wsfast_cpu_features(void) {
#if defined(WSFAST_AARCH64)
    return "neon";
#else
    switch (wsfast_cpu_level()) {
    case WSFAST_LEVEL_AVX512: return "sse2 avx2 bmi2 avx512f avx512bw";
    case WSFAST_LEVEL_AVX2: return "sse2 avx2 bmi2";
    case WSFAST_LEVEL_SSE2: return "sse2";
    default: return "";
    }
#endif
}

/* Every CPU feature a kernel checks, found or not, for `python -m wsfast
 * info`: "name=0" or "name=1", space-separated, in the order the checks run.
 * cpu.h decides the level (AVX needs the OS to save YMM, AVX-512 ZMM too);
 * utf8_decode.h also wants POPCNT (AVX2 and AVX-512 decoders) and
 * AVX512_VBMI2 (AVX-512 decoder). Computed once. */
static inline const char *wsfast_cpu_checks(void) {
#if defined(WSFAST_HAVE_X86_SIMD)
    static char text[256];
    if (!text[0]) {
        uint32_t r[4];
        int osxsave, avx, popcnt, ymm = 0, zmm = 0, avx2 = 0, bmi2 = 0, f = 0, bw = 0, vbmi2 = 0;
        wsfast_cpuid(0, 0, r);
        uint32_t max_leaf = r[0];
        wsfast_cpuid(1, 0, r);
        osxsave = (r[2] >> 27) & 1;
        avx = (r[2] >> 28) & 1;
        popcnt = (r[2] >> 23) & 1;
        if (osxsave) {
            uint64_t xcr0 = wsfast_xgetbv0();
            ymm = (xcr0 & 0x6) == 0x6;
            zmm = (xcr0 & 0xe6) == 0xe6;
        }
        if (max_leaf >= 7) {
            wsfast_cpuid(7, 0, r);
            avx2 = (r[1] >> 5) & 1;
            bmi2 = (r[1] >> 8) & 1;
            f = (r[1] >> 16) & 1;
            bw = (r[1] >> 30) & 1;
            vbmi2 = (r[2] >> 6) & 1;
        }
        snprintf(text, sizeof text,
                 "sse2=1 osxsave=%d avx=%d os_ymm=%d os_zmm=%d avx2=%d bmi2=%d avx512f=%d "
                 "avx512bw=%d popcnt=%d avx512vbmi2=%d",
                 osxsave, avx, ymm, zmm, avx2, bmi2, f, bw, popcnt, vbmi2);
    }
    return text;
#elif defined(WSFAST_AARCH64)
    return "neon=1";
#else
    return "";
#endif
}

/* Clamp a requested cap (WSFAST_MAX_SIMD, parsed in Python) to what the CPU has. */
static inline int wsfast_effective_level(int max_level) {
    int cpu = wsfast_cpu_level();
    if (max_level < 0 || max_level > cpu) return cpu;
    return max_level;
}

/* Fixed-width little-endian loads and stores through memcpy: compilers turn
 * these into single moves, and they are defined for any alignment. */
static inline uint64_t wsfast_load64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void wsfast_store64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint32_t wsfast_load32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void wsfast_store32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }

#endif /* WSFAST_CPU_H */
