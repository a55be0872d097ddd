"""The exceptions eave raises; both native extensions raise these same classes."""


class Error(Exception):
    """A user error: a bad model, an unsupported op, a wrong input name, dtype or shape, a
    missing input, a bad option. The message is the one the CLI prints after ``error:`` and
    says what to fix."""


class InternalError(Exception):
    """A bug in eave (the CLI's exit code 2). Please report it with the message."""
