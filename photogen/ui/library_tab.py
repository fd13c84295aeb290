"""Library tab: albums with their grant state and photo counts, and the metadata of a chosen photo."""

from __future__ import annotations

import io
from typing import Any

import gradio as gr
from PIL import Image

from photogen.errors import PhotogenError
from photogen.library.consent import list_albums
from photogen.library.library import Library
from photogen.library.photos import get_photo, list_photos, thumbnail_bytes

ALBUM_COLUMNS = ["Album", "Source", "Allowed", "Photos"]


def album_rows(library: Library) -> list[list[Any]]:
    return [[a.name, a.source, "yes" if a.allowed else "no", a.photo_count] for a in list_albums(library)]


def photo_choices(library: Library) -> list[tuple[str, int]]:
    return [(f"{p.id}: {p.path.rsplit('/', 1)[-1]} ({p.taken_at or 'date unknown'})", p.id) for p in list_photos(library)]


def photo_details(library: Library, photo_id: int | None) -> tuple[Image.Image | None, dict[str, Any]]:
    if photo_id is None:
        return None, {}
    try:
        record = get_photo(library, int(photo_id))
        image = Image.open(io.BytesIO(thumbnail_bytes(library, int(photo_id))))
    except PhotogenError as exc:
        raise gr.Error(str(exc)) from exc
    return image, record.as_dict()


def build(library: Library) -> None:
    with gr.Tab("Library"):
        gr.Markdown("Albums you connected, whether photogen may use them, and what it knows about each photo.")
        albums = gr.Dataframe(headers=ALBUM_COLUMNS, value=lambda: album_rows(library), interactive=False, label="Albums")
        with gr.Row():
            picker = gr.Dropdown(choices=photo_choices(library), label="Photo", interactive=True)
            refresh = gr.Button("Refresh", scale=0)
        with gr.Row():
            thumb = gr.Image(label="Thumbnail", interactive=False, type="pil", height=320)
            meta = gr.JSON(label="Metadata")
        picker.change(lambda pid: photo_details(library, pid), inputs=picker, outputs=[thumb, meta])

        def _refresh() -> tuple[list[list[Any]], Any]:
            return album_rows(library), gr.Dropdown(choices=photo_choices(library))

        refresh.click(_refresh, outputs=[albums, picker])
