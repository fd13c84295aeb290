"""`photogen serve` (start the app) and `photogen doctor` (what this install runs on)."""

from __future__ import annotations

from typing import Annotated

import typer

from photogen.cli.output import JsonOpt, emit
from photogen.cli.session import settings


def doctor(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """What this install runs on: Python, ONNX Runtime and its providers, the GPU, models and exports."""
    from photogen.doctor import diagnose, report_lines

    report = diagnose(settings(ctx))
    emit(report.model_dump(mode="json"), as_json, report_lines(report))


def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 7860,
    share: Annotated[
        bool,
        typer.Option("--share", help="Open a temporary public link for guests (password: PHOTOGEN_SHARE_PASSWORD, a prompt, or generated)."),
    ] = False,
) -> None:
    """Start the app (same as `python app.py`)."""
    from photogen.ui.app import launch

    launch(settings(ctx), port=port, share=share)
