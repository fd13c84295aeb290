"""Errors in UI handlers: a notice, the tab left as it was, no traceback for a user's mistake."""

from __future__ import annotations

import logging

import gradio as gr
import pytest

from photogen.errors import PhotogenError, Refusal
from photogen.ui.common import readable_errors, require


def _fails(exc: Exception):
    def handler(*_: object) -> tuple[str, str]:
        raise exc

    return handler


def test_a_user_error_is_a_notice_that_keeps_every_output(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.warns(UserWarning, match="Choose a photo first"):
        result = readable_errors(_fails(PhotogenError("Choose a photo first.")))()
    # one skip() leaves every output of the event as it was: no "Error" overlay on the finished results
    assert result == gr.skip() == {"__type__": "update"}
    assert not [r for r in caplog.records if r.exc_info], "a user's mistake must not print a traceback"


def test_an_unexpected_error_is_a_notice_and_keeps_its_traceback_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.warns(UserWarning, match=r"Something went wrong \(ZeroDivisionError\)"):
        result = readable_errors(_fails(ZeroDivisionError("x")))()
    assert result == gr.skip()
    assert any(r.exc_info for r in caplog.records)


def test_generators_are_wrapped_too() -> None:
    def stream():
        yield "first"
        raise PhotogenError("stopped")

    with pytest.warns(UserWarning, match="stopped"):
        assert list(readable_errors(stream)()) == ["first", gr.skip()]


def test_a_refusal_fails_the_call() -> None:
    with pytest.raises(gr.Error, match="owner only"):
        readable_errors(_fails(Refusal("owner only")))()


def test_a_session_still_loading_is_a_user_error() -> None:
    with pytest.raises(PhotogenError, match="still loading"):
        require(None)
