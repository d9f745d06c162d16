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

# The suite above runs on the default python3, whose function profiler
# uses the legacy hooks.  The sys.monitoring code (3.12+: monitor.c,
# callsites.c, the monitoring callbacks) gets its own sanitized pass on the
# newest CPython that pyenv has, over the engine's own tests.
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
newest=$(ls -d "$root"/versions/3.1[2-9].* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$newest" ] && [ -x "$newest/bin/python" ]; then
    mvenv=.venv-asan-mon
    [ -x "$mvenv/bin/python" ] || LD_PRELOAD= PYTHONMALLOC= "$newest/bin/python" -m venv "$mvenv"
    LD_PRELOAD= PYTHONMALLOC= "$mvenv/bin/python" -m pip install -q --upgrade pip setuptools wheel
    LD_PRELOAD= PYTHONMALLOC= PROFKIT_SANITIZE=1 PROFKIT_WERROR=1 \
        "$mvenv/bin/python" -m pip install -q --force-reinstall --no-deps --no-cache-dir .
    LD_PRELOAD= PYTHONMALLOC= "$mvenv/bin/python" -m pip install -q pytest
    mwhere=$(cd /tmp && "$OLDPWD/$mvenv/bin/python" -c 'import profkit._engine as e; print(e.__file__)')
    echo "-- sys.monitoring backend: $("$mvenv/bin/python" -V), engine under test: $mwhere"
    case "$mwhere" in
        */site-packages/*) ;;
        *) echo "test-asan: the sanitized build is not the one imported" >&2; exit 1 ;;
    esac
    (cd tests && "$OLDPWD/$mvenv/bin/python" -m pytest -q -p no:cacheprovider \
        test_callsites.py test_profile_api.py test_calltree.py test_lines.py)
else
    echo "-- no CPython 3.12+ under pyenv: the sys.monitoring pass is skipped"
fi
