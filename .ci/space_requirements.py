"""Print requirements.txt for the Hugging Face Space: photogen's runtime and export dependencies, pinned.

A Space installs requirements.txt (it does not read pyproject.toml) before the repository is copied in,
and runs app.py from the repository, so photogen itself is not listed. Every package the Space needs
(walked through the installed metadata of this environment, markers evaluated for Linux x86_64 and this
Python, as on a Space's CPU hardware) is pinned to its constraints.txt version. torch comes from the
PyTorch CPU index: the Space owner exports models there, and a CPU Space has no use for CUDA builds.
Used by `make requirements`; tests/test_packaging.py checks the result stays in step.
"""

from __future__ import annotations

import importlib.metadata as md
import sys
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
EXTRAS = ("export",)
HEADER = """\
# What a Hugging Face Space installs (it does not read pyproject.toml): photogen's runtime dependencies
# and the export extra (the Space owner exports a model on the Space's CPU), pinned as in constraints.txt.
# photogen itself is the repository the Space runs app.py from. Regenerate with 'make requirements'.
--extra-index-url https://download.pytorch.org/whl/cpu
"""


def closure(roots: list[Requirement]) -> set[str]:
    seen: set[str] = set()
    todo = [(r, ()) for r in roots]
    while todo:
        req, extras = todo.pop()
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (*extras, "")):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.distribution(name).requires or []
        except md.PackageNotFoundError:
            continue
        todo += [(Requirement(r), tuple(req.extras)) for r in requires]
    return seen


def main() -> int:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    roots = [Requirement(r) for r in project["dependencies"]]
    for extra in EXTRAS:
        roots += [Requirement(r) for r in project["optional-dependencies"][extra]]
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            pins[canonicalize_name(line.split("==")[0])] = line.strip()
    names = sorted(closure(roots) - {"pip", "wheel"})
    missing = [n for n in names if n not in pins]
    if missing:
        sys.stderr.write(f"no pin in constraints.txt for: {', '.join(missing)}\n")
        return 1
    sys.stdout.write(HEADER + "".join(pins[n] + "\n" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
