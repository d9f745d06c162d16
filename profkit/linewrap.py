"""What ``profkit.LineProfiler`` does with the objects people decorate and
register, as line_profiler 5 does (``profiler_mixin.py``, ``scoping_policy.py``):

* ``functions(obj)``: the plain functions behind a callable, so that their
  code can be registered: methods, class and static methods, properties,
  ``cached_property``, ``partial`` and ``partialmethod``, classes (their own
  methods), callable objects, and decorated functions (through
  ``__wrapped__``: the user's function, not the decorator's wrapper);
* ``wrap(prof, obj)``: a wrapper that switches ``prof`` on while ``obj``
  runs, of the same kind as ``obj``: a classmethod stays a classmethod, a
  bound method stays bound, a property a property; the function wrappers
  themselves (``LineProfiler._wrapper``) keep a generator, coroutine or
  async generator function one.  A wrapper is wrapped once: decorating it
  again returns it;
* ``add_namespace``: the members of a class or module, chosen by line_profiler's
  scoping policies, so that ``add_module`` profiles what the module
  defines and not what it imported (``from os.path import join``).
"""
import functools
import types

__all__ = ["functions", "wrap", "policies", "add_namespace", "POLICIES"]

CO_GENERATOR = 0x20
CO_COROUTINE = 0x80
CO_ASYNC_GENERATOR = 0x200
MARK = "__profkit_line_profiler__"  # on a wrapper: id() of the profiler that made it
_C_CALLABLES = (types.BuiltinFunctionType, types.MethodDescriptorType, types.WrapperDescriptorType,
                types.MethodWrapperType, types.ClassMethodDescriptorType)

# ---- the functions behind an object -----------------------------------------------


def _code_flag(func, flag):
    """inspect.isgeneratorfunction and the like without importing inspect:
    the code flags of the function behind methods and partials."""
    while True:
        if isinstance(func, types.MethodType):
            func = func.__func__
        elif isinstance(func, functools.partial):
            func = func.func
        else:
            break
    return isinstance(func, types.FunctionType) and bool(func.__code__.co_flags & flag)


def _child_of(cls):
    """line_profiler's CHILDREN rule in a class: defined in its body."""
    def check(obj):
        name = f"{cls.__qualname__}.{getattr(obj, '__name__', '')}"
        return getattr(obj, "__module__", None) == cls.__module__ and \
            getattr(obj, "__qualname__", None) == name
    return check


def functions(obj, _seen=None):
    """The plain functions behind ``obj``, each once, in the order found."""
    seen = set() if _seen is None else _seen
    out = []

    def visit(o, check=None):
        if id(o) in seen:
            return
        seen.add(id(o))
        if isinstance(o, (staticmethod, classmethod, types.MethodType)):
            visit(o.__func__, check)
        elif isinstance(o, (functools.partial, functools.partialmethod, functools.cached_property)):
            visit(o.func, check)
        elif isinstance(o, property):
            for f in (o.fget, o.fset, o.fdel):
                if f is not None:
                    visit(f, check)
        elif isinstance(o, type):
            if check is not None and not check(o):
                return
            child = _child_of(o)  # a class's own members, as line_profiler's add_callable(cls)
            for member in vars(o).values():
                visit(member, child)
        elif isinstance(o, types.FunctionType):
            if check is not None and not check(o):
                return
            inner = getattr(o, "__wrapped__", None)
            if inner is not None and callable(inner):
                visit(inner)  # the user's function, not the decorator's wrapper
            else:
                out.append(o)
        elif callable(o) and not isinstance(o, _C_CALLABLES):
            inner = getattr(o, "__wrapped__", None)  # functools.lru_cache and the like
            if inner is not None and callable(inner):
                visit(inner, check)
            elif isinstance(getattr(type(o), "__call__", None), types.FunctionType):
                visit(type(o).__call__, check)  # an object with a Python __call__

    visit(obj)
    return out


# ---- wrappers that keep the kind --------------------------------------------------


def _mark(prof, wrapper):
    setattr(wrapper, MARK, id(prof))
    return wrapper


def _is_wrapper(prof, obj):
    return getattr(obj, MARK, None) == id(prof)


def _rebuild(prof, obj, attrs, *args, **kwds):
    """A new object of obj's type around the wrapped ``attrs``, or obj itself
    when nothing needed wrapping (decorating twice wraps once)."""
    old = [getattr(obj, a) for a in attrs]
    new = [None if f is None else wrap(prof, f) for f in old]
    if all(n is o for n, o in zip(new, old)):
        return obj
    return type(obj)(*new, *args, **kwds)


def wrap(prof, obj):
    """A wrapper of ``obj`` of the same kind that turns ``prof`` on while it
    runs (``prof.enable_by_count``/``disable_by_count``).  Classes get
    their own members wrapped in place; C functions are returned as they
    are.  TypeError (saying why) for what is not callable."""
    if _is_wrapper(prof, obj) or isinstance(obj, _C_CALLABLES):
        return obj
    if isinstance(obj, (classmethod, staticmethod)):
        return _rebuild(prof, obj, ("__func__",))
    if isinstance(obj, types.MethodType):
        func = wrap(prof, obj.__func__)
        return obj if func is obj.__func__ else types.MethodType(func, obj.__self__)
    if isinstance(obj, (functools.partial, functools.partialmethod)):
        return _rebuild(prof, obj, ("func",), *obj.args, **obj.keywords)
    if isinstance(obj, property):
        new = _rebuild(prof, obj, ("fget", "fset", "fdel"), obj.__doc__)
        if new is not obj and hasattr(obj, "__name__"):  # 3.13
            try:
                new.__name__ = obj.__name__
            except AttributeError:
                pass
        return new
    if isinstance(obj, functools.cached_property):
        new = _rebuild(prof, obj, ("func",))
        if new is not obj and obj.attrname is not None:
            new.__set_name__(None, obj.attrname)
        return new
    if isinstance(obj, type):
        wrap_members(prof, obj, _child_of(obj))
        return obj
    if not callable(obj):
        raise TypeError(f"cannot profile {obj!r}: it is not a function, method, class or other "
                        "callable")
    return _mark(prof, prof._wrapper(obj))  # in lineprof.py, whose frames memprof hides


def wrap_members(prof, namespace, check, names=None):
    """Replace members of a class or module (those named, or those whose
    functions ``check`` accepts) by their wrappers."""
    items = [(n, vars(namespace)[n]) for n in names] if names is not None else \
        [(n, m) for n, m in list(vars(namespace).items())
         if not isinstance(m, types.ModuleType) and any(check(f) for f in functions(m))]
    refused = []
    for name, member in items:
        wrapper = wrap(prof, member)
        if wrapper is member:
            continue
        try:
            setattr(namespace, name, wrapper)
        except (AttributeError, TypeError):
            refused.append(name)
    if refused:
        import warnings

        warnings.warn(f"wrap=True: {namespace!r} does not let these members be replaced by "
                      f"profiling wrappers: {', '.join(refused)}", stacklevel=4)


# ---- scoping policies -----------------------------------------------------------------

POLICIES = ("exact", "children", "descendants", "siblings", "none")
DEFAULT_POLICIES = {"func": "siblings", "class": "siblings", "module": "exact"}


def _policy(value):
    name = str(getattr(value, "value", value)).lower()
    if name not in POLICIES:
        raise ValueError(f"scoping_policy: {value!r} is not one of {', '.join(POLICIES)}")
    return name


def policies(spec=None):
    """line_profiler's scoping_policy: None (its defaults), one policy name
    for every kind of member, or a dict of them for 'func', 'class' and
    'module'."""
    if spec is None:
        spec = DEFAULT_POLICIES
    if isinstance(spec, str):
        return dict.fromkeys(("func", "class", "module"), _policy(spec))
    if not hasattr(spec, "keys"):
        raise TypeError(f"scoping_policy: expected a policy name ({', '.join(POLICIES)}) or a dict "
                        f"of them for 'func', 'class' and 'module', not {type(spec).__name__}")
    missing = [k for k in ("func", "class", "module") if k not in spec]
    if missing:
        raise ValueError(f"scoping_policy: the dict lacks {', '.join(map(repr, missing))}")
    return {k: _policy(spec[k]) for k in ("func", "class", "module")}


def _prefix(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


def _module_of(obj):
    return getattr(obj, "__module__", None) or ""


def member_filter(policy, namespace, is_class):
    """Which functions (or, ``is_class``, classes) found in ``namespace`` a
    policy takes, as line_profiler's ScopingPolicy.get_filter."""
    if policy == "none":
        return lambda obj: True
    if isinstance(namespace, type):
        def same(obj):
            return _module_of(obj) == namespace.__module__

        def inside(obj):
            return same(obj) and getattr(obj, "__qualname__", "").startswith(
                namespace.__qualname__ + ".")
        rules = {"children": _child_of(namespace), "siblings": same, "descendants": inside}
    else:
        name = namespace.__name__
        parent = name.rpartition(".")[0]
        rules = {"children": lambda obj: _module_of(obj) == name,
                 "descendants": lambda obj: _prefix(_module_of(obj), name),
                 "siblings": lambda obj: _prefix(_module_of(obj), name) or
                 (parent != "" and _prefix(_module_of(obj), parent))}
    if policy == "exact":
        return (lambda obj: False) if is_class else rules["children"]
    return rules[policy]


def module_filter(policy, namespace):
    """Which modules found in ``namespace`` a policy descends into."""
    if isinstance(namespace, type) or policy == "exact":
        return lambda mod: False
    name = namespace.__name__
    parent = name.rpartition(".")[0]
    return {"none": lambda mod: True,
            "children": lambda mod: mod.__name__.rpartition(".")[0] == name,
            "descendants": lambda mod: mod.__name__.startswith(name + "."),
            "siblings": lambda mod: parent != "" and mod.__name__.startswith(parent + ".")}[policy]


def add_namespace(prof, namespace, chosen, wrap_them=False, seen=None):
    """Register the members of a class or module that the policies
    ``chosen`` take (descending into classes and modules as they say), and
    with ``wrap_them`` replace them by wrappers.  Returns how many members
    were added, as line_profiler counts: a class or module once."""
    seen = set() if seen is None else seen
    func_ok = member_filter(chosen["func"], namespace, False)
    class_ok = member_filter(chosen["class"], namespace, True)
    module_ok = module_filter(chosen["module"], namespace)
    count, to_wrap = 0, []
    for name, value in list(vars(namespace).items()):
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, type):
            if not (class_ok(value) and add_namespace(prof, value, chosen, wrap_them, seen)):
                continue
        elif isinstance(value, types.ModuleType):
            if not (module_ok(value) and add_namespace(prof, value, chosen, wrap_them, seen)):
                continue
        else:
            if not prof.add_callable(value, guard=lambda f: not func_ok(f)):
                continue
            if wrap_them:
                to_wrap.append(name)
        count += 1
    if to_wrap:
        wrap_members(prof, namespace, None, to_wrap)
    return count
