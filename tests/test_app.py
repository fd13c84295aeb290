"""app.py as a Hugging Face Space starts it: SPACE_ID set, and only what requirements.txt installs.

The app runs in a child process whose imports of anything outside requirements.txt (pytest, playwright,
hypothesis, open_clip, the benchmarks' peers...) fail as they would on the Space, and whose sockets may
reach only this machine. The test waits until it serves, and reads what the visitor is told.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]

BOOT = r"""
import importlib.abc, importlib.metadata as md, json, os, re, runpy, socket, sys

allowed = set(json.loads(os.environ["PHOTOGEN_TEST_ALLOWED"]))
owners = md.packages_distributions()


def canon(name):
    return re.sub(r"[-_.]+", "-", name).lower()


class NotInRequirements(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        dists = {canon(d) for d in owners.get(top, [])}
        if dists and not dists & allowed:
            print(f"refused import: {top}", file=sys.stderr, flush=True)
            raise ModuleNotFoundError(f"No module named {top!r} (not in requirements.txt)", name=name)
        return None


sys.meta_path.insert(0, NotInRequirements())
real_connect = socket.socket.connect


def connect(self, address):
    if not isinstance(address, (str, bytes)) and not str(address[0]).startswith(("127.", "::1", "localhost")):
        print(f"outbound connection: {address!r}", file=sys.stderr, flush=True)
        raise OSError("no network in this test")
    return real_connect(self, address)


socket.socket.connect = connect
for dev_only in ("pytest", "playwright", "hypothesis"):
    try:
        __import__(dev_only)
    except ModuleNotFoundError:
        pass
    else:
        sys.exit(f"the import guard let {dev_only} through")
sys.argv = ["app.py", *sys.argv[1:]]
runpy.run_path("app.py", run_name="__main__")
"""


def requirement_names() -> set[str]:
    names = set()
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-")):
            names.add(canonicalize_name(line.split("==")[0]))
    return names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return None


@pytest.mark.slow
def test_app_starts_as_a_space_with_only_the_space_requirements(tmp_path: Path) -> None:
    port = _free_port()
    allowed = sorted(requirement_names() | {"photogen"})
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PHOTOGEN_", "GRADIO_"))},
        "SPACE_ID": "someone/photogen",
        "PHOTOGEN_HOME": str(tmp_path / "never-used"),
        "PHOTOGEN_TEST_ALLOWED": json.dumps(allowed),
        "PYTHONPATH": str(REPO),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "GRADIO_SSR_MODE": "False",
    }
    log = tmp_path / "app.log"
    with log.open("w") as out:
        child = subprocess.Popen([sys.executable, "-c", BOOT, "--port", str(port)], cwd=REPO, env=env,
                                 stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            config = None
            deadline = time.monotonic() + 120
            while config is None and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
                config = _get(f"http://127.0.0.1:{port}/config")
        finally:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    output = log.read_text()
    assert config is not None, f"app.py did not serve in Space mode:\n{output[-4000:]}"
    assert "Traceback" not in output, output[-4000:]
    assert "outbound connection" not in output, output
    # the visitor is told what works without a model, and the owner how to add one: in the Models tab
    assert "instant styles" in config and "**Models** tab" in config
    tabs = [c["props"].get("label") for c in json.loads(config)["components"] if c["type"] in ("tabitem", "tab")]
    assert "Models" in tabs and "Create" in tabs
    assert "private session" in config
    # a Space keeps visitors' data in memory: nothing in the data directory
    assert not (tmp_path / "never-used").exists()
