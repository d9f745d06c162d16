#!/bin/sh
# The suite on every CPython from $PYTHONS that pyenv has, except the one
# `make test` already covered (python3).  Each gets its own .venv-X.Y.
# Fails if any version fails.
set -eu
main=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
failed=""
ran=""
for v in ${PYTHONS:-3.9 3.10 3.11 3.12 3.13}; do
    [ "$v" = "$main" ] && continue
    rc=0
    venv=$(sh .ci/venv.sh "$v") || rc=$?
    if [ "$rc" = 3 ]; then
        echo "-- CPython $v: not installed, skipped"
        continue
    elif [ "$rc" != 0 ]; then
        echo "-- CPython $v: setting up $venv failed"
        failed="$failed $v"
        continue
    fi
    echo "-- CPython $v ($venv)"
    if "$venv/bin/pytest" -q -p no:cacheprovider; then
        ran="$ran $v"
    else
        failed="$failed $v"
    fi
done
echo "test-all: passed on:${ran:- none}; failed on:${failed:- none}"
[ -z "$failed" ]
