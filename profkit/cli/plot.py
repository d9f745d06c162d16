"""``profkit plot``: draw ``.dat`` files, as ``mprof plot``."""
import os
import sys

from profkit import report
from profkit.cli import _common
from profkit.errors import ProfkitError
from profkit.formats import mprof
from profkit.report import plot

DESCRIPTION = ("Draw memory against time from .dat files (profkit run or mprof run). No FILE: "
               "the newest in this folder.")


def parser():
    p = _common.parser("profkit plot", DESCRIPTION, "profkit plot [FILE ...] [-o OUT.png|.svg|.html] "
                       "[--title T] [--flame] [--no-functions] [--show]")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help=".dat files, or their numbers in 'profkit list' (-1 = the newest)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="the picture; its extension picks the format (default: beside the .dat, "
                   ".png with matplotlib, else .svg)")
    p.add_argument("-t", "--title", help="title of the picture")
    p.add_argument("-f", "--flame", action="store_true",
                   help="draw the marked calls as bars by nesting level, under the memory")
    p.add_argument("-n", "--no-functions", action="store_true",
                   help="leave out the marked functions")
    p.add_argument("-s", "--show", action="store_true", help="open a window (needs a display)")
    return p


def main(argv):
    opts = parser().parse_args(argv)
    files = _common.dat_files(opts.files)
    out = opts.output
    if out is not None:
        out = _common.check_writable(out)
    if opts.show and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ProfkitError("profkit plot: error: --show needs a display; write a file with -o instead")
    datas = []
    for path in files:
        data = mprof.read(path)
        for w in data.warnings:
            print(f"profkit plot: warning: {w}", file=sys.stderr)
        datas.append(data)
    if out is None and not opts.show:
        out = _common.check_writable(os.path.splitext(files[-1])[0] + plot.default_extension())
    picture = plot.build(datas, title=opts.title, functions=not opts.no_functions, flame=opts.flame)
    if out is None:  # --show alone: a window, no file
        report.write(picture, None, fmt="window")
        return 0
    with _common.saving(out):  # a full disk: the picture goes to the temporary folder
        report.write(picture, out, fmt="window" if opts.show else None)
        _common.wrote(os.path.relpath(out), prog="profkit plot")
    return 0
