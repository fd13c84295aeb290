"""`photogen`: everything the app does, headless, with `--json` output for scripts.

Errors a user can cause print one clear line and exit 1; nothing prints a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from photogen.errors import PhotogenError
from photogen.settings import Settings

app = typer.Typer(help="photogen: a private studio for personalized images from your own photos.", no_args_is_help=True, pretty_exceptions_enable=False)
sources_app = typer.Typer(help="Where photos come from, and what each grants.", no_args_is_help=True)
albums_app = typer.Typer(help="Albums and their grants.", no_args_is_help=True)
photos_app = typer.Typer(help="Photos in the allowed albums.", no_args_is_help=True)
privacy_app = typer.Typer(help="What is stored, and deleting it.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(albums_app, name="albums")
app.add_typer(photos_app, name="photos")
app.add_typer(privacy_app, name="privacy")

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


class _State:
    home: Path | None = None


_state = _State()


@app.callback()
def _main(
    home: Annotated[Path | None, typer.Option("--home", help="Data directory (default: PHOTOGEN_HOME or your user data folder).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # the ML libraries' own chatter is not for users
        import os

        os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    _state.home = home


def settings() -> Settings:
    overrides: dict[str, Any] = {}
    if _state.home is not None:
        overrides["home"] = _state.home.expanduser().resolve()
    return Settings(**overrides)


@contextmanager
def library(create: bool = True) -> Iterator[Any]:
    from photogen.library.library import open_library

    lib = open_library(settings(), create=create)
    try:
        yield lib
    finally:
        lib.close()


def emit(data: Any, as_json: bool, lines: list[str] | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        for line in lines or []:
            typer.echo(line)


# ---- sources ----------------------------------------------------------------------------------


@sources_app.command("add-folder")
def sources_add_folder(
    path: Annotated[Path, typer.Argument(help="The folder; each sub-folder is an album.")],
    allow: Annotated[list[str], typer.Option("--allow", help="'all', or an album name (repeat for several).")],
    name: Annotated[str | None, typer.Option("--name", help="A name for this source (default: the folder's name).")] = None,
) -> None:
    """Add a local folder, allowing the albums you name."""
    from photogen.library.consent import add_folder_source, list_albums

    with library() as lib:
        add_folder_source(lib, path, allow, name)
        albums = [a for a in list_albums(lib) if a.source == (name or path.resolve().name)]
    allowed = [a.name for a in albums if a.allowed]
    typer.echo(f"Added {path} with {len(albums)} album(s); allowed: {', '.join(allowed) or 'none'}. Run `photogen index` next.")


@sources_app.command("list")
def sources_list(as_json: JsonOpt = False) -> None:
    """Sources with their kind, location and how many albums each grants."""
    with library() as lib:
        rows = lib.catalog.query(
            """SELECT s.name, s.kind, s.location, s.created_at, s.last_scan_at,
                      (SELECT count(*) FROM albums a WHERE a.source_id = s.id) AS albums,
                      (SELECT count(*) FROM albums a JOIN grants g ON g.album_id = a.id WHERE a.source_id = s.id) AS allowed
               FROM sources s ORDER BY s.name"""
        )
    data = [dict(r) for r in rows]
    emit(data, as_json, [f"{r['name']}  [{r['kind']}]  {r['location']}  albums allowed: {r['allowed']}/{r['albums']}" for r in data] or ["No sources yet. Add one with `photogen sources add-folder PATH --allow all`."])


@sources_app.command("revoke")
def sources_revoke(name: str) -> None:
    """Revoke a source: everything derived from its photos is deleted."""
    from photogen.library.consent import revoke_source

    with library() as lib:
        removed = revoke_source(lib, name)
    typer.echo(f"Revoked {name}: {removed} photo(s) and everything derived from them deleted.")


# ---- sources: google (Takeout and the Photos Picker) ----------------------------------------


@sources_app.command("add-takeout")
def sources_add_takeout(
    paths: Annotated[list[Path], typer.Argument(help="The Takeout .zip part(s) (-001 finds its siblings), or the extracted folder.")],
    allow: Annotated[list[str] | None, typer.Option("--allow", help="'all', or an album name (repeat for several).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for this source (default: 'Google Takeout').")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a Google Takeout export of Google Photos (or re-point an existing one at a newer export)."""
    from photogen.library.sources.takeout import add_takeout

    with library() as lib:
        added = add_takeout(lib, paths, allow or [], name)
    verb = "Updated" if added.updated else "Added"
    lines = [
        f"{verb} {added.source} from {len(added.parts)} part(s): {added.scan.media} photos and videos, {added.scan.sidecars} sidecars.",
        f"Allowed: {', '.join(added.allowed) or 'none'}.",
    ]
    if added.not_allowed:
        lines.append(f"Not allowed (use `photogen albums allow`): {', '.join(added.not_allowed)}.")
    lines += [f"  skipped {path}: {reason}" for path, reason in added.scan.skipped]
    lines.append("Run `photogen index` next.")
    emit(added.as_dict(), as_json, lines)


@sources_app.command("add-google-picker")
def sources_add_google_picker(
    album: Annotated[str, typer.Option("--album", help="The album the photos you pick go into.")],
    client_file: Annotated[Path | None, typer.Option("--client-file", help="Your OAuth client file (first time, or to reconnect); see docs/google-photos.md.")] = None,
    name: Annotated[str, typer.Option("--name", help="A name for this Google account's source.")] = "Google Photos",
    max_items: Annotated[int | None, typer.Option("--max-items", min=1, max=2000, help="The most photos you may pick.")] = None,
    open_browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open the picker in your browser.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Pick photos in Google Photos; photogen downloads them, encrypted, into ALBUM."""
    from photogen.library.sources.picker import pick_photos, qr_text

    def show(uri: str) -> None:
        # the link goes to stderr so --json output stays one JSON document on stdout
        typer.echo(f"Pick your photos in Google Photos, then press Done:\n  {uri}", err=True)
        if sys.stderr.isatty():
            typer.echo("Or scan this with your phone:\n" + qr_text(uri), err=True)
        if open_browser:
            import webbrowser

            webbrowser.open(uri)
        typer.echo("Waiting for your pick (Ctrl-C stops; running the command again resumes)...", err=True)

    with library() as lib:
        result = pick_photos(lib, album=album, source_name=name, client_file=client_file, show=show, max_items=max_items)
    lines = [f"{result.downloaded} photo(s) downloaded into {result.source}/{result.album}"
             + (f" ({result.already_had} already here)" if result.already_had else "") + "."]
    lines += [f"  skipped {f}: {r}" for f, r in result.skipped]
    lines.append("Run `photogen index` next.")
    emit(result.as_dict(), as_json, lines)


# ---- end sources: google ----------------------------------------------------------------------


# ---- albums -----------------------------------------------------------------------------------


@albums_app.command("list")
def albums_list(as_json: JsonOpt = False) -> None:
    """Albums with their grant state and photo counts."""
    from photogen.library.consent import list_albums

    with library() as lib:
        albums = list_albums(lib)
    data = [{"id": a.id, "source": a.source, "name": a.name, "allowed": a.allowed, "photo_count": a.photo_count} for a in albums]
    emit(data, as_json, [f"{'allowed' if a.allowed else 'closed '}  {a.qualified_name}  ({a.photo_count} photos)" for a in albums] or ["No albums yet."])


@albums_app.command("allow")
def albums_allow(name: str) -> None:
    """Allow photogen to use an album (name, or source/name)."""
    from photogen.library.consent import allow_album

    with library() as lib:
        album = allow_album(lib, name)
    typer.echo(f"Allowed {album.qualified_name}. Run `photogen index` to read it.")


@albums_app.command("revoke")
def albums_revoke(name: str) -> None:
    """Revoke an album: its photos and everything derived from them are deleted."""
    from photogen.library.consent import revoke_album

    with library() as lib:
        album = revoke_album(lib, name)
    typer.echo(f"Revoked {album.qualified_name}; everything derived from its photos is deleted.")


# ---- photos -----------------------------------------------------------------------------------


@photos_app.command("list")
def photos_list(as_json: JsonOpt = False) -> None:
    """Photos in allowed albums, with when, where and what they were taken with."""
    from photogen.library.photos import list_photos

    with library() as lib:
        photos = list_photos(lib)
    keys = ["id", "path", "album", "taken_at", "place", "camera", "width", "height"]
    data = [{k: getattr(p, k) for k in keys} | {"albums": p.albums, "people": p.people or []} for p in photos]
    emit(data, as_json, [f"{p.id:>6}  {p.taken_at or '?':<25}  {p.place or '':<30}  {p.camera or '':<20}  {p.path}" for p in photos] or ["No photos indexed yet."])


@photos_app.command("exclude")
def photos_exclude(photo_id: int) -> None:
    """Keep one photo out of everything photogen does."""
    from photogen.library.consent import exclude_photo

    with library() as lib:
        exclude_photo(lib, photo_id)
    typer.echo(f"Excluded photo {photo_id}; what was derived from it is deleted.")


# ---- index ------------------------------------------------------------------------------------


@app.command("index")
def index(as_json: JsonOpt = False) -> None:
    """Read the allowed albums: metadata and thumbnails (incremental, resumable)."""
    from tqdm import tqdm

    from photogen.library.indexer import index_library

    bar = None if as_json or not sys.stderr.isatty() else tqdm(total=0, unit="photo", desc="indexing")

    def progress(done: int, total: int, _what: str) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    with library() as lib:
        report = index_library(lib, progress)
        for step in INDEX_STEPS:
            step(lib, report, bar)
    if bar is not None:
        bar.close()
    data = report.as_dict()
    lines = [f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, {report.removed} removed, {len(report.skipped)} skipped."]
    lines += [f"  skipped {s.path}: {s.reason}" for s in report.skipped]
    if report.new_albums:
        lines.append(f"New albums (not allowed until you allow them): {', '.join(report.new_albums)}")
    emit(data, as_json, lines)


# later stages (faces) append callables(library, report, progress_bar) here
INDEX_STEPS: list[Any] = []


# ---- faces and people -------------------------------------------------------------------------

people_app = typer.Typer(help="People: faces grouped by who they are, and your say over it.", no_args_is_help=True)
faces_app = typer.Typer(help="Faces found in the allowed photos.", no_args_is_help=True)
app.add_typer(people_app, name="people")
app.add_typer(faces_app, name="faces")


def _faces_index_step(lib: Any, report: Any, bar: Any) -> None:
    """`photogen index`: find the faces of new photos and put them on people."""
    from photogen.faces.indexing import index_faces

    if bar is not None:
        bar.reset(total=0)
        bar.set_description("faces")

    def progress(done: int, total: int, _what: str) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    faces = index_faces(lib, progress)
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


INDEX_STEPS.append(_faces_index_step)


@people_app.command("list")
def people_list(as_json: JsonOpt = False) -> None:
    """People with their faces and photos ("me" first)."""
    from photogen.faces.people import list_people

    with library() as lib:
        people = list_people(lib)
    lines = []
    for p in people:
        flags = " ".join(f for f, on in (("(me)", p.is_me), ("(hidden)", p.hidden)) if on)
        hint = f"  suggested name: {p.suggested_name}" if p.suggested_name else ""
        lines.append(f"{p.id:>6}  {p.label:<30} {p.face_count:>5} face(s) {flags}{hint}".rstrip())
    emit([p.as_dict() for p in people], as_json, lines or ["No people yet. Run `photogen index` after adding photos."])


@people_app.command("name")
def people_name(person_id: int, name: str) -> None:
    """Name a person ("" clears the name)."""
    from photogen.faces.people import name_person

    with library() as lib:
        name_person(lib, person_id, name)
    typer.echo(f"Person {person_id} is now named {name!r}." if name.strip() else f"Person {person_id} has no name now.")


@people_app.command("me")
def people_me(person_id: int) -> None:
    """Mark the person who is you."""
    from photogen.faces.people import mark_me

    with library() as lib:
        mark_me(lib, person_id)
    typer.echo(f"Person {person_id} is you.")


@people_app.command("merge")
def people_merge(
    person_id: int,
    into_id: int,
    conflicts: Annotated[
        str | None,
        typer.Option("--conflicts", help="Faces in photos where the other person already is: 'keep' (they stay a person of their own) or 'nobody'."),
    ] = None,
) -> None:
    """Merge a person into another: one person, the faces of both. Says first what happens to faces that conflict."""
    from photogen.faces.people import get_person, merge_people, plan_merge

    with library() as lib:
        plan = plan_merge(lib, person_id, into_id)
        if plan.conflicts and conflicts is None:
            labels = (get_person(lib, person_id).label, get_person(lib, into_id).label)
            typer.echo(plan.describe(*labels))
            typer.echo(f"Nothing merged yet. Run again with --conflicts keep or --conflicts nobody, e.g. `photogen people merge {person_id} {into_id} --conflicts keep`.")
            raise typer.Exit(2)
        done = merge_people(lib, person_id, into_id, conflicts=conflicts or "keep")  # type: ignore[arg-type]
    kept = f"; {len(done.conflicts)} conflicting face(s) {'stay on person ' + str(person_id) if (conflicts or 'keep') == 'keep' else 'are on no one'}" if done.conflicts else ""
    typer.echo(f"Merged person {person_id} into {into_id}: {len(done.moving)} face(s) moved{kept}. `photogen people undo` undoes it.")


@people_app.command("undo")
def people_undo() -> None:
    """Undo the latest merge or face move."""
    from photogen.faces.people import undo_last

    with library() as lib:
        typer.echo(undo_last(lib))


@people_app.command("split")
def people_split(
    person_id: int,
    face_ids: Annotated[list[int], typer.Argument(help="The faces of this person that are someone else (ids from `photogen faces list --person ID`).")],
) -> None:
    """These faces are someone else: they become a new person, and stay apart from this one."""
    from photogen.faces.people import split_person

    with library() as lib:
        new = split_person(lib, person_id, face_ids)
    typer.echo(f"{len(set(face_ids))} face(s) of person {person_id} are now person {new}. `photogen people undo` undoes it.")


@people_app.command("suggestions")
def people_suggestions(limit: Annotated[int, typer.Option(min=1, max=500)] = 20, as_json: JsonOpt = False) -> None:
    """Are these the same person? Pairs of people whose faces are almost alike, most alike first."""
    from photogen.faces.people import list_people, merge_suggestions

    with library() as lib:
        found = merge_suggestions(lib, limit=limit)
        labels = {p.id: p.label for p in list_people(lib)}
    lines = [
        f"{s.person_id:>6} {labels.get(s.person_id, s.person_id)!s:<24} {s.other_id:>6} {labels.get(s.other_id, s.other_id)!s:<24} "
        f"similarity {s.similarity:.2f}  (`photogen people merge {s.other_id} {s.person_id}` or `photogen people not-same {s.person_id} {s.other_id}`)"
        for s in found
    ]
    emit([s.as_dict() for s in found], as_json, lines or ["No suggestions: no two people look almost alike."])


@people_app.command("not-same")
def people_not_same(person_id: int, other_id: int) -> None:
    """Two people are not the same: stop suggesting them together."""
    from photogen.faces.people import dismiss_suggestion

    with library() as lib:
        dismiss_suggestion(lib, person_id, other_id)
    typer.echo(f"Persons {person_id} and {other_id} will not be suggested together again.")


@people_app.command("hide")
def people_hide(
    person_id: int, undo: Annotated[bool, typer.Option("--undo", help="Show the person again.")] = False
) -> None:
    """Hide a person from the People view (--undo shows them again)."""
    from photogen.faces.people import hide_person

    with library() as lib:
        hide_person(lib, person_id, hidden=not undo)
    typer.echo(f"Person {person_id} is {'shown again' if undo else 'hidden'}.")


@people_app.command("recluster")
def people_recluster(as_json: JsonOpt = False) -> None:
    """Group all faces into people again from scratch; your names, moves and merges are kept."""
    from photogen.faces.people import recluster

    with library() as lib:
        report = recluster(lib)
    emit(report.as_dict(), as_json, [f"{report.people} people ({report.new_people} new), {report.unassigned} face(s) on nobody, {report.changed} face(s) moved."])


@people_app.command("references")
def people_references(person_id: int, limit: Annotated[int, typer.Option(min=1, max=50)] = 5, as_json: JsonOpt = False) -> None:
    """A person's best reference faces (pinned first, then by quality)."""
    from photogen.faces.people import reference_faces

    with library() as lib:
        refs = reference_faces(lib, person_id, limit)
    data = [{"id": f.id, "photo_id": f.photo_id, "quality": round(f.quality, 4), "pinned": f.pinned_reference == 1} for f in refs.faces]
    emit(data, as_json, [f"face {d['id']}  photo {d['photo_id']}  quality {d['quality']:.2f}{'  (pinned)' if d['pinned'] else ''}" for d in data])


@faces_app.command("list")
def faces_list(
    person: Annotated[int | None, typer.Option("--person", help="Only this person's faces.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Faces with their photo, box, detection score, quality and person."""
    from photogen.faces.people import list_faces

    with library() as lib:
        faces = list_faces(lib, person_id=person)
    data = [f.as_dict() for f in faces]
    lines = [
        f"{f.id:>6}  photo {f.photo_id:>5}  person {f.person_id if f.person_id is not None else '-':>5}  "
        f"score {f.score:.2f}  quality {f.quality:.2f}  box {list(f.box)}  {f.photo_path or ''}"
        for f in faces
    ]
    emit(data, as_json, lines or ["No faces yet. Run `photogen index` after adding photos."])


@faces_app.command("move")
def faces_move(
    face_id: int, person: Annotated[str, typer.Argument(help="A person id, 'none' (not this person: nobody) or 'new'.")]
) -> None:
    """Move a face to another person, to a new person, or to nobody; it stays there."""
    from photogen.faces.people import move_face, parse_move_target

    with library() as lib:
        now = move_face(lib, face_id, parse_move_target(person))
    typer.echo(f"Face {face_id} is now on person {now}." if now is not None else f"Face {face_id} is now on nobody.")


@faces_app.command("reference")
def faces_reference(
    face_id: int, state: Annotated[str, typer.Argument(help="'pin' (always a reference), 'drop' (never) or 'auto'.")]
) -> None:
    """Pin a face as a reference photo of its person, or drop it."""
    from photogen.faces.people import set_reference

    with library() as lib:
        set_reference(lib, face_id, state)  # type: ignore[arg-type]
    typer.echo(f"Face {face_id}: reference {state}.")


# ---- end faces and people ---------------------------------------------------------------------


# ---- create: models, generate, templates, verify ------------------------------------------------

models_app = typer.Typer(help="Diffusion models: download, import, export to ONNX.", no_args_is_help=True)
templates_app = typer.Typer(help="Cards, album pages and social posts.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(templates_app, name="templates")


def _stage_bar() -> Any:
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, leave=False))
        bar.total, bar.n = total, done
        bar.refresh()

    return progress


@models_app.command("list")
def models_list(as_json: JsonOpt = False) -> None:
    """Supported models, whether each is installed, and the state of its exports."""
    from photogen.generate.commands import list_models

    models = list_models(settings())
    data = [m.to_json() for m in models]
    lines = [
        f"{'installed' if m.installed else '         '}  {m.id:<22} {m.kind:<10} {m.download_bytes / 1e9:5.1f} GB  {m.license}  exports: "
        + ", ".join(f"{p} {state}" for p, state in m.exports.items())
        for m in models
    ]
    emit(data, as_json, lines)


@models_app.command("info")
def models_info(model_id: str, as_json: JsonOpt = False) -> None:
    """Everything known about one model."""
    from photogen.generate.commands import model_info

    status = model_info(model_id, settings())
    info = status.to_json()
    lines = [f"{k}: {v}" for k, v in info.items() if k != "drift"]
    lines += ["drift from torch (per exported graph):"] + [f"  {d.describe()}" for d in status.drift]
    emit(info, as_json, lines)


@models_app.command("download")
def models_download(
    model_id: str,
    accept_license: Annotated[bool, typer.Option("--accept-license", help="Accept the model's license without asking.")] = False,
) -> None:
    """Download a model from the Hugging Face hub (shows its license first; resumable)."""
    from tqdm import tqdm

    from photogen.generate.commands import download

    def ask(spec: Any) -> bool:
        typer.echo(f"{spec.title} is licensed under {spec.license.name}: {spec.license.url}")
        return typer.confirm("Do you accept this license?")

    bar = tqdm(unit="B", unit_scale=True, desc=model_id) if sys.stderr.isatty() else None

    def progress(done: int, total: int, _what: str) -> None:
        if bar is not None:
            bar.total, bar.n = total, done
            bar.refresh()

    installed = download(model_id, settings(), accept_license=accept_license or ask, progress=progress)
    if bar is not None:
        bar.close()
    typer.echo(f"Downloaded {installed.spec.id}. Next: `photogen models export {installed.spec.id}`.")


@models_app.command("import")
def models_import(path: Path, name: Annotated[str | None, typer.Option("--name", help="An id for it.")] = None) -> None:
    """Use weights you already have: a diffusers folder or a single .safetensors checkpoint."""
    from photogen.generate.commands import import_weights

    installed = import_weights(path, settings(), name)
    typer.echo(f"Imported {installed.spec.id}. Next: `photogen models export {installed.spec.id}`.")


@models_app.command("export")
def models_export(
    model_id: str,
    precision: Annotated[str | None, typer.Option(help="fp32; int8 (dynamic: int8 weights and activations, least memory, slower on CPU); int8w (weight-only: int8 weights on disk, fp32 compute); fp16 (GPU).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Export again even if a sound export exists.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Export a model to ONNX (checked against its manifest; stale exports are rebuilt)."""
    from photogen.generate.commands import default_precision, export

    manifest = export(model_id, precision or default_precision(), settings(), force=force, progress=_stage_bar())
    data = json.loads(manifest.model_dump_json())
    emit(data, as_json, [f"Exported {model_id} ({data['precision']}), opset {data['opset']}, {len(data['files'])} files."])


@models_app.command("delete")
def models_delete(
    model_id: str,
    export_precision: Annotated[str | None, typer.Option("--export", help="Delete only this export (fp32, int8, fp16).")] = None,
) -> None:
    """Delete a model (its downloads and all its exports), or one export. A folder imported in place is kept."""
    from photogen.generate.commands import delete_export, delete_model

    if export_precision:
        typer.echo(f"Deleted {delete_export(model_id, export_precision, settings())}.")
    else:
        typer.echo("Deleted " + ", ".join(str(p) for p in delete_model(model_id, settings())) + ".")


@models_app.command("create-tiny")
def models_create_tiny(directory: Path) -> None:
    """Build a tiny random-weight test model (for tests and offline smoke runs; its pictures are noise)."""
    from photogen.generate.commands import create_tiny
    from photogen.generate.identity import create_tiny_adapter

    s = settings()
    path = create_tiny(directory, s)
    create_tiny_adapter("tiny-faceid", path, s)  # so people can be put into test scenes too
    typer.echo(f"Built a tiny TEST model in {path} (with a tiny identity adapter) and installed it as 'tiny-test'. Its outputs are labeled as test images.")


@models_app.command("import-adapter")
def models_import_adapter(
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
    installed = import_adapter(path, adapter, settings(), **kwargs)
    typer.echo(f"Imported {installed.spec.id} ({installed.layout}). Use it with `photogen generate --person NAME ...` on a model it fits.")


@templates_app.command("list")
def templates_list(as_json: JsonOpt = False) -> None:
    """Card themes, album pages and social formats."""
    from photogen.create.templates import list_templates

    data = list_templates()
    emit(data, as_json, [f"{t['id']:<16} {t['label']:<22} {t['size_px'][0]}x{t['size_px'][1]} px  {t['description']}" for t in data])


@app.command("generate")
def generate(
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
    precision: Annotated[str | None, typer.Option(help="fp32, int8 (dynamic), int8w (weight-only) or fp16.")] = None,
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
    from tqdm import tqdm

    bar = None if as_json or not sys.stderr.isatty() else tqdm(total=100, desc="creating", bar_format="{l_bar}{bar}| {desc}")

    def progress(fraction: float, what: str) -> None:
        if bar is not None:
            bar.n = int(fraction * 100)
            bar.set_description(what)

    with library() as lib:
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


@app.command("verify")
def verify(file: Path, as_json: JsonOpt = False) -> None:
    """Say whether a file was made by photogen, and what it claims.

    Every PNG, JPEG and PDF photogen writes carries three signals: C2PA content credentials (signed on
    this device; validators call the signer untrusted, as it is on no public list), IPTC/XMP
    DigitalSourceType metadata, and an invisible watermark in the pixels. A copy that was re-saved,
    resized or screenshotted keeps the watermark only; the summary names any signal that is missing."""
    from photogen.create.provenance import verify_file

    result = verify_file(file)
    data = result.to_dict()
    emit(data, as_json, [result.summary])
    if not result.made_by_photogen:
        raise typer.Exit(3)  # scripts can tell "not ours" from an error


creations_app = typer.Typer(help="What you made: list, show (and save again) or delete past creations.", no_args_is_help=True)
app.add_typer(creations_app, name="creations")


@creations_app.command("list")
def creations_list(as_json: JsonOpt = False) -> None:
    """Past creations, newest first."""
    from photogen.create.creations import list_creations

    with library() as lib:
        records = list_creations(lib)
    lines = [f"{r.label}  ({r.kind}; {len(r.variants)} picture(s); people: {', '.join(r.people) or 'none'})" for r in records]
    emit([r.as_dict() for r in records], as_json, lines or ["Nothing made yet. Try `photogen generate --mode instant --photo ID`."])


@creations_app.command("show")
def creations_show(
    creation_id: int,
    out: Annotated[Path | None, typer.Option("--out", help="Also write its pictures (PNG, with provenance) here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """One creation: what it is, its sources; --out writes its pictures again."""
    from photogen.create.creations import get_creation, save_creation

    with library() as lib:
        record = get_creation(lib, creation_id)
        paths: list[Path] = []
        if out is not None:
            from photogen.create.studio import Studio

            paths = save_creation(lib, creation_id, out.resolve(), signer=Studio(lib.settings).signer(lib))
    lines = [
        record.label,
        f"  {'AI-generated' if record.kind != 'instant' else 'instant style (not AI-generated)'}" + (f", model {record.model}" if record.model else ""),
        f"  photos used: {record.photo_ids or 'none'}; people: {', '.join(record.people) or 'none'}",
        *[f"  wrote {p}" for p in paths],
    ]
    emit({**record.as_dict(), "files": [str(p) for p in paths]}, as_json, lines)


@creations_app.command("delete")
def creations_delete(creation_id: int) -> None:
    """Delete a creation and its stored pictures (files you downloaded stay yours)."""
    from photogen.create.creations import delete_creation

    with library() as lib:
        delete_creation(lib, creation_id)
    typer.echo(f"Deleted creation #{creation_id}.")


# ---- end create -------------------------------------------------------------------------------


# ---- privacy ----------------------------------------------------------------------------------


@privacy_app.command("report")
def privacy_report(as_json: JsonOpt = False) -> None:
    """What is stored, where, how big, and whether it is encrypted."""
    from photogen.library.privacy import privacy_report as build

    with library() as lib:
        report = build(lib)
    lines = [f"Data directory: {report.home} (key kept by: {report.key_method})"]
    lines += [f"  {'encrypted' if i.encrypted else 'plain    '}  {i.bytes:>12,} B  {i.what}  ({i.how})" for i in report.items]
    lines.append("Rows: " + ", ".join(f"{k} {v}" for k, v in report.rows.items()))
    emit(report.as_dict(), as_json, lines)


@privacy_app.command("delete-all")
def privacy_delete_all(yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False) -> None:
    """Delete everything photogen stored: catalog, faces, thumbnails, creations and the key."""
    from photogen.library.library import delete_everything

    s = settings()
    if not yes and not typer.confirm(f"Delete everything photogen stored in {s.home}? Your original photos are not touched."):
        raise typer.Exit(1)
    removed = delete_everything(s)
    typer.echo(f"Deleted {removed:,} bytes from {s.home}. Your original photos were not touched.")


# ---- doctor -----------------------------------------------------------------------------------


@app.command("doctor")
def doctor(as_json: JsonOpt = False) -> None:
    """What this install runs on: Python, ONNX Runtime and its providers, the GPU, models and exports."""
    from photogen.doctor import diagnose, report_lines

    report = diagnose(settings())
    emit(report.model_dump(mode="json"), as_json, report_lines(report))


# ---- serve ------------------------------------------------------------------------------------


@app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 7860,
    share: Annotated[
        bool,
        typer.Option("--share", help="Open a temporary public link for guests (password: PHOTOGEN_SHARE_PASSWORD, a prompt, or generated)."),
    ] = False,
) -> None:
    """Start the app (same as `python app.py`)."""
    from photogen.ui.app import launch

    launch(settings(), port=port, share=share)


def main() -> None:
    import click

    try:
        rc = app(standalone_mode=False, prog_name="photogen")
    except PhotogenError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (KeyboardInterrupt, click.Abort, typer.Abort):
        typer.echo("interrupted; everything done so far is saved.", err=True)
        sys.exit(130)
    except (click.ClickException, typer.TyperException) as exc:
        # usage errors (typer ships its own click: its exceptions derive from TyperException) print the
        # usage, the error and click's "Did you mean ...?" for the closest command or option
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2))
    except (click.exceptions.Exit, typer.Exit) as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - a bug must still not greet the user with a traceback
        logging.getLogger("photogen").debug("unexpected error", exc_info=True)
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc}. Re-run with --verbose and report it.", err=True)
        if logging.getLogger().isEnabledFor(logging.INFO):
            raise
        sys.exit(2)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
