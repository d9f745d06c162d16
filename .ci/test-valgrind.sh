#!/bin/sh
# The engine-level tests under valgrind memcheck (a subset: valgrind runs
# Python some 50x slower).  PYTHONMALLOC=malloc sends every allocation
# through malloc so memcheck sees it.  Any error report fails the run;
# valgrind.supp lists the suppressions, each with its reason.
set -eu
venv=.venv
[ -x "$venv/bin/python" ] || { echo "run 'make test' first (it sets up .venv)" >&2; exit 2; }
export PYTHONMALLOC=malloc
vg() {
    valgrind --quiet --error-exitcode=99 --suppressions=valgrind.supp \
        --leak-check=no --undef-value-errors=no "$@"
}
vg "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_profile_api.py
vg "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_lines.py \
    -k "hits or reference or times or decorator or kinds or round_trip or loads or layout"
# The memory profiler's tracer and allocation hooks, in process.
vg "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_mem.py \
    -k "api or before_the_hook"
# The sampler thread, in process.
vg "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_memtime.py -k "memory_usage_modes or stream"
# The call tree beside the flat tables, and the legacy hooks as a guest of
# coverage, debuggers and other trace functions (hook chaining and restore).
vg "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_calltree.py
vg "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_guest.py -k "not pytest_cov"
# The sys.monitoring backend (3.12+: monitor.c, callsites.c) on the newest
# CPython that pyenv has, when there is one.
for v in 3.13 3.12; do
    mvenv=$(sh .ci/venv.sh "$v" 2>/dev/null) || continue
    vg "$mvenv/bin/python" -m pytest -q -p no:cacheprovider tests/test_callsites.py tests/test_profile_api.py
    break
done
