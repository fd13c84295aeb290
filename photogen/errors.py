"""The one exception type a user can cause.

The CLI and the UI show its message as it is, never a traceback, so the message must say what
went wrong and what to do about it.
"""


class PhotogenError(Exception):
    """An error the user can act on: a bad photo, a missing model, a revoked album, a wrong passphrase."""


class Refusal(PhotogenError):
    """The server refuses a call outright (a Space visitor or a share-link guest asking for the owner's
    controls). The UI fails such a call, so an API caller sees it fail; other PhotogenErrors are shown
    as a notice that leaves the page as it was. Any exception with `refusal = True` is treated alike."""

    refusal = True
