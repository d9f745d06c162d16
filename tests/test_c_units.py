"""Builds each plain C test of tests/c/ against the engine files it tests,
with AddressSanitizer + UBSan, and runs it: the pure-C layers alone (the
stats tables and the clock, the call tree, the memory sampler)."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

# test program -> (the src/ files it is built with, the name its last line says)
PROGRAMS = {
    "test_stats": (["stats.c", "timer.c"], "stats and timer"),
    "test_calltree": (["calltree.c", "stats.c"], "calltree"),
    "test_memsampler": (["memsampler.c"], "memsampler"),
}


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_pure_c_layers_under_sanitizers(tmp_path, program):
    sources, name = PROGRAMS[program]
    exe = tmp_path / program
    src = [os.path.join(ROOT, "tests", "c", program + ".c")]
    src += [os.path.join(ROOT, "src", s) for s in sources]
    build = subprocess.run(
        ["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-DPK_DEBUG", "-pthread",
         "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-o", str(exe), *src],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONMALLOC")}
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=120)
    assert (run.returncode, run.stderr) == (0, ""), run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == f"all {name} checks passed"
