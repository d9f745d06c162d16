/* common.h: error codes, sticky errors, branch hints, thread-local storage
 * and debug assertions shared by every C file of the engine.  Pure C: no
 * Python.h here, so timer.c, stats.c, memsampler.c and errors.c can be
 * compiled and tested without an interpreter. */
#ifndef PROFKIT_COMMON_H
#define PROFKIT_COMMON_H

#include <assert.h>

/* Return codes of the pure-C layers, and the sticky errors the callbacks
 * record.  0 is success, errors are negative.  -1 .. -PK_ERRNO_MAX are
 * -errno from a failed system call (memsampler.c returns those as they
 * come), so the engine's own codes sit below that range and can never be
 * read as an errno.  errors.c holds each code's message and kind; module.c
 * turns any code into a Python exception in one helper (raise_code). */
#define PK_OK 0
#define PK_ERRNO_MAX 4095    /* Linux's MAX_ERRNO: the largest errno value */
#define PK_ENOMEM (-5001)    /* an allocation failed */
#define PK_EGONE (-5002)     /* the process is gone (exited, reaped, or a zombie) */
#define PK_EEVENT (-5003)    /* an event carried an argument the tracer could not read */

#define PK_IS_ERRNO(code) ((code) < 0 && (code) >= -PK_ERRNO_MAX)
_Static_assert(!PK_IS_ERRNO(PK_ENOMEM) && !PK_IS_ERRNO(PK_EGONE) && !PK_IS_ERRNO(PK_EEVENT),
               "engine codes must lie outside the -errno range");

/* What a code becomes at the Python boundary; module.c picks the type. */
typedef enum {
    PK_KIND_OS,      /* -errno: OSError with that errno */
    PK_KIND_MEMORY,  /* MemoryError */
    PK_KIND_LOOKUP,  /* ProcessLookupError */
    PK_KIND_RUNTIME, /* RuntimeError */
} PkErrorKind;

/* The message of an engine code (errors.c's table), or strerror() of a
 * -errno.  Never NULL; a code outside both reads "unknown error". */
const char *pk_error_message(int code);

/* The kind of a code: PK_KIND_OS for a -errno, PK_KIND_RUNTIME for a code
 * outside both ranges (a bug, reported rather than hidden). */
PkErrorKind pk_error_kind(int code);

#if defined(__GNUC__) || defined(__clang__)
#define PK_LIKELY(x) __builtin_expect(!!(x), 1)
#define PK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PK_INLINE static inline __attribute__((always_inline))
#define PK_NOINLINE __attribute__((noinline))
#define PK_HIDDEN __attribute__((visibility("hidden")))
/* A thread-local of this shared object: initial-exec costs one offset load
 * per access, where the default model would call __tls_get_addr. */
#define PK_TLS static __thread __attribute__((tls_model("initial-exec")))
#else
#define PK_LIKELY(x) (x)
#define PK_UNLIKELY(x) (x)
#define PK_INLINE static inline
#define PK_NOINLINE
#define PK_HIDDEN
#define PK_TLS static _Thread_local
#endif

/* Records `code` in a sticky error slot unless one is there already: a
 * callback that fails records and goes on, and the first failure is the
 * one disable() or the stats report. */
PK_INLINE void pk_sticky(int *slot, int code)
{
    if (*slot == PK_OK)
        *slot = code;
}

#ifdef PK_DEBUG
#define PK_ASSERT(x) assert(x)
#else
#define PK_ASSERT(x) ((void)0)
#endif

#endif /* PROFKIT_COMMON_H */
