/* check.h: the one assertion of the plain C tests in tests/c, which
 * tests/test_c_units.py builds with AddressSanitizer + UBSan and runs.
 * A failed CHECK prints its place and counts; pk_checks_done(name) ends
 * main: "all NAME checks passed" on stdout and status 0, or the count of
 * failures on stderr and status 1. */
#ifndef PROFKIT_TEST_CHECK_H
#define PROFKIT_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond);         \
            failures++;                                                               \
        }                                                                             \
    } while (0)

static inline int pk_checks_done(const char *name)
{
    if (failures) {
        fprintf(stderr, "%d %s checks failed\n", failures, name);
        return 1;
    }
    printf("all %s checks passed\n", name);
    return 0;
}

#endif /* PROFKIT_TEST_CHECK_H */
