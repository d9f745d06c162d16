#!/bin/sh
# `make bench`: run bench/run.py on every CPython in $PYTHONS that pyenv has
# and write all the tables to bench/RESULTS.md (replaced only at the end, so
# an interrupted run leaves the previous results).  Extra arguments for
# run.py can be given in $BENCH_ARGS (e.g. BENCH_ARGS="--repeat 9").
# BENCH_ONLY=fib runs only bench/fibsizes.py (fib at three sizes, whole
# process and in process) and appends its tables to bench/RESULTS.md.
set -eu
main=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
only=${BENCH_ONLY:-}
new=bench/RESULTS.md.new
rm -f "$new"
for v in ${PYTHONS:-3.9 3.10 3.11 3.12 3.13}; do
    if [ "$v" = "$main" ] && [ -x .venv/bin/python ]; then
        venv=.venv
    else
        rc=0
        venv=$(sh .ci/venv.sh "$v") || rc=$?
        [ "$rc" = 3 ] && { echo "-- CPython $v: not installed, skipped"; continue; }
        [ "$rc" = 0 ] || exit "$rc"
    fi
    echo "-- CPython $v ($venv)"
    if [ -z "$only" ]; then
        "$venv/bin/python" -m pip install -q numpy scipy || echo "(no numpy/scipy for $v: linalg is skipped)"
        # shellcheck disable=SC2086
        "$venv/bin/python" bench/run.py --out "$new" ${BENCH_ARGS:-}
        # the function profiler against cProfile in process, start-up left out
        "$venv/bin/python" bench/funcinproc.py --out "$new"
    fi
    # fib at three sizes, whole process and in process: a cost that grows
    # with the length of the run shows as a change between the sizes
    "$venv/bin/python" bench/fibsizes.py --out "$new"
    if [ -z "$only" ] && [ "$v" = "$main" ]; then
        # what sampling costs the running program, start-up left out
        "$venv/bin/python" bench/sampling.py --out "$new"
    fi
done
if [ -n "$only" ]; then
    cat "$new" >> bench/RESULTS.md && rm "$new"
    echo "appended to bench/RESULTS.md"
else
    mv "$new" bench/RESULTS.md
    echo "wrote bench/RESULTS.md"
fi
