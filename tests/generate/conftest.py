"""One tiny random-weight model per test session, exported once at each precision."""

from __future__ import annotations

from pathlib import Path

import pytest

from photogen.generate import commands
from photogen.generate.export import export_dir
from photogen.generate.manifest import Precision
from photogen.settings import Settings


@pytest.fixture(scope="session")
def gen_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("photogen-generate")
    return Settings(home=root / "home", models_dir=root / "exported_models", onnx_threads=2)


@pytest.fixture(scope="session")
def tiny_dir(gen_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return commands.create_tiny(tmp_path_factory.mktemp("tiny") / "tiny-sd", gen_settings)


@pytest.fixture(scope="session")
def tiny_exports(gen_settings: Settings, tiny_dir: Path) -> dict[Precision, Path]:
    for precision in ("fp32", "int8", "fp16"):
        commands.export("tiny-test", precision, gen_settings)
    return {p: export_dir(gen_settings, "tiny-test", p) for p in ("fp32", "int8", "fp16")}


@pytest.fixture(scope="session")
def engine(gen_settings: Settings, tiny_exports: dict[Precision, Path]) -> commands.GenerationEngine:
    return commands.GenerationEngine(gen_settings, providers=["CPUExecutionProvider"])
