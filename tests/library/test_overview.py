from __future__ import annotations

from pathlib import Path

from photogen.library.consent import add_folder_source, exclude_photo
from photogen.library.indexer import index_library
from photogen.library.overview import (
    live_creation_ids,
    live_photo_ids,
    recent_audit,
    skipped_files,
    source_names,
    source_summaries,
)
from tests.conftest import write_photo


def test_what_the_catalog_holds_for_the_ui_and_cli(library, tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    write_photo(root / "Trip" / "a.jpg", seed=1)
    write_photo(root / "Trip" / "b.jpg", seed=2)
    write_photo(root / "Home" / "c.jpg", seed=3)
    (root / "Trip" / "broken.jpg").write_bytes(b"not a photo")
    add_folder_source(library, root, ["Trip"], "Mine")
    index_library(library)

    [summary] = source_summaries(library)
    assert (summary.name, summary.kind, summary.location) == ("Mine", "folder", str(root.resolve()))
    assert (summary.albums, summary.allowed, summary.photos) == (2, 1, 2)
    assert summary.created_at and summary.last_scan_at
    assert source_names(library) == ["Mine"]
    assert [(k.album, k.rel_path, k.kind) for k in skipped_files(library)] == [("Trip", "Trip/broken.jpg", "folder")]
    assert recent_audit(library)[0].action != "source.add" and recent_audit(library)[-1].action == "source.add"
    assert len(recent_audit(library, limit=1)) == 1

    ids = live_photo_ids(library)
    assert len(ids) == 2
    exclude_photo(library, min(ids))
    assert live_photo_ids(library) == ids - {min(ids)}
    assert live_creation_ids(library) == set()
