#!/bin/sh
# The suite against an AddressSanitizer + UBSan build of the engine.
# The build is installed (not editable) into .venv-asan so it never
# replaces the normal in-place build; python itself is not built with
# ASan, so libasan is preloaded and PYTHONMALLOC=malloc lets ASan see every
# allocation.  Leak detection is off: CPython keeps memory until exit.
set -eu
venv=.venv-asan
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip setuptools wheel
PROFKIT_SANITIZE=1 PROFKIT_WERROR=1 "$venv/bin/python" -m pip install -q --force-reinstall --no-deps --no-cache-dir .
"$venv/bin/python" -m pip install -q pytest gprof2dot line_profiler memory_profiler numpy coverage pytest-cov ipython
libasan=$(gcc -print-file-name=libasan.so)
export LD_PRELOAD="$libasan"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PYTHONMALLOC=malloc
export PROFKIT_EXPECT_SANITIZED=1
where=$(cd /tmp && "$OLDPWD/$venv/bin/python" -c 'import profkit._engine as e; print(e.__file__)')
echo "-- engine under test: $where"
case "$where" in
    */site-packages/*) ;;
    *) echo "test-asan: the sanitized build is not the one imported" >&2; exit 1 ;;
esac
"$venv/bin/pytest" -q -p no:cacheprovider
