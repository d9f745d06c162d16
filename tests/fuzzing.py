"""Damaged files for every reader, and the worker that feeds them to profkit.

``seed_files(folder)`` writes one valid file per format, the same bytes on
every run (fixed clocks, fixed paths), so that a mutant is reproducible from
the seed and its number alone.  ``mutant(fmt, data, seed, i)`` damages one:
half the time byte by byte (flips, cuts, inserted tokens, duplicated
chunks), half the time in the format's own structure (a pstats value that
is a string, None or a code object; a line with 0 hits; ``1e400``; deep
nesting; a CHLD line cut after a space...).

``python fuzzing.py SPEC.json`` is the worker: it runs the commands of SPEC
on each mutant in this one process (the CLI's ``main()`` with standard
output and error captured), each under a time limit, with the address space
capped, and prints one JSON line per mutant.  A crash kills only the
worker; the test then names the last mutant started.
"""
import copy
import io
import json
import marshal
import os
import pickle
import random
import resource
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(__file__)  # the "source file" the line formats point at

FORMATS = ("pstats", "cprofile", "lprof", "kernprof", "linemem", "dat", "mprof")
HASHABLE = ["text", None, -1, 2 ** 70, float("inf"), float("nan"), (1, 2), True, b"x", 1e308]
WEIRD = HASHABLE + [[], {}]
CODE = compile("1", "<fuzz>", "eval")  # pstats files are marshal: they can hold code
INSERTS = [b" ", b"\n", b"\r\n", b"\0", b"1e400", b"nan", b"inf", b"-1", b"99999999999999999999999",
           b"\xff\xfe", b"{", b"[", b'"', b"(", b"CHLD 1 ", b"MEM ", b"FUNC f "]


# ---- the valid files ---------------------------------------------------------------


def _work(n):
    total = 0
    for i in range(n):
        total += i
    return total


def _outer():
    return _work(20) + _work(30)


def _ticks():
    state = [0]

    def timer():
        state[0] += 7
        return state[0]
    return timer


def _pstats_profkit():
    import profkit

    prof = profkit.Profile(timer=_ticks(), timeunit=1e-6)
    prof.enable()
    _outer()
    prof.disable()
    prof.create_stats()
    return marshal.dumps(prof.stats)


def _pstats_cprofile():
    import cProfile

    prof = cProfile.Profile(_ticks(), 1e-6)
    prof.enable()
    _outer()
    prof.disable()
    prof.create_stats()
    return marshal.dumps(prof.stats)


def _timings():
    first = _work.__code__.co_firstlineno
    return {(SOURCE, first, "_work"): [(first + 1, 1, 120), (first + 2, 51, 4000),
                                       (first + 3, 50, 3900), (first + 4, 1, 80)],
            (SOURCE, 1, "<module>"): [(2, 1, 5)]}


def _lprof_profkit():
    from profkit.formats.lprof import LineStats

    return pickle.dumps(LineStats(_timings(), 1e-9), pickle.HIGHEST_PROTOCOL)


def _lprof_kernprof():
    import line_profiler

    return pickle.dumps(line_profiler.LineStats(_timings(), 1e-6), pickle.HIGHEST_PROTOCOL)


def _linemem():
    first = _work.__code__.co_firstlineno
    rows = [[first + k, k + 1, 1024 * k, 30 << 20, 512 * k, 256 * k, 4096] for k in range(5)]
    doc = {"format": "profkit-line-memory", "version": 1, "backend": "both",
           "functions": [{"filename": SOURCE, "first_line": first, "name": "_work",
                          "last_line": first + 4, "caller": ["main", SOURCE, 10], "lines": rows}]}
    return (json.dumps(doc, indent=1) + "\n").encode()


def _dat_profkit():
    from profkit.formats import mprof

    lines = ["CMDLINE python app.py --fast\n"]
    for k in range(12):
        lines.append(mprof.mem_line(20.0 + k * 1.5, 1800000000.0 + k * 0.1))
        if k % 3 == 0:
            lines.append(mprof.child_line(4242, 5.0 + k, 1800000000.0 + k * 0.1))
    lines.append(mprof.func_line("__main__.load", 20.0, 1800000000.1, 30.0, 1800000000.6, 1))
    lines.append(mprof.func_line("__main__.inner", 22.0, 1800000000.2, 25.0, 1800000000.3, 2))
    return "".join(lines).encode()


def _dat_mprof():
    # as memory_profiler 0.61 writes it: FUNC first, levels from 0
    lines = ["FUNC __main__.main 27.5742 1796176766.0039 28.8477 1796176767.5406 0\n",
             "CMDLINE /usr/bin/python app.py\n"]
    lines += [f"MEM {0.015625 + k * 3.25:.6f} {1796176765.7115 + k * 0.1:.4f}\n" for k in range(10)]
    return "".join(lines).encode()


MAKERS = {"pstats": (_pstats_profkit, "prof"), "cprofile": (_pstats_cprofile, "prof"),
          "lprof": (_lprof_profkit, "lprof"), "kernprof": (_lprof_kernprof, "lprof"),
          "linemem": (_linemem, "json"), "dat": (_dat_profkit, "dat"), "mprof": (_dat_mprof, "dat")}


def seed_files(folder):
    """Write the valid file of each format into ``folder``: {format: path}
    (a format whose producer is not installed is left out)."""
    out = {}
    for fmt, (make, ext) in MAKERS.items():
        try:
            data = make()
        except ImportError:
            continue
        path = os.path.join(folder, f"{fmt}.{ext}")
        with open(path, "wb") as f:
            f.write(data)
        out[fmt] = path
    return out


# ---- damage ---------------------------------------------------------------------------


def mutate_bytes(rng, data):
    data = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        if not data:
            data = bytearray(b"\n")
        i = rng.randrange(len(data))
        op = rng.randrange(6)
        if op == 0:
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[i] = rng.choice((0, 0xFF, 0x7F, 0x80, 10, 32, 48, 57))
        elif op == 2:
            del data[i:i + rng.randint(1, 16)]
        elif op == 3:
            data[i:i] = rng.choice(INSERTS)
        elif op == 4:
            del data[i:]
        else:
            j = rng.randrange(len(data))
            data[i:i] = data[j:j + rng.randint(1, 64)]
    return bytes(data)


def _pick(rng, container):
    keys = list(container)
    return rng.choice(keys) if keys else None


def _mutate_pstats(rng, data):
    stats = marshal.loads(data)
    key = _pick(rng, stats)
    cc, nc, tt, ct, callers = stats[key]
    what = rng.randrange(7)
    if what == 0:
        entry = [cc, nc, tt, ct, callers]
        entry[rng.randrange(5)] = rng.choice(WEIRD + [CODE])
        stats[key] = tuple(entry)
    elif what == 1:
        stats[key] = (cc, nc, tt, ct, rng.choice(WEIRD + [CODE]))
    elif what == 2:
        stats[(rng.choice(HASHABLE), key[1], key[2])] = stats.pop(key)
    elif what == 3 and callers:
        caller = _pick(rng, callers)
        edge = list(callers[caller])
        edge[rng.randrange(4)] = rng.choice(WEIRD + [CODE])
        callers[caller] = tuple(edge)
    elif what == 4:
        stats[key] = (cc, nc, float("inf"), ct, callers)
    elif what == 5:
        stats = rng.choice([[], (stats,), {"a": 1}, {key: stats[key][:4]}])
    else:  # a dense call graph whose edges claim more time than their callers had
        funcs = [("dense.py", k, f"d{k}") for k in range(rng.choice((6, 12, 40)))]
        for f in funcs:
            stats[f] = (1, 1, 0.5, 1.0, {g: (1, 1, 0.5, rng.choice((1.0, 3.0, 1e6)))
                                         for g in funcs + [key] if g != f})
    return marshal.dumps(stats)


def _mutate_lprof(rng, data):
    stats = pickle.loads(data)  # our own seed: safe
    timings = copy.deepcopy(stats.timings)
    key = _pick(rng, timings)
    rows = timings[key]
    what = rng.randrange(6)
    if what == 0:  # a line that was never hit
        lineno, _hits, _time = rows[rng.randrange(len(rows))]
        rows.append((lineno + 1, 0, 0))
    elif what == 1:  # a file that is gone, at a line far away
        timings[("/nonexistent/gone.py", rng.choice((1, 10 ** 6, 10 ** 12)), "f")] = \
            [(rng.choice((2, 10 ** 9, 10 ** 12)), 1, 10)]
    elif what == 2:
        k = rng.randrange(len(rows))
        row = list(rows[k])
        row[rng.randrange(3)] = rng.choice(WEIRD)
        rows[k] = tuple(row)
    elif what == 3:
        timings[(key[0], rng.choice(HASHABLE), key[2])] = timings.pop(key)
    elif what == 4:
        stats.unit = rng.choice(WEIRD + [0, -1e-6])
    else:
        timings[key] = rng.choice(WEIRD)
    stats.timings = timings
    return pickle.dumps(stats, pickle.HIGHEST_PROTOCOL)


def _mutate_linemem(rng, data):
    text = data.decode()
    what = rng.randrange(7)
    if what == 0:
        return text.replace("4096", "1e400", 1).encode()
    if what == 1:
        depth = rng.choice((1000, 5000, 100000))
        return text.replace('"lines": [', '"lines": [' + "[" * depth, 1).encode() + b"]" * depth
    doc = json.loads(text)
    func = doc["functions"][0]
    if what == 2:
        func["last_line"] = rng.choice((10 ** 9, 10 ** 12, 2 ** 70, -5, 0))
    elif what == 3:
        func["filename"] = rng.choice(("/nonexistent/gone.py", HERE, 7))
        func["last_line"] = rng.choice((func["last_line"], 10 ** 7))
    elif what == 4:
        row = func["lines"][rng.randrange(len(func["lines"]))]
        row[rng.randrange(len(row))] = rng.choice(["x", None, 1.5, -1, 10 ** 30, [], True])
    elif what == 5:
        func[rng.choice(list(func))] = rng.choice(["x", None, 1.5, -1, 10 ** 30, [], {}])
    else:
        doc[rng.choice(list(doc))] = rng.choice(["x", None, 1.5, [], {}])
    return json.dumps(doc).encode()


def _mutate_dat(rng, data):
    lines = data.decode().splitlines(True)
    what = rng.randrange(5)
    i = rng.randrange(len(lines) + 1)
    if what == 0:  # cut right after a space
        text = "".join(lines)
        spaces = [k for k, c in enumerate(text) if c == " "]
        return text[:rng.choice(spaces) + 1].encode()
    if what == 1:
        lines.insert(i, rng.choice(["MEM inf 1800000000.0\n", "MEM 1 nan\n", "MEM 1e308 1e308\n",
                                    "MEM -1e11 -1e11\n", "MEM 1e-320 1800000000.5\n", "MEM 1\n"]))
    elif what == 2:
        lines.insert(i, rng.choice(["CHLD 12 abc 1800000000.0\n", "CHLD 12 \n", "CHLD x 1 2\n",
                                    "CHLD 12 5.0 inf\n", "CHLD -3 1 1800000000.0\n"]))
    elif what == 3:
        lines.insert(i, rng.choice(["FUNC f 1 2 3 4 999999999\n", "FUNC f 1 inf 3 4 1\n",
                                    "FUNC  1 2 3 4 1\n", "FUNC f 1 2 3 4 -1\n",
                                    f"FUNC f 1 {1e11} 3 {-1e11} 1\n"]))
    else:
        lines.insert(i, rng.choice(["CMDLINE " + "x" * 100000 + "\n", "\0\0\0\n", "mem 1 2\n",
                                    "MEM 1 2\r\n", "\n"]))
    return "".join(lines).encode()


STRUCTURED = {"pstats": _mutate_pstats, "cprofile": _mutate_pstats, "lprof": _mutate_lprof,
              "kernprof": _mutate_lprof, "linemem": _mutate_linemem, "dat": _mutate_dat,
              "mprof": _mutate_dat}


def mutant(fmt, data, seed, i):
    """Mutant number ``i`` of ``data`` (a valid ``fmt`` file): (how, bytes)."""
    rng = random.Random(f"{seed}:{fmt}:{i}")
    if i % 2:
        return "bytes", mutate_bytes(rng, data)
    return "structure", STRUCTURED[fmt](rng, data)


# ---- the worker -----------------------------------------------------------------------


class Hang(BaseException):
    pass


def _alarm(_signum, _frame):
    raise Hang()


def run_main(argv, limit=10.0):
    """profkit's CLI ``main(argv)`` in this process, stopped after ``limit``
    seconds: (exit code, stdout, stderr, traceback text, "hang" or None)."""
    import traceback

    from profkit.cli import main

    saved = sys.stdout, sys.stderr
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="replace")
    err = io.StringIO()
    sys.stdout, sys.stderr = out, err
    saved_alarm = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    tb = None
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    except Hang:
        code, tb = None, "hang"
    except Exception:  # noqa: BLE001 - what the test is looking for
        code, tb = None, traceback.format_exc(limit=-8)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, saved_alarm)
        sys.stdout, sys.stderr = saved
    out.flush()
    return code, out.buffer.getvalue().decode("utf-8", "replace"), err.getvalue(), tb


def worker(spec):
    """Run ``spec["commands"]`` (argv lists, ``{}`` for the mutant's path)
    on mutants ``range(spec["count"])`` of ``spec["format"]``."""
    if "asan" not in os.environ.get("LD_PRELOAD", ""):
        resource.setrlimit(resource.RLIMIT_AS, (spec.get("memory", 3 << 30), resource.RLIM_INFINITY))
    with open(spec["seed_file"], "rb") as f:
        data = f.read()
    os.chdir(spec["folder"])
    ext = os.path.splitext(spec["seed_file"])[1]
    for i in range(spec.get("start", 0), spec["count"]):
        how, damaged = mutant(spec["format"], data, spec["seed"], i)
        path = os.path.join(spec["folder"], f"m{i}{ext}")
        with open(path, "wb") as f:
            f.write(damaged)
        for argv in spec["commands"]:
            argv = [path if a == "{}" else a for a in argv]
            print(json.dumps({"start": i}), flush=True)
            code, out, err, tb = run_main(argv, spec.get("limit", 10.0))
            print(json.dumps({"i": i, "how": how, "argv": argv[:1] + argv[2:], "code": code,
                              "err": err, "out": len(out), "tb": tb}), flush=True)
        os.unlink(path)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        worker(json.load(f))
