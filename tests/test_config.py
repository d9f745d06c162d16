"""Settings in pyproject.toml (profkit/config.py): found walking up from the
current folder, the command's table over the shared one, every unknown key
or bad value an error that names it, and nothing parsed (or imported) when
the file does not mention profkit."""
import os
import subprocess
import sys

import pytest

from conftest import CLI, ENTRIES, write
from profkit import config
from profkit.errors import ProfkitError

PYPROJECT = """\
[project]
name = "app"

[tool.other]
sort = "ignored"

[tool.profkit]
unit = 1e-3
functions = ["make_sparse", "Matrix.*"]
backend = "rss"
interval = 0.5

[tool.profkit.func]
sort = "tottime"
no_builtins = true

[tool.profkit.lines]
skip-zero = true
functions = "only_this"

[tool.profkit.mem]
backend = "alloc"
precision = 3
"""


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "pyproject.toml", PYPROJECT)
    deep = tmp_path / "src" / "pkg"
    os.makedirs(deep)
    return tmp_path, str(deep)


def test_each_command_gets_its_own_table_over_the_shared_one(project):
    _root, deep = project
    assert config.defaults("func", deep) == {"sort": "tottime", "no_builtins": True}
    assert config.defaults("lines", deep) == {"unit": 1e-3, "func": ["only_this"], "skip_zero": True}
    assert config.defaults("mem", deep) == {"func": ["make_sparse", "Matrix.*"], "backend": "alloc",
                                            "precision": 3}
    assert config.defaults("run", deep) == {"backend": "rss", "interval": 0.5}


def test_the_first_pyproject_walking_up_is_the_one(project):
    root, deep = project
    write(root / "src" / "pyproject.toml", "[project]\nname = 'inner'\n")
    assert config.find(deep) == str(root / "src" / "pyproject.toml")
    assert config.defaults("func", deep) == {}  # it has no [tool.profkit]: the outer one is not read
    os.remove(root / "src" / "pyproject.toml")
    assert config.find(deep) == str(root / "pyproject.toml")


def test_no_file_no_settings(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "find", lambda start_dir=None: None)
    assert config.defaults("lines", str(tmp_path)) == {}


def test_the_current_folder_by_default(project, monkeypatch):
    _root, deep = project
    monkeypatch.chdir(deep)
    assert config.defaults("func") == {"sort": "tottime", "no_builtins": True}


KNOWN = ("known: tables func, lines, mem, run; keys all, backend, functions, include-children, "
         "interval, main-thread-only, modules, multiprocess, no-builtins, precision, skip-zero, "
         "sort, unit")


@pytest.mark.parametrize("command, text, message", [
    # an unknown key is an error whatever the command
    ("run", "[tool.profkit]\nunits = 1\n", f"[tool.profkit] unknown key 'units' ({KNOWN})"),
    ("func", "[tool.profkit.lines]\nsort = 'time'\n",
     "[tool.profkit.lines] unknown key 'sort' (profkit lines takes: all, functions, modules, "
     "skip-zero, unit)"),
    ("mem", "[tool.profkit.lines]\nfunc = 'f'\n",
     "[tool.profkit.lines] unknown key 'func' (profkit lines takes: all, functions, modules, "
     "skip-zero, unit)"),
    ("run", "[tool.profkit.show]\nunit = 1\n", f"[tool.profkit] unknown key 'show' ({KNOWN})"),
    ("run", "[tool.profkit]\nrun = 1\n", "[tool.profkit] run must be a table ([tool.profkit.run])"),
    # a value, when the command that takes it runs
    ("lines", "[tool.profkit.lines]\nunit = 'fast'\n",
     "[tool.profkit.lines] unit = 'fast': profkit lines takes a number from 1e-12 to 3600"),
    ("lines", "[tool.profkit.lines]\nskip-zero = 1\n",
     "[tool.profkit.lines] skip-zero = 1: profkit lines takes true or false"),
    ("lines", "[tool.profkit.lines]\nfunctions = []\n",
     "[tool.profkit.lines] functions = []: profkit lines takes a name or a list of names"),
    ("mem", "[tool.profkit.mem]\nprecision = 2.5\n",
     "[tool.profkit.mem] precision = 2.5: profkit mem takes a whole number from 0 to 9"),
    ("mem", "[tool.profkit.mem]\nbackend = 'pss'\n",
     "[tool.profkit.mem] backend = 'pss': profkit mem takes one of 'rss', 'alloc', 'both'"),
    ("run", "[tool.profkit.run]\ninterval = 0\n",
     "[tool.profkit.run] interval = 0: profkit run takes a number from 0.001 to 3600"),
    # a shared value is checked against each command that has the option
    ("run", "[tool.profkit]\nbackend = 'alloc'\n",
     "[tool.profkit] backend = 'alloc': profkit run takes one of 'rss', 'pss', 'uss'"),
    ("func", "[tool.profkit]\nmain-thread-only = 'yes'\n",
     "[tool.profkit] main-thread-only = 'yes': profkit func takes true or false"),
    ("func", "[tool.profkit\n", "not valid TOML (Expected ']' at the end of a table declaration"),
    ("func", "[tool]\nprofkit = 3\n", "tool.profkit must be a table ([tool.profkit])"),
])
def test_mistakes_name_the_key(tmp_path, command, text, message):
    write(tmp_path / "pyproject.toml", text)
    path = str(tmp_path / "pyproject.toml")
    with pytest.raises(ProfkitError) as info:
        config.defaults(command, str(tmp_path))
    assert info.value.exit_code == 2
    assert str(info.value).startswith(f"{path}: {message}"), str(info.value)
    assert "\n" not in str(info.value)


def test_a_bad_value_matters_only_to_the_command_that_takes_it(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.profkit]\nbackend = 'alloc'\n"
          "[tool.profkit.lines]\nunit = 'fast'\n")
    assert config.defaults("func", str(tmp_path)) == {}
    assert config.defaults("mem", str(tmp_path)) == {"backend": "alloc"}


def test_sort_keys_are_pstats(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.profkit.func]\nsort = 'fastest'\n")
    with pytest.raises(ProfkitError, match=r"sort = 'fastest': profkit func takes one of calls, "
                                           r"cumtime, cumulative, .*tottime$"):
        config.defaults("func", str(tmp_path))


def test_without_a_toml_reader_one_line_says_so(tmp_path, monkeypatch, capsys):
    # as on Python 3.9 and 3.10 without tomli
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    write(tmp_path / "pyproject.toml", "[project]\nname = 'app'\n")
    assert config.defaults("func", str(tmp_path)) == {}
    assert capsys.readouterr().err == ""  # no [tool.profkit]: nothing to say
    write(tmp_path / "pyproject.toml", PYPROJECT)
    assert config.defaults("func", str(tmp_path)) == {}
    assert capsys.readouterr().err == (
        f"profkit: warning: the [tool.profkit] settings in {tmp_path / 'pyproject.toml'} were not "
        "read: settings need Python 3.11+ or the tomli package (pip install tomli)\n")


def test_start_up_parses_nothing_without_profkit_in_the_file(tmp_path):
    write(tmp_path / "pyproject.toml", "[project]\nname = 'app'\n")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    code = "from profkit import config; print(config.defaults('lines'))"
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "{}\n", r.stderr
    names = {line.rsplit("|", 1)[1].strip() for line in r.stderr.splitlines()
             if line.startswith("import time:")}
    assert "profkit.config" in names
    assert not names & {"tomllib", "tomli", "profkit._engine", "pstats"}
    write(tmp_path / "pyproject.toml", PYPROJECT)
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.stdout == "{'unit': 0.001, 'func': ['only_this'], 'skip_zero': True}\n", r.stderr


def test_split_lists_and_fill_lists():
    import types

    scalars, lists = config.split_lists({"unit": 1e-3, "func": ["a"], "skip_zero": True})
    assert scalars == {"unit": 1e-3, "skip_zero": True} and lists == {"func": ["a"]}
    given = types.SimpleNamespace(func=["b"], module=[])
    config.fill_lists(given, {"func": ["a"], "module": ["m"]})
    assert given.func == ["b"] and given.module == ["m"]  # the command line wins


# ---- the commands read them ------------------------------------------------------

with open(os.path.join(os.path.dirname(__file__), "workloads", "leafwork.py")) as f:
    SCRIPT = f.read() + "\nwork(100)\ngrow(1000)\n"  # work at line 10, grow at 21

@pytest.mark.parametrize("cli", ENTRIES, indirect=True)
def test_the_commands_take_their_defaults_and_options_win(cli, tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.profkit]\nunit = 1e-3\nfunctions = ['work']\n"
          "[tool.profkit.func]\nsort = 'calls'\n[tool.profkit.mem]\nbackend = 'alloc'\n"
          "[tool.profkit.run]\ninterval = 0.05\n")
    os.mkdir(tmp_path / "sub")
    write(tmp_path / "sub" / "app.py", SCRIPT)
    sub = CLI(str(tmp_path / "sub"), cli.entry)  # the file is found walking up
    r = sub("func", "app.py")
    assert r.returncode == 0 and "   Ordered by: call count\n" in r.stdout, r.stderr
    r = sub("func", "-s", "tottime", "app.py")
    assert "   Ordered by: internal time\n" in r.stdout
    r = sub("lines", "app.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Timer unit: 0.001 s\n") and "Function: work at line 10\n" in r.stdout
    r = sub("lines", "-f", "grow", "-u", "1e-6", "app.py")
    assert r.stdout.startswith("Timer unit: 1e-06 s\n") and "Function: grow at line 21\n" in r.stdout
    assert "Function: work" not in r.stdout
    r = sub("mem", "app.py")
    assert r.returncode == 0 and "Allocated" in r.stdout and "def work(n):" in r.stdout, r.stderr
    r = sub("mem", "-b", "rss", "-f", "grow", "app.py")
    assert "Allocated" not in r.stdout and "Mem usage" in r.stdout and "def grow(n):" in r.stdout
    assert "def work(n):" not in r.stdout
    r = sub("run", "-o", "a.dat", "app.py")
    assert r.stderr.startswith("profkit run: sampling every 0.05 s into a.dat\n")


@pytest.mark.parametrize("command", ["func", "lines", "mem", "run"])
def test_a_bad_setting_stops_the_command_before_the_program(cli, tmp_path, command):
    write(tmp_path / "pyproject.toml", "[tool.profkit]\nfunctions = 'work'\nsortby = 'calls'\n")
    write(tmp_path / "app.py", "print('ran')\n")
    r = cli(command, "app.py")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == (f"profkit: error: {tmp_path / 'pyproject.toml'}: [tool.profkit] unknown key "
                        f"'sortby' ({KNOWN})\n")
