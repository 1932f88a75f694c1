"""The one exception the command reports to the user instead of a traceback."""


class DevstackError(Exception):
    """Something the user can act on: a missing tool, a busy port, a server that did not start.

    The message is printed as is, so it should say what failed and where to look (a log file).
    """
