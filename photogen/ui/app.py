"""Build and launch the photogen app."""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import tempfile

import gradio as gr

from photogen.errors import PhotogenError
from photogen.library.library import Library, open_library
from photogen.settings import Settings
from photogen.ui import library_tab

log = logging.getLogger(__name__)


def build_app(library: Library) -> gr.Blocks:
    with gr.Blocks(title="photogen", analytics_enabled=False) as demo:
        gr.Markdown("# photogen\nYour photos, your people, made into new pictures on this machine. Nothing leaves it.")
        library_tab.build(library)
    return demo


def _private_temp_dir() -> str:
    """Gradio caches what it shows in a temp folder; keep it private to this user and remove it on exit."""
    path = tempfile.mkdtemp(prefix="photogen-ui-")
    os.chmod(path, 0o700)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def launch(settings: Settings, *, port: int = 7860, share: bool = False, password: str | None = None) -> None:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no calls home
    os.environ["GRADIO_TEMP_DIR"] = _private_temp_dir()
    library = open_library(settings)
    auth = None
    if share:
        if not password:
            password = secrets.token_urlsafe(12)
            print(f"Share link password (user 'photogen'): {password}")  # noqa: T201 - the user must see it
        auth = ("photogen", password)
    demo = build_app(library)
    try:
        demo.launch(server_name="127.0.0.1", server_port=port, share=share, auth=auth, show_error=False)
    except Exception as exc:  # noqa: BLE001 - e.g. the share tunnel cannot be reached offline
        if share:
            raise PhotogenError(f"Could not open a share link (offline?): {exc}") from exc
        raise
    finally:
        library.close()
