#!/usr/bin/env python3
"""The headline rows of bench/RESULTS.md, one line per Python version.

    python bench/summary.py [bench/RESULTS.md]
    python bench/summary.py --readme README.md [bench/RESULTS.md]

Prints a markdown table (the one quoted in README.md and
docs/performance.md): for each CPython, profkit's overhead as a fraction of
cProfile's on call-heavy recursion, from bench/fibsizes.py: the long run
(its largest size) as whole processes, with and without builtins, and in
process, and its smallest size in process (median of the rounds' own
ratios); then bench/run.py's whole-process `fib` row (fib(34), medians),
kernprof's overhead on a tight loop in one profiled function
(`lines_loop`) and on a profiled generator (`lines_gen`), and the slowdown
of code outside the profiled functions (`lines_outside`).  With --readme,
the table replaces what stands between README.md's `<!-- bench-summary`
and `<!-- /bench-summary -->` lines instead of being printed.
"""
import re
import sys

ROWS = [
    ("fib", "func", "fib(34), run.py"),
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
        m = re.match(r"### fib at \d+ sizes, CPython (\S+)", line)
        if m:
            # bench/fibsizes.py: rows keyed by ("sizes", timed, n); the
            # version's latest section replaces the earlier ones whole.
            version, kind = m.group(1), "sizes"
            rows = out.setdefault(version, {})
            for key in [k for k in rows if k[0] == "sizes"]:
                del rows[key]
            continue
        if kind == "sizes" and line.startswith("| fib("):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            out[version][("sizes", cells[2], int(cells[0][4:-1]))] = cells
            continue
        if line.startswith("### "):
            kind = None  # another in-process table (funcinproc.py, ...): not summarised
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


def sizes_cells(rows):
    """bench/fibsizes.py's ratios: the largest size whole process (profkit,
    then --no-builtins) and in process, and the smallest in process."""
    sizes = sorted(n for kind, _, n in (k for k in rows if k[0] == "sizes" and len(k) == 3))
    if not sizes:
        return ["–"] * 4
    big, small = sizes[-1], sizes[0]
    whole, inproc, first = (rows.get(("sizes", timed, n)) for timed, n in
                            (("whole process", big), ("in process", big), ("in process", small)))
    return [f"{c[i]} at fib({n})" if c else "–" for c, i, n in
            ((whole, 7, big), (whole, 9, big), (inproc, 7, big), (first, 7, small))]


def table(data):
    """The summary as markdown lines."""
    head = (["CPython", "fib, long run, whole process", "the same, --no-builtins",
             "fib, long run, in process", "fib, short run, in process"]
            + [label for _, _, label in ROWS] + ["lines_outside: profkit ×"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for version, rows in data.items():
        cells = [version] + sizes_cells(rows)
        for workload, kind, _ in ROWS:
            row = rows.get((kind, workload))
            cells.append(row[-1] if row else "–")
        outside = rows.get(("lines", "lines_outside"))
        cells.append(outside[5] if outside else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def fill_readme(path, lines):
    """Puts `lines` between the README's bench-summary markers."""
    with open(path) as f:
        text = f.read().split("\n")
    start = next(i for i, line in enumerate(text) if line.startswith("<!-- bench-summary"))
    end = text.index("<!-- /bench-summary -->", start)
    text[start + 1:end] = lines
    with open(path, "w") as f:
        f.write("\n".join(text))


def main(argv):
    args = argv[1:]
    readme = None
    if args[:1] == ["--readme"]:
        readme, args = args[1], args[2:]
    path = args[0] if args else "bench/RESULTS.md"
    with open(path) as f:
        lines = table(parse(f.read()))
    if readme:
        fill_readme(readme, lines)
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
