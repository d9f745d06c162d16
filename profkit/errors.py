"""The one exception the CLI turns into a single line on stderr."""


class ProfkitError(Exception):
    """A problem with what the user asked for: printed as one line, no traceback.

    ``exit_code`` is 2 for usage errors (bad options, missing files), 1 for the
    rest, following what ``python`` itself returns for the same mistake.
    """

    def __init__(self, message, exit_code=2):
        super().__init__(message)
        self.exit_code = exit_code
