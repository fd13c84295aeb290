"""Print constraints.txt for the running environment: `name==version` lines a package index serves.

Used by `make constraints`. Unlike `pip freeze`, it never writes a local wheel path or a direct URL:
every installed distribution becomes its plain index pin. Left out: photogen itself, pip and wheel (the venv's tooling),
and NVIDIA's CUDA runtime packages (a CUDA torch's dependencies, not this project's). A local version
label (torch's `+cpu`) is dropped: `torch==2.13.0` admits the CPU build. Pins of packages the project
names but this environment cannot hold at the same time (onnxruntime-gpu beside onnxruntime) are kept
from the current file.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import sys
from pathlib import Path

HEADER = (
    "# Versions photogen is tested with: 'make' installs with -c constraints.txt so pip's resolver does not\n"
    "# backtrack for minutes through every release of transformers, gradio and numpy. Regenerate with 'make constraints'.\n"
)
SKIP = re.compile(r"^(photogen|pip|wheel|nvidia-.*|triton|cuda-.*)$", re.IGNORECASE)
# one of each pair is installed; the other's pin is carried over
KEEP_WHEN_ABSENT = {"onnxruntime", "onnxruntime-gpu"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if not name or SKIP.match(canonical(name)):
            continue
        pins[canonical(name)] = f"{name}=={dist.version.split('+', 1)[0]}"
    return pins


def kept_pins(current: Path, installed: dict[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    if not current.exists():
        return kept
    for line in current.read_text().splitlines():
        name = line.split("==", 1)[0].strip()
        if "==" in line and canonical(name) in KEEP_WHEN_ABSENT and canonical(name) not in installed:
            kept[canonical(name)] = line.strip()
    return kept


def main() -> int:
    current = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("constraints.txt")
    pins = installed_pins()
    pins.update(kept_pins(current, pins))
    sys.stdout.write(HEADER + "".join(pins[k] + "\n" for k in sorted(pins)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
