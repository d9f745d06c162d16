/* common.h: error codes, branch hints and debug assertions shared by every
 * C file of the engine.  Pure C: no Python.h here, so timer.c and stats.c
 * can be compiled and tested without an interpreter. */
#ifndef PROFKIT_COMMON_H
#define PROFKIT_COMMON_H

#include <assert.h>

/* Return codes of the pure-C layers.  0 is success; errors are negative.
 * module.c maps them to Python exceptions in one place (pk_raise_code). */
#define PK_OK 0
#define PK_ENOMEM (-1)   /* an allocation failed */
#define PK_EBUSY (-2)    /* another profkit profiler is already active */
#define PK_ETOOL (-3)    /* no free sys.monitoring tool id */
#define PK_EPYTHON (-4)  /* a Python exception is set */

#if defined(__GNUC__) || defined(__clang__)
#define PK_LIKELY(x) __builtin_expect(!!(x), 1)
#define PK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PK_INLINE static inline __attribute__((always_inline))
#define PK_NOINLINE __attribute__((noinline))
#else
#define PK_LIKELY(x) (x)
#define PK_UNLIKELY(x) (x)
#define PK_INLINE static inline
#define PK_NOINLINE
#endif

#ifdef PK_DEBUG
#define PK_ASSERT(x) assert(x)
#else
#define PK_ASSERT(x) ((void)0)
#endif

/* Message for a PK_E* code, for error reports. */
const char *pk_strerror(int code);

#endif /* PROFKIT_COMMON_H */
