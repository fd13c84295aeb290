"""The one exception type a user can cause.

The CLI and the UI show its message as it is, never a traceback, so the message must say what
went wrong and what to do about it.
"""


class PhotogenError(Exception):
    """An error the user can act on: a bad photo, a missing model, a revoked album, a wrong passphrase."""
