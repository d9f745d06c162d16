/* memsampler.c: memory of a process, read from /proc, and the sampler thread.
 *
 * Concern: turning /proc into bytes as cheaply as the kernel allows, and
 * sampling at a steady interval without touching the Python interpreter.
 * The thread never takes the GIL; it talks to its owner through a mutex, a
 * condition variable and an eventfd.  Pure C: tested alone under ASan.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* ppoll */
#endif
#include "memsampler.h"

#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define MIB 1048576.0
#define MAX_CHILDREN 1024

/* ---- readers ----------------------------------------------------------- */

static long page_size(void)
{
    static long size;
    if (size == 0) {
        long v = sysconf(_SC_PAGESIZE);
        size = v > 0 ? v : 4096;
    }
    return size;
}

static int open_proc(pid_t pid, const char *name)
{
    char path[64];
    int fd;
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/%s", name);
    else
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ESRCH ? PK_EGONE : -errno;
    return fd;
}

int pk_memreader_open(PkMemReader *r, pid_t pid, int backend)
{
    int fd = open_proc(pid, backend == PK_MEM_RSS ? "statm" : "smaps_rollup");
    r->fd = -1;
    r->backend = backend;
    if (fd < 0)
        return fd;
    r->fd = fd;
    return PK_OK;
}

void pk_memreader_close(PkMemReader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

/* Read the whole (small) file at offset 0; returns length or an error. */
static ssize_t read_at0(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = pread(fd, buf + got, cap - 1 - got, (off_t)got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == ESRCH ? PK_EGONE : -errno;
        }
        got += (size_t)n;
        if (n == 0 || got == cap - 1)
            break;
    }
    buf[got] = '\0';
    return (ssize_t)got;
}

/* The value in kB after "key:" in smaps_rollup text, or -1. */
static long long rollup_kb(const char *text, const char *key)
{
    size_t klen = strlen(key);
    const char *p = text;
    while (p != NULL && *p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':')
            return strtoll(p + klen + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

int pk_memreader_read(const PkMemReader *r, uint64_t *bytes)
{
    char buf[2048];
    ssize_t len;
    if (r->fd < 0)
        return PK_EGONE;
    len = read_at0(r->fd, buf, sizeof buf);
    if (len < 0)
        return (int)len;
    if (r->backend == PK_MEM_RSS) {
        /* statm: size resident shared text lib data dt, in pages */
        char *end;
        unsigned long long resident;
        strtoull(buf, &end, 10);
        resident = strtoull(end, NULL, 10);
        if (len == 0 || resident == 0)
            return PK_EGONE; /* a zombie has no memory left */
        *bytes = (uint64_t)resident * (uint64_t)page_size();
        return PK_OK;
    } else {
        long long kb;
        if (r->backend == PK_MEM_PSS) {
            kb = rollup_kb(buf, "Pss");
        } else {
            long long clean = rollup_kb(buf, "Private_Clean");
            long long dirty = rollup_kb(buf, "Private_Dirty");
            kb = (clean < 0 || dirty < 0) ? -1 : clean + dirty;
        }
        if (kb <= 0)
            return PK_EGONE;
        *bytes = (uint64_t)kb * 1024u;
        return PK_OK;
    }
}

int pk_mem_read_once(pid_t pid, int backend, uint64_t *bytes)
{
    PkMemReader r;
    int rc = pk_memreader_open(&r, pid, backend);
    if (rc != PK_OK)
        return rc;
    rc = pk_memreader_read(&r, bytes);
    pk_memreader_close(&r);
    return rc;
}

/* Process-wide: one descriptor of this process's statm serves every thread
 * (pread at offset 0 needs no lock), opened on first use and kept. */
static int self_statm_fd = -1;

uint64_t pk_mem_self_rss(void)
{
    char buf[256];
    char *end;
    int fd = __atomic_load_n(&self_statm_fd, __ATOMIC_ACQUIRE);
    if (PK_UNLIKELY(fd < 0)) {
        int expected = -1;
        fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return 0;
        if (!__atomic_compare_exchange_n(&self_statm_fd, &expected, fd, 0, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE)) {
            close(fd); /* another thread opened it first */
            fd = expected;
        }
    }
    if (read_at0(fd, buf, sizeof buf) <= 0)
        return 0;
    strtoull(buf, &end, 10);
    return (uint64_t)strtoull(end, NULL, 10) * (uint64_t)page_size();
}

/* ---- descendants ------------------------------------------------------- */

/* Append the children listed in /proc/<pid>/task/<tid>/children for every
 * thread of pid.  Returns -1 when the kernel lacks those files. */
static int children_of(pid_t pid, pid_t *out, size_t *n, size_t cap)
{
    char path[320], buf[4096];
    DIR *dir;
    struct dirent *de;
    int found_file = 0;

    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    dir = opendir(path);
    if (dir == NULL)
        return 0;
    while ((de = readdir(dir)) != NULL && *n < cap) {
        int fd;
        ssize_t len;
        char *p, *end;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%s/children", (int)pid, de->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        found_file = 1;
        len = read_at0(fd, buf, sizeof buf);
        close(fd);
        if (len <= 0)
            continue;
        for (p = buf; *n < cap; p = end) {
            long v = strtol(p, &end, 10);
            if (end == p)
                break;
            out[(*n)++] = (pid_t)v;
        }
    }
    closedir(dir);
    if (!found_file) {
        /* No children files: either the process is gone or the kernel was
         * built without CONFIG_PROC_CHILDREN.  Tell them apart. */
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
        if (access(path, F_OK) != 0 && errno == ENOENT) {
            snprintf(path, sizeof path, "/proc/%d", (int)pid);
            if (access(path, F_OK) == 0)
                return -1;
        }
    }
    return 0;
}

/* The parent pid from /proc/<pid>/stat, or -1. */
static pid_t parent_of(const char *pid)
{
    char path[320], buf[512];
    const char *p;
    int fd;
    ssize_t len;
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    len = read_at0(fd, buf, sizeof buf);
    close(fd);
    if (len <= 0)
        return -1;
    p = strrchr(buf, ')'); /* the command name may hold spaces and parens */
    if (p == NULL || p[1] == '\0' || p[2] == '\0')
        return -1;
    p += 3; /* ") S " */
    while (*p && *p != ' ')
        p++;
    return (pid_t)strtol(p, NULL, 10);
}

/* Fallback: scan every process for its parent, then walk down from pid. */
static size_t descendants_by_scan(pid_t pid, pid_t *out, size_t cap)
{
    DIR *dir = opendir("/proc");
    struct dirent *de;
    pid_t *pids = NULL, *parents = NULL;
    size_t np = 0, pcap = 0, n = 0, head = 0;

    if (dir == NULL)
        return 0;
    while ((de = readdir(dir)) != NULL) {
        pid_t ppid;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        ppid = parent_of(de->d_name);
        if (ppid <= 0)
            continue;
        if (np == pcap) {
            size_t ncap = pcap ? pcap * 2 : 256;
            pid_t *a = realloc(pids, ncap * sizeof *a);
            pid_t *b;
            if (a == NULL)
                break;
            pids = a;
            b = realloc(parents, ncap * sizeof *b);
            if (b == NULL)
                break;
            parents = b;
            pcap = ncap;
        }
        pids[np] = (pid_t)strtol(de->d_name, NULL, 10);
        parents[np] = ppid;
        np++;
    }
    closedir(dir);
    /* breadth-first: out[] doubles as the queue */
    for (pid_t cur = pid;; cur = out[head++]) {
        for (size_t i = 0; i < np && n < cap; i++)
            if (parents[i] == cur)
                out[n++] = pids[i];
        if (head >= n)
            break;
    }
    free(pids);
    free(parents);
    return n;
}

size_t pk_mem_descendants(pid_t pid, pid_t *out, size_t cap)
{
    size_t n = 0, head = 0;
    if (pid == 0)
        pid = getpid();
    if (cap == 0)
        return 0;
    for (pid_t cur = pid;; cur = out[head++]) {
        if (children_of(cur, out, &n, cap) < 0)
            return descendants_by_scan(pid, out, cap);
        if (head >= n)
            break;
    }
    return n;
}

/* ---- the sampler thread ------------------------------------------------ */

static double clock_now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void write_all(PkSampler *s, const char *buf, size_t len)
{
    while (len > 0 && s->write_errno == 0) {
        ssize_t n = write(s->out_fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            s->write_errno = errno;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static int grow(void **buf, size_t *cap, size_t need, size_t item)
{
    size_t ncap;
    void *p;
    if (need <= *cap)
        return PK_OK;
    ncap = *cap ? *cap * 2 : 1024;
    while (ncap < need)
        ncap *= 2;
    p = realloc(*buf, ncap * item);
    if (p == NULL)
        return PK_ENOMEM;
    *buf = p;
    *cap = ncap;
    return PK_OK;
}

/* One sample: returns PK_OK, or PK_EGONE once the process has ended. */
static int take_sample(PkSampler *s)
{
    pid_t kids[MAX_CHILDREN];
    double kmib[MAX_CHILDREN];
    char line[512];
    uint64_t bytes;
    size_t nk = 0;
    double mib, t;
    int rc = pk_memreader_read(&s->reader, &bytes);

    if (rc != PK_OK)
        return PK_EGONE;
    t = clock_now(CLOCK_REALTIME);
    mib = (double)bytes / MIB;
    if (s->children) {
        nk = pk_mem_descendants(s->pid, kids, MAX_CHILDREN);
        for (size_t i = 0; i < nk; i++) {
            uint64_t kb = 0;
            kmib[i] = pk_mem_read_once(kids[i], s->backend, &kb) == PK_OK ? (double)kb / MIB : 0.0;
            if (s->children & PK_CHILDREN_SUM)
                mib += kmib[i];
        }
    }
    if (s->out_fd >= 0) {
        int len = snprintf(line, sizeof line, "MEM %.6f %.4f\n", mib, t);
        write_all(s, line, (size_t)len);
        if (s->children & PK_CHILDREN_EACH) {
            for (size_t i = 0; i < nk; i++) {
                len = snprintf(line, sizeof line, "CHLD %d %.6f %.4f\n", (int)kids[i], kmib[i], t);
                write_all(s, line, (size_t)len);
            }
        }
    }
    pthread_mutex_lock(&s->mu);
    if (s->count == 0 || mib > s->peak_mib) {
        s->peak_mib = mib;
        s->peak_t = t;
    }
    if (s->count == 0)
        s->first_t = t;
    s->last_t = t;
    s->count++;
    if (s->keep) {
        if (grow((void **)&s->samples, &s->cap, s->n + 1, sizeof *s->samples) == PK_OK) {
            s->samples[s->n].mib = mib;
            s->samples[s->n].t = t;
            s->n++;
        } else {
            s->oom = 1;
        }
        if ((s->children & PK_CHILDREN_EACH) && nk > 0) {
            if (grow((void **)&s->csamples, &s->ccap, s->cn + nk, sizeof *s->csamples) == PK_OK) {
                for (size_t i = 0; i < nk; i++) {
                    s->csamples[s->cn].pid = kids[i];
                    s->csamples[s->cn].mib = kmib[i];
                    s->csamples[s->cn].t = t;
                    s->cn++;
                }
            } else {
                s->oom = 1;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    return PK_OK;
}

static void *sampler_main(void *arg)
{
    PkSampler *s = arg;
    sigset_t all;
    double next = clock_now(CLOCK_MONOTONIC);

    /* Signals belong to the interpreter's main thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    for (;;) {
        struct pollfd fds[2];
        struct timespec ts;
        double now, wait;
        int nfds = 1;

        if (s->max_samples > 0 && s->count >= s->max_samples)
            break;
        next += s->interval;
        now = clock_now(CLOCK_MONOTONIC);
        if (next < now)
            next = now; /* running late: sample now, never in bursts */
        wait = next - now;
        ts.tv_sec = (time_t)wait;
        ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
        fds[0].fd = s->wake_fd;
        fds[0].events = POLLIN;
        fds[0].revents = 0;
        if (s->pid_fd >= 0) {
            fds[1].fd = s->pid_fd;
            fds[1].events = POLLIN;
            fds[1].revents = 0;
            nfds = 2;
        }
        if (ppoll(fds, (nfds_t)nfds, &ts, NULL) < 0 && errno != EINTR)
            break;
        if (fds[0].revents) {
            if (take_sample(s) != PK_OK)
                s->gone = 1;
            break; /* stop: with one last sample */
        }
        if (nfds == 2 && fds[1].revents) {
            s->gone = 1;
            break;
        }
        if (take_sample(s) != PK_OK) {
            s->gone = 1;
            break;
        }
    }
    pthread_mutex_lock(&s->mu);
    s->finished = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

void pk_sampler_init(PkSampler *s)
{
    pthread_condattr_t ca;
    memset(s, 0, sizeof *s);
    s->interval = 0.1;
    s->out_fd = -1;
    s->wake_fd = -1;
    s->pid_fd = -1;
    s->reader.fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
}

int pk_sampler_start(PkSampler *s)
{
    int rc;
    if (s->started)
        return -EBUSY;
    rc = pk_memreader_open(&s->reader, s->pid, s->backend);
    if (rc == PK_EGONE)
        return -ESRCH;
    if (rc != PK_OK)
        return rc;
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0) {
        rc = -errno;
        pk_memreader_close(&s->reader);
        return rc;
    }
    if (s->pid != 0 && s->pid != getpid())
        s->pid_fd = (int)syscall(SYS_pidfd_open, s->pid, 0); /* -1: fall back on reads */
    if (take_sample(s) != PK_OK) {
        pk_memreader_close(&s->reader);
        return -ESRCH;
    }
    rc = pthread_create(&s->thread, NULL, sampler_main, s);
    if (rc != 0)
        return -rc;
    s->started = 1;
    return PK_OK;
}

void pk_sampler_stop(PkSampler *s)
{
    uint64_t one = 1;
    if (!s->started)
        return;
    if (!s->stop) {
        s->stop = 1;
        if (write(s->wake_fd, &one, sizeof one) < 0) {
            /* an eventfd write only fails on overflow; the thread is awake */
        }
        pthread_join(s->thread, NULL);
    }
}

int pk_sampler_wait(PkSampler *s, double timeout)
{
    int done;
    if (!s->started)
        return 1;
    pthread_mutex_lock(&s->mu);
    if (timeout < 0) {
        while (!s->finished)
            pthread_cond_wait(&s->cv, &s->mu);
    } else if (!s->finished) {
        struct timespec ts;
        double until = clock_now(CLOCK_MONOTONIC) + timeout;
        ts.tv_sec = (time_t)until;
        ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
        while (!s->finished)
            if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
                break;
    }
    done = s->finished;
    pthread_mutex_unlock(&s->mu);
    return done;
}

void pk_sampler_free(PkSampler *s)
{
    pk_sampler_stop(s);
    pk_memreader_close(&s->reader);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    if (s->pid_fd >= 0)
        close(s->pid_fd);
    s->wake_fd = s->pid_fd = -1;
    free(s->samples);
    free(s->csamples);
    s->samples = NULL;
    s->csamples = NULL;
    s->n = s->cap = s->cn = s->ccap = 0;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}
