"""Memory against time from ``.dat`` files (``profkit plot``), and its
matplotlib writer.

The picture is built once as a small model (``build``: lines, function
spans, peaks, flame bars) and then drawn by one of two writers: matplotlib
here (PNG, PDF and whatever else it writes, or a window; the
``profkit[plot]`` extra), or the built-in one in ``svg.py`` (SVG and HTML,
needing nothing).  Both draw the same picture, so it does not change its
meaning with its format; ``report.write`` picks the writer.
"""
import os

from profkit.errors import UNREADABLE, ProfkitError

# Colours: a qualitative palette that survives print and colour blindness.
PALETTE = ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb",
           "#000000", "#ee7733", "#009988"]


class Series:
    def __init__(self, label, xs, ys, color, dashed=False):
        self.label, self.xs, self.ys, self.color, self.dashed = label, xs, ys, color, dashed


class Span:
    """One call of a marked function, on the time axis."""

    def __init__(self, name, x0, x1, y0, y1, level, color):
        self.name, self.x0, self.x1, self.y0, self.y1 = name, x0, x1, y0, y1
        self.level, self.color = level, color


class Picture:
    """What ``profkit plot`` draws, in data units (seconds, MiB)."""

    def __init__(self, title):
        self.title = title
        self.series = []
        self.spans = []       # function calls, first file only
        self.peaks = []       # (x, y, color)
        self.flame = False
        self.xmax = 0.0
        self.ymax = 0.0


def build(datas, title=None, functions=True, flame=False):
    """The picture of one or more ``MprofData``, times from each run's start."""
    model = Picture(title or _default_title(datas))
    model.flame = flame
    for i, data in enumerate(datas):
        color = PALETTE[i % len(PALETTE)]
        t0 = data.start_time
        label = os.path.basename(data.filename) if len(datas) > 1 else "memory"
        if len(datas) > 1 and data.cmdline:
            label = f"{label}: {_short(data.cmdline)}"
        xs = [t - t0 for _m, t in data.mem]
        ys = [m for m, _t in data.mem]
        if xs:
            model.series.append(Series(label, xs, ys, color))
            peak_y, peak_t = data.peak()
            model.peaks.append((peak_t - t0, peak_y, color))
        for j, (pid, samples) in enumerate(sorted(data.children.items())):
            ccolor = PALETTE[(i + j + 1) % len(PALETTE)] if len(datas) == 1 else color
            model.series.append(Series(f"child {pid}", [t - t0 for _m, t in samples],
                                       [m for m, _t in samples], ccolor, dashed=True))
        if (functions or flame) and i == 0:
            names = []
            for call in data.calls:
                if call.name not in names:
                    names.append(call.name)
            for call in data.calls:
                k = names.index(call.name)
                model.spans.append(Span(_pretty(call.name), call.start - t0, call.end - t0,
                                        call.mem_start, call.mem_end, call.level,
                                        PALETTE[(k + 1) % len(PALETTE)]))
    for s in model.series:
        if s.xs:
            model.xmax = max(model.xmax, max(s.xs))
            model.ymax = max(model.ymax, max(s.ys))
    for sp in model.spans:
        model.xmax = max(model.xmax, sp.x1)
        model.ymax = max(model.ymax, sp.y0, sp.y1)
    model.xmax, model.ymax = _axis_end(model.xmax), _axis_end(model.ymax)
    return model


def _axis_end(value):
    """An axis's end the tick code can divide into steps: a finite number,
    or 0 (the writers then draw 0 to 1) for one too small to scale.  The
    .dat reader keeps values in range; this guards the data of callers
    who build ``MprofData`` themselves."""
    import math

    if not math.isfinite(value):
        raise ProfkitError("cannot draw values that are not finite (inf or nan)", exit_code=UNREADABLE)
    return value if value >= 1e-9 else 0.0


def _pretty(name):
    return name[len("__main__."):] if name.startswith("__main__.") else name


def _short(cmdline, width=50):
    cmdline = cmdline.strip()
    return cmdline if len(cmdline) <= width else cmdline[: width - 3] + "..."


def _default_title(datas):
    if len(datas) == 1 and datas[0].cmdline:
        return _short(datas[0].cmdline.strip(), 80)
    return "memory over time"


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def default_extension():
    """The picture's format when none is asked for: PNG with matplotlib,
    else SVG, which needs nothing."""
    return ".png" if have_matplotlib() else ".svg"


def write(model, path=None, fmt=None, stream=None, **_options):
    """Draw ``model`` with matplotlib into ``path`` (its extension is the
    format; none: PNG), and open a window when ``fmt`` is ``"window"``."""
    show = fmt == "window"
    if not have_matplotlib():
        ext = os.path.splitext(path)[1].lower() if path else ""
        raise ProfkitError("plotting to ." + (ext.lstrip(".") or "png") + " needs matplotlib: "
                           "pip install 'profkit[plot]' (or write SVG, which needs nothing: "
                           "profkit plot -o memory.svg)", exit_code=1)
    _render_matplotlib(model, path, show)


def _render_matplotlib(model, out, show):
    import matplotlib

    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if model.flame and model.spans:
        levels = max(sp.level for sp in model.spans)
        fig, (ax, fax) = plt.subplots(2, 1, sharex=True, figsize=(10, 6 + 0.1 * levels),
                                      gridspec_kw={"height_ratios": [3, 1 + 0.15 * levels]})
    else:
        fig, ax = plt.subplots(figsize=(10, 5.5))
        fax = None
    for s in model.series:
        ax.plot(s.xs, s.ys, color=s.color, linestyle="--" if s.dashed else "-", linewidth=1.5,
                label=s.label, marker="." if len(s.xs) < 60 else None)
    if not model.flame:
        seen = set()
        for sp in model.spans:
            label = sp.name if sp.name not in seen else None
            seen.add(sp.name)
            ax.axvspan(sp.x0, sp.x1, color=sp.color, alpha=0.18, label=label, linewidth=0)
    for x, y, color in model.peaks:
        ax.plot([x], [y], marker="v", color=color, markersize=8)
        ax.annotate(f"peak {y:.1f} MiB", (x, y), textcoords="offset points", xytext=(6, 6),
                    color=color, fontsize=9)
    ax.set_ylabel("memory used (MiB)")
    ax.set_ylim(0, model.ymax * 1.12 if model.ymax > 0 else 1)
    ax.set_xlim(0, model.xmax * 1.02 if model.xmax > 0 else 1)
    ax.set_title(model.title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    if fax is not None:
        for sp in model.spans:
            fax.barh(sp.level, sp.x1 - sp.x0, left=sp.x0, height=0.9, color=sp.color,
                     edgecolor="white")
            if model.xmax and (sp.x1 - sp.x0) / model.xmax > 0.06:
                fax.text((sp.x0 + sp.x1) / 2, sp.level, sp.name, ha="center", va="center",
                         fontsize=8, clip_on=True)
        fax.invert_yaxis()
        fax.set_ylabel("nesting")
        fax.set_yticks(sorted({sp.level for sp in model.spans}))
        fax.set_xlabel("time (s)")
    else:
        ax.set_xlabel("time (s)")
    fig.tight_layout()
    if out:
        import io

        from profkit.formats.atomic import write_atomic

        buf = io.BytesIO()
        fmt = os.path.splitext(out)[1].lower().lstrip(".") or "png"
        try:
            fig.savefig(buf, format=fmt, dpi=110)
        except ValueError as exc:
            raise ProfkitError(f"cannot write {out!r}: {exc}", exit_code=1) from None
        write_atomic(out, buf.getvalue())
    if show:
        plt.show()
    plt.close(fig)
