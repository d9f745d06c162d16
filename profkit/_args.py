"""argparse for the profkit command line, made to fail in one line.

Loaded only when a command builds its parser (see cli._Parser).
"""
import argparse
import os
import sys

from profkit.errors import ProfkitError


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter, measuring the terminal with os instead of
    shutil: argparse makes one for every option added, and importing shutil
    (with bz2, lzma, zlib and threading behind it) costs every run 4 ms."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:
            try:
                width = int(os.environ.get("COLUMNS", "")) - 2
            except ValueError:
                try:
                    width = os.get_terminal_size(sys.__stdout__.fileno()).columns - 2
                except (AttributeError, ValueError, OSError):
                    width = 78
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage dump) and exit code 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise ProfkitError(f"{self.prog}: error: {message}")
