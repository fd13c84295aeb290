"""The CLI as a user (or a script) drives it: real subprocesses, JSON output, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photogen.library.keys import KDF_MIN_ITERATIONS, KDF_MIN_MEMORY_KIB
from photogen.library.library import open_library
from photogen.settings import Settings
from tests.conftest import write_photo


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOGEN_")}
    return clean | {
        "PHOTOGEN_HOME": str(tmp_path / "home"),
        "PHOTOGEN_PASSPHRASE": "cli passphrase",
        "PHOTOGEN_USE_KEYRING": "0",
        "PHOTOGEN_KDF_MEMORY_KIB": str(KDF_MIN_MEMORY_KIB),  # the lowest the environment may set
        "PHOTOGEN_KDF_ITERATIONS": str(KDF_MIN_ITERATIONS),
    }


def run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "photogen.cli", *args], env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_add_index_list_revoke_as_json(env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    write_photo(root / "Rome" / "colosseum.jpg", taken="2019:05:01 09:00:00", offset="+02:00", gps=(41.8902, 12.4922), make="FUJIFILM", model="X-T4", seed=1)
    write_photo(root / "Home" / "cat.jpg", taken="2020:02:02 20:20:20", seed=2)
    (root / "Home" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    run(env, "sources", "add-folder", str(root), "--allow", "Rome", "--allow", "Home")
    summary = json.loads(run(env, "index", "--json").stdout)
    assert summary["added"] == 2
    assert summary["faces"]["found"] == 0 and summary["faces"]["photos"] == 2  # the faces stage ran on both
    assert [(Path(s["path"]).name, s["reason"]) for s in summary["skipped"]] == [("broken.jpg", "not an image, or a format photogen does not support")]
    photos = json.loads(run(env, "photos", "list", "--json").stdout)
    rome = next(p for p in photos if p["album"] == "Rome")
    assert rome["taken_at"] == "2019-05-01T09:00:00+02:00"
    assert rome["place"].startswith("Rome") and rome["camera"] == "FUJIFILM X-T4"
    assert (rome["width"], rome["height"]) == (160, 120) and rome["path"].endswith("colosseum.jpg")
    albums = json.loads(run(env, "albums", "list", "--json").stdout)
    assert {a["name"]: (a["allowed"], a["photo_count"]) for a in albums} == {"Home": (True, 1), "Rome": (True, 1)}
    sources = json.loads(run(env, "sources", "list", "--json").stdout)
    assert sources[0]["name"] == "Pictures" and sources[0]["allowed"] == 2
    run(env, "albums", "revoke", "Rome")
    assert [p["album"] for p in json.loads(run(env, "photos", "list", "--json").stdout)] == ["Home"]
    report = json.loads(run(env, "privacy", "report", "--json").stdout)
    assert report["rows"]["photos"] == 1
    run(env, "photos", "exclude", str(photos[0]["id"] if photos[0]["album"] == "Home" else photos[1]["id"]))
    assert json.loads(run(env, "photos", "list", "--json").stdout) == []
    run(env, "privacy", "delete-all", "--yes")
    assert not Path(env["PHOTOGEN_HOME"]).exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("sources", "add-folder", "/no/such/folder", "--allow", "all"), "does not exist"),
        (("albums", "allow", "Nowhere"), "No album named 'Nowhere'"),
        (("sources", "revoke", "nothing"), "No source named 'nothing'"),
        (("photos", "exclude", "999"), "No photo with id 999"),
    ],
)
def test_user_errors_are_one_line_without_traceback(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    proc = run(env, *args, ok=False)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1


def test_wrong_passphrase_is_one_clear_line(env: dict[str, str]) -> None:
    run(env, "albums", "list")
    proc = run(env | {"PHOTOGEN_PASSPHRASE": "nope"}, "albums", "list", ok=False)
    assert proc.returncode == 1 and proc.stderr.strip() == "error: Wrong passphrase: the data stays locked and nothing was changed."


def test_home_option_overrides_environment(env: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "other-home"
    run(env, "--home", str(other), "albums", "list")
    assert (other / "catalog.db").exists() and not Path(env["PHOTOGEN_HOME"]).exists()


def test_index_killed_mid_run_resumes_without_duplicates_or_losses(env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "Big"
    count = 400
    for i in range(count):
        write_photo(root / f"Album{i % 4}" / f"{i:04}.jpg", size=(900, 700), seed=i)
    run(env, "sources", "add-folder", str(root), "--allow", "all")
    blobs = Path(env["PHOTOGEN_HOME"]) / "blobs"
    proc = subprocess.Popen([sys.executable, "-m", "photogen.cli", "index"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if blobs.exists() and sum(1 for p in blobs.rglob("*") if p.is_file()) >= 40:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "indexing finished before it could be killed; make the corpus bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    settings = Settings(home=Path(env["PHOTOGEN_HOME"]), passphrase=env["PHOTOGEN_PASSPHRASE"], use_keyring=False)
    with open_library(settings) as lib:
        landed = lib.catalog.scalar("SELECT count(*) FROM photos")
    assert 0 < landed < count

    summary = json.loads(run(env, "index", "--json").stdout)
    assert summary["added"] == count - landed and summary["unchanged"] == landed and summary["skipped"] == []
    with open_library(settings) as lib:
        cat = lib.catalog
        assert cat.scalar("SELECT count(*) FROM photos") == count
        assert cat.scalar("SELECT count(DISTINCT content_hash) FROM photos") == count
        assert cat.scalar("SELECT count(*) FROM photo_files") == count
        assert cat.scalar("SELECT count(*) FROM blobs") == count
        assert len(lib.blobs.all_paths()) == count  # no orphan from the killed run


@pytest.mark.parametrize(
    ("args", "usage", "hint"),
    [
        (["peple", "list"], "Usage: photogen [OPTIONS] COMMAND", "Did you mean 'people'?"),
        (["people", "list", "--jsn"], "Usage: photogen people list [OPTIONS]", "--json"),
        (["people", "merg", "1", "2"], "Usage: photogen people [OPTIONS] COMMAND", "Did you mean 'merge'"),
    ],
)
def test_a_wrong_command_or_option_prints_usage_and_the_closest_one(env: dict[str, str], args: list[str], usage: str, hint: str) -> None:
    proc = run(env, *args, ok=False)
    assert proc.returncode == 2
    assert usage in proc.stderr and hint in proc.stderr
    assert "unexpected" not in proc.stderr and "report it" not in proc.stderr and "Traceback" not in proc.stderr


def test_creations_list_show_delete(env: dict[str, str], tmp_path: Path) -> None:
    write_photo(tmp_path / "Pictures" / "Home" / "cat.jpg", seed=2)
    run(env, "sources", "add-folder", str(tmp_path / "Pictures"), "--allow", "Home")
    run(env, "index")
    (photo,) = json.loads(run(env, "photos", "list", "--json").stdout)
    made = json.loads(run(env, "generate", "--mode", "instant", "--photo", str(photo["id"]), "--style", "watercolor", "--out", str(tmp_path / "o"), "--json").stdout)
    listed = json.loads(run(env, "creations", "list", "--json").stdout)
    assert [c["id"] for c in listed] == [made["creation_id"]] and listed[0]["kind"] == "instant" and listed[0]["photo_ids"] == [photo["id"]]
    shown = json.loads(run(env, "creations", "show", str(made["creation_id"]), "--out", str(tmp_path / "again"), "--json").stdout)
    assert len(shown["files"]) == 1 and Path(shown["files"][0]).is_file()
    assert "Deleted creation" in run(env, "creations", "delete", str(made["creation_id"])).stdout
    assert json.loads(run(env, "creations", "list", "--json").stdout) == []
    gone = run(env, "creations", "show", str(made["creation_id"]), ok=False)
    assert gone.returncode == 1 and "No creation" in gone.stderr
