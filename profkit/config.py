"""Settings in ``pyproject.toml``: the defaults of ``profkit func``, ``lines``,
``mem`` and ``run`` that users would otherwise type every time.

    [tool.profkit]              # shared: each key goes to every command that has it
    unit = 1e-3
    functions = ["make_sparse", "Matrix.*"]

    [tool.profkit.func]         # one command's own: wins over the shared table
    sort = "tottime"

    [tool.profkit.mem]
    backend = "alloc"

A key is the command's long option without its dashes (``skip-zero``,
``main-thread-only``; ``skip_zero`` is read the same), except for the
functions and modules to profile (``-f``, ``--module``): ``functions`` and
``modules``, since a key ``func`` would clash with the table
``[tool.profkit.func]``.  The file is the first
``pyproject.toml`` found walking up from the current folder, as kernprof
finds ``[tool.line_profiler]``; options on the command line win.  A key
profkit does not know, or a value it cannot take, is an error that names it
(exit code 2).

Start-up stays cheap: this module imports only ``os`` and ``sys``, and the
TOML reader (tomllib, or tomli before Python 3.11) loads only when the file
mentions profkit at all.
"""
import os
import sys

from profkit.errors import ProfkitError

__all__ = ["COMMANDS", "defaults", "find", "read", "split_lists", "fill_lists"]

FILENAME = "pyproject.toml"

# key -> (attribute the command's options use, kind); a kind is a checker
# below that returns the value or raises ValueError with what it expects
_BOOL, _STRS, _TEXT = "bool", "strs", "text"


def _check(kind, value):
    if kind == _BOOL:
        if isinstance(value, bool):
            return value
        raise ValueError("true or false")
    if kind == _STRS:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
            return list(value)
        raise ValueError("a name or a list of names")
    if kind == _TEXT:
        if isinstance(value, str) and value:
            return value
        raise ValueError("a string")
    if isinstance(kind, tuple) and kind and isinstance(kind[0], str):  # choices
        if value in kind:
            return value
        raise ValueError("one of " + ", ".join(repr(c) for c in kind))
    low, high, whole = kind  # a number in [low, high]
    ok = isinstance(value, int) if whole else isinstance(value, (int, float))
    if ok and not isinstance(value, bool) and low <= value <= high:
        return value
    what = "a whole number" if whole else "a number"
    raise ValueError(f"{what} from {low:g} to {high:g}")


_SORT = "sort"  # checked against pstats' keys, which load only when it is set

# command -> {key: (attribute, kind)}: the options of each command a file may set
COMMANDS = {
    "func": {"sort": ("sort", _SORT), "main-thread-only": ("main_thread_only", _BOOL),
             "no-builtins": ("no_builtins", _BOOL)},
    "lines": {"unit": ("unit", (1e-12, 3600.0, False)), "skip-zero": ("skip_zero", _BOOL),
              "functions": ("func", _STRS), "modules": ("module", _STRS), "all": ("all", _BOOL)},
    "mem": {"functions": ("func", _STRS), "modules": ("module", _STRS),
            "precision": ("precision", (0, 9, True)),
            "backend": ("backend", ("rss", "alloc", "both"))},
    "run": {"interval": ("interval", (0.001, 3600.0, False)),
            "include-children": ("include_children", _BOOL),
            "multiprocess": ("multiprocess", _BOOL), "backend": ("backend", ("rss", "pss", "uss"))},
}


def find(start_dir=None):
    """The first pyproject.toml in ``start_dir`` (default: the current
    folder) or a folder above it, or None."""
    folder = os.path.abspath(start_dir or os.getcwd())
    while True:
        path = os.path.join(folder, FILENAME)
        if os.path.isfile(path):
            return path
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _toml():
    """The TOML reader of this Python, or None."""
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            return None
    return tomllib


def read(path):
    """The ``[tool.profkit]`` table of ``path`` as a dict ({} when there is
    none).  Raises ProfkitError when the file cannot be read or is not TOML.
    Without a TOML reader (Python < 3.11 without tomli), says so in one line
    on stderr and returns {}, but only when the file mentions profkit."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ProfkitError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"profkit" not in data:  # no section: no parsing, no TOML reader to import
        return {}
    toml = _toml()
    if toml is None:
        print(f"profkit: warning: the [tool.profkit] settings in {path} were not read: "
              "settings need Python 3.11+ or the tomli package (pip install tomli)", file=sys.stderr)
        return {}
    try:
        doc = toml.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # TOMLDecodeError is a ValueError
        raise ProfkitError(f"{path}: not valid TOML ({exc})") from None
    table = doc.get("tool", {}).get("profkit", {}) if isinstance(doc.get("tool"), dict) else {}
    if not isinstance(table, dict):
        raise ProfkitError(f"{path}: tool.profkit must be a table ([tool.profkit])")
    return table


def _known_shared():
    keys = {}
    for command, spec in COMMANDS.items():
        for key in spec:
            keys.setdefault(key, []).append(command)
    return keys


def _norm(key):
    return key.replace("_", "-")


def _settings(path, where, table, command):
    """{attribute: value} of ``table`` for ``command``; ``where`` names
    the table in messages."""
    spec = COMMANDS[command]
    out = {}
    for raw, value in table.items():
        key = _norm(raw)
        attr, kind = spec[key]
        try:
            out[attr] = _sort_key(value) if kind == _SORT else _check(kind, value)
        except ValueError as exc:
            raise ProfkitError(f"{path}: [{where}] {raw} = {value!r}: profkit {command} takes "
                               f"{exc}") from None
    return out


def _sort_key(value):
    import pstats

    keys = sorted(pstats.Stats.sort_arg_dict_default)
    if value in keys:
        return value
    raise ValueError("one of " + ", ".join(keys))


def _check_keys(path, table):
    """Every key and subtable of [tool.profkit] is one profkit knows."""
    shared = _known_shared()
    for raw, value in table.items():
        key = _norm(raw)
        if key in COMMANDS and isinstance(value, dict):
            spec = COMMANDS[key]
            for sub in value:
                if _norm(sub) not in spec:
                    raise ProfkitError(f"{path}: [tool.profkit.{key}] unknown key {sub!r} (profkit "
                                       f"{key} takes: {', '.join(sorted(spec))})")
        elif key in COMMANDS and key not in shared:
            raise ProfkitError(f"{path}: [tool.profkit] {raw} must be a table ([tool.profkit.{key}])")
        elif key not in shared:
            raise ProfkitError(f"{path}: [tool.profkit] unknown key {raw!r} (known: tables "
                               f"{', '.join(COMMANDS)}; keys {', '.join(sorted(shared))})")


def defaults(command, start_dir=None):
    """The settings of ``command`` (func, lines, mem or run) from the
    pyproject.toml above ``start_dir``: {option attribute: value}, the
    command's own table over the shared one.  {} when there is no file or
    no [tool.profkit].  Raises ProfkitError (exit code 2) for an unknown
    key anywhere in [tool.profkit], or a value the command cannot take."""
    if command not in COMMANDS:
        raise ValueError(f"no settings for command {command!r}")
    path = find(start_dir)
    if path is None:
        return {}
    table = read(path)
    if not table:
        return {}
    _check_keys(path, table)
    shared = {k: v for k, v in table.items() if _norm(k) in COMMANDS[command]
              and not (_norm(k) in COMMANDS and isinstance(v, dict))}
    own = next((v for k, v in table.items() if _norm(k) == command and isinstance(v, dict)), {})
    out = _settings(path, "tool.profkit", shared, command)
    out.update(_settings(path, f"tool.profkit.{command}", own, command))
    return out


def split_lists(settings):
    """(scalars, lists) of ``settings``: scalars go to the parser as its
    defaults (``parser.set_defaults(**scalars)``), lists only fill options
    the command line left empty (``fill_lists``): argparse would append
    the command line's ``-f`` to a default list instead of replacing it."""
    scalars = {k: v for k, v in settings.items() if not isinstance(v, list)}
    lists = {k: v for k, v in settings.items() if isinstance(v, list)}
    return scalars, lists


def fill_lists(opts, lists):
    """Give each repeatable option of ``opts`` the settings' list when the
    command line gave it none."""
    for attr, value in lists.items():
        if not getattr(opts, attr, None):
            setattr(opts, attr, list(value))
    return opts
