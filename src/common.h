/* common.h: error codes, branch hints and debug assertions shared by every
 * C file of the engine.  Pure C: no Python.h here, so timer.c and stats.c
 * can be compiled and tested without an interpreter. */
#ifndef PROFKIT_COMMON_H
#define PROFKIT_COMMON_H

#include <assert.h>

/* Return codes of the pure-C layers (stats.c, timer.c).  0 is success;
 * errors are negative.  Their callers turn them into MemoryError. */
#define PK_OK 0
#define PK_ENOMEM (-1)   /* an allocation failed */

#if defined(__GNUC__) || defined(__clang__)
#define PK_LIKELY(x) __builtin_expect(!!(x), 1)
#define PK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PK_INLINE static inline __attribute__((always_inline))
#define PK_NOINLINE __attribute__((noinline))
#define PK_HIDDEN __attribute__((visibility("hidden")))
#else
#define PK_LIKELY(x) (x)
#define PK_UNLIKELY(x) (x)
#define PK_INLINE static inline
#define PK_NOINLINE
#define PK_HIDDEN
#endif

#ifdef PK_DEBUG
#define PK_ASSERT(x) assert(x)
#else
#define PK_ASSERT(x) ((void)0)
#endif

#endif /* PROFKIT_COMMON_H */
