"""The text of ``profkit diff`` (report/diff.py's Diff): the totals in
words, the rows ranked by their change, the changes of count, and the noise
rule; the figures in a unit that suits their size (s, ms or us; MiB or
KiB).  diff_html.py shows the same rows as a page."""
import sys

__all__ = ["scale", "percent_text", "summary_lines", "write_text"]

MIB = 1048576.0


def scale(diff):
    """(divisor, unit name) for the figures of ``diff``."""
    top = max(abs(diff.total.base or 0), abs(diff.total.new or 0))
    if diff.memory:
        return (MIB, "MiB") if top >= MIB else (1024.0, "KiB")
    if top >= 1.0:
        return 1.0, "s"
    return (1e-3, "ms") if top >= 1e-3 else (1e-6, "us")


def _num(v, div):
    return "-" if v is None else f"{v / div:.3f}"


def _signed(v, div):
    return f"{v / div:+.3f}"


def percent_text(p, none="-"):
    """A change in percent, as the reports show it: a ratio past +999%."""
    if p is None:
        return none
    return f"{1 + p / 100:.0f}x" if p >= 1000 else f"{p:+.1f}%"


_pct = percent_text


def _counts(r):
    if r.base_count == r.new_count:
        return str(r.new_count)
    return f"{r.base_count} -> {r.new_count}"


def summary_lines(diff):
    """The head of the report: the totals and the verdicts, in words."""
    div, unit = scale(diff)
    t = diff.total
    what = "memory" if diff.memory else "time"
    count = {"pstats": "calls", "lprof": "line hits", "linemem": "line occurrences"}[diff.kind]
    verdict = t.verdict(diff.memory)
    verdict = {"noise": "within noise", "same": "unchanged"}.get(verdict, verdict)
    out = [f"total {what}: {_num(t.base, div)} {unit} -> {_num(t.new, div)} {unit}: "
           f"{_signed(t.change, div)} {unit} ({_pct(t.percent())}), {verdict} "
           f"(noise: {t.noise / div:.3f} {unit})",
           f"{count}: {t.base_count} -> {t.new_count} ({t.count_change:+d})"]
    tally = diff.tally()
    order = ("more", "less") if diff.memory else ("slower", "faster")
    parts = [f"{tally[v]} {v}" for v in order + ("noise", "new", "gone", "same") if tally.get(v)]
    things = "functions" if diff.kind == "pstats" else "lines"
    out.append(f"{things}: " + (", ".join(parts) if parts else "none"))
    return out


def write_text(diff, stream=None, limit=20):
    """The report as text: the totals, the rows ranked by their change,
    then the changes of count; ``limit`` rows each (None: all)."""
    out = stream if stream is not None else sys.stdout
    div, unit = scale(diff)
    name = "function" if diff.kind == "pstats" else "line"
    out.write(f"profkit diff: {diff.base_path} -> {diff.new_path}\n")
    for line in summary_lines(diff):
        out.write(line + "\n")
    ranked = diff.ranked()
    shown = ranked if limit is None else ranked[:limit]
    out.write(f"\n{diff.column.capitalize()} per {name}, the largest changes first\n")
    wide = max([16] + [len(_counts(r)) for r in shown])
    head = f"{'base ' + unit:>10} {'new ' + unit:>10} {'change':>10} {'%':>8}  {'verdict':<7} " \
           f"{'calls' if diff.kind == 'pstats' else 'count':<{wide}} {name}"
    out.write(head + "\n")
    for r in shown:
        out.write(f"{_num(r.base, div):>10} {_num(r.new, div):>10} {_signed(r.change, div):>10} "
                  f"{_pct(r.percent()):>8}  {r.verdict(diff.memory):<7} {_counts(r):<{wide}} "
                  f"{r.label}\n")
    if len(ranked) > len(shown):
        out.write(f"... {len(ranked) - len(shown)} more (--all shows every one)\n")
    counted = diff.count_changes()
    what = {"pstats": "Calls", "lprof": "Hits", "linemem": "Occurrences"}[diff.kind]
    if counted:
        shown = counted if limit is None else counted[:limit]
        out.write(f"\n{what} (exact counts), the largest changes first\n")
        out.write(f"{'base':>10} {'new':>10} {'change':>10} {'%':>8}  {name}\n")
        for r in shown:
            pct = r.percent(r.base_count, r.new_count)
            out.write(f"{r.base_count:>10} {r.new_count:>10} {r.count_change:>+10d} {_pct(pct):>8}  "
                      f"{r.label}\n")
        if len(counted) > len(shown):
            out.write(f"... {len(counted) - len(shown)} more (--all shows every one)\n")
    else:
        out.write(f"\n{what}: the same in both runs\n")
    for note in diff.notes:
        out.write(f"\nnote: {note}")
    out.write(f"\n{'' if not diff.notes else chr(10)}{diff.noise_rule}\n")
