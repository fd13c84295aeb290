from __future__ import annotations

from types import SimpleNamespace

import onnxruntime as ort

from photogen.ui.privacy_tab import runtime_facts
from photogen.ui.served import ServedFiles
from photogen.ui.session import UISession


def _request(host: str) -> SimpleNamespace:
    return SimpleNamespace(headers={"host": f"{host}:7860"}, client=SimpleNamespace(host=host))


def test_the_privacy_tab_shows_the_runtime_and_folders_only_to_the_owner(library, tmp_path) -> None:
    session = UISession(library, ServedFiles(tmp_path / "served"))
    owner = runtime_facts(session, _request("127.0.0.1"))
    assert ort.__version__ in owner and ort.get_available_providers()[0] in owner
    assert str(library.settings.home) in owner and str(library.settings.models_dir) in owner
    guest = runtime_facts(session, _request("203.0.113.9"))
    assert ort.__version__ in guest
    assert str(library.settings.home) not in guest and str(library.settings.models_dir) not in guest
