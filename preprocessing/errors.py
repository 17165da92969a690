"""The one exception type that the CLI turns into a one-line message instead of a traceback."""


class UserError(Exception):
    """Bad input from the user (arguments, configs, files): the message says what and where."""
