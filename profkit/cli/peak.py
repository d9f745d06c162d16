"""``profkit peak``: the highest memory of each ``.dat`` file, as ``mprof peak``."""
import sys

from profkit.cli import _common
from profkit.errors import UNREADABLE, ProfkitError
from profkit.formats import mprof

DESCRIPTION = "Print the highest memory of each run."


def main(argv):
    p = _common.parser("profkit peak", DESCRIPTION, "profkit peak [FILE ...]")
    p.add_argument("files", nargs="*", metavar="FILE", help=".dat files or their numbers")
    opts = p.parse_args(argv)
    code = 0
    for path in _common.dat_files(opts.files):
        # A file that cannot be read is one line; the others are still read.
        try:
            data = mprof.read(path)
        except ProfkitError as exc:
            print(f"profkit peak: error: {exc}", file=sys.stderr)
            code = UNREADABLE
            continue
        for w in data.warnings:
            print(f"profkit peak: warning: {w}", file=sys.stderr)
        if data.mem:
            print(f"{path}\t{data.peak()[0]:.3f} MiB")
        else:
            print(f"{path}\tNaN MiB")
        for pid, samples in sorted(data.children.items()):
            print(f"  Child {pid}\t\t\t{max(m for m, _t in samples):.3f} MiB")
    return code
