"""`photogen index`: read the allowed albums, then find the faces in the new photos."""

from __future__ import annotations

from typing import Any

import typer

from photogen.cli.output import JsonOpt, count_progress, emit, terminal_bar
from photogen.cli.session import library


def index(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Read the allowed albums: metadata and thumbnails (incremental, resumable)."""
    from photogen.library.indexer import index_library

    bar = terminal_bar(as_json, total=0, unit="photo", desc="indexing")
    with library(ctx) as lib:
        report = index_library(lib, count_progress(bar))
        _index_faces(lib, report, bar)
    if bar is not None:
        bar.close()
    data = report.as_dict()
    lines = [f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, {report.removed} removed, {len(report.skipped)} skipped."]
    lines += [f"  skipped {s.path}: {s.reason}" for s in report.skipped]
    if report.new_albums:
        lines.append(f"New albums (not allowed until you allow them): {', '.join(report.new_albums)}")
    emit(data, as_json, lines)


def _index_faces(lib: Any, report: Any, bar: Any) -> None:
    """Find the faces of new photos and put them on people; the summary goes to stderr, the counts into `report`."""
    from photogen.faces.indexing import index_faces

    if bar is not None:
        bar.reset(total=0)
        bar.set_description("faces")
    faces = index_faces(lib, count_progress(bar))
    clustering = faces.clustering
    summary = f"faces: {faces.faces} found in {faces.photos} new photo(s)"
    if clustering is not None:
        summary += f"; {clustering.people} people ({clustering.new_people} new), {clustering.unassigned} face(s) on nobody"
    typer.echo(summary + ".", err=True)
    report.stages["faces"] = {
        "found": faces.faces,
        "photos": faces.photos,
        "people": clustering.people if clustering is not None else None,
        "unassigned": clustering.unassigned if clustering is not None else None,
        "skipped": [{"photo_id": pid, "reason": reason} for pid, reason in faces.skipped],
    }
    for photo_id, reason in faces.skipped:
        typer.echo(f"  faces skipped photo {photo_id}: {reason}", err=True)
