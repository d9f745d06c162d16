#!/usr/bin/env python3
"""The headline rows of bench/RESULTS.md, one line per Python version.

    python bench/summary.py [bench/RESULTS.md]

Prints a markdown table (the one quoted in README.md and
docs/performance.md): for each CPython, profkit's overhead as a fraction of
cProfile's on call-heavy recursion (`fib`, with and without builtins), and
of kernprof's on a tight loop in one profiled function (`lines_loop`), plus
the slowdown of code outside the profiled functions (`lines_outside`), and
the `fib` ratio on the fastest run of each variant, and measured in process
by bench/funcinproc.py (start-up left out; median of the rounds' ratios).
"""
import re
import sys

ROWS = [
    ("fib", "func", "fib vs cProfile"),
    ("fib (--no-builtins)", "func", "fib, --no-builtins"),
    ("lines_loop", "lines", "lines_loop vs kernprof"),
    ("lines_gen", "lines", "lines_gen vs kernprof"),
]


def parse(text):
    """{version: {(table kind, workload): [cells]}}"""
    out, version, kind = {}, None, None
    for line in text.splitlines():
        m = re.match(r"## CPython (\S+)", line)
        if m:
            # A later section for the same version (a rerun of one group)
            # replaces the rows it has and keeps the others.
            version = m.group(1)
            out.setdefault(version, {})
            continue
        m = re.match(r"### Function profiler in process, CPython (\S+)", line)
        if m:
            # bench/funcinproc.py names its own version in its heading.
            version, kind = m.group(1), "inproc"
            out.setdefault(version, {})
            continue
        if kind == "inproc" and line.startswith("| profkit |"):
            out[version][("inproc", "fib")] = [c.strip() for c in line.strip().strip("|").split("|")]
            continue
        if line.startswith("| workload | plain"):
            # The third column names the group's reference tool.  Tables of
            # other groups (memtime: mprof run) are skipped, so that a
            # workload name they share cannot replace a func or lines row.
            reference = line.strip("|").split("|")[2].strip()
            kind = {"cProfile (s)": "func", "kernprof (s)": "lines"}.get(reference)
            continue
        if line.startswith("| workload | variant | runs"):
            kind = "runs"  # every run's median, min and max
            continue
        if line.startswith("| workload | variant"):
            kind = None
            continue
        if version and kind == "runs" and line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            out[version][("runs", cells[0], cells[1])] = cells
            continue
        if version and kind and line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            out[version][(kind, cells[0])] = cells
    return out


def min_ratio(rows, workload):
    """profkit's added time over cProfile's, on the fastest run of each: the
    same runs as the medians' column, read in a way a few slow runs on a
    busy machine cannot move."""
    try:
        plain, ref, prof = (float(rows[("runs", workload, v)][4]) for v in ("plain", "cProfile", "profkit"))
    except (KeyError, ValueError, IndexError):
        return "–"
    return f"{(prof - plain) / (ref - plain):.2f}" if ref > plain else "–"


def main(argv):
    path = argv[1] if len(argv) > 1 else "bench/RESULTS.md"
    with open(path) as f:
        data = parse(f.read())
    head = (["CPython"] + [label for _, _, label in ROWS[:1]] + ["fib, on minimums", "fib, in process"]
            + [label for _, _, label in ROWS[1:]] + ["lines_outside: profkit ×"])
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for version, rows in data.items():
        cells = [version]
        for i, (workload, kind, _) in enumerate(ROWS):
            row = rows.get((kind, workload))
            cells.append(row[-1] if row else "–")
            if i == 0:
                cells.append(min_ratio(rows, "fib"))
                inproc = rows.get(("inproc", "fib"))
                cells.append(inproc[4] if inproc else "–")
        outside = rows.get(("lines", "lines_outside"))
        cells.append(outside[5] if outside else "–")
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
