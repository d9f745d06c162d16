"""What program profkit runs, found before it runs: a script compiled, or
the module ``python -m`` would run, looked up without running any of it.

``load_target(script=..., module=..., args=[...])`` gives a ``Target`` (the
code object and what ``__main__`` must look like) or raises ProfkitError
with one line, as ``python`` itself refuses the same input; ``runner``
then runs it.  ``target_kind`` and ``executable_problem`` say how
``profkit run`` starts a target.
"""
import io
import os
import sys

from profkit.errors import ProfkitError

__all__ = ["Target", "load_target", "target_kind", "executable_problem", "find_spec_quietly"]


def target_kind(script=None, module=None, command=False):
    """How ``profkit run`` starts a target: ``"module"`` (``-m``),
    ``"script"`` (a ``.py`` or ``.pyw`` file) or ``"executable"`` (anything
    else, and everything after ``--`` when ``command`` is true)."""
    if module is not None:
        return "module"
    if not command and script.endswith((".py", ".pyw")):
        return "script"
    return "executable"


def executable_problem(name):
    """Why ``name`` cannot be started as a command (one phrase), or None."""
    if os.sep not in name:
        import shutil

        return None if shutil.which(name) is not None else f"no such command: {name!r}"
    if not (os.path.isfile(name) and os.access(name, os.X_OK)):
        return f"{name!r} is not an executable file"
    return None


class Target:
    """A loaded program: its code object and how ``__main__`` must look.

    ``package``: for ``-m pkg.mod`` (and ``-m pkg``, which runs
    ``pkg.__main__``), the package python imports before running the
    module, inside the run, as ``python -m`` and ``python -m cProfile -m``
    do; None for a script or a top-level module."""

    def __init__(self, code, argv, path0, main_attrs, display, package=None):
        self.code = code
        self.argv = argv
        self.path0 = path0
        self.main_attrs = main_attrs
        self.display = display  # for messages: the script path or -m name
        self.package = package


def load_target(script=None, module=None, args=()):
    """Compile a script or find a module; bad input raises ProfkitError.
    Nothing of the program runs here: a module's package is imported by
    ``run_target``."""
    if module is not None:
        return _load_module(module, list(args))
    return _load_script(script, list(args))


def _load_script(script, args):
    if os.path.isdir(script):
        raise ProfkitError(f"can't run {script!r}: it is a directory, not a Python script")
    try:
        with io.open_code(script) as f:
            source = f.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ProfkitError(f"can't open file {script!r}: [Errno {exc.errno}] {reason}") from None
    path = os.path.abspath(script)
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise _syntax_error(exc, script) from None
    except ValueError as exc:  # e.g. source with null bytes
        raise ProfkitError(f"{script}: cannot compile: {exc}", exit_code=1) from None
    attrs = {
        "__name__": "__main__",
        "__file__": path,
        "__spec__": None,
        "__package__": None,
        "__cached__": None,
        "__loader__": None,
        "__builtins__": __builtins__,
    }
    return Target(code, [script] + args, os.path.dirname(os.path.realpath(script)), attrs, script)


def _syntax_error(exc, shown):
    """One line for a program that does not compile; ``shown``: its file."""
    where = f"{shown}:{exc.lineno}" if exc.lineno else shown
    return ProfkitError(f"{where}: {type(exc).__name__}: {exc.msg}", exit_code=1)


def _load_module(name, args):
    """What ``runpy._get_module_details`` finds for ``python -m name``, found
    without running any of the program: the package that holds the module
    is looked up here, and imported by ``run_target``."""
    # python -m puts the current folder first, before the module is found.
    sys.path.insert(0, os.getcwd())
    try:
        spec = _module_spec(name)
        try:
            code = spec.loader.get_code(spec.name)
        except SyntaxError as exc:
            raise _syntax_error(exc, exc.filename or name) from None
        except ImportError as exc:
            raise ProfkitError(f"cannot load module {name!r}: {exc}", exit_code=1) from None
        except OSError as exc:
            raise ProfkitError(f"can't open file {spec.origin!r}: [Errno {exc.errno}] "
                               f"{exc.strerror or exc}", exit_code=1) from None
        if code is None:
            raise ProfkitError(f"no code object available for {spec.name}", exit_code=1)
    finally:
        del sys.path[0]
    attrs = {
        "__name__": "__main__",
        "__file__": spec.origin,
        "__cached__": spec.cached,
        "__loader__": spec.loader,
        "__package__": spec.parent,
        "__spec__": spec,
        "__builtins__": __builtins__,
    }
    return Target(code, [spec.origin] + args, os.getcwd(), attrs, "-m " + name,
                  package=spec.parent or None)


def _module_spec(name):
    """The spec of the module ``python -m name`` runs (``name.__main__``
    for a package), with runpy's checks and words; ProfkitError (exit 1,
    as python's) when there is none."""
    if name.startswith("."):
        raise ProfkitError("relative module names are not supported", exit_code=1)
    spec = find_spec_quietly(name)
    if spec is None:
        hint = (f" (try using {name[:-3]!r} instead of {name!r} as the module name)"
                if name.endswith(".py") else "")
        raise ProfkitError(f"no module named {name!r}{hint}", exit_code=1)
    if spec.submodule_search_locations is not None:
        if name == "__main__" or name.endswith(".__main__"):
            raise ProfkitError("cannot use package as __main__ module", exit_code=1)
        spec = find_spec_quietly(name + ".__main__")
        if spec is None:
            raise ProfkitError(f"no module named '{name}.__main__'; {name!r} is a package and "
                               "cannot be directly executed", exit_code=1)
    if spec.loader is None or not hasattr(spec.loader, "get_code"):
        raise ProfkitError(f"{name!r} is a namespace package and cannot be executed", exit_code=1)
    return spec


def find_spec_quietly(name):
    """The spec python would find for module ``name`` (on sys.path as it
    is), or None, found without running any code: where python would import
    the parent packages first, they are looked up instead, unless already
    imported.  (A package that changes its own ``__path__`` when imported
    is looked up as it is on disk.)  ProfkitError for a name that cannot be
    looked up at all."""
    import importlib.machinery
    import importlib.util

    parent = name.rpartition(".")[0]
    try:
        if not parent or parent in sys.modules:
            return importlib.util.find_spec(name)
        parent_spec = find_spec_quietly(parent)
        if parent_spec is None or parent_spec.submodule_search_locations is None:
            return None
        return importlib.machinery.PathFinder.find_spec(name, parent_spec.submodule_search_locations)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        raise ProfkitError(f"cannot look up module {name!r}: {type(exc).__name__}: {exc}",
                           exit_code=1) from None
