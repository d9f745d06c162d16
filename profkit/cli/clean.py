"""``profkit clean``: remove the ``.dat`` files here, as ``mprof clean``."""
import os

from profkit.cli import _common
from profkit.formats import mprof

DESCRIPTION = "Remove the mprofile_*.dat files in this folder."


def main(argv):
    p = _common.parser("profkit clean", DESCRIPTION, "profkit clean [--dry-run]")
    p.add_argument("--dry-run", action="store_true", help="say what would be removed")
    opts = p.parse_args(argv)
    for name in mprof.list_files():
        if opts.dry_run:
            print(name)
        else:
            os.remove(name)
    return 0
