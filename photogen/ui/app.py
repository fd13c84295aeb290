"""Build and launch the photogen app: tabs in a Blocks, per-visitor state in gr.State."""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import socket
import tempfile

import gradio as gr

from photogen.create.studio import Studio
from photogen.errors import PhotogenError
from photogen.library.library import open_library
from photogen.settings import Settings
from photogen.ui import connect_tab, create_tab, library_tab, models_tab, people_tab, privacy_tab, views
from photogen.ui.session import SessionFactory, close_session

log = logging.getLogger(__name__)

SHARE_USER = "photogen"
# what a Space visitor can do before anyone adds a model, and how the Space's owner adds one
SPACE_MODELS_NOTE = (
    "Without a model you can already make **instant styles** (watercolor, sketch, cartoon, oil) and cards "
    "from your uploads. AI restyles and new scenes need a diffusion model: the Space's owner adds one in the "
    "**Models** tab, which downloads and exports it on the Space's own hardware."
)


def build_app(factory: SessionFactory, studio: Studio | None = None) -> gr.Blocks:
    # the studio holds models, not user data: one per app, shared by every session
    studio = studio or Studio(factory.settings)
    # in a Space, what Gradio caches to show (thumbnails, results) is swept every 10 minutes after an hour
    cache_sweep = (600, 3600) if factory.space_mode else None
    with gr.Blocks(title="photogen", analytics_enabled=False, delete_cache=cache_sweep) as demo:
        gr.Markdown("# photogen\nYour photos, your people, made into new pictures on this computer. Nothing leaves it.")
        if factory.space_mode:
            gr.Markdown("*This is a private session: your uploads live in memory, encrypted, and vanish when you leave.*")
            gr.Markdown(SPACE_MODELS_NOTE)
        # one session per browser tab; in a Space, closing it deletes the visitor's data
        # (a time-to-live counts from page load, so it would end a session in use: none locally; a day in a Space)
        session = gr.State(delete_callback=close_session, time_to_live=24 * 3600 if factory.space_mode else None)
        with gr.Tabs() as tabs:
            hooks = [
                create_tab.build(session, studio),
                connect_tab.build(session, factory.space_mode),
                library_tab.build(session),
                people_tab.build(session),
                privacy_tab.build(session),
                models_tab.build(factory.settings),
            ]
        views.wire(demo, tabs, session, factory.open, hooks)
    return demo


def _private_temp_dir() -> str:
    """Gradio caches what it shows in a temp folder; keep it private to this user and remove it on exit."""
    path = tempfile.mkdtemp(prefix="photogen-ui-")
    os.chmod(path, 0o700)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _online() -> bool:
    try:
        socket.create_connection(("api.gradio.app", 443), timeout=3).close()
    except OSError:
        return False
    return True


def share_auth(password: str | None) -> tuple[str, str]:
    """Credentials for a share link: the user's password, or a strong generated one."""
    return SHARE_USER, password or secrets.token_urlsafe(12)


def launch(settings: Settings, *, port: int = 7860, share: bool = False, password: str | None = None) -> None:
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no calls home
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    if not os.environ.get("GRADIO_TEMP_DIR"):
        os.environ["GRADIO_TEMP_DIR"] = _private_temp_dir()
    auth = None
    if share:
        if not _online():
            raise PhotogenError("A share link needs the internet, and this computer is offline. Run without --share.")
        auth = share_auth(password)
        if not password:
            print(f"Share link login: user {auth[0]!r}, password {auth[1]!r}")  # noqa: T201 - the user must see it
    shared = None if settings.space_mode else open_library(settings)  # unlock (and ask) before serving
    demo = build_app(SessionFactory(settings, shared))
    try:
        demo.queue(default_concurrency_limit=4).launch(
            server_name="0.0.0.0" if settings.space_mode else "127.0.0.1",  # a Space must listen on its container port
            server_port=port,
            share=share,
            auth=auth,
            show_error=False,
            footer_links=[],
        )
    finally:
        if shared is not None:
            shared.close()
