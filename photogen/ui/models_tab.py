"""Models tab: the catalog, license, download (with progress, cancel and resume), export, delete, import.

Every action is the owner's alone: the server refuses it for share-link guests and Space visitors
(photogen.ui.access), not only the UI; in a Space the owner unlocks model controls (never host paths)
for their session with the PHOTOGEN_SPACE_OWNER_TOKEN secret. The work itself is photogen.generate.commands, shared with
`photogen models ...`.
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import gradio as gr

from photogen.errors import PhotogenError, Refusal
from photogen.generate import commands
from photogen.generate.catalog import CATALOG, get_model_spec
from photogen.generate.identity.adapters import ADAPTERS
from photogen.generate.manifest import PRECISIONS, FileHashes
from photogen.generate.sources import accepted_licenses, is_license_accepted, record_license_acceptance
from photogen.settings import Settings
from photogen.ui.access import Capability
from photogen.ui.access import require as require_role
from photogen.ui.common import readable_errors
from photogen.ui.views import TabView

# (fraction, desc) like gr.Progress
Progress = Callable[..., Any]
CHECKPOINT, ADAPTER = "Model (diffusers folder or .safetensors)", "Identity adapter (.safetensors or .bin)"
SPACE_NOTE = (
    "In this Space, models are added by the Space's owner: set the Space secret PHOTOGEN_SPACE_OWNER_TOKEN, "
    "then unlock the controls below with it. Downloads and exports run on the Space's own hardware; "
    "visitors use what is installed."
)


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n else "-"


def catalog_rows(settings: Settings, hashes: FileHashes | None = None) -> list[list[Any]]:
    """One row a model: the catalog's download size, the license, and what is on disk (measured)."""
    rows = []
    for m in commands.list_models(settings, hashes):
        exports = ", ".join(f"{p} {state.split(':')[0]} ({_gb(m.export_bytes.get(p, 0))})"
                            for p, state in m.exports.items() if state != "missing")  # fmt: skip
        on_disk = "no" if not m.installed else "yes (your folder, used in place)" if m.installed_bytes < 1_000_000 \
            else f"yes ({_gb(m.installed_bytes)} on disk)"
        rows.append([m.title, m.id, _gb(m.download_bytes), m.license, on_disk, exports or "none"])
    return rows


def model_choices(settings: Settings, hashes: FileHashes | None = None) -> list[tuple[str, str]]:
    return [(m.title, m.id) for m in commands.list_models(settings, hashes)]


def license_text(settings: Settings, model_id: str | None, fetched: str | None = None) -> tuple[str, bool]:
    """The chosen model's license in full (`fetched`: its text from the hub), and whether it was accepted already."""
    if not model_id:
        return "Choose a model to see its license.", False
    try:
        spec = get_model_spec(model_id)
    except PhotogenError:
        return f"**{model_id}** was imported by you: its own terms apply.", True
    if not spec.hf_repo:
        return f"**{spec.title}**: {spec.license.summary} Nothing to download.", True
    accepted = is_license_accepted(spec, settings)
    when = accepted_licenses(settings).get(spec.id, {}).get("accepted_at")
    note = f"\n\n*You accepted this license on {when}.*" if accepted and when else ""
    return spec.license.full_text(fetched) + note, accepted


def check_hub(settings: Settings, request: Any, model_id: str, unlocked: bool = False) -> tuple[str, str]:
    """Ask the hub, at the user's request, what a download would fetch (measured) and for the license's full text."""
    from photogen.generate.download import hub_details

    _owner(request, settings, unlocked=unlocked)
    spec = get_model_spec(model_id)
    if not spec.hf_repo:
        raise PhotogenError(f"{spec.title} is not on the hub: it is built on this computer.")
    details = hub_details(spec.hf_repo, spec.revision or "main", list(spec.allow_patterns), spec.license.hub_file)
    total = details.download_bytes
    if spec.lora_repo:
        total += hub_details(spec.lora_repo, spec.lora_revision or "main", ["*.safetensors", "*.json"], None).download_bytes
    text, _ = license_text(settings, model_id, details.license_text)
    return text, f"{spec.title}: {total / 1e9:.2f} GB to download (measured on the hub, commit {details.commit[:7]})."


def unlock_space(settings: Settings, token: str) -> bool:
    """In a Space, whether `token` is the owner's (the PHOTOGEN_SPACE_OWNER_TOKEN secret)."""
    expected = settings.space_owner_token.get_secret_value() if settings.space_owner_token else ""
    if not settings.space_mode or not expected:
        raise PhotogenError(
            "Model controls in a Space need an owner token: set the Space secret PHOTOGEN_SPACE_OWNER_TOKEN "
            "(a long random text) in the Space's settings, restart it, then enter the token here."
        )
    if not secrets.compare_digest(token.encode(), expected.encode()):
        time.sleep(1.0)  # makes guessing slow
        raise Refusal("That is not the Space owner's token.")
    return True


def _owner(request: Any, settings: Settings, *capabilities: Capability, unlocked: bool = False) -> None:
    """Refuse (fail the call, not only grey a button) unless the owner asks: at this computer, or in a
    Space whoever unlocked this session with the owner's token (models only, never this host's files)."""
    if settings.space_mode and unlocked and set(capabilities or (Capability.MODELS,)) == {Capability.MODELS}:
        return
    for capability in capabilities or (Capability.MODELS,):
        try:
            require_role(request, capability, space_mode=settings.space_mode)
        except PhotogenError as e:
            raise e if getattr(e, "refusal", False) else Refusal(str(e)) from e


def _reported(fn: Callable[..., str]) -> Callable[..., str]:
    """A handler whose result is a status line: a user's error is that line too (and a notice), so
    the panel keeps saying what went wrong and what to do; a refusal still fails the call."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        try:
            return fn(*args, **kwargs)
        except PhotogenError as exc:
            if getattr(exc, "refusal", False):
                raise
            gr.Warning(str(exc))
            return f"**Not done:** {exc}"

    return readable_errors(wrapper)


def download(settings: Settings, request: Any, model_id: str, accepted: bool, progress: Progress,
             cancel: threading.Event | None = None, unlocked: bool = False) -> str:  # fmt: skip
    """Download the chosen catalog model once its license is accepted here; progress in bytes."""
    _owner(request, settings, unlocked=unlocked)
    if not model_id:
        raise PhotogenError("Choose a model first.")
    spec = get_model_spec(model_id)
    if not spec.hf_repo:
        raise PhotogenError(f"{spec.title} is not downloaded: it is built on this computer (`photogen models create-tiny`).")
    if spec.needs_license_acceptance and not is_license_accepted(spec, settings):
        if not accepted:
            raise PhotogenError(f"Read the {spec.license.name} license above and tick \"I accept\" to download {spec.title}.")
        record_license_acceptance(spec, settings)

    def on_bytes(done: int, total: int, what: str) -> None:
        progress(done / total if total else None, desc=f"{what}: {done / 1e9:.2f} of {total / 1e9:.2f} GB")

    installed = commands.download(spec, settings, accept_license=True, progress=on_bytes, cancel=cancel)
    size = commands.folder_bytes(installed.source_dir)
    return f"Downloaded **{spec.title}** ({size / 1e9:.2f} GB, checked). Next: export it for this computer."


def export(settings: Settings, request: Any, model_id: str, precision: str, progress: Progress,
           unlocked: bool = False) -> str:  # fmt: skip
    _owner(request, settings, unlocked=unlocked)
    if not model_id:
        raise PhotogenError("Choose a model first.")

    def on_stage(stage: str, done: int, total: int) -> None:
        progress(done / total if total else None, desc=f"Exporting: {stage}")

    manifest = commands.export(model_id, precision, settings, progress=on_stage)  # type: ignore[arg-type]
    size = commands.folder_bytes(commands.export_dir(settings, model_id, manifest.precision))
    return f"Exported **{model_id}** at {manifest.precision} ({size / 1e9:.2f} GB). It is ready in Create."


def delete_model(settings: Settings, request: Any, model_id: str, unlocked: bool = False) -> str:
    _owner(request, settings, unlocked=unlocked)
    removed = commands.delete_model(model_id, settings)
    return f"Deleted {model_id}: " + ", ".join(str(p) for p in removed) + "."


def delete_export(settings: Settings, request: Any, model_id: str, precision: str, unlocked: bool = False) -> str:
    _owner(request, settings, unlocked=unlocked)
    return f"Deleted the {precision} export of {model_id} ({commands.delete_export(model_id, precision, settings)})."


def import_path(settings: Settings, request: Any, path: str, kind: str, name: str, adapter_id: str | None,
                accepted: bool) -> str:  # fmt: skip
    """Import weights the owner already has, by their path on this computer."""
    _owner(request, settings, Capability.MODELS, Capability.HOST_FILES)
    if not (path or "").strip():
        raise PhotogenError("Give the path of a diffusers folder, a .safetensors checkpoint or an adapter file.")
    if kind == ADAPTER:
        from photogen.generate.identity import import_adapter

        if not adapter_id:
            raise PhotogenError("Choose which identity adapter the file is.")
        installed = import_adapter(path.strip(), adapter_id, settings, accept_license=accepted)
        return f"Imported the identity adapter {installed.spec.id}."
    model = commands.import_weights(path.strip(), settings, (name or "").strip() or None)
    return f"Imported **{model.spec.id}**. Next: export it for this computer."


def build(settings: Settings, on_removed: Callable[[str], None] | None = None) -> TabView:
    """`on_removed(model_id)`: called after a model or an export is deleted (the app unloads it)."""
    # a running download's cancel switch, by browser session (not a module global: one per app and visitor)
    running: dict[str, threading.Event] = {}
    # the exports this tab has checked, so a refresh does not read gigabytes again (one per app, like `running`)
    hashes = FileHashes()
    with gr.Tab("Models", id="models") as tab:
        gr.Markdown(
            "AI styles and new scenes need a diffusion model, downloaded once from the Hugging Face hub (its "
            "license is shown first; a stopped download resumes) and exported for this computer. "
            + (SPACE_NOTE if settings.space_mode else "")
        )
        # server-side, per session: an API caller cannot set it, only the unlock handler can
        unlocked = gr.State(False)
        with gr.Row(visible=settings.space_mode):
            token = gr.Textbox(label="Space owner token", type="password", elem_id="models-token")
            unlock_btn = gr.Button("Unlock model controls")
        table = gr.Dataframe(headers=["Model", "ID", "Download", "License", "Installed", "Exports"],
                             interactive=False, elem_id="models-catalog")  # fmt: skip
        model = gr.Dropdown(label="Model", choices=model_choices(settings, hashes), value=CATALOG[0].id, elem_id="models-model")
        license_md = gr.Markdown(elem_id="models-license")
        accept = gr.Checkbox(label="I have read and accept this license", elem_id="models-accept")
        with gr.Row():
            download_btn = gr.Button("Download", variant="primary", elem_id="models-download")
            cancel_btn = gr.Button("Cancel download", elem_id="models-cancel")
            check_btn = gr.Button("Check on the hub (size, full license)", elem_id="models-check")
        with gr.Row():
            precision = gr.Radio(list(PRECISIONS), value=commands.default_precision(), elem_id="models-precision",
                                 label="Precision (chosen for this computer: fp16 on a GPU, fp32 on a CPU; int8mm is "
                                       "faster on a CPU, int8 and int8w are smallest)")  # fmt: skip
            export_btn = gr.Button("Export for this computer", elem_id="models-export")
        with gr.Row():
            delete_export_btn = gr.Button("Delete this export", variant="stop")
            delete_model_btn = gr.Button("Delete this model and its exports", variant="stop")
        status = gr.Markdown(elem_id="models-status")
        with gr.Accordion("Import weights you already have (this computer only)", open=False, visible=not settings.space_mode):
            path = gr.Textbox(label="Path on this computer")
            kind = gr.Radio([CHECKPOINT, ADAPTER], value=CHECKPOINT, label="What it is")
            name = gr.Textbox(label="Name for the model (optional)")
            adapter = gr.Dropdown([a.id for a in ADAPTERS if not a.test_model], label="Which identity adapter")
            adapter_accept = gr.Checkbox(label="I accept the adapter's license (shown in its description)")
            import_btn = gr.Button("Import")

        @readable_errors
        def _refresh(_session: Any, chosen: str | None) -> tuple[Any, ...]:
            text, accepted = license_text(settings, chosen)
            return catalog_rows(settings, hashes), gr.update(choices=model_choices(settings, hashes)), text, accepted

        refresh_io: dict[str, Any] = {"inputs": [model], "outputs": [table, model, license_md, accept]}

        @readable_errors
        def _choose(chosen: str | None) -> tuple[str, bool]:
            return license_text(settings, chosen)

        @readable_errors
        def _unlock(text: str) -> tuple[bool, str]:
            unlock_space(settings, text or "")
            return True, "Model controls are unlocked for this session."

        @readable_errors
        def _check(chosen: str, ok: bool, request: gr.Request) -> tuple[str, str]:
            return check_hub(settings, request, chosen, unlocked=ok)

        def _key(request: Any, chosen: str) -> str:
            return f"{getattr(request, 'session_hash', '')}:{chosen}"

        @_reported
        def _download(chosen: str, accepted: bool, ok: bool, request: gr.Request, progress: gr.Progress = gr.Progress()) -> str:
            _owner(request, settings, unlocked=ok)
            running[_key(request, chosen)] = cancel = threading.Event()
            try:
                return download(settings, request, chosen, accepted, progress, cancel, unlocked=ok)
            finally:
                running.pop(_key(request, chosen), None)

        @_reported
        def _cancel(chosen: str, ok: bool, request: gr.Request) -> str:
            _owner(request, settings, unlocked=ok)
            event = running.get(_key(request, chosen))
            if event is None:
                return "No download of this model is running."
            event.set()
            return "Stopping the download; what arrived is kept, and the next download resumes from there."

        @_reported
        def _export(chosen: str, chosen_precision: str, ok: bool, request: gr.Request, progress: gr.Progress = gr.Progress()) -> str:
            return export(settings, request, chosen, chosen_precision, progress, unlocked=ok)

        @_reported
        def _delete_model(chosen: str, ok: bool, request: gr.Request) -> str:
            said = delete_model(settings, request, chosen, unlocked=ok)
            if on_removed is not None:
                on_removed(chosen)
            return said

        @_reported
        def _delete_export(chosen: str, chosen_precision: str, ok: bool, request: gr.Request) -> str:
            said = delete_export(settings, request, chosen, chosen_precision, unlocked=ok)
            if on_removed is not None:
                on_removed(chosen)
            return said

        @_reported
        def _import(p: str, k: str, n: str, a: str | None, accepted: bool, request: gr.Request) -> str:
            return import_path(settings, request, p, k, n, a, accepted)

        def refresh_after(event: Any) -> None:
            event.then(lambda chosen: _refresh(None, chosen), **refresh_io)

        model.change(_choose, inputs=model, outputs=[license_md, accept])
        unlock_btn.click(_unlock, inputs=token, outputs=[unlocked, status], api_name="models_unlock")
        refresh_after(download_btn.click(_download, inputs=[model, accept, unlocked], outputs=status, api_name="models_download"))
        check_btn.click(_check, inputs=[model, unlocked], outputs=[license_md, status], api_name="models_check")
        cancel_btn.click(_cancel, inputs=[model, unlocked], outputs=status, api_name="models_cancel")
        refresh_after(export_btn.click(_export, inputs=[model, precision, unlocked], outputs=status, api_name="models_export"))
        refresh_after(delete_model_btn.click(_delete_model, inputs=[model, unlocked], outputs=status, api_name="models_delete"))
        refresh_after(delete_export_btn.click(_delete_export, inputs=[model, precision, unlocked], outputs=status,
                                              api_name="models_delete_export"))  # fmt: skip
        refresh_after(import_btn.click(_import, inputs=[path, kind, name, adapter, adapter_accept], outputs=status,
                                       api_name="models_import"))  # fmt: skip
    return TabView(tab, _refresh, refresh_io["outputs"], refresh_io["inputs"])
