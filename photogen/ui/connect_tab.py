"""Connect tab: add a folder or upload photos, choosing which albums photogen may use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from photogen.errors import PhotogenError, Refusal
from photogen.library.consent import add_folder_source
from photogen.library.indexer import index_library
from photogen.library.library import Library
from photogen.library.overview import source_summaries
from photogen.library.sources.folder import FolderSource
from photogen.library.sources.upload import add_uploads
from photogen.ui.access import Capability, role_of
from photogen.ui.access import require as require_role
from photogen.ui.common import readable_errors, require
from photogen.ui.served import forget_uploads
from photogen.ui.session import UISession
from photogen.ui.views import TabView

SPACE_UPLOADS_ONLY = "In this shared Space, photos come from your uploads only."
SOURCE_COLUMNS = ["Source", "Kind", "Albums allowed", "Photos"]


def source_rows(library: Library) -> list[list[Any]]:
    return [[s.name, s.kind, f"{s.allowed} of {s.albums}", s.photos] for s in source_summaries(library)]


def folder_albums(path: str) -> list[str]:
    """Album names in a folder, for the consent checklist (reads names only, never a photo)."""
    if not path.strip():
        raise PhotogenError("Type the path of a folder first.")
    folder = Path(path.strip()).expanduser().resolve()
    return [a.name for a in FolderSource(folder, folder.name).albums()]


def index_reporters(progress: Any) -> tuple[Any, Any]:
    """One bar over both stages: reading the photos (metadata, thumbnails) fills the first half,
    looking for faces the second; each update says which stage and how far it is."""

    def stage(start: float, label: str) -> Any:
        def report(done: int, total: int, _what: str) -> None:
            if progress is not None and total:
                progress(start + 0.5 * done / total, desc=f"{label} {done}/{total}")
            elif progress is not None:
                progress(start + 0.5, desc=f"{label}: nothing new")

        return report

    return stage(0.0, "Reading photos (dates, places, thumbnails)"), stage(0.5, "Looking for faces")


def run_index(library: Library, progress: Any = None) -> str:
    report, face_report = index_reporters(progress)
    result = index_library(library, report)
    summary = f"{result.added} added, {result.updated} updated, {result.removed} removed, {len(result.skipped)} skipped."
    from photogen.faces.indexing import index_faces  # the faces stage sits above the library

    if progress is not None:
        progress(0.5, desc="Looking for faces (loading the face models)")
    faces = index_faces(library, face_report)
    summary += f" Found {faces.faces} face(s) in {faces.photos} photo(s)."
    if result.skipped:
        summary += "\n" + "\n".join(f"- skipped {s.path.rsplit('/', 1)[-1]}: {s.reason}" for s in result.skipped[:20])
    if result.new_albums:
        summary += "\nNew albums waiting for your permission: " + ", ".join(result.new_albums)
    return summary


def build(session: gr.State, space_mode: bool) -> TabView:
    with gr.Tab("Connect", id="connect") as tab:
        gr.Markdown(
            "Choose which photos photogen may use. Nothing is read from an album you do not allow, "
            "and you can revoke any album later in **Privacy**: everything made from it is deleted."
        )
        status = gr.Markdown()
        with gr.Accordion("Upload photos", open=True):
            files = gr.File(label="Photos", file_count="multiple", file_types=["image"])
            upload_album = gr.Textbox(label="Album name", value="Uploads")
            upload_btn = gr.Button("Add these photos", variant="primary")
        with gr.Accordion("A folder on this computer", open=not space_mode, visible=not space_mode):
            folder = gr.Textbox(label="Folder", placeholder="/home/me/Pictures")
            look = gr.Button("Show its albums")
            albums = gr.CheckboxGroup(label="Albums photogen may use", choices=[])
            folder_name = gr.Textbox(label="Name for this source (optional)")
            add_btn = gr.Button("Allow the checked albums", variant="primary")
        with gr.Accordion("A Google Takeout export", open=False, visible=not space_mode):
            gr.Markdown("Export your Google Photos at takeout.google.com, then point photogen at the .zip (or the unpacked folder). It reads the zip in place.")
            takeout_path = gr.Textbox(label="Takeout .zip or folder", placeholder="/home/me/Downloads/takeout-20261101T000000Z-001.zip")
            takeout_look = gr.Button("Show its albums")
            takeout_albums = gr.CheckboxGroup(label="Albums photogen may use", choices=[])
            takeout_add = gr.Button("Allow the checked albums", variant="primary")
        with gr.Accordion("Pick from Google Photos", open=False, visible=not space_mode):
            gr.Markdown("You pick photos in Google's own picker; photogen downloads only those, encrypted. Needs your own OAuth client file (see docs/google-photos.md).")
            picker_album = gr.Textbox(label="Album name for the picked photos", value="Picked")
            picker_client = gr.Textbox(label="OAuth client file (first time only)", placeholder="/home/me/client_secret.json")
            picker_btn = gr.Button("Open Google Photos Picker", variant="primary")
        sources = gr.Dataframe(headers=SOURCE_COLUMNS, interactive=False, label="Connected sources")
        index_btn = gr.Button("Look for new and changed photos")

        @readable_errors
        def _look(request: gr.Request, path: str) -> Any:
            if space_mode:  # a Space visitor must never reach the server's own files
                raise Refusal(SPACE_UPLOADS_ONLY)
            require_role(request, Capability.HOST_FILES, space_mode=space_mode)  # nor a share-link guest
            names = folder_albums(path)
            if not names:
                raise PhotogenError("That folder holds no photos or albums.")
            return gr.CheckboxGroup(choices=names, value=[])

        @readable_errors
        def _add_folder(request: gr.Request, s: UISession, path: str, chosen: list[str], name: str, progress: gr.Progress = gr.Progress()) -> tuple[str, Any]:
            if space_mode:  # a Space visitor must never reach the server's own files
                raise Refusal(SPACE_UPLOADS_ONLY)
            require_role(request, Capability.HOST_FILES, space_mode=space_mode)
            lib = require(s).library
            if not chosen:
                raise PhotogenError("Tick at least one album to allow.")
            add_folder_source(lib, Path(path.strip()).expanduser(), chosen, name.strip() or None, allow_all=False)
            return run_index(lib, progress), source_rows(lib)

        @readable_errors
        def _upload(request: gr.Request, s: UISession, uploaded: list[Any] | None, album: str, progress: gr.Progress = gr.Progress()) -> tuple[str, Any, None]:
            require_role(request, Capability.LIBRARY, space_mode=space_mode)  # a guest adds nothing to the owner's library
            lib = require(s).library
            if not uploaded:
                raise PhotogenError("Choose some photos to upload first.")
            paths = [Path(getattr(f, "name", f)) for f in uploaded]
            count = add_uploads(lib, paths, album, delete_originals=True)
            forget_uploads(paths)  # nothing of the upload stays in Gradio's cache folder
            return f"Stored {count} photo(s), encrypted.\n\n" + run_index(lib, progress), source_rows(lib), None

        @readable_errors
        def _index(request: gr.Request, s: UISession, progress: gr.Progress = gr.Progress()) -> tuple[str, Any]:
            require_role(request, Capability.LIBRARY, space_mode=space_mode)
            lib = require(s).library
            return run_index(lib, progress), source_rows(lib)

        @readable_errors
        def _takeout_look(request: gr.Request, path: str) -> Any:
            if space_mode:  # a Space visitor must never reach the server's own files
                raise Refusal(SPACE_UPLOADS_ONLY)
            require_role(request, Capability.HOST_FILES, space_mode=space_mode)
            from photogen.library.sources.takeout import TakeoutSource, resolve_parts

            if not path.strip():
                raise PhotogenError("Type the path of the Takeout .zip or folder first.")
            names = [a.name for a in TakeoutSource(resolve_parts([Path(path.strip()).expanduser()]), "Takeout").albums()]
            if not names:
                raise PhotogenError("No Google Photos albums found in that export.")
            return gr.CheckboxGroup(choices=names, value=[])

        @readable_errors
        def _takeout_add(request: gr.Request, s: UISession, path: str, chosen: list[str], progress: gr.Progress = gr.Progress()) -> tuple[str, Any]:
            if space_mode:  # a Space visitor must never reach the server's own files
                raise Refusal(SPACE_UPLOADS_ONLY)
            require_role(request, Capability.HOST_FILES, space_mode=space_mode)
            from photogen.library.sources.takeout import add_takeout

            lib = require(s).library
            if not chosen:
                raise PhotogenError("Tick at least one album to allow.")
            added = add_takeout(lib, [Path(path.strip()).expanduser()], chosen, allow_all=False)
            note = f"Added {added.source}: {len(added.allowed)} album(s) allowed.\n\n"
            return note + run_index(lib, progress), source_rows(lib)

        def _pick(request: gr.Request, s: UISession, album: str, client: str) -> Any:
            """Runs the pick in a thread so the picker link can be shown while Google waits for the user."""
            import queue
            import threading

            from photogen.library.sources.picker import pick_photos

            if space_mode:
                raise gr.Error(SPACE_UPLOADS_ONLY)
            if not role_of(request, space_mode=space_mode).can(Capability.HOST_FILES):
                raise gr.Error("Only the owner, at this computer, can connect Google Photos.")
            lib = require(s).library
            messages: queue.Queue[tuple[str, Any]] = queue.Queue()

            def work() -> None:
                try:
                    result = pick_photos(
                        lib,
                        album=album.strip() or "Picked",
                        client_file=Path(client.strip()).expanduser() if client.strip() else None,
                        show=lambda link: messages.put(("link", link)),
                    )
                    messages.put(("done", result))
                except PhotogenError as exc:
                    messages.put(("error", str(exc)))
                except Exception as exc:  # noqa: BLE001 - shown as a message, never a traceback
                    messages.put(("error", f"Something went wrong ({type(exc).__name__})."))

            threading.Thread(target=work, daemon=True).start()
            while True:
                kind, value = messages.get()
                if kind == "link":
                    yield f"Open this link and pick your photos: [{value}]({value})", source_rows(lib)
                elif kind == "error":
                    raise gr.Error(value)
                else:
                    try:
                        summary = run_index(lib)
                        rows = source_rows(lib)
                    except PhotogenError as exc:
                        raise gr.Error(f"Downloaded {value.downloaded} photo(s), but indexing them failed: {exc}") from exc
                    yield f"Downloaded {value.downloaded} photo(s) into {value.album}, encrypted.\n\n{summary}", rows
                    return

        takeout_look.click(_takeout_look, inputs=takeout_path, outputs=takeout_albums)
        takeout_add.click(_takeout_add, inputs=[session, takeout_path, takeout_albums], outputs=[status, sources])
        picker_btn.click(_pick, inputs=[session, picker_album, picker_client], outputs=[status, sources])
        look.click(_look, inputs=folder, outputs=albums)
        add_btn.click(_add_folder, inputs=[session, folder, albums, folder_name], outputs=[status, sources])
        upload_btn.click(_upload, inputs=[session, files, upload_album], outputs=[status, sources, files])
        index_btn.click(_index, inputs=session, outputs=[status, sources])

    @readable_errors
    def _on_load(s: UISession) -> list[list[Any]]:
        return source_rows(require(s).library)

    return TabView(tab, _on_load, [sources])
