/* callsites.h: CALL events the function profiler can do without (3.12+).
 *
 * Builtins are seen only through CALL, C_RETURN and C_RAISE, and CALL fires
 * at every call site, for calls of Python functions too, which the profiler
 * ignores (PY_START sees them) and which a monitored site also keeps from
 * being specialised.  A site whose callable is always the current value of
 * one global name (profkit/callsites.py reads that from the bytecode) is
 * switched off (sys.monitoring.DISABLE) at a call of a Python function,
 * and the name is watched in the frame's globals and builtins (a dict
 * watcher): when it is deleted, or bound to anything but a Python
 * function, every site comes back on (sys.monitoring.restart_events()),
 * so a builtin called there is seen again, exactly.  A code object that
 * runs with other namespaces than those it was switched off in, or that
 * was already running when the session began, keeps all its sites on.
 * A name rebound to a non-function 8 times in a session stops being
 * trusted.  docs/how-it-works.md has the argument.
 *
 * GIL required throughout.  One session at a time: the function profiler
 * (functracer.c) begins and ends it with its own enable and disable. */
#ifndef PROFKIT_CALLSITES_H
#define PROFKIT_CALLSITES_H

#include "compat.h"

#if PK_HAVE_MONITORING

typedef struct PkSites PkSites; /* one code object's sites */

/* Starts a session.  Returns 1 when sites may be switched off, 0 when not
 * (PROFKIT_CALL_EVENTS=all, or the analyser or a watcher is unavailable:
 * every CALL is then monitored, as before).  Never raises. */
int pk_sites_begin(void);

/* Ends the session: every site switched off comes back on, and nothing is
 * watched any more.  Never raises. */
void pk_sites_end(void);

/* Every site switched off comes back on (the profiler's entries, which
 * hold their PkSites, are being dropped).  Never raises. */
void pk_sites_restart(void);

/* The sites of `code`, read by the analyser (an empty set when it fails),
 * or NULL when out of memory.  Runs Python code: other threads may run
 * meanwhile, so the caller checks its profiler and entry again after.
 * Never raises. */
PkSites *pk_sites_make(PyObject *code);

/* A CALL of the Python function `callable` at byte `offset` of `code`,
 * whose sites are st.  Returns `disable` to switch the site off, or
 * Py_None; both borrowed.  Runs no Python code.  Never raises. */
PyObject *pk_sites_call(PkSites *st, PyObject *code, PyObject *offset, PyObject *callable,
                        PyObject *disable);

/* A frame of the code whose sites are s starts or resumes: when some of
 * its sites are off and the frame's namespaces are not theirs, they all
 * come back on. */
void pk_sites_start(PkSites *s);

/* Whether any site of s is off now (the common case for a hot function). */
int pk_sites_any_off(const PkSites *s);

void pk_sites_free(PkSites *s);

/* The last session's switch-offs and restarts (tests read them). */
void pk_sites_counts(long *off, long *restarts);

#endif /* PK_HAVE_MONITORING */
#endif /* PROFKIT_CALLSITES_H */
