"""Build and launch the photogen app: tabs in a Blocks, per-visitor state in gr.State."""

from __future__ import annotations

import getpass
import logging
import os
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections import deque
from typing import Any

import gradio as gr

from photogen.create.studio import Studio
from photogen.errors import PhotogenError
from photogen.library.library import open_library
from photogen.settings import Settings
from photogen.ui import connect_tab, create_tab, library_tab, models_tab, people_tab, privacy_tab, views
from photogen.ui.access import Capability, role_of
from photogen.ui.served import ServedFiles, install_signal_handlers, restore_signal_handlers
from photogen.ui.session import SessionFactory, close_session

log = logging.getLogger(__name__)

SHARE_USER = "photogen"
# what a Space visitor can do before anyone adds a model, and how the Space's owner adds one
SPACE_MODELS_NOTE = (
    "Without a model you can already make **instant styles** (watercolor, sketch, cartoon, oil) and cards "
    "from your uploads. AI restyles and new scenes need a diffusion model: the Space's owner adds one in the "
    "**Models** tab, which downloads and exports it on the Space's own hardware."
)

# Gradio gives a gallery with fewer items than columns that many columns, so one face became a tile as wide as
# the page and was cut to the gallery's height: face galleries keep small tiles, each face drawn whole
FACE_GALLERIES = ("create-people", "people-everyone", "people-faces", "people-no-one")
CSS = "\n".join(
    f"#{elem_id} .grid-container {{ grid-template-columns: repeat(auto-fill, minmax(96px, 128px)) !important; }}"
    for elem_id in FACE_GALLERIES
)


def build_app(factory: SessionFactory, studio: Studio | None = None) -> gr.Blocks:
    # the studio holds models, not user data: one per app, shared by every session
    studio = studio or Studio(factory.settings)
    # in a Space, what Gradio caches to show (thumbnails, results) is swept every 10 minutes after an hour
    cache_sweep = (600, 3600) if factory.space_mode else None
    with gr.Blocks(title="photogen", analytics_enabled=False, delete_cache=cache_sweep) as demo:
        gr.Markdown("# photogen\nYour photos, your people, made into new pictures on this computer. Nothing leaves it.")
        if factory.space_mode:
            gr.Markdown(space_privacy_note(factory.served))
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
                models_tab.build(factory.settings, on_removed=lambda model_id: studio.engine().forget(model_id)),
            ]
        views.wire(demo, tabs, session, factory.open, hooks)
        _gate_by_role(demo, factory, hooks)
        # the browser tab is gone (its heartbeat stopped): a Space visitor's data goes now, not in an hour
        demo.unload(factory.leave)
    return demo


def _gate_by_role(demo: gr.Blocks, factory: SessionFactory, hooks: list[Any]) -> None:
    """Hide what the visitor may not use: a share-link guest gets the studio only (Create, People and
    Library views); a Space visitor everything but the host's files and models. The handlers refuse
    those calls on the server too (photogen.ui.access)."""
    tab_needs = {"connect": Capability.LIBRARY, "privacy": Capability.CONSENT, "models": Capability.MODELS}
    if factory.space_mode:
        del tab_needs["models"]  # every visitor sees the catalog; the owner unlocks its controls with a token
    gated: list[tuple[Any, Capability]] = []
    for hook in hooks:
        view = views.TabView.of(hook)
        need = tab_needs.get(str(getattr(view.tab, "id", "")))
        if need is not None:
            gated.append((view.tab, need))
        gated += view.needs
    if not gated:
        return

    def _gate(request: gr.Request) -> list[Any]:
        role = role_of(request, space_mode=factory.space_mode)
        return [gr.update(visible=role.can(need)) for _, need in gated]

    demo.load(_gate, outputs=[component for component, _ in gated], show_progress="hidden")


def space_privacy_note(served: ServedFiles) -> str:
    """Exactly where a Space visitor's uploads live, as the session banner says it."""
    where = "in memory (RAM-backed /dev/shm)" if served.in_memory else f"on the Space's disk ({served.root.parent.parent})"
    return (
        f"*This is a private session: your uploads and creations are kept {where}, encrypted with a key that exists "
        "only in this server's memory (the pictures shown to you are plain files there), and they are deleted "
        "within seconds of you closing this tab.*"
    )


def _online() -> bool:
    try:
        socket.create_connection(("api.gradio.app", 443), timeout=3).close()
    except OSError:
        return False
    return True


class ShareLogin:
    """The share link's login check, with failed attempts rate limited.

    Every visitor of a share link reaches the app through the same local tunnel, so attempts cannot
    be told apart by address: after `max_failures` wrong passwords within `window_s` seconds, every
    login (even a right one) is refused until the window has passed. That caps guessing at
    `max_failures` tries per window; the price is that a guesser can keep real guests out meanwhile.
    """

    def __init__(self, user: str, password: str, *, max_failures: int = 5, window_s: float = 60.0, clock: object = time.monotonic) -> None:
        self.user, self._password = user, password
        self.max_failures, self.window_s = max_failures, window_s
        self._clock = clock
        self._failures: deque[float] = deque()
        self._lock = threading.Lock()

    def locked(self) -> bool:
        now = self._clock()  # type: ignore[operator]
        while self._failures and now - self._failures[0] > self.window_s:
            self._failures.popleft()
        return len(self._failures) >= self.max_failures

    def __call__(self, user: str, password: str) -> bool:
        with self._lock:
            if self.locked():
                log.warning("share link login refused: too many failed attempts in the last %.0f s", self.window_s)
                return False
            ok = secrets.compare_digest(user.encode(), self.user.encode()) & secrets.compare_digest(password.encode(), self._password.encode())
            if not ok:
                self._failures.append(self._clock())  # type: ignore[arg-type]
                log.warning("share link login failed (%d of %d allowed per %.0f s)", len(self._failures), self.max_failures, self.window_s)
            return ok


def share_password(given: str | None = None) -> tuple[str, bool]:
    """The share link's password and whether it was generated: given, PHOTOGEN_SHARE_PASSWORD, a prompt, or generated.

    Never from the command line (a process list shows every argument)."""
    if given:
        return given, False
    from_env = os.environ.get("PHOTOGEN_SHARE_PASSWORD")
    if from_env:
        return from_env, False
    if sys.stdin.isatty():
        typed = getpass.getpass("Password for the share link (Enter: generate one): ")
        if typed:
            if len(typed) < 8:
                raise PhotogenError("A share link password needs at least 8 characters; nothing was shared.")
            return typed, False
    return secrets.token_urlsafe(12), True


def share_auth(password: str | None) -> tuple[str, str]:
    """Credentials for a share link: the user's password, or a strong generated one."""
    return SHARE_USER, share_password(password)[0]


def launch(settings: Settings, *, port: int = 7860, share: bool = False, password: str | None = None) -> None:
    """Serve the app. `password` is for programmatic use; people give it by PHOTOGEN_SHARE_PASSWORD or the prompt."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no calls home
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    auth = None
    if share:
        if not _online():
            raise PhotogenError("A share link needs the internet, and this computer is offline. Run without --share.")
        secret, generated = share_password(password)
        auth = ShareLogin(SHARE_USER, secret)
        if generated:
            print(f"Share link login: user {SHARE_USER!r}, password {secret!r}")  # noqa: T201 - the user must see it
    shared = None if settings.space_mode else open_library(settings)  # unlock (and ask) before serving
    # everything the browser is shown lives in one private per-run folder, Gradio's cache included:
    # GRADIO_TEMP_DIR must name it before any Blocks is built (each reads it when it is made)
    served = ServedFiles.for_this_run()
    os.environ["GRADIO_TEMP_DIR"] = str(served.root)
    # Gradio spools an upload to the temp folder before moving it to its cache: keep that inside too
    private_tmp = served.root / "tmp"
    private_tmp.mkdir(mode=0o700, exist_ok=True)
    saved_tmp = (tempfile.tempdir, os.environ.get("TMPDIR"))
    os.environ["TMPDIR"] = tempfile.tempdir = str(private_tmp)
    factory = SessionFactory(settings, shared, served)

    def cleanup() -> None:
        factory.close_all()
        served.close()

    previous = install_signal_handlers(cleanup)
    demo = build_app(factory)
    try:
        demo.queue(default_concurrency_limit=4).launch(
            server_name="0.0.0.0" if settings.space_mode else "127.0.0.1",  # a Space must listen on its container port
            server_port=port,
            share=share,
            auth=auth,
            show_error=False,
            footer_links=[],
            css=CSS,
        )
    finally:
        cleanup()
        restore_signal_handlers(previous)
        tempfile.tempdir = saved_tmp[0]
        if saved_tmp[1] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_tmp[1]
        if shared is not None:
            shared.close()
