"""Small pieces every tab uses: turning photogen errors into readable messages."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from photogen.errors import PhotogenError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def readable_errors(fn: F) -> F:
    """Show a PhotogenError's message in the UI; hide anything else behind a short apology."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except PhotogenError as exc:
            raise gr.Error(str(exc)) from exc
        except Exception as exc:
            log.exception("unexpected error in the UI")
            raise gr.Error(f"Something went wrong ({type(exc).__name__}). Nothing was lost; see the log for details.") from exc

    return wrapper  # type: ignore[return-value]


def require(session: Any) -> Any:
    if session is None:
        raise gr.Error("The page is still loading; try again in a moment.")
    return session
