"""Shared fixtures.  CLI tests run profkit in a subprocess, from a scratch
folder, so they exercise the installed package exactly as a user would."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = os.path.join(HERE, "workloads")
EXAMPLES = os.path.join(ROOT, "examples")

sys.path.insert(0, WORKLOADS)

# Freed small objects go back to the kernel (pymalloc unmaps empty arenas);
# not so under PYTHONMALLOC=malloc (the ASan run), where RSS stays up.
RSS_FALLS_ON_FREE = os.environ.get("PYTHONMALLOC", "") not in ("malloc", "malloc_debug")


def _hooks_state():
    state = {"profile": sys.getprofile(), "trace": sys.gettrace()}
    if sys.version_info >= (3, 12):
        state["tools"] = [sys.monitoring.get_tool(i) for i in range(6)]
    return state


@pytest.fixture(autouse=True)
def no_hooks_left_behind():
    """Every test must leave no profile function or monitoring tool behind."""
    before = _hooks_state()
    yield
    after = _hooks_state()
    assert after == before, f"hooks left installed: {after}"


class CLI:
    def __init__(self, cwd):
        self.cwd = cwd

    def __call__(self, *args, env=None, timeout=120, input=None, module_entry=True):
        cmd = [sys.executable, "-m", "profkit", *args]
        full_env = dict(os.environ)
        full_env.pop("PYTHONPATH", None)
        full_env["PYTHONIOENCODING"] = "utf-8"
        if env:
            full_env.update(env)
        return subprocess.run(
            cmd, cwd=self.cwd, env=full_env, capture_output=True, text=True, timeout=timeout, input=input
        )


@pytest.fixture
def cli(tmp_path):
    """Run ``python -m profkit ARGS`` in tmp_path; returns CompletedProcess."""
    return CLI(str(tmp_path))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)
