"""A call tree small enough to assert exactly: top calls middle twice and
leaf once; middle calls leaf twice (the call tree and exports tests)."""


def leaf():
    return 1


def middle():
    return leaf() + leaf()


def top():
    middle()
    leaf()
    return middle()
