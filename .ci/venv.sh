#!/bin/sh
# Print the path of a virtual environment for CPython X.Y with profkit
# installed (editable, test extras), creating it when missing:
#   .ci/venv.sh 3.12   ->  .venv-3.12
# Prints nothing and exits 3 when pyenv has no such version.
set -eu
v=$1
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
dir=$(ls -d "$root"/versions/"$v".* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$dir" ] || [ ! -x "$dir/bin/python" ]; then
    exit 3
fi
venv=".venv-$v"
if [ ! -x "$venv/bin/python" ]; then
    "$dir/bin/python" -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install -q --upgrade pip setuptools wheel >&2
PROFKIT_WERROR=1 "$venv/bin/python" -m pip install -q -e '.[test]' >&2
echo "$venv"
