"""Shared fixtures.  CLI tests run profkit in a subprocess, from a scratch
folder, so they exercise the installed package exactly as a user would."""
import importlib.util
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


# The installed `profkit` command, and the folder holding the profkit under test.
PROFKIT_SCRIPT = os.path.join(os.path.dirname(sys.executable), "profkit")
PROFKIT_HOME = os.path.dirname(os.path.dirname(importlib.util.find_spec("profkit").origin))

# How the CLI is started (see CLI); ENTRIES: the ways a user starts it.
ENTRIES = ("module", "script")


class CLI:
    """Runs profkit in a subprocess from ``cwd``, started one of three ways:

    * ``module``: ``python -m profkit``.  runpy has imported importlib and
      more before profkit starts, and sys.path[0] is the current folder.
    * ``script``: the installed ``profkit`` command beside sys.executable;
      its sys.path[0] is that folder.
    * ``script-no-site``: the same command started as in a regular (not
      editable) install, where nothing has imported importlib.machinery
      before profkit: ``python -S``, profkit found through PYTHONPATH.  In
      an editable install, as in this test environment, setuptools' finder
      (loaded by a .pth file at start-up) has imported it.
    """

    def __init__(self, cwd, entry="module"):
        self.cwd = cwd
        self.entry = entry

    def command(self, *args, entry=None):
        entry = entry or self.entry
        if entry == "module":
            return [sys.executable, "-m", "profkit", *args]
        if entry == "script":
            return [PROFKIT_SCRIPT, *args]
        if entry == "script-no-site":
            return [sys.executable, "-S", PROFKIT_SCRIPT, *args]
        raise ValueError(f"unknown entry {entry!r}")

    def __call__(self, *args, env=None, timeout=120, input=None, module_entry=None):
        entry = None if module_entry is None else ("module" if module_entry else "script")
        cmd = self.command(*args, entry=entry)
        full_env = dict(os.environ)
        full_env.pop("PYTHONPATH", None)
        full_env["PYTHONIOENCODING"] = "utf-8"
        if cmd[1:2] == ["-S"]:
            full_env["PYTHONPATH"] = PROFKIT_HOME
        if env:
            full_env.update(env)
        return subprocess.run(
            cmd, cwd=self.cwd, env=full_env, capture_output=True, text=True, timeout=timeout, input=input
        )


@pytest.fixture
def cli(tmp_path, request):
    """Run ``python -m profkit ARGS`` in tmp_path; returns CompletedProcess.
    Parametrize it indirectly with an entry (see CLI) to start profkit
    another way: ``@pytest.mark.parametrize("cli", ENTRIES, indirect=True)``."""
    return CLI(str(tmp_path), getattr(request, "param", "module"))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)
