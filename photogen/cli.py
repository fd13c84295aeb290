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
    data = [{k: getattr(p, k) for k in keys} | {"albums": p.albums} for p in photos]
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
# ---- end faces and people ---------------------------------------------------------------------


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


# ---- serve ------------------------------------------------------------------------------------


@app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 7860,
    share: Annotated[bool, typer.Option("--share", help="Open a temporary public link (password required).")] = False,
    password: Annotated[str | None, typer.Option(help="Password for --share.")] = None,
) -> None:
    """Start the app (same as `python app.py`)."""
    from photogen.ui.app import launch

    launch(settings(), port=port, share=share, password=password)


def main() -> None:
    import click

    try:
        rc = app(standalone_mode=False)
    except PhotogenError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (KeyboardInterrupt, click.Abort):
        typer.echo("interrupted; everything done so far is saved.", err=True)
        sys.exit(130)
    except click.ClickException as exc:  # usage errors carry their own message and exit code
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
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
