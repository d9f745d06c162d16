/* errors.c: the one table of the engine's error codes (see common.h).
 *
 * Concern: what each PK_E* code means, in words and as a kind of
 * exception.  Pure C, no Python.h: module.c's raise_code() reads this table
 * to raise, and the C tests can read it without an interpreter.  Holds no
 * state; safe from any thread.
 *
 * Must never: give two codes one meaning, or let a code into the -errno
 * range (common.h asserts that at compile time). */
#include "common.h"

#include <stddef.h>
#include <string.h>

/* A message is the start of a sentence: module.c may finish it with the
 * context of the failure ("memory was exhausted" + " while profiling"). */
static const struct {
    int code;
    PkErrorKind kind;
    const char *message;
} table[] = {
    {PK_ENOMEM, PK_KIND_MEMORY, "memory was exhausted"},
    {PK_EGONE, PK_KIND_LOOKUP, "no process"},
    {PK_EEVENT, PK_KIND_RUNTIME, "an event could not be read"},
};

#define N_CODES (sizeof table / sizeof table[0])

const char *pk_error_message(int code)
{
    size_t i;

    for (i = 0; i < N_CODES; i++) {
        if (table[i].code == code)
            return table[i].message;
    }
    /* glibc's strerror returns a static string for every errno it knows,
     * and "Unknown error N" (in a thread-local buffer) for the rest. */
    return PK_IS_ERRNO(code) ? strerror(-code) : "unknown error";
}

PkErrorKind pk_error_kind(int code)
{
    size_t i;

    for (i = 0; i < N_CODES; i++) {
        if (table[i].code == code)
            return table[i].kind;
    }
    return PK_IS_ERRNO(code) ? PK_KIND_OS : PK_KIND_RUNTIME;
}
