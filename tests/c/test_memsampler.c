/* Pure-C checks of memsampler.c: the /proc readers, descendants, and the
 * sampler thread, built with ASan + UBSan by tests/test_c_units.py. */
#define _GNU_SOURCE
#include "../../src/common.h"
#include "../../src/memsampler.h"
#include "check.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_readers(void)
{
    uint64_t before = pk_mem_self_rss(), once = 0, after, pss = 0, uss = 0;
    size_t size = 64u << 20;
    char *block;
    CHECK(before > 1u << 20);
    CHECK(pk_mem_read_once(0, PK_MEM_RSS, &once) == PK_OK);
    CHECK(once >= before / 2 && once <= before * 2);
    block = malloc(size);
    CHECK(block != NULL);
    memset(block, 1, size);
    after = pk_mem_self_rss();
    CHECK(after >= before + (60u << 20));
    CHECK(pk_mem_read_once(0, PK_MEM_PSS, &pss) == PK_OK);
    CHECK(pk_mem_read_once(0, PK_MEM_USS, &uss) == PK_OK);
    CHECK(uss >= (60u << 20) && uss <= pss && pss <= after + (1u << 20));
    free(block);
    CHECK(pk_mem_read_once(4194000 + 321, PK_MEM_RSS, &once) == PK_EGONE);
}

static pid_t spawn_child(int ms)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *block = malloc(32u << 20);
        if (block != NULL)
            memset(block, 2, 32u << 20);
        sleep_ms(ms);
        _exit(0);
    }
    return pid;
}

static void test_descendants_and_sampler_of_a_child(void)
{
    pid_t kids[16];
    pid_t child = spawn_child(300);
    PkSampler s;
    int status;
    size_t n;
    sleep_ms(100);
    n = pk_mem_descendants(0, kids, 16);
    CHECK(n >= 1);
    CHECK(n >= 1 && kids[0] == child);

    pk_sampler_init(&s);
    s.pid = child;
    s.interval = 0.005;
    s.keep = 1;
    CHECK(pk_sampler_start(&s) == PK_OK);
    CHECK(pk_sampler_wait(&s, 5.0) == 1); /* ends by itself when the child exits */
    CHECK(s.gone == 1);
    CHECK(s.n >= 10 && s.n == (size_t)s.count);
    CHECK(s.peak_mib > 30.0);
    pk_sampler_stop(&s);
    pk_sampler_free(&s);
    CHECK(waitpid(child, &status, 0) == child);
}

static void test_sampler_of_self_writes_lines(void)
{
    int fds[2];
    char buf[65536];
    ssize_t len;
    PkSampler s;
    CHECK(pipe(fds) == 0);
    pk_sampler_init(&s);
    s.interval = 0.001;
    s.out_fd = fds[1];
    s.keep = 1;
    s.children = PK_CHILDREN_SUM | PK_CHILDREN_EACH;
    CHECK(pk_sampler_start(&s) == PK_OK);
    CHECK(pk_sampler_start(&s) == -EBUSY);
    sleep_ms(60);
    pk_sampler_stop(&s);
    CHECK(s.count >= 20 && s.n == (size_t)s.count && s.write_errno == 0);
    for (size_t i = 1; i < s.n; i++)
        CHECK(s.samples[i].t >= s.samples[i - 1].t);
    close(fds[1]);
    len = read(fds[0], buf, sizeof buf - 1);
    CHECK(len > 0);
    if (len > 0) {
        buf[len] = '\0';
        CHECK(strncmp(buf, "MEM ", 4) == 0);
        CHECK(buf[len - 1] == '\n');
    }
    close(fds[0]);
    pk_sampler_free(&s);

    /* max_samples ends the thread by itself; a missing pid fails to start */
    pk_sampler_init(&s);
    s.max_samples = 3;
    s.interval = 0.001;
    s.keep = 1;
    CHECK(pk_sampler_start(&s) == PK_OK);
    CHECK(pk_sampler_wait(&s, 5.0) == 1);
    CHECK(s.count == 3);
    pk_sampler_free(&s);
    pk_sampler_init(&s);
    s.pid = 4194000 + 321;
    CHECK(pk_sampler_start(&s) == -ESRCH);
    pk_sampler_free(&s);
}

int main(void)
{
    test_readers();
    test_descendants_and_sampler_of_a_child();
    test_sampler_of_self_writes_lines();
    return pk_checks_done("memsampler");
}
