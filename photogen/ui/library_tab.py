"""Library tab: albums with their grant state and photo counts, and what photogen knows of each photo."""

from __future__ import annotations

import io
from typing import Any

import gradio as gr
from PIL import Image

from photogen.errors import PhotogenError
from photogen.library.consent import list_albums, remove_photo
from photogen.library.library import Library
from photogen.library.overview import skipped_files
from photogen.library.photos import get_photo, list_photos, thumbnail_bytes
from photogen.library.sources.upload import remove_upload
from photogen.ui import access, served
from photogen.ui.access import Capability, role_of
from photogen.ui.common import readable_errors, require
from photogen.ui.served import PHOTO_IDS_KEY
from photogen.ui.session import UISession
from photogen.ui.views import TabView

ALBUM_COLUMNS = ["Album", "Source", "Allowed", "Photos"]
PHOTO_COLUMNS = ["ID", "File", "Taken", "Place", "Camera", "Album", "People"]


def album_rows(library: Library) -> list[list[Any]]:
    return [[a.name, a.source, "yes" if a.allowed else "no", a.photo_count] for a in list_albums(library)]


def when(taken_at: str | None) -> str:
    """'2023-07-14T10:30:05+02:00' -> '2023-07-14 10:30' for people; the full value stays in the metadata."""
    return taken_at[:16].replace("T", " ") if taken_at else ""


def photo_rows(library: Library) -> list[list[Any]]:
    return [[p.id, p.path.rsplit("/", 1)[-1], when(p.taken_at), p.place or "", p.camera or "", p.album, ", ".join(p.people or [])] for p in list_photos(library)]


def photo_choices(library: Library) -> list[tuple[str, int]]:
    return [(f"{p.id}: {p.path.rsplit('/', 1)[-1]} ({p.taken_at or 'date unknown'})", p.id) for p in list_photos(library)]


def photo_details(library: Library, photo_id: int | None) -> tuple[Image.Image | None, dict[str, Any]]:
    if photo_id is None:
        return None, {}
    record = get_photo(library, int(photo_id))
    image = Image.open(io.BytesIO(thumbnail_bytes(library, int(photo_id))))
    image.info[PHOTO_IDS_KEY] = [int(photo_id)]  # a served copy is deleted when this photo is revoked
    return image, record.as_dict()


def map_points(library: Library) -> list[dict[str, Any]]:
    """Where photos were taken: one point per place, with a count (for the map)."""
    points: dict[str, dict[str, Any]] = {}
    for p in list_photos(library):
        if p.latitude is None or p.longitude is None:
            continue
        key = p.place or f"{p.latitude:.2f},{p.longitude:.2f}"
        point = points.setdefault(key, {"place": key, "latitude": p.latitude, "longitude": p.longitude, "photos": 0})
        point["photos"] += 1
    return sorted(points.values(), key=lambda x: -x["photos"])


def timeline(library: Library) -> list[list[Any]]:
    """Photos per month, oldest first."""
    months: dict[str, int] = {}
    for p in list_photos(library):
        if p.taken_at:
            months[p.taken_at[:7]] = months.get(p.taken_at[:7], 0) + 1
    return [[m, n] for m, n in sorted(months.items())]


SKIPPED_COLUMNS = ["Album", "File", "Why", "Key"]


def skipped_rows(library: Library) -> list[list[Any]]:
    """Files photogen found but could not read, by their own name (an upload's content-hash prefix dropped)."""
    return [[k.album, shown_name(k.rel_path, k.kind), k.reason, f"{k.album_id}:{k.rel_path}"] for k in skipped_files(library)]


def shown_name(rel_path: str, kind: str) -> str:
    name = rel_path.rsplit("/", 1)[-1]
    if kind == "upload" and len(name) > 13 and name[12] == "-" and all(c in "0123456789abcdef" for c in name[:12]):
        return name[13:]  # "b30240e33366-fake.jpg" is the user's "fake.jpg"
    return name


def month_chart(library: Library) -> Any:
    """Photos per month as a bar chart whose axis starts at 0, so a month with one photo shows a bar."""
    import pandas as pd

    data = timeline(library)
    top = max((n for _, n in data), default=1)
    return gr.update(value=pd.DataFrame(data, columns=["Month", "Photos"]), y_lim=[0, top + 1])


def build(session: gr.State) -> TabView:
    with gr.Tab("Library", id="library") as tab:
        gr.Markdown("The albums you connected, whether photogen may use them, and what it knows about each photo.")
        refresh = gr.Button("Refresh", size="sm")
        albums = gr.Dataframe(headers=ALBUM_COLUMNS, interactive=False, label="Albums")
        with gr.Row():
            with gr.Column(scale=3):
                photos = gr.Dataframe(headers=PHOTO_COLUMNS, interactive=False, label="Photos (select a row)")
            with gr.Column(scale=2):
                thumb = gr.Image(label="Photo", interactive=False, type="pil", height=300)
                meta = gr.JSON(label="Metadata")
        with gr.Row():
            picked = gr.State(None)  # the selected photo's ID
            remove_btn = gr.Button("Remove the selected photo from photogen", size="sm", variant="stop", elem_id="library-remove")
            remove_status = gr.Markdown(elem_id="library-remove-status")
        with gr.Accordion("Files photogen could not read", open=False):
            skipped = gr.Dataframe(headers=SKIPPED_COLUMNS, interactive=False, label="Not photos (select a row)")
            bad_key = gr.State(None)
            delete_upload_btn = gr.Button("Delete the selected upload", size="sm", variant="stop")
        with gr.Accordion("Where and when", open=False):
            with gr.Row():
                # an offline map: no tile server is called, the points sit on longitude/latitude axes
                world = gr.ScatterPlot(x="Longitude", y="Latitude", color="Place", label="Where photos were taken", x_lim=[-180, 180], y_lim=[-60, 80], height=320)
                months = gr.BarPlot(x="Month", y="Photos", label="Photos per month", height=320)
            places = gr.Dataframe(headers=["Place", "Latitude", "Longitude", "Photos"], interactive=False, label="Places")

        @readable_errors
        def _refresh(request: gr.Request, s: UISession) -> tuple[Any, ...]:
            lib = require(s).library
            import pandas as pd

            albums_shown = album_rows(lib)
            if not role_of(request).can(Capability.CONSENT):  # a share-link guest sees the allowed albums only
                albums_shown = [row for row in albums_shown if row[2] == "yes"]

            points = [[p["place"], round(p["latitude"], 4), round(p["longitude"], 4), p["photos"]] for p in map_points(lib)]
            return (
                albums_shown,
                photo_rows(lib),
                points,
                pd.DataFrame(points, columns=["Place", "Latitude", "Longitude", "Photos"]),
                month_chart(lib),
                skipped_rows(lib),
            )

        @readable_errors
        def _select(request: gr.Request, s: UISession, evt: gr.SelectData) -> tuple[Any, Any]:
            lib = require(s).library
            # the clicked row's own ID: the table may be sorted, or stale after a revoke elsewhere
            row = getattr(evt, "row_value", None)
            if not row:
                return None, {}
            image, meta = photo_details(lib, int(row[0]))
            if not role_of(request).can(Capability.HOST_FILES):  # no paths of the host for a guest or a visitor
                meta = {**meta, "path": str(meta.get("path", "")).replace("\\", "/").rsplit("/", 1)[-1]}  # the file's name only
            return served.show(lib, image), meta

        views = [albums, photos, places, world, months, skipped]

        def _pick_photo(evt: gr.SelectData) -> Any:
            row = getattr(evt, "row_value", None)
            return int(row[0]) if row else None

        def _pick_skipped(evt: gr.SelectData) -> Any:
            row = getattr(evt, "row_value", None)
            return row[3] if row else None

        @readable_errors
        def _remove(request: gr.Request, s: UISession, photo_id: Any) -> tuple[Any, ...]:
            access.require(request, Capability.LIBRARY)
            if photo_id is None:
                raise PhotogenError("Select a photo in the table first.")
            message = remove_photo(require(s).library, int(photo_id))
            return (f"Photo {int(photo_id)}: {message}", None, None, {}, *_refresh(request, s))

        @readable_errors
        def _delete_upload(request: gr.Request, s: UISession, key: Any) -> tuple[Any, ...]:
            access.require(request, Capability.LIBRARY)
            if not key:
                raise PhotogenError("Select a file in the table first.")
            album_id, rel_path = str(key).split(":", 1)
            remove_upload(require(s).library, int(album_id), rel_path)
            return (f"Deleted the upload {rel_path.rsplit('/', 1)[-1]}.", None, *_refresh(request, s))

        refresh.click(_refresh, inputs=session, outputs=views)
        photos.select(_select, inputs=session, outputs=[thumb, meta])
        photos.select(_pick_photo, outputs=picked)
        skipped.select(_pick_skipped, outputs=bad_key)
        remove_btn.click(_remove, inputs=[session, picked], outputs=[remove_status, picked, thumb, meta, *views])
        delete_upload_btn.click(_delete_upload, inputs=[session, bad_key], outputs=[remove_status, bad_key, *views])
    return TabView(tab, _refresh, views, needs=[(remove_btn, Capability.LIBRARY), (delete_upload_btn, Capability.LIBRARY)])
