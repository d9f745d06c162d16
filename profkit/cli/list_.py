"""``profkit list``: number the ``.dat`` files here, as ``mprof list``.

(The module is ``list_``: a submodule named ``list`` would hide the builtin
in ``profkit.cli``, whose namespace its import writes into.)"""
from profkit.cli import _common
from profkit.formats import mprof

DESCRIPTION = "Number the .dat files in this folder, oldest first."


def main(argv):
    _common.parser("profkit list", DESCRIPTION, "profkit list").parse_args(argv)
    for i, name in enumerate(mprof.list_files()):
        print(f"{i} {name} {mprof.stamp_of(name)}")
    return 0
