/* memsampler.h: process memory read from /proc, and a sampler thread.
 *
 * Pure C (no Python.h): readers of /proc/<pid>/statm and smaps_rollup that
 * keep their descriptor open, the list of a process's descendants, and a
 * pthread that samples a process at a fixed interval.  The thread records
 * samples in memory and/or writes them as mprof `.dat` lines straight to a
 * file descriptor, one write() per sample, so nothing waits in a buffer.
 */
#ifndef PROFKIT_MEMSAMPLER_H
#define PROFKIT_MEMSAMPLER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h" /* PK_OK, PK_EGONE: the process is gone */

/* What "memory" means (mprof's --backend). */
enum { PK_MEM_RSS = 0, PK_MEM_PSS = 1, PK_MEM_USS = 2 };

/* What to do with descendants of the sampled process (bit flags). */
enum { PK_CHILDREN_SUM = 1,   /* add them into the MEM figure */
       PK_CHILDREN_EACH = 2 }; /* a CHLD line per descendant */

typedef struct {
    int fd;
    int backend;
} PkMemReader;

/* Open a reader for pid (0 = this process).  Returns PK_OK, PK_EGONE, or
 * -errno. */
int pk_memreader_open(PkMemReader *r, pid_t pid, int backend);
/* Bytes of memory now; PK_OK, PK_EGONE, or -errno. */
int pk_memreader_read(const PkMemReader *r, uint64_t *bytes);
void pk_memreader_close(PkMemReader *r);

/* One-off read for pid (0 = this process). */
int pk_mem_read_once(pid_t pid, int backend, uint64_t *bytes);

/* This process's RSS in bytes, from a descriptor opened on first use and
 * kept: one pread() per call.  Thread-safe.  0 when /proc is unreadable. */
uint64_t pk_mem_self_rss(void);

/* Descendants of pid (children, their children, ...), at most cap of them.
 * Returns how many were stored. */
size_t pk_mem_descendants(pid_t pid, pid_t *out, size_t cap);

typedef struct {
    double mib;
    double t; /* unix time, seconds */
} PkMemSample;

typedef struct {
    pid_t pid;
    double mib;
    double t;
} PkChildSample;

typedef struct {
    /* settings, fixed before start */
    pid_t pid;            /* 0 = this process */
    int backend;          /* PK_MEM_* */
    int children;         /* PK_CHILDREN_* flags */
    double interval;      /* seconds */
    int out_fd;           /* -1: no .dat lines */
    int keep;             /* record samples in memory */
    long max_samples;     /* 0: no limit */

    /* results (read under mu, or after stop) */
    PkMemSample *samples;
    size_t n, cap;
    PkChildSample *csamples;
    size_t cn, ccap;
    double peak_mib, peak_t, first_t, last_t;
    long count;
    int write_errno;      /* first error writing out_fd, 0 if none */
    int oom;              /* a sample could not be stored */
    int gone;             /* the process ended while sampled */

    /* private */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wake_fd;          /* eventfd: stop requests */
    int pid_fd;           /* pidfd of the sampled process, or -1 */
    int started, finished, stop;
    PkMemReader reader;
} PkSampler;

/* Zero the struct and set defaults; then fill the settings. */
void pk_sampler_init(PkSampler *s);
/* Start the thread.  Its first sample is taken before this returns.
 * Returns PK_OK or -errno (-ESRCH for a missing process, as a system
 * call on it would say). */
int pk_sampler_start(PkSampler *s);
/* Ask the thread to take one last sample and end; wait for it. */
void pk_sampler_stop(PkSampler *s);
/* Wait up to timeout seconds (< 0: forever) for the thread to end by
 * itself (process gone or max_samples).  Returns 1 once it has ended. */
int pk_sampler_wait(PkSampler *s, double timeout);
/* Free the buffers (the thread must be stopped). */
void pk_sampler_free(PkSampler *s);

#endif /* PROFKIT_MEMSAMPLER_H */
