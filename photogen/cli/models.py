"""`photogen models`: list, download, import and export diffusion models and identity adapters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from photogen.cli.output import JsonOpt, count_progress, emit, stage_bars, terminal_bar
from photogen.cli.session import settings
from photogen.errors import PhotogenError

group = typer.Typer(help="Diffusion models: download, import, export to ONNX.", no_args_is_help=True)

@group.command("list")
def models_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Supported models, whether each is installed, and the state of its exports."""
    from photogen.generate.commands import list_models

    models = list_models(settings(ctx))
    data = [m.to_json() for m in models]
    lines = [
        f"{'installed' if m.installed else '         '}  {m.id:<22} {m.kind:<10} {m.download_bytes / 1e9:5.1f} GB  {m.license}  exports: "
        + ", ".join(f"{p} {state}" for p, state in m.exports.items())
        for m in models
    ]
    emit(data, as_json, lines)


@group.command("info")
def models_info(ctx: typer.Context, model_id: str, as_json: JsonOpt = False) -> None:
    """Everything known about one model."""
    from photogen.generate.commands import model_info

    status = model_info(model_id, settings(ctx))
    info = status.to_json()
    lines = [f"{k}: {v}" for k, v in info.items() if k != "drift"]
    lines += ["drift from torch (per exported graph):"] + [f"  {d.describe()}" for d in status.drift]
    emit(info, as_json, lines)


@group.command("download")
def models_download(
    ctx: typer.Context,
    model_id: str,
    accept_license: Annotated[bool, typer.Option("--accept-license", help="Accept the model's license without asking.")] = False,
) -> None:
    """Download a model from the Hugging Face hub (shows its license first; resumable)."""
    from photogen.generate.commands import download

    def ask(spec: Any) -> bool:
        typer.echo(f"{spec.title} is licensed under {spec.license.name}: {spec.license.url}")
        return typer.confirm("Do you accept this license?")

    bar = terminal_bar(unit="B", unit_scale=True, desc=model_id)
    installed = download(model_id, settings(ctx), accept_license=accept_license or ask, progress=count_progress(bar))
    if bar is not None:
        bar.close()
    typer.echo(f"Downloaded {installed.spec.id}. Next: `photogen models export {installed.spec.id}`.")


@group.command("import")
def models_import(ctx: typer.Context, path: Path, name: Annotated[str | None, typer.Option("--name", help="An id for it.")] = None) -> None:
    """Use weights you already have: a diffusers folder or a single .safetensors checkpoint."""
    from photogen.generate.commands import import_weights

    installed = import_weights(path, settings(ctx), name)
    typer.echo(f"Imported {installed.spec.id}. Next: `photogen models export {installed.spec.id}`.")


@group.command("export")
def models_export(
    ctx: typer.Context,
    model_id: str,
    precision: Annotated[str | None, typer.Option(help="fp32; int8 (dynamic: int8 weights and activations, least memory, slower on CPU); int8w (weight-only: int8 weights on disk, fp32 compute); int8mm (int8 linear layers with int8-stored convolutions: small and fastest on a CPU); fp16 (GPU).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Export again even if a sound export exists.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Export a model to ONNX (checked against its manifest; stale exports are rebuilt)."""
    from photogen.generate.commands import default_precision, export

    manifest = export(model_id, precision or default_precision(), settings(ctx), force=force, progress=stage_bars())
    data = json.loads(manifest.model_dump_json())
    emit(data, as_json, [f"Exported {model_id} ({data['precision']}), opset {data['opset']}, {len(data['files'])} files."])


@group.command("delete")
def models_delete(
    ctx: typer.Context,
    model_id: str,
    export_precision: Annotated[str | None, typer.Option("--export", help="Delete only this export (fp32, int8, fp16).")] = None,
) -> None:
    """Delete a model (its downloads and all its exports), or one export. A folder imported in place is kept."""
    from photogen.generate.commands import delete_export, delete_model

    if export_precision:
        typer.echo(f"Deleted {delete_export(model_id, export_precision, settings(ctx))}.")
    else:
        typer.echo("Deleted " + ", ".join(str(p) for p in delete_model(model_id, settings(ctx))) + ".")


@group.command("create-tiny")
def models_create_tiny(ctx: typer.Context, directory: Path) -> None:
    """Build a tiny random-weight test model (for tests and offline smoke runs; its pictures are noise)."""
    from photogen.generate.commands import create_tiny
    from photogen.generate.identity import create_tiny_adapter

    s = settings(ctx)
    path = create_tiny(directory, s)
    create_tiny_adapter("tiny-faceid", path, s)  # so people can be put into test scenes too
    typer.echo(f"Built a tiny TEST model in {path} (with a tiny identity adapter) and installed it as 'tiny-test'. Its outputs are labeled as test images.")


@group.command("import-adapter")
def models_import_adapter(
    ctx: typer.Context,
    path: Path,
    adapter: Annotated[str, typer.Option("--adapter", help="ip-adapter-faceid or ip-adapter-plus-face.")],
    image_encoder: Annotated[Path | None, typer.Option("--image-encoder", help="Plus-Face: the CLIP image encoder folder.")] = None,
    accept_license: Annotated[bool, typer.Option("--accept-license", help="Accept the adapter's license without asking.")] = False,
) -> None:
    """Use identity-adapter weights you downloaded yourself (checked against the published layout)."""
    from photogen.generate.identity import import_adapter
    from photogen.generate.identity.adapters import get_adapter_spec

    spec = get_adapter_spec(adapter)
    if not accept_license:
        typer.echo(f"{spec.title}: {spec.license.name} ({spec.license.url})")
        accept_license = typer.confirm("Do you accept this license?")
        if not accept_license:
            raise PhotogenError("The adapter was not imported: its license was not accepted.")
    kwargs: dict[str, Any] = {"accept_license": accept_license}
    if image_encoder is not None:
        kwargs["image_encoder"] = image_encoder
    installed = import_adapter(path, adapter, settings(ctx), **kwargs)
    typer.echo(f"Imported {installed.spec.id} ({installed.layout}). Use it with `photogen generate --person NAME ...` on a model it fits.")
