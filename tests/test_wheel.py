"""A built wheel works on its own, outside the checkout, and never writes into site-packages.

What this does: builds photogen's wheel from a copy of the sources, installs it with `--no-deps` into
a fresh virtualenv in a temporary folder, and runs the installed `photogen` command from there (cwd
outside the checkout, no PYTHONPATH): `--help`, then a folder of generated photos added and indexed,
then `doctor --json`. The fresh venv sees the test environment's third-party packages through a
`.pth` line (so nothing is downloaded and it runs in seconds); that line adds a plain path, so the
editable photogen's import hook in that folder never runs, and the test checks `photogen` is imported
from the wheel.

What it proves: the wheel holds every module the CLI and the indexer import, the entry point works,
the exports folder of an installed package is the user cache folder, and running it leaves the
venv's site-packages exactly as installed. What it does not prove: that pip resolves photogen's
dependencies from an index (tests/test_packaging.py checks the pins; a clean clone's `make test` the rest).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import write_photo

REPO = Path(__file__).resolve().parents[1]


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(venv, its site-packages) with only the wheel installed, seeing this environment's other packages."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    # a copy, so that building leaves no build/ or egg-info in the checkout
    shutil.copytree(REPO / "photogen", src / "photogen", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(dist), str(src)], check=True, cwd=root)  # fmt: skip
    (wheel,) = dist.glob("photogen-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, cwd=root)  # fmt: skip
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  check=True, capture_output=True, text=True).stdout.strip())  # fmt: skip
    (purelib / "zz-test-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv, purelib


def _run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOGEN_", "PYTHON", "VIRTUAL_ENV"))}
    env |= {
        "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}",
        "PYTHONDONTWRITEBYTECODE": "1",  # so site-packages may not change at all
        "HOME": str(cwd / "home"),
        "XDG_CACHE_HOME": str(cwd / "cache"),
        "XDG_DATA_HOME": str(cwd / "data"),
        "PHOTOGEN_PASSPHRASE": "wheel test",
        "PHOTOGEN_USE_KEYRING": "0",
    }
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_installed_wheel_runs_outside_the_checkout(wheel_venv: tuple[Path, Path], tmp_path: Path) -> None:
    venv, purelib = wheel_venv
    installed = _tree(purelib)
    photogen = str(venv / "bin" / "photogen")

    where = _run(venv, tmp_path, str(venv / "bin" / "python"), "-c", "import photogen; print(photogen.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(purelib), where.stdout + where.stderr

    shown = _run(venv, tmp_path, photogen, "--help")
    assert shown.returncode == 0, shown.stderr
    assert "index" in shown.stdout and "models" in shown.stdout

    photos = tmp_path / "Pictures" / "Summer"
    for i in range(3):
        write_photo(photos / f"p{i}.jpg", taken=f"2024:07:0{i + 1} 10:00:00", seed=i)
    added = _run(venv, tmp_path, photogen, "sources", "add-folder", str(tmp_path / "Pictures"), "--allow", "all")
    assert added.returncode == 0, added.stderr
    indexed = _run(venv, tmp_path, photogen, "index", "--json")
    assert indexed.returncode == 0, indexed.stderr
    assert json.loads(indexed.stdout)["added"] == 3
    listed = _run(venv, tmp_path, photogen, "photos", "list", "--json")
    assert len(json.loads(listed.stdout)) == 3

    # an installed package keeps its exports in the user cache folder, never beside its code
    doctor = _run(venv, tmp_path, photogen, "doctor", "--json")
    assert doctor.returncode == 0, doctor.stderr
    report = json.loads(doctor.stdout)
    assert report["models_dir"] == str(tmp_path / "cache" / "photogen" / "exported_models")
    assert Path(report["photogen_path"]).is_relative_to(purelib)

    assert _tree(purelib) == installed, "running the installed photogen wrote into site-packages"
    assert (tmp_path / "data" / "photogen").is_dir()  # the data went to the user data folder instead
