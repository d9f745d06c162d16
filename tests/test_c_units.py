"""Builds tests/c/test_stats.c against src/stats.c and src/timer.c with
AddressSanitizer + UBSan and runs it: the pure-C layers tested alone."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_pure_c_layers_under_sanitizers(tmp_path):
    exe = tmp_path / "test_stats"
    src = [os.path.join(ROOT, "tests", "c", "test_stats.c"),
           os.path.join(ROOT, "src", "stats.c"), os.path.join(ROOT, "src", "timer.c")]
    build = subprocess.run(
        ["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-DPK_DEBUG",
         "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-o", str(exe), *src],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONMALLOC")}
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("all C checks passed")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_memory_sampler_under_sanitizers(tmp_path):
    exe = tmp_path / "test_memsampler"
    src = [os.path.join(ROOT, "tests", "c", "test_memsampler.c"),
           os.path.join(ROOT, "src", "memsampler.c")]
    build = subprocess.run(
        ["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-DPK_DEBUG", "-pthread",
         "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-o", str(exe), *src],
        capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONMALLOC")}
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("all memsampler checks passed")
