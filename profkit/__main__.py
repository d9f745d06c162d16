"""python -m profkit: the same as the profkit command."""
import sys

from profkit.cli import main

sys.exit(main())
