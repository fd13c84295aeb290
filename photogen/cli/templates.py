"""`photogen templates`: the card themes, album pages and social formats `generate --template` takes."""

from __future__ import annotations

import typer

from photogen.cli.output import JsonOpt, emit

group = typer.Typer(help="Cards, album pages and social posts.", no_args_is_help=True)


@group.command("list")
def templates_list(as_json: JsonOpt = False) -> None:
    """Card themes, album pages and social formats."""
    from photogen.create.templates import list_templates

    data = list_templates()
    emit(data, as_json, [f"{t['id']:<16} {t['label']:<22} {t['size_px'][0]}x{t['size_px'][1]} px  {t['description']}" for t in data])
