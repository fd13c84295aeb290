"""Connect tab: indexing reports both stages on one moving bar."""

from __future__ import annotations

from pathlib import Path

from photogen.library.consent import add_folder_source
from photogen.ui import connect_tab
from tests.conftest import write_photo


def test_indexing_progress_moves_through_the_metadata_stage_then_the_faces(library, tmp_path: Path) -> None:
    for n in range(3):
        write_photo(tmp_path / "p" / "Family" / f"{n}.jpg", seed=n)
    add_folder_source(library, tmp_path / "p", ["Family"])
    calls: list[tuple[float, str]] = []
    summary = connect_tab.run_index(library, lambda fraction, desc: calls.append((fraction, desc)))
    assert "3 added" in summary
    reading = [f for f, d in calls if d.startswith("Reading photos")]
    faces = [f for f, d in calls if d.startswith("Looking for faces")]
    assert reading == sorted(reading) and reading[0] == 0.0 and reading[-1] == 0.5 and len(set(reading)) == 4  # 0/3 .. 3/3
    assert faces and faces[0] == 0.5 and faces[-1] == 1.0
    assert [f for f, _ in calls] == sorted(f for f, _ in calls)  # never goes back
    assert calls.index(next(c for c in calls if c[1].startswith("Looking"))) > calls.index(next(c for c in calls if c[1].startswith("Reading")))
