"""The exceptions that the CLI turns into a one-line message and a documented exit code instead of a traceback."""


class UserError(Exception):
    """Bad input from the user (arguments, configs, files): the message says what and where."""

    exit_code = 2


class NothingProducedError(UserError):
    """A run that finished without producing anything (every sample or frame skipped; the reasons are in
    its manifest or log): a script must not mistake it for success."""

    exit_code = 3
