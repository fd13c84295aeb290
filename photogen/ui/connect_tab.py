"""Connect tab: add a folder or upload photos, choosing which albums photogen may use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from photogen.errors import PhotogenError
from photogen.library.consent import add_folder_source
from photogen.library.indexer import index_library
from photogen.library.library import Library
from photogen.library.sources.folder import FolderSource
from photogen.library.sources.upload import add_uploads
from photogen.ui.common import readable_errors, require
from photogen.ui.session import UISession

SOURCE_COLUMNS = ["Source", "Kind", "Albums allowed", "Photos"]


def source_rows(library: Library) -> list[list[Any]]:
    rows = library.catalog.query(
        """SELECT s.name, s.kind,
                  (SELECT count(*) FROM albums a JOIN grants g ON g.album_id = a.id WHERE a.source_id = s.id) AS allowed,
                  (SELECT count(*) FROM albums a WHERE a.source_id = s.id) AS albums,
                  (SELECT count(DISTINCT f.photo_id) FROM photo_files f JOIN albums a ON a.id = f.album_id WHERE a.source_id = s.id) AS photos
           FROM sources s ORDER BY s.name"""
    )
    return [[r["name"], r["kind"], f"{r['allowed']} of {r['albums']}", r["photos"]] for r in rows]


def folder_albums(path: str) -> list[str]:
    """Album names in a folder, for the consent checklist (reads names only, never a photo)."""
    if not path.strip():
        raise PhotogenError("Type the path of a folder first.")
    return [a.name for a in FolderSource(Path(path.strip()).expanduser(), Path(path.strip()).name).albums()]


def run_index(library: Library, progress: Any = None) -> str:
    def report(done: int, total: int, what: str) -> None:
        if progress is not None and total:
            progress((done, total), desc=f"Indexing {done}/{total}")

    result = index_library(library, report)
    summary = f"{result.added} added, {result.updated} updated, {result.removed} removed, {len(result.skipped)} skipped."
    if result.skipped:
        summary += "\n" + "\n".join(f"- skipped {s.path.rsplit('/', 1)[-1]}: {s.reason}" for s in result.skipped[:20])
    if result.new_albums:
        summary += "\nNew albums waiting for your permission: " + ", ".join(result.new_albums)
    return summary


def build(session: gr.State, space_mode: bool) -> tuple[Any, list[Any]]:
    with gr.Tab("Connect"):
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
        sources = gr.Dataframe(headers=SOURCE_COLUMNS, interactive=False, label="Connected sources")
        index_btn = gr.Button("Look for new and changed photos")

        @readable_errors
        def _look(path: str) -> Any:
            names = folder_albums(path)
            if not names:
                raise PhotogenError("That folder holds no photos or albums.")
            return gr.CheckboxGroup(choices=names, value=[])

        @readable_errors
        def _add_folder(s: UISession, path: str, chosen: list[str], name: str, progress: gr.Progress = gr.Progress()) -> tuple[str, Any]:
            lib = require(s).library
            if not chosen:
                raise PhotogenError("Tick at least one album to allow.")
            add_folder_source(lib, Path(path.strip()).expanduser(), chosen, name.strip() or None)
            return run_index(lib, progress), source_rows(lib)

        @readable_errors
        def _upload(s: UISession, uploaded: list[Any] | None, album: str, progress: gr.Progress = gr.Progress()) -> tuple[str, Any, None]:
            lib = require(s).library
            if not uploaded:
                raise PhotogenError("Choose some photos to upload first.")
            paths = [Path(getattr(f, "name", f)) for f in uploaded]
            count = add_uploads(lib, paths, album, delete_originals=True)
            return f"Stored {count} photo(s), encrypted.\n\n" + run_index(lib, progress), source_rows(lib), None

        @readable_errors
        def _index(s: UISession, progress: gr.Progress = gr.Progress()) -> tuple[str, Any]:
            lib = require(s).library
            return run_index(lib, progress), source_rows(lib)

        look.click(_look, inputs=folder, outputs=albums)
        add_btn.click(_add_folder, inputs=[session, folder, albums, folder_name], outputs=[status, sources])
        upload_btn.click(_upload, inputs=[session, files, upload_album], outputs=[status, sources, files])
        index_btn.click(_index, inputs=session, outputs=[status, sources])

    @readable_errors
    def _on_load(s: UISession) -> list[list[Any]]:
        return source_rows(require(s).library)

    return _on_load, [sources]
