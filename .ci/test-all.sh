#!/bin/sh
# The suite on every CPython from $PYTHONS that pyenv has, except the one
# `make test` already covered (python3).  Each gets its own .venv-X.Y.
# Fails if any version fails, and if none other than python3 is present
# only says so.
set -eu
main=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
failed=""
ran=""
for v in ${PYTHONS:-3.9 3.10 3.11 3.12 3.13}; do
    [ "$v" = "$main" ] && continue
    dir=$(ls -d "$root"/versions/"$v".* 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$dir" ] || [ ! -x "$dir/bin/python" ]; then
        echo "-- CPython $v: not installed, skipped"
        continue
    fi
    venv=".venv-$v"
    echo "-- CPython $v ($dir)"
    if [ ! -x "$venv/bin/python" ]; then
        "$dir/bin/python" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install -q --upgrade pip setuptools wheel
    PROFKIT_WERROR=1 "$venv/bin/python" -m pip install -q -e '.[test]'
    if "$venv/bin/pytest" -q -p no:cacheprovider; then
        ran="$ran $v"
    else
        failed="$failed $v"
    fi
done
echo "test-all: passed on:${ran:- none}; failed on:${failed:- none}"
[ -z "$failed" ]
