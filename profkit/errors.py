"""The one exception the CLI turns into a single line on stderr, and the
exit codes the commands share."""

# The exit code of every command that reads a saved file (show, peak, plot,
# diff) when a file it was given cannot be read: missing, unreadable, not a
# regular file or pipe, too large, or not the format it claims (damaged).
# 2, as for a bad invocation, the way diff(1), cmp and grep answer "trouble":
# ``profkit diff --fail-over`` keeps 1 for "slower than allowed".
UNREADABLE = 2


class ProfkitError(Exception):
    """A problem with what the user asked for: printed as one line, no traceback.

    ``exit_code`` is 2 for usage errors (bad options, missing files) and
    for input files that cannot be read (``UNREADABLE``), 1 for the rest,
    following what ``python`` itself returns for the same mistake.
    """

    def __init__(self, message, exit_code=2):
        super().__init__(message)
        self.exit_code = exit_code
