"""Small pieces every tab uses: turning photogen errors into readable messages."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from photogen.errors import PhotogenError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

UNEXPECTED = "Something went wrong ({}). Nothing was lost; see the log for details."


def _refuse(exc: Exception) -> bool:
    """A server refusal (a guest asking for the owner's controls) fails the call, so API callers see it fail."""
    return bool(getattr(exc, "refusal", False))


def _tell(exc: Exception) -> Any:
    """Show the message as a notice and leave every output as it was: an error must not blank the tab.

    A user's mistake is expected, so it is logged without a traceback; anything else keeps its traceback.
    """
    if isinstance(exc, gr.Error):
        message = str(exc.message)
        log.info("refused: %s", message)
    elif isinstance(exc, PhotogenError):
        message = str(exc)
        log.info("user error: %s", message)
    else:
        log.exception("unexpected error in the UI")
        message = UNEXPECTED.format(type(exc).__name__)
    gr.Warning(message)
    return gr.skip()  # one skip() skips every output of the event


def readable_errors(fn: F) -> F:
    """Run a UI handler: a PhotogenError (or anything unexpected) becomes a notice, the tab keeps what it showed.

    Generators (handlers that stream progress) are wrapped the same way. An exception marked as a
    refusal (`refusal = True`, e.g. a guest asking for the owner's controls) still fails the call.
    """
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                if _refuse(exc):
                    raise gr.Error(str(exc)) from exc
                yield _tell(exc)

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if _refuse(exc):
                raise gr.Error(str(exc)) from exc
            return _tell(exc)

    return wrapper  # type: ignore[return-value]


def require(session: Any) -> Any:
    if session is None:
        raise PhotogenError("The page is still loading; try again in a moment.")
    return session
