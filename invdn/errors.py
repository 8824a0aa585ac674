"""The one exception type the command line turns into a one-line message."""


class InvdnError(Exception):
    """A problem the user can fix (bad input, missing file, bad config value).

    The message is one line that names the problem and the fix; commands print it without a
    traceback and exit non-zero.
    """
