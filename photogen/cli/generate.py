"""`photogen generate`: make a scene, a restyled photo, a new background, a card or a post."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from photogen.cli.output import JsonOpt, emit, terminal_bar
from photogen.cli.session import library
from photogen.errors import PhotogenError


def generate(
    ctx: typer.Context,
    mode: Annotated[str, typer.Option(help="text, restyle, background, or instant (no model needed).")] = "text",
    prompt: Annotated[str, typer.Option(help="What to make; mention people with @Name or 'me'.")] = "",
    photo: Annotated[list[int] | None, typer.Option("--photo", help="A photo id (repeat for album pages).")] = None,
    person: Annotated[list[str] | None, typer.Option("--person", help="A person by name (repeat for several).")] = None,
    style: Annotated[str | None, typer.Option(help="A style preset (see --help of `templates list`).")] = None,
    speed: Annotated[str, typer.Option(help="fast, balanced or quality.")] = "balanced",
    template: Annotated[str | None, typer.Option(help="card:birthday, post:4x5, album-page, ...")] = None,
    title: Annotated[str | None, typer.Option(help="Card or page title.")] = None,
    message: Annotated[str | None, typer.Option(help="Card message.")] = None,
    model: Annotated[str | None, typer.Option(help="Model id (default: the installed one).")] = None,
    precision: Annotated[str | None, typer.Option(help="fp32, int8 (dynamic), int8w (weight-only), int8mm (int8 linear layers, fastest on a CPU) or fp16.")] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same picture.")] = 0,
    variants: Annotated[int, typer.Option(help="How many to make.")] = 1,
    best_of: Annotated[int | None, typer.Option("--best-of", help="Make N candidates and keep the --variants most alike.")] = None,
    steps: Annotated[int | None, typer.Option(help="Denoising steps (default: from --speed).")] = None,
    size: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT, multiples of 8.")] = None,
    background: Annotated[str, typer.Option(help="instant mode: keep, blur or replace.")] = "keep",
    fmt: Annotated[list[str] | None, typer.Option("--format", help="png, jpeg, pdf (repeat for several).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write the files.")] = Path("photogen-out"),
    as_json: JsonOpt = False,
) -> None:
    """Make something: a new scene, a restyled photo, a new background, a card or a post."""
    from photogen.create.studio import CreateRequest, Studio

    parsed_size = None
    if size:
        try:
            w, h = (int(v) for v in size.lower().split("x"))
        except ValueError as exc:
            raise PhotogenError(f"--size must look like 512x512, not {size!r}.") from exc
        parsed_size = (w, h)
    request = CreateRequest(
        mode=mode,  # type: ignore[arg-type]
        prompt=prompt,
        photo_ids=list(photo or []),
        people=list(person or []),
        style=style,
        speed=speed,
        template=template,
        title=title,
        message=message,
        model_id=model,
        precision=precision,
        seed=seed,
        variants=variants,
        best_of=best_of,
        steps=steps,
        size=parsed_size,
        background=background,  # type: ignore[arg-type]
        formats=tuple(fmt or ["png"]),  # type: ignore[arg-type]
    )
    bar = terminal_bar(as_json, total=100, desc="creating", bar_format="{l_bar}{bar}| {desc}")

    def progress(fraction: float, what: str) -> None:
        if bar is not None:
            bar.n = int(fraction * 100)
            bar.set_description(what)

    with library(ctx) as lib:
        creation = Studio(lib.settings).create(lib, request, out.resolve(), progress)
    if bar is not None:
        bar.close()
    lines = [f"Creation {creation.id} ({creation.kind}): prompt shown to the model: {creation.model_prompt!r}"]
    for v in creation.variants:
        score = ", ".join(f"{k} {s:.2f}" for k, s in v.likeness.items())
        lines.append(f"  variant {v.variant} seed {v.seed}{'  likeness: ' + score if score else ''}  ->  {', '.join(str(p) for p in v.files)}")
        lines += [f"    note: {n}" for n in v.notes]
    lines.append(f"  sources: photos {creation.source_photo_ids or 'none'}; people {[n for _, n in creation.people] or 'none'}")
    emit(creation.to_json(), as_json, lines)

