"""Privacy tab: every grant with revoke, delete everything, what is stored, and the audit log."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from photogen.errors import PhotogenError
from photogen.library.consent import allow_album, list_albums, revoke_album, revoke_impact, revoke_source
from photogen.library.library import Library
from photogen.library.overview import recent_audit, source_names
from photogen.library.privacy import privacy_report
from photogen.ui.access import Capability, role_of
from photogen.ui.access import require as require_role
from photogen.ui.common import readable_errors, require
from photogen.ui.session import UISession
from photogen.ui.views import TabView


def grant_choices(library: Library) -> tuple[list[str], list[str], list[str]]:
    albums = list_albums(library)
    allowed = [a.qualified_name for a in albums if a.allowed]
    closed = [a.qualified_name for a in albums if not a.allowed]
    sources = source_names(library)
    return allowed, closed, sources


def stored_rows(library: Library) -> list[list[Any]]:
    report = privacy_report(library)
    return [[i.what, "yes" if i.encrypted else "no", i.how, f"{i.bytes:,}"] for i in report.items]


def audit_rows(library: Library, limit: int = 200) -> list[list[Any]]:
    return [[e.at, e.actor, e.action, e.target or "", _short(e.detail)] for e in recent_audit(library, limit)]


def model_license_rows(library: Library) -> list[list[Any]]:
    """The installed models, their licenses, and whether you accepted them."""
    from photogen.generate.commands import list_models
    from photogen.generate.manifest import FileHashes

    # the library's FileHashes: a refresh does not hash the exports again while they are unchanged
    hashes = library.cache.setdefault("export_hashes", FileHashes())
    return [[m.id, m.title, m.license, "yes" if m.installed else "no"] for m in list_models(library.settings, hashes) if m.installed]


def runtime_facts(s: UISession, request: gr.Request | None = None) -> str:
    """`photogen doctor` as the Privacy tab shows it; folders and paths only to the owner at this computer."""
    from photogen.doctor import diagnose, report_lines
    from photogen.ui.access import is_owner

    lines = report_lines(diagnose(require(s).library.settings), with_paths=is_owner(request))
    return "```\n" + "\n".join(lines) + "\n```"


def _short(detail: str) -> str:
    data = json.loads(detail or "{}")
    return ", ".join(f"{k}={v}" for k, v in data.items() if k != "undo")  # an undo snapshot is for the app, not a reader


def build(session: gr.State) -> TabView:
    with gr.Tab("Privacy", id="privacy") as tab:
        gr.Markdown(
            "Everything photogen stores is encrypted on this computer: the catalog with SQLCipher, thumbnails "
            "and copies with AES-256-GCM. Revoking an album deletes everything made from its photos."
        )
        status = gr.Markdown()
        refresh = gr.Button("Refresh", size="sm")
        with gr.Row():
            allowed = gr.Dropdown(label="Allowed albums", choices=[], elem_id="privacy-allowed")
            revoke_btn = gr.Button("Revoke album", variant="stop")
        with gr.Row():
            sources = gr.Dropdown(label="Sources", choices=[], elem_id="privacy-sources")
            revoke_source_btn = gr.Button("Revoke source", variant="stop")
        revoke_plan = gr.Markdown(elem_id="privacy-revoke-plan")  # what a revoke deletes, counted before it is done
        revoke_sure = gr.Checkbox(label="Yes, delete what is listed above", value=False, elem_id="privacy-revoke-sure")
        with gr.Row():
            closed = gr.Dropdown(label="Albums photogen may not use", choices=[])
            allow_btn = gr.Button("Allow album")
        stored = gr.Dataframe(headers=["What", "Encrypted", "How", "Bytes"], interactive=False, label="What is stored")
        audit = gr.Dataframe(headers=["When", "Who", "What", "Target", "Detail"], interactive=False, label="Audit log")
        licenses = gr.Dataframe(headers=["Model", "Title", "License", "Installed"], interactive=False, label="Installed models and their licenses")
        with gr.Accordion("This install: ONNX Runtime, GPU, models (photogen doctor)", open=False):
            runtime = gr.Markdown()
            check_btn = gr.Button("Check", size="sm")
        with gr.Accordion("Delete everything", open=False):
            confirm = gr.Checkbox(label="Yes, delete everything photogen stored (your original photos are not touched)")
            wipe_btn = gr.Button("Delete everything", variant="stop")

        def _all(request: gr.Request, s: UISession, message: str = "") -> tuple[Any, ...]:
            if not role_of(request).can(Capability.CONSENT):  # a guest sees no grants, audit log or storage report
                return ("", gr.Dropdown(choices=[]), gr.Dropdown(choices=[]), gr.Dropdown(choices=[]), [], [], [])
            lib = require(s).library
            a, c, src = grant_choices(lib)
            return (
                message,
                gr.Dropdown(choices=a, value=None),
                gr.Dropdown(choices=c, value=None),
                gr.Dropdown(choices=src, value=None),
                stored_rows(lib),
                audit_rows(lib),
                model_license_rows(lib),
            )

        outputs = [status, allowed, closed, sources, stored, audit, licenses]

        def _must_confirm(sure: bool) -> None:
            if not sure:
                raise PhotogenError("Read what will be deleted, tick 'Yes, delete what is listed above', then revoke.")

        @readable_errors
        def _plan_album(request: gr.Request, s: UISession, name: str | None) -> tuple[str, bool]:
            require_role(request, Capability.CONSENT)
            return (revoke_impact(require(s).library, album=name).describe(name) if name else ""), False

        @readable_errors
        def _plan_source(request: gr.Request, s: UISession, name: str | None) -> tuple[str, bool]:
            require_role(request, Capability.CONSENT)
            return (revoke_impact(require(s).library, source=name).describe(f"the source {name}") if name else ""), False

        @readable_errors
        def _revoke(request: gr.Request, s: UISession, name: str | None, sure: bool) -> tuple[Any, ...]:
            require_role(request, Capability.CONSENT)
            if not name:
                raise PhotogenError("Choose an album to revoke.")
            _must_confirm(sure)
            revoke_album(require(s).library, name)
            return (*_all(request, s, f"Revoked **{name}**; everything made from its photos is deleted."), "", False)

        @readable_errors
        def _allow(request: gr.Request, s: UISession, name: str | None) -> tuple[Any, ...]:
            require_role(request, Capability.CONSENT)
            if not name:
                raise PhotogenError("Choose an album to allow.")
            allow_album(require(s).library, name)
            return _all(request, s, f"Allowed **{name}**. Use Connect → *Look for new and changed photos* to read it.")

        @readable_errors
        def _revoke_source(request: gr.Request, s: UISession, name: str | None, sure: bool) -> tuple[Any, ...]:
            require_role(request, Capability.CONSENT)
            if not name:
                raise PhotogenError("Choose a source to revoke.")
            _must_confirm(sure)
            removed = revoke_source(require(s).library, name)
            return (*_all(request, s, f"Revoked **{name}**: {removed} photo(s) and everything made from them deleted."), "", False)

        @readable_errors
        def _wipe(request: gr.Request, s: UISession, sure: bool) -> tuple[Any, ...]:
            require_role(request, Capability.CONSENT)
            if not sure:
                raise PhotogenError("Tick the box first: this cannot be undone.")
            require(s).library.wipe()
            return _all(request, s, "Everything photogen stored is deleted.")

        refresh.click(readable_errors(_all), inputs=session, outputs=outputs)
        allowed.input(_plan_album, inputs=[session, allowed], outputs=[revoke_plan, revoke_sure])
        sources.input(_plan_source, inputs=[session, sources], outputs=[revoke_plan, revoke_sure])
        revoke_btn.click(_revoke, inputs=[session, allowed, revoke_sure], outputs=[*outputs, revoke_plan, revoke_sure])
        allow_btn.click(_allow, inputs=[session, closed], outputs=outputs)
        revoke_source_btn.click(_revoke_source, inputs=[session, sources, revoke_sure], outputs=[*outputs, revoke_plan, revoke_sure])
        wipe_btn.click(_wipe, inputs=[session, confirm], outputs=outputs)
        check_btn.click(readable_errors(runtime_facts), inputs=session, outputs=runtime)
    return TabView(tab, readable_errors(_all), outputs)
