"""Choosing functions without editing code: ``-f PATTERN``, ``--module MOD``
and ``--all``.

Patterns are matched against the code objects a module is made of, before
its code runs, so functions called at import time are caught too, and so
are nested functions, closures, methods, static/class methods and
properties: their code objects all sit in the module's code.

* The script's own code is scanned when it is compiled.
* Modules imported later are scanned as they load: an import hook hands
  the loader's code object to the selector just before executing it.
* Modules already imported are scanned through their live functions.

Which modules a pattern looks in:

* ``mod:glob`` and ``--module mod``: that module only; and ``__main__``
  too when the program is that module (``-m mod``, or ``-m mod`` running
  ``mod/__main__.py``, or the script ``mod.py`` itself): the program runs
  as ``__main__``, but the user calls it by its name.
* a plain glob (``make_sparse``, ``Matrix.*``): the script and the modules
  of the user's project (under the script's folder, outside any
  site-packages).
* ``--all``: the script only.
"""
# The import hook must never import anything itself: any import made while it
# looks for a module goes through sys.meta_path, and so through the hook
# again.  What it needs is imported here, before it is installed.
import fnmatch
import importlib.machinery
import os
import sys
import types
from _thread import _local

from profkit.errors import ProfkitError
from profkit.lineprof import unwrap_callable
from profkit.target import find_spec_quietly

_VENDOR = ("site-packages", "dist-packages")
CO_NEWLOCALS = 0x02


def walk_code(code, prefix=""):
    """Yield (qualified name, code object) for every function and method whose
    code is nested in ``code`` (a module's code), at any depth.  Qualified
    names are built as Python builds ``__qualname__``, so they are right on
    3.9 and 3.10 too, where code objects do not carry one."""
    for const in code.co_consts:
        if not isinstance(const, types.CodeType):
            continue
        qual = prefix + const.co_name
        if const.co_flags & CO_NEWLOCALS:  # a function (also lambdas, comprehensions)
            yield qual, const
            yield from walk_code(const, qual + ".<locals>.")
        else:  # a class body: its functions are methods
            yield from walk_code(const, qual + ".")


def matches(pattern, qualname, name):
    """A -f pattern against one function: its qualified name or plain name,
    as a glob (``make_sparse``, ``Matrix.*``, ``outer.<locals>.inner``)."""
    return fnmatch.fnmatchcase(qualname, pattern) or fnmatch.fnmatchcase(name, pattern)


def _is_synthetic(name):
    return name.startswith("<") and name.endswith(">")


class Selector:
    def __init__(self, profiler, patterns=(), modules=(), all_script=False, script_dir=None):
        self.profiler = profiler
        self.rules = []  # (label, module name or None, glob)
        self._files = {}  # module name of a rule -> the files __main__ runs when it runs it
        for p in patterns:
            if ":" in p:
                mod, glob = p.split(":", 1)
                self._files[mod] = _require_module(mod, f"-f {p}", script_dir)
                self.rules.append((f"-f {p}", mod, glob or "*"))
            else:
                self.rules.append((f"-f {p}", None, p))
        for m in modules:
            self._files[m] = _require_module(m, f"--module {m}", script_dir)
            self.rules.append((f"--module {m}", m, "*"))
        self.all_script = all_script
        self.script_dir = os.path.realpath(script_dir) if script_dir else None
        self.matched = {label: 0 for label, _, _ in self.rules}
        self._finder = None

    @property
    def active(self):
        return bool(self.rules) or self.all_script

    # -- scanning ---------------------------------------------------------------
    def _rules_for(self, module_name, filename, is_script):
        main_file = os.path.realpath(filename) if module_name == "__main__" and filename else None
        for label, mod, glob in self.rules:
            if mod is not None:
                if module_name == mod or main_file in self._files[mod]:
                    yield label, glob
            elif is_script or self._in_project(filename):
                yield label, glob

    def _in_project(self, filename):
        if not filename or not self.script_dir:
            return False
        real = os.path.realpath(filename)
        return real.startswith(self.script_dir + os.sep) and not any(v in real for v in _VENDOR)

    def scan_code(self, code, module_name, is_script=False):
        """Register the functions in a module's code that a rule selects."""
        rules = list(self._rules_for(module_name, code.co_filename, is_script))
        if not rules and not (is_script and self.all_script):
            return
        for qual, fcode in walk_code(code):
            synthetic = _is_synthetic(fcode.co_name)
            if is_script and self.all_script and not synthetic:
                self.profiler.add_code(fcode)
            for label, glob in rules:
                if (glob == "*" and synthetic) or not matches(glob, qual, fcode.co_name):
                    continue
                self.profiler.add_code(fcode)
                self.matched[label] += 1

    def scan_live_module(self, module):
        """Register selected functions of a module that is already loaded."""
        rules = list(self._rules_for(module.__name__, getattr(module, "__file__", None), False))
        if not rules:
            return
        for value in list(vars(module).values()):
            for func in unwrap_callable(value):
                code = getattr(func, "__code__", None)
                if code is None or getattr(func, "__module__", None) != module.__name__:
                    continue
                qual = getattr(func, "__qualname__", code.co_name)
                candidates = [(qual, code)] + list(walk_code(code, qual + ".<locals>."))
                for q, c in candidates:
                    for label, glob in rules:
                        if (glob == "*" and _is_synthetic(c.co_name)) or not matches(glob, q, c.co_name):
                            continue
                        self.profiler.add_code(c)
                        self.matched[label] += 1

    # -- the import hook ----------------------------------------------------------
    def install(self):
        if not self.rules:
            return
        for name, module in list(sys.modules.items()):
            if module is not None and any(mod == name for _, mod, _ in self.rules) or \
                    self._in_project(getattr(module, "__file__", None)):
                self.scan_live_module(module)
        self._finder = _ScanFinder(self)
        sys.meta_path.insert(0, self._finder)

    def uninstall(self):
        if self._finder is not None and self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        self._finder = None

    def unmatched(self):
        return [label for label, n in self.matched.items() if n == 0]


def _require_module(name, what, path0=None):
    """Check that the program will find module ``name``: look where it will
    look, with its own sys.path[0] (its script's folder, or the current one
    for -m), not profkit's (the folder of the ``profkit`` command), and
    without importing anything (a package's ``__init__`` is the program's
    to run, inside the profile).  Returns the files ``__main__`` runs when
    the program is that module: its own, and its ``__main__.py`` if it is
    a package."""
    saved = sys.path[:]
    if path0 is not None:
        sys.path[:1] = [path0]
    try:
        spec = find_spec_quietly(name)
        main = (find_spec_quietly(name + ".__main__")
                if spec is not None and spec.submodule_search_locations is not None else None)
    except ProfkitError as exc:
        raise ProfkitError(f"{what}: {exc}") from None
    finally:
        sys.path[:] = saved
    if spec is None:
        raise ProfkitError(f"{what}: no module named {name!r}")
    return {os.path.realpath(s.origin) for s in (spec, main)
            if s is not None and s.origin and s.has_location}


_SOURCE_LOADERS = (importlib.machinery.SourceFileLoader, importlib.machinery.SourcelessFileLoader)


class _ScanFinder:  # a sys.meta_path finder; importlib.abc costs more to import than it gives
    """Finds nothing itself: asks the finders after it, and makes the source
    loaders it gets back hand their code object to the selector first."""

    def __init__(self, selector):
        self.selector = selector
        self._busy = _local()  # per thread: a find_spec of ours is running

    def find_spec(self, fullname, path=None, target=None):
        # An import made while the other finders search (by a finder, or a
        # path hook) comes back here: leave it to them, never recurse.
        if getattr(self._busy, "on", False):
            return None
        self._busy.on = True
        try:
            return self._find_spec(fullname, path, target)
        finally:
            self._busy.on = False

    def _find_spec(self, fullname, path, target):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            loader = spec.loader
            if isinstance(loader, _SOURCE_LOADERS):
                spec.loader = _ScanningLoader(loader, self.selector)
                spec.loader_state = getattr(spec, "loader_state", None)
            return spec
        return None


class _ScanningLoader:
    """Runs a module exactly as the source loader would, after scanning the
    code object that will run."""

    def __init__(self, loader, selector):
        self._loader = loader
        self._selector = selector

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        code = self._loader.get_code(module.__name__)
        if code is None:
            raise ImportError(f"cannot load the code of {module.__name__!r}")
        self._selector.scan_code(code, module.__name__)
        exec(code, module.__dict__)
