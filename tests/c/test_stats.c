/* Plain C tests of the pure-C layers (stats.c, timer.c), built and run by
 * tests/test_c_units.py with AddressSanitizer and UBSan.  Exit status 0
 * means every check passed; a failed check prints its line. */
#include <stdio.h>
#include <stdlib.h>

#include "../../src/stats.h"
#include "../../src/timer.h"
#include "check.h"

static int released = 0;
static void release(void *obj)
{
    (void)obj;
    released++;
}

static void test_map(void)
{
    PkPtrMap m = {0};
    uintptr_t i;
    /* enough keys to force several doublings, with collisions on low bits */
    for (i = 1; i <= 5000; i++)
        CHECK(pk_map_put(&m, i << 12, i & 3, (void *)(i * 7)) == PK_OK);
    CHECK(m.len == 5000);
    for (i = 1; i <= 5000; i++)
        CHECK(pk_map_get(&m, i << 12, i & 3) == (void *)(i * 7));
    CHECK(pk_map_get(&m, 1 << 12, 2) == NULL);  /* same a, other b */
    CHECK(pk_map_get(&m, 6000u << 12, 0) == NULL);
    CHECK(pk_map_put(&m, 1 << 12, 1, (void *)99) == PK_OK); /* overwrite */
    CHECK(m.len == 5000 && pk_map_get(&m, 1 << 12, 1) == (void *)99);
    pk_map_free(&m);
    CHECK(m.cap == 0 && pk_map_get(&m, 1, 0) == NULL);
}

static void test_entries_and_edges(void)
{
    PkStats s;
    static char keys[600];
    PkEntry *a, *b, *c;
    int i;

    pk_stats_init(&s);
    for (i = 0; i < 600; i++) {
        PkEntry *e = pk_stats_add(&s, &keys[i], &keys[i]);
        CHECK(e != NULL && e->index == (uint32_t)i);
    }
    CHECK(s.n_entries == 600);
    a = pk_stats_find(&s, &keys[0]);
    b = pk_stats_find(&s, &keys[1]);
    c = pk_stats_find(&s, &keys[599]);
    CHECK(a && b && c && c->index == 599);
    CHECK(pk_stats_find_edge(&s, a, b) == NULL);
    {
        PkEdge *ab = pk_stats_edge(&s, a, b);
        PkEdge *cb = pk_stats_edge(&s, c, b);
        CHECK(ab && cb && ab != cb);
        CHECK(pk_stats_edge(&s, a, b) == ab);     /* found, not re-made */
        CHECK(pk_stats_find_edge(&s, a, b) == ab); /* through the map */
        CHECK(b->last_in == ab);
        CHECK(a->calls == ab && c->calls == cb);
    }
    pk_stats_clear(&s, release);
    CHECK(released == 600);
    CHECK(s.n_entries == 0 && pk_stats_find(&s, &keys[0]) == NULL);
}

static void test_timer(void)
{
    int64_t t0, t1;
    double spt;
    CHECK(pk_timer_init() == PK_OK);
    t0 = pk_timer_now();
    t1 = pk_timer_now();
    CHECK(t1 >= t0);
    spt = pk_timer_seconds_per_tick(); /* waits out the 10 ms calibration */
    CHECK(spt > 1e-12 && spt <= 1e-9);
    {
        int64_t n0 = pk_timer_monotonic_ns(), k0 = pk_timer_now(), n1, k1;
        do {
            n1 = pk_timer_monotonic_ns();
        } while (n1 - n0 < 20000000);
        k1 = pk_timer_now();
        /* 20 ms measured in ticks agrees with the monotonic clock to 1% */
        double measured = (double)(k1 - k0) * spt;
        double truth = (double)(n1 - n0) * 1e-9;
        CHECK(measured > truth * 0.99 && measured < truth * 1.01);
    }
    {
        /* The rate, fixed after at least 10 ms, agrees with the rate over a
         * 300 ms span to 1e-4 (bracketed reads: the narrowest of a few). */
        int64_t ends[2][2];
        int e, i;
        for (e = 0; e < 2; e++) {
            int64_t best = INT64_MAX;
            if (e == 1) {
                int64_t start = pk_timer_monotonic_ns();
                while (pk_timer_monotonic_ns() - start < 300000000)
                    ;
            }
            for (i = 0; i < 20; i++) {
                int64_t a = pk_timer_monotonic_ns(), k = pk_timer_now(), b = pk_timer_monotonic_ns();
                if (b - a < best) {
                    best = b - a;
                    ends[e][0] = a + (b - a) / 2;
                    ends[e][1] = k;
                }
            }
        }
        double slow = (double)(ends[1][0] - ends[0][0]) * 1e-9 / (double)(ends[1][1] - ends[0][1]);
        CHECK(spt > slow * (1 - 1e-4) && spt < slow * (1 + 1e-4));
    }
}

int main(void)
{
    test_map();
    test_entries_and_edges();
    test_timer();
    printf("clock: %s\n", pk_timer_source());
    return pk_checks_done("stats and timer");
}
